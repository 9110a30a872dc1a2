"""The soak's watch reads the service's event lag from its /metrics text and its memory from /proc."""

from __future__ import annotations

import os

from bench.soakwatch import lag_quantile, rss_mb

METRICS = """# HELP dialer_ami_event_lag_seconds From Asterisk stamping an AMI event to the engine having taken it in
# TYPE dialer_ami_event_lag_seconds histogram
dialer_ami_event_lag_seconds_bucket{le="0.005"} 10.0
dialer_ami_event_lag_seconds_bucket{le="0.01"} 80.0
dialer_ami_event_lag_seconds_bucket{le="0.025"} 98.0
dialer_ami_event_lag_seconds_bucket{le="0.05"} 99.0
dialer_ami_event_lag_seconds_bucket{le="0.1"} 100.0
dialer_ami_event_lag_seconds_bucket{le="+Inf"} 100.0
dialer_ami_event_lag_seconds_count 100.0
"""


def test_the_lag_quantile_is_the_upper_bound_of_its_bucket() -> None:
    assert lag_quantile(METRICS, 0.5) == 0.01
    assert lag_quantile(METRICS, 0.99) == 0.05
    assert lag_quantile(METRICS, 1.0) == 0.1


def test_no_events_yet_is_no_figure() -> None:
    assert lag_quantile("", 0.99) is None
    assert lag_quantile('dialer_ami_event_lag_seconds_bucket{le="+Inf"} 0.0\n', 0.99) is None


def test_memory_of_a_live_process_and_of_a_gone_one() -> None:
    mb = rss_mb(os.getpid())
    assert mb is not None and 5 < mb < 4096
    assert rss_mb(2**22 + 7) is None  # above pid_max's default: never a live process

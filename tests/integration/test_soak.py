"""A short fault soak (a few minutes): the service killed, Asterisk restarted and killed, the AMI link cut,
frozen and half-open, the database locked, a softphone gone, at random moments while a campaign runs and
505 callers ring the IVR, and `dialer audit` then finds nothing wrong against Asterisk's own records:
nobody called twice or outside the window, no call lost, no outcome that Asterisk contradicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.soak import run_soak
from bench.soakfaults import FAULTS
from dialer.audit.judge import KINDS

pytestmark = pytest.mark.asterisk

SEED = 20261130


async def test_a_short_soak_with_every_fault_leaves_no_anomaly(
    sandbox: Any, db_url: str, tmp_path: Path
) -> None:
    result = await run_soak(
        sandbox,
        db_url,
        tmp_path,
        minutes=2.5,
        seed=SEED,
        faults=list(FAULTS),
        contacts=80,
        gap=4.0,
        say=print,
    )
    detail = (
        f"{result['anomaly_details']}\nfaults: {result['events']}\nservice log: {result['service']['log']}"
    )
    assert all(result["trials"][f] >= 1 for f in FAULTS), result["trials"]
    assert result["calls"]["placed"] >= 10 and result["calls"]["connected"] >= 5, result["calls"]
    assert result["anomalies"] == dict.fromkeys(KINDS, 0), detail

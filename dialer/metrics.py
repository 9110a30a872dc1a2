"""Prometheus metrics. Counters exist from import time, so the engine can count before the web server runs."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

AMI_UP = Gauge("dialer_ami_up", "1 when the AMI link is logged in", registry=REGISTRY)
AMI_RECONNECTS = Counter("dialer_ami_connects_total", "AMI logins since start", registry=REGISTRY)
CALLS = Counter(
    "dialer_calls_total", "Finished outbound attempts by outcome", ["campaign", "outcome"], registry=REGISTRY
)
CALLS_IN_FLIGHT = Gauge("dialer_calls_in_flight", "Outbound calls not yet ended", registry=REGISTRY)
ABANDON_RATE = Gauge(
    "dialer_abandon_rate", "Abandoned / live-answered today", ["campaign"], registry=REGISTRY
)
AGENTS = Gauge("dialer_agents", "Agents by state", ["state"], registry=REGISTRY)
PACING_LAUNCH = Counter(
    "dialer_pacing_launched_total", "Calls launched by the pacer", ["campaign"], registry=REGISTRY
)
DIAL_LEVEL = Gauge(
    "dialer_dial_level", "Current pacing level (calls per free agent)", ["campaign"], registry=REGISTRY
)
ANSWER_TO_AGENT = Histogram(
    "dialer_answer_to_agent_seconds",
    "From the customer's answer to an agent's phone ringing",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5),
    registry=REGISTRY,
)
EVENT_LAG = Histogram(
    "dialer_ami_event_lag_seconds",
    "From Asterisk stamping an AMI event to the engine having taken it in (clocks assumed in step, e.g. NTP)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
AGI_SESSIONS = Counter("dialer_agi_sessions_total", "FastAGI sessions by route", ["route"], registry=REGISTRY)
PENDING_WRITES = Gauge(
    "dialer_pending_writes",
    "Call outcomes and bridges not yet committed to the database (retried with backoff)",
    registry=REGISTRY,
)
WRITE_RETRIES = Counter(
    "dialer_write_retries_total", "Engine database writes that failed and were retried", registry=REGISTRY
)
RECOVERED = Counter(
    "dialer_recovered_attempts_total",
    "Attempts closed after a crash or a lost link, by where their fate came from",
    ["source"],
    registry=REGISTRY,
)

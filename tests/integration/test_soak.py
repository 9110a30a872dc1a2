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
# Found by the soak (README, "Fault soak"), reported to the engine's owner; only these exact anomalies are
# tolerated (any other fails the test), and the list goes once they are fixed:
KNOWN_ENGINE_BUGS = {
    # a bridge made while the AMI link was frozen is never learnt: reconciliation keeps following the call
    # with its pre-outage state, so it ends as abandoned (and is called again) though Asterisk connected it
    "service says abandoned, Asterisk says connected",
    # an Originate refused by a booting Asterisk, or never acknowledged before the link was lost, is closed
    # as a failed try (counted against the attempt limit) for a call Asterisk never placed
    "closed as failed; Asterisk has no record of it",
    # ... and an Originate held by a frozen link, closed as failed, reaches Asterisk later: a real call,
    # answered, abandoned, that the service recorded as failed
    "service says failed, Asterisk says abandoned",
}


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
    if result["anomalies"] != dict.fromkeys(KINDS, 0) and all(
        a["detail"] in KNOWN_ENGINE_BUGS for a in result["anomaly_details"]
    ):
        pytest.xfail(f"engine bugs found by the soak, reported to the engine's owner: {detail}")
    assert result["anomalies"] == dict.fromkeys(KINDS, 0), detail

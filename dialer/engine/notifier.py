"""Typed events out of the engine: one method per kind of event, so the web layer (screen pops, the agents'
board, the live dashboard) and the tests read the same shapes the engine writes.

The bus carries plain dicts (JSON for SSE); this module is the one place that builds them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol


class Bus(Protocol):
    def publish(self, event: dict[str, Any]) -> None: ...


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class Notifier:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    def call_bridged(
        self,
        *,
        agent: str,
        attempt_id: int | None,
        campaign: str | None,
        contact_id: int | None,
        phone: str,
        application: dict[str, Any] | None,
        inbound: bool,
    ) -> None:
        """A customer is connected to ``agent``: the agent page's screen pop."""
        self.bus.publish(
            {
                "type": "call.bridged",
                "agent": agent,
                "attempt_id": attempt_id,
                "campaign": campaign,
                "contact_id": contact_id,
                "phone": phone,
                "application": application,
                "inbound": inbound,
            }
        )

    def call_ended(self, *, agent: str | None, attempt_id: int, campaign: str, outcome: str) -> None:
        self.bus.publish(
            {
                "type": "call.ended",
                "agent": agent,
                "attempt_id": attempt_id,
                "campaign": campaign,
                "outcome": outcome,
            }
        )

    def agent_state(
        self, *, agent: str, state: str, since: float, pause_reason: str | None, wrapup_until: float | None
    ) -> None:
        """``wrapup_until`` lets the agent page count down the wrap-up the engine really applies."""
        self.bus.publish(
            {
                "type": "agent.state",
                "agent": agent,
                "state": state,
                "pause_reason": pause_reason,
                "since": _iso(since),
                "wrapup_until": _iso(wrapup_until) if wrapup_until else None,
            }
        )

    def disposition_saved(self, *, agent: str, attempt_id: int | None) -> None:
        """The engine ends the agent's wrap-up at once (a disposition saved in another process is seen by
        the engine's own check of the database a second later)."""
        self.bus.publish({"type": "disposition.saved", "agent": agent, "attempt_id": attempt_id})

    def campaign_completed(self, campaign: str) -> None:
        self.bus.publish({"type": "campaign.completed", "campaign": campaign})

    def stats(self, snapshot: dict[str, Any]) -> None:
        self.bus.publish({"type": "stats", **snapshot})

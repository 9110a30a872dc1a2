"""The engine's live figures, as one typed shape: what ``Engine.snapshot()`` returns, the dashboard and the
campaign status read, and the ``stats`` event carries (plain dicts at run time, for JSON)."""

from __future__ import annotations

from typing import TypedDict


class CampaignFigures(TypedDict):
    state: str
    window_open: bool
    in_flight: int
    waiting_for_agent: int
    connected_now: int
    answered_today: int
    abandoned_today: int
    abandon_rate: float
    abandon_cap: float
    cap_reached: bool  # the day's rate is at or over the cap: calls go one per free agent until it falls
    dial_level: float
    pacing_reason: str
    launched: int


class EngineSnapshot(TypedDict):
    ami: str
    reconciled: bool
    calls_in_flight: int
    pending_writes: int
    campaigns: dict[str, CampaignFigures]
    agents: dict[str, int]
    waiting_inbound: int

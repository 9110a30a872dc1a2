"""Campaign requests and answers, shared by the CLI and the web API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dialer.campaigns.settings import DEFAULT_RETRY_DELAYS as DEFAULT_RETRY_DELAYS
from dialer.campaigns.settings import CampaignSettings
from dialer.campaigns.settings import WindowSpec as WindowSpec
from dialer.campaigns.waiting import Activity
from dialer.dispositions.occupancy import Occupancy


class _Named(BaseModel):
    name: str = Field(min_length=1, max_length=100)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("name must not be blank")
        return v


class CampaignSpec(CampaignSettings, _Named):
    """What an admin sets when creating (or editing) a campaign: its name, then its settings; unset fields
    take the defaults."""

    model_config = ConfigDict(extra="forbid")


class RejectedRow(BaseModel):
    line: int
    reason: str


class ImportReport(BaseModel):
    accepted: int = 0
    rejected: list[RejectedRow] = Field(default_factory=list)
    dnc: int = 0  # accepted, but on the do-not-call list: kept and never called
    applications_created: int = 0
    total_rows: int = 0

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)


class CampaignStatus(BaseModel):
    name: str
    state: str
    mode: str
    weight: int
    max_attempts: int
    abandon_cap: float
    contacts_total: int
    contacts_by_state: dict[str, int]
    attempts_by_outcome: dict[str, int]
    calls_in_flight: int
    answered_today: int
    abandoned_today: int
    abandon_rate_today: float
    progress: float = Field(description="share of contacts that can not be called again (done, invalid, ...)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    activity: Activity | None = Field(
        None, description="a running campaign: dialling, or why not ('waiting: window opens at 09:00 ...')"
    )
    occupancy: Occupancy | None = Field(None, description="agents' talk / logged-in time, today and now")

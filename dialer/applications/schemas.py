"""Applications and contacts as the API shows and edits them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dialer.campaigns.schemas import RejectedRow
from dialer.fields import Day, Moment, Text

StatusName = Literal["submitted", "processing", "ready", "issued", "rejected"]


class ApplicationOut(BaseModel):
    id: int
    number: str
    applicant_name: str
    phone: str | None
    status: str
    pickup_office: str | None
    pickup_from: date | None
    expected_date: date | None
    created_at: datetime
    updated_at: datetime


class ApplicationEdit(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    applicant_name: Text | None = Field(None, min_length=1, max_length=200)
    phone: Text | None = Field(None, max_length=40)
    status: StatusName | None = None
    pickup_office: Text | None = Field(None, max_length=200)
    pickup_from: Day | None = None
    expected_date: Day | None = None


class ApplicationImportReport(BaseModel):
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = Field(default_factory=list)
    # rows kept, with something the office should fix: numbers a caller can not key, digits shared with
    # another application (line and reason, like rejected rows)
    warnings: list[RejectedRow] = Field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated


class ContactOut(BaseModel):
    id: int
    campaign: str
    phone: str
    name: str | None
    state: str
    priority: int
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_outcome: str | None
    application_number: str | None
    source_line: int | None


class ContactEdit(BaseModel):
    """Correct a contact: its name or number, hold it back (cancelled) or put it back in line (pending)."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(None, max_length=200)
    phone: Text | None = Field(None, max_length=40)
    state: Literal["pending", "cancelled"] | None = None
    priority: int | None = Field(None, ge=0, le=9)
    next_attempt_at: Moment | None = None

"""A disposition as the agent page and the API send it, and as the API returns it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dialer.fields import Moment, Text

DispositionKind = Literal["appointment", "callback", "wrong_number", "refused", "no_answer_on_line"]


class DispositionIn(BaseModel):
    """appointment: pickup agreed (appointment_at, optionally office/route); callback: call again at
    callback_at (by the same agent if callback_same_agent); wrong_number; refused (the number goes on the
    do-not-call list); no_answer_on_line: nobody spoke, retried per the campaign's rules."""

    model_config = ConfigDict(extra="forbid")

    kind: DispositionKind
    appointment_at: Moment | None = None
    pickup_office: Text | None = Field(None, max_length=200)
    route: Text | None = Field(None, max_length=2000)
    callback_at: Moment | None = None
    callback_same_agent: bool = False
    notes: Text | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _needed(self) -> DispositionIn:
        if self.kind == "appointment" and self.appointment_at is None:
            raise ValueError("appointment_at: the agreed pickup date and time are needed")
        if self.kind == "callback" and self.callback_at is None:
            raise ValueError("callback_at: when to call back is needed")
        return self


class DispositionOut(BaseModel):
    id: int
    attempt_id: int | None
    contact_id: int | None
    agent: str | None
    campaign: str | None = None
    phone: str | None = None
    kind: str
    appointment_at: datetime | None
    pickup_office: str | None
    route: str | None
    callback_at: datetime | None
    callback_same_agent: bool
    notes: str | None
    created_at: datetime
    contact_state: str | None = None

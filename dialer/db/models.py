"""The schema. Enum-like columns are short strings (validated in Python) so both SQLite and PostgreSQL
migrate the same way; timestamps are UTC-aware everywhere."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from dialer.applications.keys import search_key
from dialer.db.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    READY = "ready"
    ISSUED = "issued"
    REJECTED = "rejected"


class CampaignState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"


class ContactState(StrEnum):
    PENDING = "pending"  # may be called when due
    DIALING = "dialing"  # an attempt is in flight
    DONE = "done"  # reached a person; nothing more to do
    EXHAUSTED = "exhausted"  # attempt limit reached
    INVALID = "invalid"  # number does not exist; never retried
    DNC = "dnc"  # on the do-not-call list
    CANCELLED = "cancelled"  # campaign stopped


class AgentPresence(StrEnum):
    """What the agent (or an admin) asked for; the engine owns the live call state (AgentState)."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    PAUSED = "paused"


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RINGING = "ringing"
    TALKING = "talking"
    WRAPUP = "wrapup"
    PAUSED = "paused"


class Application(Base):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # the number's digits (dialer.applications.keys): what the IVR and the search match; computed on every
    # insert, Core or ORM, and kept in step when the ORM changes a number
    search_key: Mapped[str] = mapped_column(
        String(32), index=True, server_default="", default=lambda ctx: _number_key(ctx)
    )
    applicant_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ApplicationStatus.SUBMITTED)
    pickup_office: Mapped[str | None] = mapped_column(String(200))  # as imported; office_id is the reference
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id", ondelete="SET NULL"), index=True)
    pickup_from: Mapped[date | None] = mapped_column(Date)
    expected_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @validates("number")
    def _keep_key(self, _name: str, number: str) -> str:
        self.search_key = search_key(number or "")
        return number


def _number_key(ctx: Any) -> str:
    return search_key(ctx.get_current_parameters().get("number") or "")


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=CampaignState.DRAFT)
    caller_id: Mapped[str] = mapped_column(String(32), default="505")
    pacing_mode: Mapped[str] = mapped_column(String(16), default="predictive")
    pacing_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    max_attempts: Mapped[int] = mapped_column(SmallInteger, default=3)
    # seconds before the next try, per outcome: busy, noanswer, congestion, failed, abandoned, machine
    retry_delays: Mapped[dict[str, Any]] = mapped_column(default=dict)
    abandon_cap: Mapped[float] = mapped_column(Float, default=0.03)
    # {"hours": {"mon": "09:00-19:00", ...}, "holidays": ["2027-01-01"]}; empty = the service default
    window: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    weight: Mapped[int] = mapped_column(SmallInteger, default=1)
    ring_timeout: Mapped[int] = mapped_column(SmallInteger, default=30)
    wrapup_seconds: Mapped[int] = mapped_column(SmallInteger, default=15)
    amd: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    contacts: Mapped[list[Contact]] = relationship(back_populates="campaign", lazy="raise")


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", "application_id", name="uq_contacts_campaign_phone_app"),
        # "next N contacts due now in campaign X": equality on (campaign, state), ordered by priority then due
        # time; the scan stops after N rows, so it stays fast with millions of contacts.
        Index("ix_contacts_due", "campaign_id", "state", "priority", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id", ondelete="SET NULL"))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=ContactState.PENDING)
    # lower is sooner: 0 agent callbacks, 1 abandoned call-backs, 5 normal
    priority: Mapped[int] = mapped_column(SmallInteger, default=5)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    callback_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    needs_reserved_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    source_line: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="contacts", lazy="raise")
    application: Mapped[Application | None] = relationship(lazy="raise")


class CallAttempt(Base):
    __tablename__ = "call_attempts"
    __table_args__ = (Index("ix_call_attempts_campaign_time", "campaign_id", "originated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    action_id: Mapped[str] = mapped_column(String(64), unique=True)
    uniqueid: Mapped[str | None] = mapped_column(String(64), index=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    # created (written, not yet sent) -> sent (Asterisk acknowledged) -> bridged (an agent took it) -> ended;
    # not_sent: given back (the Originate never left the process, or Asterisk never placed it)
    state: Mapped[str] = mapped_column(String(16), default="created", index=True)
    outcome: Mapped[str | None] = mapped_column(String(16), index=True)
    originate_reason: Mapped[int | None] = mapped_column(SmallInteger)
    hangup_cause: Mapped[int | None] = mapped_column(SmallInteger)
    amd_status: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    originated_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    bridged_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ring_seconds: Mapped[float | None] = mapped_column(Float)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)


class InflightNumber(Base):
    """One row per number with a call in flight, across all campaigns.

    The primary key makes "never two calls to one number at once" a database guarantee rather than a
    best effort: the insert fails before an Originate could be sent.
    """

    __tablename__ = "inflight_numbers"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempts.id", ondelete="CASCADE"))
    since: Mapped[datetime] = mapped_column(default=utcnow)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    extension: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # written by the agent page / CLI / admin: logged_out, ready, paused
    presence: Mapped[str] = mapped_column(
        String(16), default=AgentPresence.LOGGED_OUT, server_default="logged_out"
    )
    # written by the engine: logged_out, ready, ringing, talking, wrapup, paused
    state: Mapped[str] = mapped_column(String(16), default=AgentState.LOGGED_OUT)
    pause_reason: Mapped[str | None] = mapped_column(String(100))
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    device_state: Mapped[str | None] = mapped_column(String(24))
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentCampaign(Base):
    """Which campaigns an agent takes calls for (none listed = all)."""

    __tablename__ = "agent_campaigns"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)


class Disposition(Base):
    __tablename__ = "dispositions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("call_attempts.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    # appointment, callback, wrong_number, refused, no_answer_on_line
    kind: Mapped[str] = mapped_column(String(24))
    appointment_at: Mapped[datetime | None]
    pickup_office: Mapped[str | None] = mapped_column(String(200))
    route: Mapped[str | None] = mapped_column(Text)
    callback_at: Mapped[datetime | None]
    callback_same_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DoNotCall(Base):
    __tablename__ = "do_not_call"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    added_by: Mapped[str | None] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AppointmentState(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    MOVED = "moved"  # replaced by a later booking of the same application


class Office(Base):
    """A passport pickup office: where, when it is open, and how many people it can see per slot.

    ``hours`` is a weekday map like a campaign window (``{"mon": "09:00-18:00", "sun": "closed"}``);
    ``holidays`` are whole days closed; ``closures`` one-off spans (``{"day": "2027-03-05", "hours":
    "12:00-14:00"}``). Local times are in ``timezone``; slots are computed by dialer.offices.slots.
    """

    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(Text)
    directions: Mapped[str] = mapped_column(Text)  # Russian: read by the agent, spoken by the IVR
    directions_en: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    holidays: Mapped[list[Any]] = mapped_column(JSON, default=list)
    closures: Mapped[list[Any]] = mapped_column(JSON, default=list)
    slot_minutes: Mapped[int] = mapped_column(SmallInteger, default=15)
    capacity: Mapped[int] = mapped_column(SmallInteger, default=1)
    horizon_days: Mapped[int] = mapped_column(SmallInteger, default=14)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SlotCounter(Base):
    """Places taken in one slot. Booking is ``UPDATE ... SET taken = taken + 1 WHERE taken < capacity``:
    the row lock (PostgreSQL) or the write lock (SQLite) makes concurrent bookers take turns, so a slot
    can never be overfilled whatever the number of processes."""

    __tablename__ = "slot_counters"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True)
    start: Mapped[datetime] = mapped_column(primary_key=True)
    taken: Mapped[int] = mapped_column(Integer, default=0)


class Appointment(Base):
    """A pickup booking. ``active_application_id`` is the application's id while the booking is active and
    NULL otherwise: its unique constraint is the database's "at most one active booking per application"."""

    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_office_start", "office_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    active_application_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    start: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=AppointmentState.ACTIVE)
    source: Mapped[str] = mapped_column(String(16), default="api")  # api, agent, ivr, cli
    booked_by: Mapped[str] = mapped_column(String(100), default="")
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]

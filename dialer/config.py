"""Typed configuration: ``config.yaml`` < ``DIALER_*`` environment < explicit overrides.

Operators' scripts rely on the key names ``ami.host``, ``ami.port``, ``ami.username``, ``ami.secret``,
``database.url``, ``http.bind``, ``fastagi.bind``, ``timezone`` and ``caller_id``; they must not be renamed.
A bad value stops start-up with one line naming the key, and secrets never reach that line.
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from dialer.hours import WEEKDAYS as WEEKDAYS  # re-exported: one definition in dialer.hours
from dialer.hours import parse_hours as parse_hours
from dialer.hours import validate_hours as validate_hours


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line the operator should see."""


def _check_bind(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT with a port in 1..65535, got {value!r}")
    return value


def split_bind(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AmiConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    username: str = "dialer"
    secret: SecretStr = SecretStr("")
    connect_timeout: float = Field(5.0, gt=0)
    reconnect_min: float = Field(0.5, gt=0, description="first retry delay after a lost link, seconds")
    reconnect_max: float = Field(10.0, gt=0, description="retry delay cap (exponential backoff), seconds")
    ping_interval: float = Field(5.0, gt=0, description="how often the link is checked with Ping")
    ping_timeout: float = Field(3.0, gt=0, description="a Ping without reply by then marks the link dead")


class DatabaseConfig(_Section):
    url: SecretStr | None = Field(
        None, description="SQLAlchemy async URL; default sqlite+aiosqlite:///<data_dir>/dialer.db"
    )
    echo: bool = False
    pool_size: int = Field(10, ge=1)


class BindConfig(_Section):
    bind: str

    _v = field_validator("bind")(lambda cls, v: _check_bind(v))


def _check_networks(v: list[str]) -> list[str]:
    for item in v:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"not an IP address or network: {item!r}") from None
    return v


LOOPBACK = ["127.0.0.0/8", "::1"]


class HttpConfig(BindConfig):
    bind: str = "127.0.0.1:8080"
    keepalive_timeout: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="an idle connection (or one still sending its headers) is closed after",
    )
    secure_cookies: bool = Field(False, description="mark the session cookie Secure (behind a TLS proxy)")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="proxies whose X-Forwarded-For / X-Forwarded-Proto are believed",
    )
    login_failures_per_user: int = Field(5, ge=1, description="failed logins per user name per window")
    login_failures_per_address: int = Field(30, ge=1, description="failed logins per address per window")
    login_window: float = Field(300.0, gt=0, description="seconds over which failed logins are counted")
    metrics_allow: list[str] = Field(
        default_factory=lambda: list(LOOPBACK), description="addresses that may read /metrics"
    )
    metrics_token: SecretStr | None = Field(None, description="or a bearer token for /metrics")

    _n = field_validator("trusted_proxies", "metrics_allow")(lambda cls, v: _check_networks(v))


class FastAgiConfig(BindConfig):
    bind: str = "127.0.0.1:4573"
    max_sessions: int = Field(200, ge=1)
    idle_timeout: float = Field(30.0, gt=0)
    header_timeout: float = Field(2.0, gt=0, le=30, description="the AGI header must arrive within this")
    allowed_peers: list[str] = Field(
        default_factory=lambda: list(LOOPBACK), description="Asterisk hosts that may connect"
    )
    max_pending: int = Field(512, ge=1, description="connections still sending their header")
    max_pending_per_peer: int = Field(64, ge=1, description="the same, per source address")

    _n = field_validator("allowed_peers")(lambda cls, v: _check_networks(v))


class CallingWindowConfig(_Section):
    """Hours per weekday in the campaign's local time; a missing or ``closed`` day means no calls."""

    hours: dict[str, str] = Field(default_factory=lambda: {d: "09:00-19:00" for d in WEEKDAYS})
    holidays: list[date] = Field(default_factory=list)

    _v = field_validator("hours")(lambda cls, v: validate_hours(v))


class OutboundConfig(_Section):
    dial_template: str = Field(
        "PJSIP/{number}@carrier", description="channel for Originate; {number} is E.164 digits"
    )
    answered_context: str = "dialer-answered"
    max_channels: int = Field(60, ge=1, description="cap on concurrent outbound channels on this Asterisk")
    default_region: str = Field("RU", min_length=2, max_length=2, description="for numbers given without +")

    @field_validator("dial_template")
    @classmethod
    def _template(cls, v: str) -> str:
        if "{number}" not in v:
            raise ValueError("must contain {number}")
        return v


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(False, alias="json")


class CallRecordsConfig(_Section):
    """Where Asterisk writes its own call records (CDR): the witness recovery and `dialer audit` consult for
    calls that ended while the service was away. Empty: no witness (recovery then never downgrades a call it
    saw connected, and counts any other lost call as tried)."""

    url: SecretStr | None = Field(
        None,
        description="sqlite:////var/log/asterisk/master.db (cdr_sqlite3_custom) or the PostgreSQL URL of cdr_pgsql",
    )
    table: str = Field("cdr", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timezone: str = Field("UTC", description="the PBX's local time zone: CDR times are written in it")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class SandboxConfig(_Section):
    root: Path = Path("/var/cache/dialer-sandbox/root")
    mirror: str = "http://deb.debian.org/debian"
    agents: int = Field(
        4, ge=0, le=20, description="baresip softphones started by `sandbox up` (101, 102, ...)"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DIALER_",
        env_nested_delimiter="__",
        extra="forbid",
        populate_by_name=True,
    )

    data_dir: Path = Path("data")
    timezone: str = "Europe/Moscow"
    caller_id: str = Field("505", min_length=1, max_length=32)
    ami: AmiConfig = AmiConfig()
    database: DatabaseConfig = DatabaseConfig()
    http: HttpConfig = HttpConfig()
    fastagi: FastAgiConfig = FastAgiConfig()
    calling_window: CallingWindowConfig = CallingWindowConfig()
    outbound: OutboundConfig = OutboundConfig()
    logging: LoggingConfig = LoggingConfig()
    sandbox: SandboxConfig = SandboxConfig()
    call_records: CallRecordsConfig = CallRecordsConfig()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Moscow)") from None
        return v

    @field_validator("caller_id")
    @classmethod
    def _cid(cls, v: str) -> str:
        if not re.fullmatch(r"\+?[0-9]+", v):
            raise ValueError(f"caller ID must be digits, got {v!r}")
        return v

    @model_validator(mode="after")
    def _db_default(self) -> Settings:
        if self.database.url is None:
            self.database.url = SecretStr(f"sqlite+aiosqlite:///{self.data_dir / 'dialer.db'}")
        return self

    @property
    def database_url(self) -> str:
        assert self.database.url is not None
        return self.database.url.get_secret_value()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


SECRET_KEYS = {"secret", "password", "url", "token"}


def _format_error(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if p != "__root__") or "(top level)"
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc}: {msg}")
    return "invalid configuration: " + "; ".join(parts)


def database_unreachable(url: str, error: BaseException) -> str:
    """The one line for a database that can not be used at start-up: names ``database.url`` (with the
    password hidden) and the driver's own first line, never a traceback."""
    from dialer.db.engine import safe_url

    cause: BaseException = getattr(error, "orig", None) or error
    said = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
    try:
        shown = safe_url(url)
    except Exception:
        shown = "(unparseable)"
    secret = url.partition("://")[2].rpartition("@")[0].partition(":")[2]
    if secret:
        said = said.replace(secret, "***")
    return f"database.url: can not use the database {shown}: {type(cause).__name__}: {said}"


def default_config_path() -> Path | None:
    env = os.environ.get("DIALER_CONFIG")
    if env:
        return Path(env)
    p = Path("config.yaml")
    return p if p.exists() else None


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from a YAML file, the environment and keyword overrides (highest first: overrides)."""
    yaml_path = Path(path) if path is not None else default_config_path()
    if yaml_path is not None and not yaml_path.is_file():
        raise ConfigError(f"invalid configuration: config file {yaml_path} not found")

    class _FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if yaml_path is not None:
                sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_path))
            return tuple(sources)

    try:
        return _FileSettings(**overrides)
    except ValidationError as e:
        raise ConfigError(_format_error(e)) from None
    except Exception as e:  # YAML syntax errors and the like
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"invalid configuration: {yaml_path}: {first}") from None

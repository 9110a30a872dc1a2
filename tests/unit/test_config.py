"""Configuration: the documented file, environment overrides, and one clear line for a bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dialer.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_default_file_gives_the_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(REPO / "config.yaml")
    assert s.timezone == "Europe/Moscow"
    assert s.caller_id == "505"
    assert s.http.bind == "127.0.0.1:8080"
    assert s.fastagi.bind == "127.0.0.1:4573"
    assert s.ami.host == "127.0.0.1" and s.ami.port == 5038
    assert s.calling_window.hours["mon"] == "09:00-19:00"
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.outbound.dial_template == "PJSIP/{number}@carrier"


def test_environment_overrides_nested_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_AMI__HOST", "10.1.2.3")
    monkeypatch.setenv("DIALER_AMI__PORT", "5039")
    monkeypatch.setenv("DIALER_TIMEZONE", "Asia/Yekaterinburg")
    monkeypatch.setenv("DIALER_HTTP__BIND", "0.0.0.0:9000")
    s = load_settings(REPO / "config.yaml")
    assert (s.ami.host, s.ami.port, s.timezone, s.http.bind) == (
        "10.1.2.3",
        5039,
        "Asia/Yekaterinburg",
        "0.0.0.0:9000",
    )


def test_another_file_by_path(tmp_path: Path) -> None:
    f = tmp_path / "site.yaml"
    f.write_text("caller_id: '5050'\nfastagi:\n  bind: 0.0.0.0:4600\n")
    s = load_settings(f)
    assert s.caller_id == "5050" and s.fastagi.bind == "0.0.0.0:4600"
    assert s.ami.port == 5038  # untouched keys keep their defaults


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("ami:\n  port: 70000\n", "ami.port: Input should be less than or equal to 65535"),
        ("timezone: Mars/Olympus\n", "timezone: unknown time zone 'Mars/Olympus'"),
        ("http:\n  bind: localhost\n", "http.bind: expected HOST:PORT"),
        (
            "calling_window:\n  hours:\n    mon: '19:00-09:00'\n",
            "calling_window.hours: window must end after it starts",
        ),
        ("calling_window:\n  hours:\n    funday: '09:00-10:00'\n", "unknown weekday 'funday'"),
        (
            "outbound:\n  max_channels: 0\n",
            "outbound.max_channels: Input should be greater than or equal to 1",
        ),
        ("call_records:\n  table: 'cdr; drop'\n", "call_records.table: String should match pattern"),
        ("outbound:\n  dial_template: PJSIP/trunk\n", "outbound.dial_template: must contain {number}"),
        ("amii:\n  host: x\n", "amii: unknown key"),
        ("ami: [1, 2\n", "invalid configuration"),
    ],
)
def test_bad_value_gives_one_line_naming_the_key(tmp_path: Path, yaml_text: str, expected: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(yaml_text)
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    msg = str(e.value)
    assert expected in msg
    assert "\n" not in msg


def test_secrets_never_in_errors_or_dumps(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(
        "ami:\n  secret: s3cr3t-value\n  port: nope\ndatabase:\n  url: postgresql+asyncpg://u:pw-XYZ@h/db\n"
    )
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    assert "s3cr3t-value" not in str(e.value) and "pw-XYZ" not in str(e.value)
    f.write_text("ami:\n  secret: s3cr3t-value\ndatabase:\n  url: postgresql+asyncpg://u:pw-XYZ@h/db\n")
    s = load_settings(f)
    dump = s.model_dump_json() + repr(s)
    assert "s3cr3t-value" not in dump and "pw-XYZ" not in dump
    assert s.ami.secret.get_secret_value() == "s3cr3t-value"


def test_cli_reports_bad_config_in_one_line_and_exits_nonzero(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("ami:\n  secret: hunter22\n  port: 0\n")
    r = subprocess.run(
        [sys.executable, "-m", "dialer", "--config", str(f), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "ami.port" in lines[0] and "hunter22" not in r.stderr


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")


def test_cli_help_lists_subcommands() -> None:
    r = subprocess.run([sys.executable, "-m", "dialer", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for cmd in ("serve", "db", "sandbox"):
        assert cmd in r.stdout
    for sub in (["db", "--help"], ["sandbox", "--help"], ["serve", "--help"]):
        r = subprocess.run([sys.executable, "-m", "dialer", *sub], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "usage: dialer" in r.stdout

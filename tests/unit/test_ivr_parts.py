"""The IVR's parts that fail silently on a live line if wrong: shipped prompts, the tables the look-up reads,
the bundle the PBX runs (importable with nothing but the stdlib and SQLAlchemy), the dialplan switch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from sqlalchemy import String

from dialer.db import models
from dialer.ivr import lookup
from dialer.ivr import prompts as P
from dialer.ivr.bundle import write_bundle, write_conf
from dialer.ivr.privacy import caller_key, mask_number, mask_phone, office_number

REPO = Path(__file__).resolve().parents[2]
SOUNDS = REPO / "asterisk_conf" / "sounds"


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("name", [*P.OWN, *P.DIALER])
def test_every_project_prompt_is_shipped_as_8khz_16bit_mono_wav(lang: str, name: str) -> None:
    path = SOUNDS / lang / f"{name}.wav"
    assert path.is_file(), f"missing {path.relative_to(REPO)}: run scripts/make-sounds.sh"
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        assert 0.5 < w.getnframes() / 8000 < 15


def test_make_sounds_script_covers_every_prompt() -> None:
    text = (REPO / "scripts" / "make-sounds.sh").read_text()
    for name in (*P.OWN, *P.DIALER):
        for lang in ("ru", "en"):
            assert re.search(rf"^say {lang} {re.escape(name)} ", text, re.M), (lang, name)


def test_lookup_tables_match_the_models() -> None:
    for table in (lookup.applications, lookup.audit_log):
        model = models.Base.metadata.tables[table.name]
        for col in table.columns:
            assert col.name in model.columns, f"{table.name}.{col.name} is not in the models"
            mtype, ltype = model.columns[col.name].type, col.type
            assert type(mtype).__name__ == type(ltype).__name__, (table.name, col.name, mtype, ltype)
            if isinstance(mtype, String):
                assert isinstance(ltype, String) and mtype.length == ltype.length
    assert "applicant_name" not in lookup.applications.columns  # never read, so never spoken


def test_sync_url_swaps_async_drivers() -> None:
    assert lookup.sync_url("sqlite+aiosqlite:////data/dialer.db") == "sqlite:////data/dialer.db"
    assert (
        lookup.sync_url("postgresql+asyncpg://u:p@127.0.0.1:5432/d")
        == "postgresql+psycopg2://u:p@127.0.0.1:5432/d"
    )
    with pytest.raises(ValueError):
        lookup.sync_url("mysql://x/y")


def test_privacy_helpers() -> None:
    from dialer.phones import masked

    assert mask_number("20240001234") == "*******1234" and mask_number("123") == "***"
    for phone in ("+79161234567", "+4420", "anonymous"):
        assert mask_phone(phone) == masked(phone)  # same mask as the rest of the service's logs
    assert (
        caller_key("89161234567")
        == caller_key("+7 916 123-45-67")
        == caller_key("9161234567")
        == "+79161234567"
    )
    assert caller_key("") == caller_key("anonymous") == caller_key("101") == "anonymous"
    assert office_number("Отделение №12, ул. Ленина 5") == 12
    assert (
        office_number("МФЦ 7") == 7 and office_number("Центральный") is None and office_number(None) is None
    )


def test_bundle_runs_without_the_service_dependencies(tmp_path: Path) -> None:
    """What the PBX has: the stdlib and SQLAlchemy. No pydantic, aiohttp, panoramisk, phonenumbers."""
    script = write_bundle(tmp_path / "agi-bin")
    conf = write_conf(tmp_path / "agi-bin", "postgresql+asyncpg://dialer:secret@127.0.0.1/d")
    assert os.stat(conf).st_mode & 0o077 == 0  # the password is for the owner only
    assert os.access(script, os.X_OK)
    import sqlalchemy
    import typing_extensions

    only = tmp_path / "site"
    only.mkdir()
    (only / "sqlalchemy").symlink_to(Path(sqlalchemy.__file__).parent)
    (only / "typing_extensions.py").symlink_to(typing_extensions.__file__)
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]];"
        "import dialer.ivr.classic, dialer.ivr.lookup;"
        "bad = {'pydantic', 'aiohttp', 'panoramisk', 'phonenumbers', 'dialer.config'} & set(sys.modules);"
        "assert not bad, bad; print('ok')"
    )
    r = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code, str(tmp_path / "agi-bin" / "ivr-lib"), str(only)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_dialplan_switches_doors_with_one_global() -> None:
    text = (REPO / "asterisk_conf" / "extensions.conf").read_text()
    ctx = text[text.index("[ivr-505]") :]
    ctx = ctx[: ctx.find("\n[", 1)] if "\n[" in ctx[1:] else ctx
    assert re.search(r"^IVR_MODE = (fastagi|agi)$", text, re.M)
    assert 'GotoIf($["${IVR_MODE}" = "agi"]?classic)' in ctx
    assert "AGI(${DIALER_AGI}/ivr)" in ctx and "n(classic),AGI(ivr.py)" in ctx
    assert "AGI(${DIALER_AGI}/inbound)" in ctx

"""What the classic AGI script needs on the PBX, as one folder: ``ivr.py`` and ``ivr-lib/``.

The PBX (the sandbox's sid chroot, the Asterisk image) has Debian's python3 with SQLAlchemy 2.0, sqlite3 and
psycopg2, and nothing of ours: the bundle carries the stdlib-only IVR modules, dialer.db.types, pyst2's
pure-Python ``asterisk`` package and ``six`` (pyst2 imports it), and dialer.applications.keys (the number's
digits, as the importer computes them). The rest of ``dialer`` stays out: it needs
pydantic and friends, which the PBX does not have.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from dialer.ivr.classic import CONF_NAME

PKG = Path(__file__).resolve().parent  # dialer/ivr
REPO = PKG.parents[1]
SCRIPT = REPO / "agi_scripts" / "ivr.py"
IVR_MODULES = (
    "__init__.py",
    "aiothread.py",
    "booking.py",
    "classic.py",
    "flow.py",
    "limits.py",
    "lookup.py",
    "pickup.py",
    "privacy.py",
    "prompts.py",
)
BOOKING_MODULES = (
    "hours.py",
    "engine/window.py",
    "offices/slots.py",
    "offices/ledger.py",
    "db/models.py",
)
STUB = '"""Only the parts of the dialer package that the classic AGI script needs."""\n'


def write_bundle(dest: Path) -> Path:
    """Write ``dest/ivr.py`` and ``dest/ivr-lib/``; returns the script's path. Replaces an older bundle."""
    dest.mkdir(parents=True, exist_ok=True)
    lib = dest / "ivr-lib"
    shutil.rmtree(lib, ignore_errors=True)
    (lib / "dialer" / "ivr").mkdir(parents=True)
    (lib / "dialer" / "db").mkdir()
    (lib / "dialer" / "applications").mkdir()
    (lib / "dialer" / "__init__.py").write_text(STUB)
    (lib / "dialer" / "db" / "__init__.py").write_text(STUB)
    (lib / "dialer" / "applications" / "__init__.py").write_text(STUB)
    shutil.copy2(REPO / "dialer" / "db" / "types.py", lib / "dialer" / "db" / "types.py")
    shutil.copy2(REPO / "dialer" / "applications" / "keys.py", lib / "dialer" / "applications" / "keys.py")
    for name in BOOKING_MODULES:  # the pickup booking ledger (issue 14): SQLAlchemy and the stdlib only
        target = lib / "dialer" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not (target.parent / "__init__.py").exists():
            (target.parent / "__init__.py").write_text(STUB)
        shutil.copy2(REPO / "dialer" / name, target)
    for name in IVR_MODULES:
        shutil.copy2(PKG / name, lib / "dialer" / "ivr" / name)
    shutil.copytree(
        _origin("asterisk").parent, lib / "asterisk", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(_origin("six"), lib / "six.py")
    script = dest / "ivr.py"
    shutil.copy2(SCRIPT, script)
    script.chmod(0o755)
    return script


def _origin(module: str) -> Path:
    """Where an installed module's source is, without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{module} is not installed (pyst2 brings it)")
    return Path(spec.origin)


def write_conf(dest: Path, database_url: str, *, default_lang: str | None = None) -> Path:
    """The script's configuration next to it. Holds the database password: readable by its owner only."""
    path = dest / CONF_NAME
    lines = ["# written by dialer (dialer.ivr.bundle); read by ivr.py", f"database_url = {database_url}"]
    if default_lang:
        lines.append(f"default_lang = {default_lang}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path

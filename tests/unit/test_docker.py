"""docker/ stays valid and consistent with what the sandbox runs (no engine here: lint and config only)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"


def _tool(name: str) -> str:
    found = shutil.which(name) or (
        str(Path(sys.executable).parent / name) if (Path(sys.executable).parent / name).exists() else None
    )
    assert found, f"{name} is not installed (scripts/bootstrap.sh installs it)"
    return found


def test_compose_file_is_valid() -> None:
    env = {**os.environ, "POSTGRES_PASSWORD": "x", "DIALER_AMI_SECRET": "y"}
    r = subprocess.run(
        [_tool("docker-compose"), "-f", str(DOCKER / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    for svc in ("asterisk:", "dialer:", "postgres:"):
        assert svc in r.stdout


def test_compose_refuses_to_start_without_passwords() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_PASSWORD", "DIALER_AMI_SECRET")}
    r = subprocess.run(
        [_tool("docker-compose"), "-f", str(DOCKER / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd="/",
    )
    assert r.returncode != 0 and "POSTGRES_PASSWORD" in r.stderr


def test_dockerfiles_pass_hadolint() -> None:
    files = sorted(DOCKER.glob("*.Dockerfile"))
    assert len(files) == 2
    r = subprocess.run([_tool("hadolint"), *map(str, files)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_dockerfiles_copy_only_what_exists_and_the_sandboxs_packages() -> None:
    from dialer.sandbox.chroot import PACKAGES

    for f in DOCKER.glob("*.Dockerfile"):
        for src in re.findall(r"^COPY\s+(?!--from)(.+?)\s+\S+$", f.read_text(), re.M):
            for part in src.split():
                matches = list(REPO.glob(part.rstrip("/")))
                assert matches, f"{f.name}: COPY {part} does not exist"
    text = (DOCKER / "asterisk.Dockerfile").read_text()
    for pkg in PACKAGES:
        if pkg.startswith(("asterisk", "python3-")):
            assert pkg in text, f"asterisk image lacks {pkg}, which the sandbox has"
    for mounted in ("pjsip_site.conf", "pjsip_agents_auth.conf", "manager_secret.conf", "dialer-ivr.conf"):
        assert (DOCKER / "site.example" / mounted).exists()

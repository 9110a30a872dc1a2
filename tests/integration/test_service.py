"""`dialer serve` as a process: migrates on start, stays up without Asterisk, reports health, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_service_starts_without_asterisk_reports_it_and_keeps_retrying(db_url: str, tmp_path: Path) -> None:
    http, agi, dead_ami = _free_port(), _free_port(), _free_port()
    env = {
        **os.environ,
        "DIALER_DATABASE__URL": db_url,
        "DIALER_HTTP__BIND": f"127.0.0.1:{http}",
        "DIALER_FASTAGI__BIND": f"127.0.0.1:{agi}",
        "DIALER_AMI__PORT": str(dead_ami),
        "DIALER_AMI__SECRET": "very-secret-ami-pw",
        "DIALER_AMI__RECONNECT_MAX": "0.5",
        "DIALER_DATA_DIR": str(tmp_path),
    }
    p = subprocess.Popen(
        [sys.executable, "-m", "dialer", "--config", str(REPO / "config.yaml"), "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        health: dict[str, object] = {}
        while time.monotonic() < deadline:
            assert p.poll() is None, p.stdout.read() if p.stdout else ""
            try:
                code, body = _get(f"http://127.0.0.1:{http}/healthz")
            except OSError:
                time.sleep(0.2)
                continue
            health = json.loads(body)
            if health.get("ami_error"):
                break
            time.sleep(0.2)
        assert code == 200 and health["database"] == "ok"
        assert health["ami"] in ("down", "connecting")
        assert "refused" in str(health["ami_error"]).lower() or "connect" in str(health["ami_error"]).lower()
        time.sleep(1.5)
        assert p.poll() is None  # still up, still retrying
        code, metrics = _get(f"http://127.0.0.1:{http}/metrics")
        assert code == 200 and "dialer_ami_up 0.0" in metrics
        with socket.create_connection(("127.0.0.1", agi), timeout=2):
            pass  # FastAGI is listening
    finally:
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=20)
    assert p.returncode == 0, out
    assert "very-secret-ami-pw" not in out
    assert "unreachable" in out and "shutting down" in out

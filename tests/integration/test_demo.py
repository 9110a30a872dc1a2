"""scripts/demo.sh as a newcomer runs it: a few step lines instead of the installers' noise, then a short
block with the dashboard's address, a login made for them and how to stop. The printed login works, and
the dashboard (in Russian) shows one demo campaign dialling and one waiting for its calling window."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.web.browser import browser, login  # noqa: F401  (fixture)

pytestmark = pytest.mark.asterisk
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def read_until(proc: asyncio.subprocess.Process, marker: str, deadline: float) -> list[str]:
    lines: list[str] = []
    assert proc.stdout is not None
    while True:
        raw = await asyncio.wait_for(proc.stdout.readline(), deadline)
        if not raw:
            raise AssertionError("demo.sh ended early:\n" + "".join(lines))
        lines.append(raw.decode())
        if marker in lines[-1]:
            return lines


@pytest.mark.timeout(900)
async def test_the_demo_prints_a_short_block_and_its_login_works(
    sandbox: Any,
    tmp_path: Path,
    browser: Browser,  # noqa: F811
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DEMO_DIR": str(tmp_path),
        "DEMO_KEEP_SANDBOX": "1",  # the session's sandbox fixture stops it
        "DIALER_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "DIALER_HTTP__BIND": f"127.0.0.1:{port}",
    }
    proc = await asyncio.create_subprocess_exec(
        "scripts/demo.sh",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out = await read_until(proc, "    stop ", 600)
        text = "".join(out)
        # the installers' output is in the log, not on the terminal
        assert len(out) <= 20, text
        assert not re.search(r"apt-get|pip|setuptools|Collecting|Unpacking", text), text
        assert f"    dashboard   http://127.0.0.1:{port}/admin" in text
        m = re.search(r"    login       admin / (\S+)   \(shown once", text)
        assert m, text
        password = m.group(1)
        assert password not in (tmp_path / "demo-install.log").read_text()
        assert "Ctrl-C" in out[-1]

        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        base = f"http://127.0.0.1:{port}"
        await login(page, base, "admin", password)
        await page.wait_for_url(base + "/admin")
        waiting = page.locator('tr[data-campaign="demo-far-east"] [data-field="activity"]')
        await expect(waiting).to_have_text(
            re.compile(r"^ожидание: окно обзвона откроется в .*09:00 \((Europe|Asia)/")
        )
        dialling = page.locator('tr[data-campaign="demo-pickup"] [data-field="activity"]')
        await expect(dialling).to_have_text(re.compile(r"^обзвон"), timeout=60000)
        await expect(
            page.locator('tr[data-campaign="demo-pickup"] [data-field="answered"]')
        ).not_to_have_text("0", timeout=120000)
        await page.close()
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        rest = (await asyncio.wait_for(proc.communicate(), 60))[0].decode()
    assert "stopped" in rest

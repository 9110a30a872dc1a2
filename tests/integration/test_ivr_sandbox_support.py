"""Drives calls INTO the sandbox PBX's 505 IVR and watches what happens, for the e2e IVR tests.

A person calling 505 is an Originate on the simulated carrier's AMI into its ``sim-caller`` context; the first
keys (the application number) go with the call as DIGITS (sent by the carrier's dialplan after DTMF_DELAY,
i.e. during the greeting), later keys are sent from the carrier's leg with PlayDTMF when the PBX starts the
prompt that asks for them. What the caller heard comes from the PBX's log (a temporary logger channel at
verbose level 3 records every file played, per channel); the outcome from the dialplan's ``IvrResult``
UserEvent (APP_STATUS, IVR_TRANSFER, the number's last digits), which the dialer's own AMI user may read.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.ami.link import AmiLink
from dialer.config import Settings
from dialer.sandbox import CARRIER_AMI, Sandbox
from dialer.sandbox import asterisk as sb_asterisk

LOG_CHANNEL = "ivr-e2e.log"
# ... file.c: <PJSIP/carrier-00000001> Playing 'digits/9.gsm' (language 'ru')
# ... res_agi.c: <PJSIP/carrier-00000000> Playing 'ivr/welcome.slin' (escape_digits=0123456789) (sample_offset 0) (language 'ru')
_PLAYING = re.compile(r"<(?P<chan>[^>]+)> Playing '(?P<file>[^']+?)\.\w+' .*?\(language '(?P<lang>[^']*)'\)")
_MISSING = re.compile(r"File (?P<file>\S+) does not exist in any format")


@dataclass
class Call:
    caller: str
    action_id: str
    carrier_uid: str
    carrier_channel: str = ""
    pbx_channel: str = ""
    result: dict[str, str] | None = None
    hung_up: bool = False
    played: list[tuple[str, str]] = field(default_factory=list)  # (file, language)

    def files(self) -> list[str]:
        return [f for f, _ in self.played]


class Pbx505:
    def __init__(self, sandbox: Sandbox, settings: Settings) -> None:
        self.sb = sandbox
        self.settings = settings
        host, port, user, secret = CARRIER_AMI
        self.carrier = AmiLink(host, port, user, secret, name="carrier")
        self.pbx = AmiLink.from_settings(settings.ami)
        self.calls: dict[str, Call] = {}  # by caller number
        self._by_carrier_uid: dict[str, Call] = {}
        self._log_path = sandbox.root / str(sb_asterisk.INNER / "pbx" / "log" / LOG_CHANNEL).lstrip("/")
        self._log_pos = 0
        self.missing_files: list[str] = []
        self.log_lines: list[str] = []

    async def __aenter__(self) -> Pbx505:
        await asyncio.to_thread(
            self.sb.rx, f"logger add channel {LOG_CHANNEL} notice,warning,error,verbose(3)"
        )
        self._log_pos = self._log_path.stat().st_size if self._log_path.exists() else 0
        self.carrier.on_event("OriginateResponse", self._on_originate)
        self.carrier.on_event("Newchannel", self._on_carrier_channel)
        self.pbx.on_event("Newchannel", self._on_pbx_channel)
        self.pbx.on_event("UserEvent", self._on_user_event)
        self.pbx.on_event("Hangup", self._on_pbx_hangup)
        self.carrier.start()
        self.pbx.start()
        await self.carrier.wait_up(15)
        await self.pbx.wait_up(15)
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.carrier.send({"Action": "Hangup", "Channel": "/^PJSIP/pbx-.*/", "Cause": "16"})
        await self.carrier.stop()
        await self.pbx.stop()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.sb.rx, f"logger remove channel {LOG_CHANNEL}")
        self._log_path.unlink(missing_ok=True)

    # ---- globals (the dialer's AMI user may Setvar: write class call) --------------------------------------
    async def set_global(self, name: str, value: str) -> None:
        r = await self.pbx.send({"Action": "Setvar", "Variable": name, "Value": value})
        assert r.get("Response") == "Success", dict(r)

    # ---- events --------------------------------------------------------------------------------------------
    def _on_originate(self, e: Any) -> None:
        for c in self.calls.values():
            if c.action_id == e.get("ActionID"):
                c.carrier_channel = c.carrier_channel or str(e.get("Channel", ""))

    def _on_carrier_channel(self, e: Any) -> None:
        c = self._by_carrier_uid.get(str(e.get("Uniqueid", "")))
        if c is not None:
            c.carrier_channel = str(e.get("Channel", ""))

    def _on_pbx_channel(self, e: Any) -> None:
        c = self.calls.get(str(e.get("CallerIDNum", "")))
        chan = str(e.get("Channel", ""))
        if c is not None and not c.pbx_channel and chan.startswith("PJSIP/carrier-"):
            c.pbx_channel = chan

    def _on_pbx_hangup(self, e: Any) -> None:
        for c in self.calls.values():
            if c.pbx_channel and c.pbx_channel == e.get("Channel"):
                c.hung_up = True

    def _on_user_event(self, e: Any) -> None:
        if e.get("UserEvent") != "IvrResult":
            return
        for c in self.calls.values():
            if c.pbx_channel and c.pbx_channel == e.get("Channel"):
                c.result = {
                    k: str(e.get(k, ""))
                    for k in ("APP_NUMBER_TAIL", "APP_STATUS", "IVR_TRANSFER", "IVR_MODE")
                }

    def _read_log(self) -> None:
        if not self._log_path.exists():
            return
        with open(self._log_path, errors="replace") as f:
            f.seek(self._log_pos)
            chunk = f.read()
            self._log_pos = f.tell()
        by_chan = {c.pbx_channel: c for c in self.calls.values() if c.pbx_channel}
        for line in chunk.splitlines():
            self.log_lines.append(line)
            m = _PLAYING.search(line)
            if m and m.group("chan") in by_chan:
                by_chan[m.group("chan")].played.append((m.group("file"), m.group("lang")))
            m = _MISSING.search(line)
            if m:
                self.missing_files.append(line)

    # ---- a caller ------------------------------------------------------------------------------------------
    async def call(self, caller: str, digits: str = "", delay: float = 1.5, stay: int = 90) -> Call:
        """Dial 505 from ``caller``; ``digits`` are keyed ``delay`` seconds after answer (in the greeting)."""
        aid, uid = f"ivr-{uuid.uuid4().hex[:10]}", f"ivrc-{uuid.uuid4().hex[:10]}"
        c = Call(caller, aid, uid)
        self.calls[caller] = c
        self._by_carrier_uid[uid] = c
        variables = [f"DIGITS={digits}", f"DTMF_DELAY={delay}", f"STAY={stay}"]
        r = await self.carrier.send(
            {
                "Action": "Originate",
                "Channel": "PJSIP/505@pbx",
                "Context": "sim-caller",
                "Exten": "s",
                "Priority": "1",
                "CallerID": f'"{caller}" <{caller}>',
                "Timeout": "15000",
                "ActionID": aid,
                "ChannelId": uid,
                "Variable": variables,
            }
        )
        assert r.get("Response") == "Success", dict(r)
        return c

    async def wait(self, cond: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._read_log()
            if cond():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def wait_prompt(self, c: Call, prompt: str, nth: int = 1, timeout: float = 25) -> None:
        await self.wait(
            lambda: c.files().count(prompt) >= nth, timeout, f"{c.caller} to hear {prompt} #{nth}"
        )

    async def press(self, c: Call, keys: str) -> None:
        """Keys from the caller's side (the carrier's leg), as a phone sends them."""
        await self.wait(lambda: bool(c.carrier_channel), 10, f"{c.caller}'s carrier channel")
        for k in keys:
            r = await self.carrier.send(
                {"Action": "PlayDTMF", "Channel": c.carrier_channel, "Digit": k, "Duration": "150"}
            )
            assert r.get("Response") == "Success", dict(r)
            await asyncio.sleep(0.25)

    async def hang_up(self, c: Call) -> None:
        await self.carrier.send({"Action": "Hangup", "Channel": c.carrier_channel, "Cause": "16"})

    async def finished(self, c: Call, timeout: float = 40) -> Call:
        await self.wait(lambda: c.hung_up, timeout, f"{c.caller}'s call to end")
        self._read_log()
        return c


def log_tail(p: Pbx505, n: int = 60) -> str:
    return "\n".join(p.log_lines[-n:])


def path_in_chroot(sb: Sandbox, inner: str) -> Path:
    return sb.root / inner.lstrip("/")

"""``bench.engine --dry``: the engine benchmark's levels without the sandbox, to check its code paths.

The real engine (placing, call book, pacer, store on a scratch SQLite) runs against the simulated Asterisk
of :mod:`dialer.simulator.asterisk` in virtual time; every number rings for the campaign's ring time and is
not answered, as the sandbox's ``...4`` numbers do. What it proves: each level really places its N calls
(directly and through the engine's pacing), the engine follows every one of them, both lag meters see the
events, and the calls end. What it cannot give: figures (Asterisk's timestamps and the meters read the
same virtual clock, so lags are zero, and a bare link to compare with does not exist).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from bench.engine import levels_on
from dialer.bus import EventBus
from dialer.db import migrate
from dialer.engine.engine import Engine
from dialer.sandbox.harness import Harness
from dialer.simulator.asterisk.db import engine_settings, inline_engine
from dialer.simulator.asterisk.pbx import FAILURES, SimulatedAsterisk
from dialer.simulator.asterisk.vtime import VirtualTimeLoop, engine_time
from dialer.simulator.asterisk.world import EPOCH

if TYPE_CHECKING:
    from dialer.service import Service

RING_SECONDS = 15.0  # the campaign's ring time: the sandbox's ringing numbers are never answered


class DryRig:
    """A :class:`bench.engine.Rig` on the simulated Asterisk."""

    def __init__(self, loop: VirtualTimeLoop, sessions: Any, engine: Engine, ami: SimulatedAsterisk) -> None:
        self.loop = loop
        self.sessions = sessions
        self._engine = engine
        self.ami = ami
        self.originated = 0

    @property
    def engine(self) -> Engine:
        return self._engine

    def wall(self) -> float:
        return self.loop.wall()

    async def campaign(self, name: str, phones: list[str], **spec: Any) -> None:
        await Harness.campaign(cast(Harness, self), name, phones, **spec)

    async def state(self, name: str, action: str) -> None:
        await Harness.state(cast(Harness, self), name, action)

    async def wait(self, pred: Callable[[], Any], timeout: float, what: str) -> None:
        await Harness.wait(pred, timeout, what)

    def ring_unanswered(self, action: dict[str, Any]) -> None:
        """Asterisk's side of an Originate to a number that rings and is never answered."""
        self.originated += 1
        asyncio.get_running_loop().create_task(self._call(str(action["ChannelId"])))

    async def _call(self, key: str) -> None:
        ami = self.ami
        chan = ami.channel("carrier")
        ami.emit(
            "Newchannel", Channel=chan, ChannelState="0", ChannelStateDesc="Down", Uniqueid=key, Linkedid=key
        )
        ami.emit("DialBegin", DestChannel=chan, DestUniqueid=key, DialString=key)
        ami.emit("Newstate", Channel=chan, ChannelState="5", ChannelStateDesc="Ringing", Uniqueid=key)
        await asyncio.sleep(RING_SECONDS)
        _, reason, cause, tech = FAILURES["noanswer"]
        ami.emit("OriginateResponse", ActionID=key, Response="Failure", Reason=str(reason), Uniqueid=key)
        ami.emit("Hangup", Channel=chan, Uniqueid=key, Cause=str(cause), TechCause=str(tech))


async def _no_baseline(_n: int) -> dict[str, float]:
    return {"lag_p50": 0.0, "lag_p99": 0.0, "cpu_per_call": 0.0}


async def _dry(loop: VirtualTimeLoop, levels: list[int], tmp: Path, db_path: str) -> list[dict[str, Any]]:
    db, sessions = inline_engine(db_path)
    settings = engine_settings(tmp, db_path, max_channels=2000)
    rig_box: list[DryRig] = []
    ami = SimulatedAsterisk(loop, lambda action: rig_box[0].ring_unanswered(action))
    service = SimpleNamespace(settings=settings, sessions=sessions, ami=ami, bus=EventBus())
    engine = Engine(cast("Service", service), clock=lambda: datetime.fromtimestamp(loop.wall(), UTC))
    rig = DryRig(loop, sessions, engine, ami)
    rig_box.append(rig)
    await engine.start()
    try:
        await rig.wait(lambda: engine.reconciled, 20, "engine reconciled")
        rows = await levels_on(rig, levels, _no_baseline)
        for row in rows:
            row["originated_total"] = rig.originated
        return rows
    finally:
        await engine.stop(grace=0.0)
        await db.dispose()


def run_dry(levels: list[int]) -> list[dict[str, Any]]:
    """The benchmark's levels against the simulated Asterisk; one row per level, as on the sandbox."""
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "dry.db")
        migrate.upgrade(f"sqlite+aiosqlite:///{db_path}")
        loop = VirtualTimeLoop(EPOCH)
        try:
            with engine_time(loop):
                return loop.run_until_complete(_dry(loop, levels, Path(tmp), db_path))
        finally:
            loop.close()

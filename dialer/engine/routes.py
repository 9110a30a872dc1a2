"""FastAGI routes that put a person through to an agent.

``answered``: an outbound call was answered and entered ``[dialer-answered]``. We claim the agent idle
longest within 2 seconds of the answer, or give up so the dialplan plays the message naming the caller
(the call is then an abandoned call). The channel's Uniqueid is the attempt key we originated it with.

``inbound``: a 505 caller asked the IVR for an operator. They wait (hearing "please hold") until an agent
is free; waiting inbound callers take free agents before new outbound calls are placed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from dialer import metrics
from dialer.applications.card import application_card
from dialer.db.models import Application
from dialer.engine.agents import INBOUND_PRIORITY, OUTBOUND_PRIORITY
from dialer.engine.callbook import LiveCall
from dialer.engine.store import Placed
from dialer.fastagi.server import AgiSession

if TYPE_CHECKING:
    from dialer.engine.engine import Engine

log = logging.getLogger(__name__)

ABANDON_AFTER = 2.0  # seconds from answer: regulators count a later connection as an abandoned call
ROUTING_MARGIN = 0.3  # the agent's phone must be ringing before the 2 s are up
INBOUND_WAIT = 120.0
HOLD_PROMPT = "pls-hold-while-try"


class Routes:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def answered(self, agi: AgiSession) -> None:
        eng = self.engine
        loop = asyncio.get_running_loop()
        key = agi.env.get("agi_uniqueid", "")
        lc = eng.calls.get(key)
        if lc is None:
            log.warning("answered call %s is not one we are following; playing the message", key)
            await agi.set_variable("DIALER_ACTION", "abandon")
            return
        if lc.answered_loop is None:
            lc.answered_loop = loop.time()
            lc.tracked.facts.answered = True
            lc.tracked.answered_at = lc.tracked.answered_at or time.time()
        failed = await agi.get_variable("AGENT_FAILED")
        if failed:
            ext, _, status = failed.partition("/")
            eng.pool.failed(ext, time.time(), f"softphone did not answer ({status or 'no answer'})")
            lc.agent = None
            await agi.set_variable("AGENT_FAILED", "")
        camp = eng.campaigns.get(lc.camp_id)
        if camp is not None and camp.amd and not failed:
            amd = (await agi.get_variable("AMDSTATUS")) or ""
            lc.tracked.facts.amd_status = amd or None
            # the pacer learns the answer only now that AMD has decided what answered: for it the ringing
            # phase ends at the verdict (the answer's stamp on Asterisk's clock plus the time AMD listened)
            answered, seen = lc.tracked.answered_at, lc.tracked.answered_seen
            verdict_at = answered + max(0.0, time.time() - seen) if answered and seen else answered
            eng.book.observe_answer(lc, "machine" if amd == "MACHINE" else "live", verdict_at)
            if amd == "MACHINE":
                await agi.set_variable("DIALER_ACTION", "machine")
                return
        # the 2 seconds run from the end of the person's greeting: after AMD has listened to it, if it ran
        start = loop.time() if camp is not None and camp.amd and not failed else lc.answered_loop
        deadline = start + ABANDON_AFTER - ROUTING_MARGIN
        if failed:
            deadline = max(deadline, loop.time() + 1.0)  # already late: one more short try
        agent = await eng.pool.claim(
            lc.camp_id,
            key,
            deadline,
            time.time(),
            priority=OUTBOUND_PRIORITY,
            prefer=lc.placed.reserved_agent,
        )
        if agent is None or key not in eng.calls:
            if agent is not None:
                eng.pool.release(agent.ext, time.time(), key)
            log.info("attempt %s: no agent free within %.0f s of answer", lc.placed.attempt_id, ABANDON_AFTER)
            eng.book.routing_gave_up(lc)
            # the message promises a call back only when this number will be called again
            again = camp is not None and lc.placed.attempts < camp.max_attempts
            await agi.set_variable("DIALER_CALLBACK", "1" if again else "0")
            await agi.set_variable("DIALER_ACTION", "abandon")
            return
        eng.pool.ringing(agent.ext, key, lc.camp_id, time.time())
        lc.agent = None  # set when the agent's phone answers
        metrics.ANSWER_TO_AGENT.observe(loop.time() - lc.answered_loop)
        try:
            await agi.set_variable("CALLERID(name)", lc.placed.label)
            await agi.set_variable("CALLERID(num)", lc.placed.phone)
            await agi.set_variable("AGENT_EXTEN", agent.ext)
            await agi.set_variable("DIALER_ACTION", "connect")
        except BaseException:
            # the customer hung up (or the dialplan went away) before the agent could be rung
            eng.pool.release(agent.ext, time.time(), key)
            raise

    async def inbound(self, agi: AgiSession) -> None:
        eng = self.engine
        loop = asyncio.get_running_loop()
        key = agi.env.get("agi_uniqueid", "")
        caller = agi.env.get("agi_callerid", "")
        app_number = (await agi.get_variable("APP_NUMBER")) or ""
        application = await self._application(app_number)
        label = f"505 {application['applicant_name'] if application else ''} {app_number}".strip()
        placed = Placed(0, key, 0, 0, caller, 0, None, label[:80], application)
        tracked = eng.tracker.expect(key, time.time())
        tracked.originate_done = True
        tracked.facts.answered = True
        lc = LiveCall(placed, -1, tracked, time.time(), 0, answered_loop=loop.time(), inbound=True)
        eng.book.register(lc)
        agent = None
        try:
            deadline = loop.time() + INBOUND_WAIT
            while agent is None and loop.time() < deadline and not agi.hungup:
                agent = await eng.pool.claim(
                    None, key, min(deadline, loop.time() + 8), time.time(), priority=INBOUND_PRIORITY
                )
                if agent is None:
                    await agi.stream_file(HOLD_PROMPT)
            if agent is None:
                await agi.set_variable("AGENT_EXTEN", "")
                return
            eng.pool.ringing(agent.ext, key, None, time.time(), inbound=True)
            await agi.set_variable("CALLERID(name)", label[:80])
            await agi.set_variable("AGENT_EXTEN", agent.ext)
        except BaseException:
            # the caller is gone: the call and any agent claimed for it are released at once
            eng.book.forget_unsent(key, time.time())
            if agent is not None:
                eng.pool.release(agent.ext, time.time(), key)
            raise

    async def _application(self, number: str) -> dict[str, Any] | None:
        if not number:
            return None
        try:
            async with self.engine.sessions() as s:
                app = (
                    await asyncio.wait_for(
                        s.execute(select(Application).where(Application.number == number)), 1.0
                    )
                ).scalar_one_or_none()
        except Exception:
            log.warning("application lookup for the screen pop failed")
            return None
        if app is None:
            return None
        return application_card(app)

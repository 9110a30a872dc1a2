"""The call book's database writes, committed in order and retried until they are.

A call's outcome is kept here until its transaction commits: a failed write (a PostgreSQL failover, a
SQLite lock past its timeout) is retried with backoff instead of being lost, and meanwhile the number stays
in flight in the database, so it can't be dialled again. Reconciliation leaves these attempts alone: their
outcome is known, only not yet written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from dialer import metrics
from dialer.callrecords.fate import CallFate
from dialer.db.outage import describe
from dialer.engine import attempts, store
from dialer.engine.attempts import Finish
from dialer.engine.callbook import Effect, MarkBridged, SaveFinish
from dialer.engine.outcomes import Outcome
from dialer.engine.runtime import CampaignRuntime, Sessions

log = logging.getLogger(__name__)

UNPLACED_RETRY = 60.0  # seconds a contact waits after an Originate that Asterisk never placed
FIRST_RETRY = 0.5
MAX_RETRY = 30.0


@dataclass
class _Pending:
    effect: Effect
    tries: int = 0
    due: float = 0.0


class Outbox:
    def __init__(self, sessions: Sessions, campaign: Callable[[int], CampaignRuntime | None]) -> None:
        self.sessions = sessions
        self.campaign = campaign
        self.pending: list[_Pending] = []
        self._lock = asyncio.Lock()
        # Asterisk's verdict on calls (Recovery.fates): None when its records can't be read
        self.verify_with: Callable[[list[str]], Awaitable[dict[str, CallFate] | None]] | None = None

    def add(self, effects: list[Effect]) -> None:
        self.pending.extend(_Pending(e) for e in effects)
        metrics.PENDING_WRITES.set(len(self.pending))

    def attempt_ids(self) -> set[int]:
        """Attempts whose outcome is known but not yet committed."""
        out = set()
        for p in self.pending:
            e = p.effect
            out.add(e.finish.attempt_id if isinstance(e, SaveFinish) else e.attempt_id)
        return out

    async def flush(self, now: float) -> None:
        """Commit what is due, in order; a failure delays only that write (the others go on). One flush at
        a time; writes added meanwhile are taken by the same flush before it returns."""
        if self._lock.locked():
            return
        async with self._lock:
            retry: list[_Pending] = []
            while True:
                batch, self.pending = self.pending, []
                due = [p for p in batch if p.due <= now]
                retry += [p for p in batch if p.due > now]
                if not due:
                    break
                for p in due:
                    try:
                        await self._run(p.effect)
                    except Exception as e:
                        p.tries += 1
                        p.due = now + min(MAX_RETRY, FIRST_RETRY * 2 ** (p.tries - 1))
                        metrics.WRITE_RETRIES.inc()
                        log.warning(
                            "writing %s failed (%s); retry %d in %.1f s",
                            type(p.effect).__name__,
                            describe(e),
                            p.tries,
                            p.due - now,
                        )
                        retry.append(p)
            self.pending = retry + self.pending
            metrics.PENDING_WRITES.set(len(self.pending))

    async def _run(self, e: Effect) -> None:
        if isinstance(e, MarkBridged):
            await attempts.mark_bridged(self.sessions, e.attempt_id, e.agent, e.at)
            return
        finish = e.finish
        if e.verify and self.verify_with is not None:
            fates = await self.verify_with([e.key])
            found = fates.get(e.key) if fates is not None else None
            if found is not None:
                finish = with_record(finish, found)
            elif fates is not None and not e.acked:
                # never acknowledged, and Asterisk has no record of it: it placed no call
                retry_at = (finish.decided_at or finish.ended_at) + timedelta(seconds=UNPLACED_RETRY)
                await store.cancel_unsent(self.sessions, finish.attempt_id, retry_at)
                return
        await attempts.finish(self.sessions, finish, self.campaign(e.camp_id))


def with_record(f: Finish, fate: CallFate) -> Finish:
    """The engine's verdict completed by Asterisk's record; a call either saw connected stays connected."""
    outcome = Outcome.CONNECTED if Outcome.CONNECTED in (f.outcome, fate.outcome) else fate.outcome
    facts = replace(
        f.facts,
        answered=f.facts.answered or fate.answered_at is not None,
        agent_connected=outcome is Outcome.CONNECTED,
    )
    return replace(
        f,
        outcome=outcome,
        facts=facts,
        answered_at=f.answered_at or fate.answered_at,
        bridged_at=f.bridged_at or fate.bridged_at,
        agent_ext=f.agent_ext or fate.agent,
        ended_at=fate.ended_at or f.ended_at,
        talk_seconds=fate.talk_seconds if fate.talk_seconds is not None else f.talk_seconds,
    )

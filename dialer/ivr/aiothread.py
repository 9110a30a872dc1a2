"""Blocking work from asyncio code on daemon threads (stdlib only; used by the classic AGI script)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_thread(fn: Callable[[], T]) -> T:
    """Like asyncio.to_thread, but on a daemon thread that nobody waits for at exit.

    asyncio.to_thread uses the loop's default executor, and asyncio.run joins that executor on the way out:
    a database call hung past the flow's deadline would keep the AGI script (and the PBX's channel slot)
    alive until the driver gives up. A daemon thread is simply dropped when the script ends.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def target() -> None:
        try:
            value: Any = fn()
            ok = True
        except BaseException as e:
            value, ok = e, False
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits for this any more
            loop.call_soon_threadsafe(deliver, ok, value)

    threading.Thread(target=target, name="ivr-db", daemon=True).start()
    return await fut

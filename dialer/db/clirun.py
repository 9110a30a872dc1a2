"""One way for a CLI command to reach the database: the settings from ``--config``, migrations applied, a
session factory for the command's coroutine, the engine disposed afterwards."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.config import Settings, load_settings
from dialer.db import migrate
from dialer.db.engine import make_engine, make_sessionmaker

T = TypeVar("T")


def run_with_database(
    args: argparse.Namespace, fn: Callable[[Settings, async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    settings = load_settings(args.config)

    async def main() -> T:
        await asyncio.to_thread(migrate.upgrade, settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            return await fn(settings, make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())

"""One user of the sandbox at a time: its ports are fixed, and ``up()`` restarts everything."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Hold the machine-wide sandbox lock (test sessions and recordings wait their turn)."""
    path = root.parent / ".test-lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

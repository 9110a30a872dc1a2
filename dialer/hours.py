"""Opening hours written as ``"HH:MM-HH:MM"`` or ``"closed"`` per weekday: the one definition shared by the
calling window (service default and campaigns) and the pickup offices. Standard library only, so the
classic AGI script on the PBX (which has no pydantic) can compute an office's slots too."""

from __future__ import annotations

import re
from datetime import time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def parse_hours(value: str) -> tuple[time, time]:
    """Parse ``"09:00-19:00"`` into a half-open [start, end) pair; end ``24:00`` means midnight."""
    m = _HOURS_RE.match(value.strip())
    if not m:
        raise ValueError(f"expected HH:MM-HH:MM or 'closed', got {value!r}")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"not a valid time range: {value!r}")
    start = time(h1, m1)
    end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"window must end after it starts: {value!r}")
    return start, end


def validate_hours(v: dict[str, str]) -> dict[str, str]:
    """weekday -> 'HH:MM-HH:MM' or 'closed'; shared by the service default and campaigns' own windows."""
    for day, spec in v.items():
        if day not in WEEKDAYS:
            raise ValueError(f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}")
        if spec.strip().lower() != "closed":
            parse_hours(spec)
    return v

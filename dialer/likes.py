"""LIKE patterns from what a person typed into a search box: ``%`` and ``_`` in the text are literal
characters, not wildcards (a search for ``50%`` or ``a_b`` must not match everything or anything).
Use with ``column.like(contains(text), escape=ESCAPE)``; SQLite has no default escape character."""

from __future__ import annotations

ESCAPE = "\\"


def escape_like(text: str) -> str:
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(text: str) -> str:
    return f"%{escape_like(text.strip())}%"


def starts_with(text: str) -> str:
    return f"{escape_like(text.strip())}%"

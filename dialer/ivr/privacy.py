"""What the IVR may write into plain logs, and how it keys callers.

The status of an application is personal data; plain logs (Python logging, Asterisk's verbose log) only ever
see the last digits of an application number and a masked phone. The full values go to the channel variables
the dialplan needs and to the audit log. Stdlib only: the classic AGI script runs where there is no
``phonenumbers``.
"""

from __future__ import annotations

import re

ANONYMOUS = "anonymous"


def mask_number(app_number: str, keep: int = 4) -> str:
    """``"20240001234"`` -> ``"*******1234"``; short inputs are masked entirely."""
    if len(app_number) <= keep:
        return "*" * len(app_number)
    return "*" * (len(app_number) - keep) + app_number[-keep:]


def mask_phone(phone: str) -> str:
    """Same shape as dialer.phones.masked (country code and last 2 digits)."""
    return phone[:2] + "*" * max(0, len(phone) - 4) + phone[-2:] if len(phone) > 4 else "***"


def caller_key(raw: str | None) -> str:
    """The caller's number as applications store phones (E.164), or ``anonymous``.

    Carriers hand over ``79161234567``, ``89161234567`` or ``+79161234567`` for the same Russian line; the
    rate limit and the "your application" offer must see one key for all of them. Numbers the heuristics do
    not recognise are kept as ``+digits``, which is still a stable key.
    """
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) < 5:  # withheld, "anonymous", internal extensions
        return ANONYMOUS
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits[0] == "9":
        digits = "7" + digits
    return "+" + digits


def office_number(office: str | None) -> int | None:
    """The number the IVR can speak for a pickup office: ``"Отделение №12, ул. Ленина 5"`` -> 12.

    Office names are free text and no sound can say them; offices are numbered, so the number after ``№``
    (or the first number) identifies it well enough on the phone.
    """
    if not office:
        return None
    m = re.search(r"№\s*(\d{1,6})", office) or re.search(r"(?<!\d)(\d{1,6})(?!\d)", office)
    return int(m.group(1)) if m else None

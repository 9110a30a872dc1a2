"""The search key of an application number: the digits a caller can key on a phone.

Passport offices write numbers as they like (``2027-00010``, ``2027 00010``, ``МС/2027/00010``), and a phone
keypad has digits only, so the IVR and the search compare digits with digits: every decimal digit of the
number, in order (a full-width or Arabic-Indic digit counts as the digit it is), nothing else. Letters,
dashes, spaces and slashes are skipped: the letter-prefix rule is "key the digits only".

Stdlib only: the model computes it on every insert, the importer reports numbers a caller can not key, and
the classic AGI script (the PBX's own Python) uses it too.
"""

from __future__ import annotations

import unicodedata

# What a caller may key (dialer.ivr.flow.IvrConfig uses the same bounds).
MIN_DIGITS = 6
MAX_DIGITS = 16
KEY_LENGTH = 32  # the column; a number is at most 32 characters, so its key is too


def search_key(number: str) -> str:
    """``"МС-2027/00010"`` -> ``"202700010"``; ``"АБВ"`` -> ``""``."""
    out = []
    for ch in number:
        if "0" <= ch <= "9":
            out.append(ch)
        elif ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
    return "".join(out)


def phone_problem(number: str) -> str | None:
    """Why a caller could not find this application by phone, or None when they can."""
    key = search_key(number)
    if not key:
        return f"application {number!r} has no digits: callers can not find it by phone"
    if not MIN_DIGITS <= len(key) <= MAX_DIGITS:
        return (
            f"application {number!r} has {len(key)} digits: callers can key {MIN_DIGITS} to {MAX_DIGITS}, "
            "so it can not be found by phone"
        )
    return None

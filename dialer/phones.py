"""Phone numbers: everything stored and dialled is E.164, parsed by libphonenumber (``phonenumbers``)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat


class InvalidPhone(ValueError):
    """Carries a reason meant for the admin's import report."""


_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


def normalize(raw: str, region: str = "RU") -> str:
    """Return the E.164 form (``+79161234567``) or raise InvalidPhone with a human reason.

    Numbers are checked for a valid length and a plausible prefix for their country, so a typo is caught at
    import rather than burning an attempt on an unallocated number.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("empty phone")
    if text.startswith("8") and region == "RU" and len(_digits(text)) == 11:
        text = "+7" + _digits(text)[1:]  # Russian trunk prefix 8 -> +7
    try:
        num = phonenumbers.parse(text, region)
    except NumberParseException as e:
        raise InvalidPhone(_REASONS.get(e.error_type, "not a phone number")) from None
    if not phonenumbers.is_possible_number(num):
        raise InvalidPhone("wrong number of digits")
    if not phonenumbers.is_valid_number(num):
        raise InvalidPhone("no such number range")
    return phonenumbers.format_number(num, PhoneNumberFormat.E164)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def dial_digits(e164: str) -> str:
    """What goes into the dial string: E.164 without '+'."""
    return e164.lstrip("+")


def masked(e164: str) -> str:
    """For plain logs: keep the country code and last 2 digits."""
    return e164[:2] + "*" * max(0, len(e164) - 4) + e164[-2:] if len(e164) > 4 else "***"

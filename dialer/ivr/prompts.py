"""Names of the sounds the 505 IVR plays, in one place.

The project's own prompts live in ``asterisk_conf/sounds/<lang>/ivr/`` (made by scripts/make-sounds.sh); a
unit test checks that every name in ``OWN`` exists there for every language, because a missing file means
silence on the line, not an error anyone would see. Stdlib only: imported by the classic AGI script too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

WELCOME = "ivr/welcome"
ENTER_NUMBER = "ivr/enter-number"  # "key in the digits of the number" (letters are left out)
YOU_ENTERED = "ivr/you-entered"  # + the digits keyed
CONFIRM_NUMBER = "ivr/confirm-number"  # "1 if right, 2 to key it again"
AMBIGUOUS = "ivr/ambiguous"  # "several applications have this number: an operator"
OFFER_OWN = "ivr/offer-own"  # "for the application whose number ends in" + digits
OFFER_OWN_PRESS = "ivr/offer-own-press"  # "press 1, or key in another number"
INVALID_NUMBER = "ivr/invalid-number"
NO_INPUT = "ivr/no-input"
NOT_FOUND = "ivr/not-found"
TRY_AGAIN = "ivr/try-again"
STATUS_READY = "ivr/status-ready"
PICKUP_OFFICE = "ivr/pickup-office"  # + office number
PICKUP_FROM = "ivr/pickup-from"  # + date
STATUS_PROCESSING = "ivr/status-processing"
STATUS_SUBMITTED = "ivr/status-submitted"
EXPECTED_DATE = "ivr/expected-date"  # + date
STATUS_ISSUED = "ivr/status-issued"
STATUS_REJECTED = "ivr/status-rejected"
MENU = "ivr/menu"
UNAVAILABLE = "ivr/unavailable"
LIMITED = "ivr/limited"
CONNECTING = "ivr/connecting"
GOODBYE = "ivr/goodbye"

# stock Asterisk sounds (asterisk-core-sounds-ru/-en have them)
INVALID_OPTION = "pm-invalid-option"
SILENCE = "silence/1"  # the "prompt" of a GET DATA that continues digits the caller already started

OWN = (
    WELCOME,
    ENTER_NUMBER,
    YOU_ENTERED,
    CONFIRM_NUMBER,
    AMBIGUOUS,
    OFFER_OWN,
    OFFER_OWN_PRESS,
    INVALID_NUMBER,
    NO_INPUT,
    NOT_FOUND,
    TRY_AGAIN,
    STATUS_READY,
    PICKUP_OFFICE,
    PICKUP_FROM,
    STATUS_PROCESSING,
    STATUS_SUBMITTED,
    EXPECTED_DATE,
    STATUS_ISSUED,
    STATUS_REJECTED,
    MENU,
    UNAVAILABLE,
    LIMITED,
    CONNECTING,
    GOODBYE,
)

# Prompts of the outbound dialer (context dialer-answered / the operator fallback of ivr-505).
DIALER = ("dialer/abandoned", "dialer/machine-message", "dialer/operators-busy")

# Date formats for SAY DATETIME, without the year: Russian core sounds lack digits/2f and
# digits/thousands-i, which a year needs, and the caller knows the year anyway.
DATE_FORMAT = {"ru": "dB", "en": "Bd"}


def unix_noon(day: date) -> int:
    """A date as SAY DATETIME wants it: noon UTC, spoken in UTC, so no time zone can shift the day."""
    return int(datetime.combine(day, time(12), UTC).timestamp())

"""Text the server writes that the web interface shows, listed for translation (see dialer.web.i18n).

The services raise their errors in English where they happen ("no campaign named 'x'"); rather than mark
every one of them, the catalogue holds them as msgids with ``{placeholders}`` and the API's error
middleware (and the pages' ``tr()``) match them. The enum values the API returns (agent states, outcomes,
dispositions...) are words with a gettext context, shown by the pages' ``tv(context, value)``.
A message missing here is shown in English: nothing breaks.
"""

from __future__ import annotations

from dialer.campaigns.waiting import TEMPLATES as WAITING_TEMPLATES

MESSAGES: tuple[str, ...] = (
    "Language",
    # auth and requests
    "log in first",
    "wrong user name or password",
    "logged out",
    "the body is not valid JSON",
    "the body must be a JSON object",
    "send the body as {type}",
    "{field}: NUL characters are not allowed",
    "internal error; the details are in the service log",
    "this user is not linked to an agent extension",
    "an admin only",
    "CSRF token missing or wrong",
    "Not Found",
    "Method Not Allowed",
    "Forbidden",
    "Unauthorized",
    # campaigns, contacts, agents
    "a campaign named {name} already exists",
    "no campaign named {name}",
    "cannot {action} campaign {name}: it is {state}",
    "campaign {name} is {state}; pause it before editing",
    "campaign {name} is {state}; contacts can no longer be added",
    "the contact is being called right now; try again after the call",
    "no contact {id}",
    "no agent with extension {extension}",
    "agent extension must be digits, got {extension}",
    "no user named {username}",
    "user name must be 1..100 characters without spaces",
    "the passwords differ",
    "an agent user needs an extension",
    "{phone} is not on the do-not-call list",
    "no application {number}",
    "applicant_name and status can not be empty",
    # dispositions
    "no call {id} of yours",
    "call {id} already has a disposition",
    "callback_at must be in the future",
    "callback_at must be within a year",
    "appointment_at must not be in the past",
    # imports
    "no import job {id}",
    "no file: send it in a multipart part named 'file'",
    "the file is larger than {size} GiB",
    "bad phone: {reason}",
    "bad phone {phone}: {reason}",
    "missing application_number",
    "application_number longer than 32",
    "duplicate: {phone} for application {number} already listed (line {line})",
    "duplicate: {phone} for application {number} already listed",
    "duplicate: application {number} is listed earlier in the file",
    "empty phone",
    "not a phone number",
    "unknown country code",
    "too short",
    "too long",
    "wrong number of digits",
    "no such number range",
    # pydantic's validation messages the forms can produce
    "Field required",
    "String should have at least {n} character",
    "String should have at least {n} characters",
    "String should have at most {n} characters",
    "Input should be a valid datetime",
    "Input should be {choices}",
    # reasons the engine writes for a pause
    "softphone did not answer ({detail})",
    # what a running campaign is doing (the dashboard fills them in with the values the API sends)
    *WAITING_TEMPLATES.values(),
)

# context -> the values (as words: "logged_out" is "logged out") the pages show through tv(context, value)
VALUES: dict[str, tuple[str, ...]] = {
    "agent state": ("ready", "paused", "logged out", "ringing", "talking", "wrapup", "reserved"),
    "campaign state": ("draft", "running", "paused", "stopped", "completed"),
    "mode": ("predictive", "progressive", "ratio"),
    "action": ("start", "pause", "resume", "stop"),
    "link": ("up", "down", "connecting", "stopped"),
    "outcome": (
        "connected",
        "abandoned",
        "noanswer",
        "busy",
        "congestion",
        "failed",
        "machine",
        "cancelled",
        "invalid",
    ),
    "call state": ("created", "originated", "ringing", "answered", "bridged", "ended"),
    "disposition": ("appointment", "callback", "wrong number", "refused", "no answer on line"),
    "application status": ("ready", "processing", "submitted", "issued", "rejected"),
    "import state": ("running", "done", "failed"),
    "import kind": ("applications", "contacts"),
    "pause": ("break", "lunch", "training", "meeting", "technical problem", "admin"),
}

"""The web interface's languages: Russian first (the call centre works in Russian), English per user.

Translations are standard gettext catalogues (``dialer/web/locale/ru/LC_MESSAGES/messages.po``), read with
Babel from the .po file when the service starts, so there is no compile step to forget. English is the
source language (the msgids). One catalogue serves every place text appears:

- the page templates, whose ``{{text}}`` markers are replaced before the page is sent;
- the pages' JavaScript, which gets the catalogue as a JSON block in the page (``t("text")`` in JS);
- the API's error messages, translated in one middleware (not in each handler) for requests that ask for
  Russian with ``Accept-Language`` (the pages always send the user's language; scripts get English unless
  they ask). Messages with values in them ("no campaign named 'x'") match msgids with ``{placeholders}``.

``python -m dialer.web.i18n`` re-extracts the marked strings into ``messages.pot`` and merges them into the
catalogues (Babel's update), keeping the translations already made.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
LOCALE = HERE / "locale"
DOMAIN = "messages"
LANGUAGES = ("ru", "en")
DEFAULT = "ru"
NAMES = {"ru": "Русский", "en": "English"}
CTX_SEP = "\x04"  # gettext's own separator between a context and a msgid

_MARKER = re.compile(r"\{\{(.+?)\}\}", re.S)
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_LEADING_FIELD = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.+)$", re.S)


def normalise(lang: str | None) -> str:
    """A supported language from a stored value or an Accept-Language header; Russian otherwise."""
    for part in (lang or "").replace(" ", "").lower().split(","):
        code = part.split(";")[0].split("-")[0]
        if code in LANGUAGES:
            return code
    return DEFAULT


def _pattern(msgid: str) -> tuple[re.Pattern[str], str] | None:
    """A msgid with {placeholders} as a regex (Python) and its JavaScript spelling, or None."""
    if not _PLACEHOLDER.search(msgid):
        return None
    parts, js, last = [], [], 0
    for m in _PLACEHOLDER.finditer(msgid):
        lit = re.escape(msgid[last : m.start()])
        parts.append(lit + f"(?P<{m.group(1)}>.+?)")
        js.append(lit + f"(?<{m.group(1)}>.+?)")
        last = m.end()
    tail = re.escape(msgid[last:])
    return re.compile("^" + "".join(parts) + tail + "$", re.S), "^" + "".join(js) + tail + "$"


def fill(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda p: values.get(p.group(1), p.group(0)), text)


@dataclass(frozen=True)
class Catalogue:
    lang: str
    messages: dict[str, str]  # msgid, or context + CTX_SEP + msgid -> translation
    patterns: tuple[tuple[re.Pattern[str], str, str], ...]  # (regex, JS regex, translation)

    def gettext(self, msgid: str, context: str | None = None) -> str:
        key = f"{context}{CTX_SEP}{msgid}" if context else msgid
        return self.messages.get(key) or msgid

    def server_message(self, text: str) -> str:
        """An API message in this language: exact msgid, a msgid with placeholders, or "field: message"."""
        if self.lang == "en" or not text:
            return text
        if text in self.messages:
            return self.messages[text]
        for rx, _js, translated in self.patterns:
            m = rx.match(text)
            if m:
                return fill(translated, {k: self.server_message(v) for k, v in m.groupdict().items()})
        m = _LEADING_FIELD.match(text)
        if m:
            inner = self.server_message(m.group(2))
            if inner != m.group(2):
                return f"{m.group(1)}: {inner}"
        return text

    def for_js(self) -> dict[str, Any]:
        return {"messages": self.messages, "patterns": [[js, tr] for _rx, js, tr in self.patterns]}


def _po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(lang: str) -> Catalogue:
    lang = normalise(lang)
    path = _po_path(lang)
    messages: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str, str]] = []
    if path.exists():
        with path.open("rb") as f:
            cat = read_po(f, locale=lang)
        for msg in cat:
            if not msg.id or not isinstance(msg.id, str) or not isinstance(msg.string, str):
                continue
            if not msg.string or msg.fuzzy:
                continue
            key = f"{msg.context}{CTX_SEP}{msg.id}" if msg.context else msg.id
            messages[key] = msg.string
            p = _pattern(msg.id) if not msg.context else None
            if p is not None:
                patterns.append((p[0], p[1], msg.string))
    # the most specific pattern first: "no call {id} of yours" before "{anything}"
    patterns.sort(key=lambda p: -len(p[1]))
    return Catalogue(lang, messages, tuple(patterns))


def translate_template(text: str, lang: str, escape: Callable[[str], str]) -> str:
    """Replace every ``{{text}}`` marker (``{{context|text}}`` for a context) with its translation."""
    cat = catalogue(lang)

    def one(m: re.Match[str]) -> str:
        raw = " ".join(m.group(1).split())
        ctx, _, msgid = raw.rpartition("|")
        return escape(cat.gettext(msgid, ctx or None)).replace("$", "$$")

    return _MARKER.sub(one, text)


@functools.cache
def js_block(lang: str) -> str:
    """The catalogue as JSON safe inside <script type="application/json">."""
    text = json.dumps(catalogue(lang).for_js(), ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace("&", "\\u0026")


# ---- API errors -----------------------------------------------------------------------------------------
@web.middleware
async def translate_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """JSON errors of the API in the language the request asks for (Accept-Language)."""
    resp = await handler(request)
    if resp.status < 400 or not request.path.startswith("/api/") or not isinstance(resp, web.Response):
        return resp
    lang = normalise(request.headers.get("Accept-Language", "en"))
    if lang == "en" or resp.content_type != "application/json" or not isinstance(resp.body, bytes):
        return resp
    try:
        data = json.loads(resp.body)
    except ValueError:
        return resp
    if not isinstance(data, dict) or not isinstance(data.get("error"), str):
        return resp
    cat = catalogue(lang)
    data["error"] = cat.server_message(data["error"])
    for e in data.get("errors") or []:
        if isinstance(e, dict) and isinstance(e.get("message"), str):
            e["message"] = cat.server_message(e["message"])
    return web.json_response(data, status=resp.status, headers={"Content-Language": lang})


# ---- keeping the catalogues up to date (a developer's tool) -------------------------------------------
def _template_strings() -> Iterator[tuple[str, int, str, str | None]]:
    for path in sorted((HERE / "templates").glob("*.html")):
        text = path.read_text(encoding="utf-8")
        for m in _MARKER.finditer(text):
            raw = " ".join(m.group(1).split())
            ctx, _, msgid = raw.rpartition("|")
            yield f"templates/{path.name}", text.count("\n", 0, m.start()) + 1, msgid, ctx or None


def _js_strings() -> Iterator[tuple[str, int, str, str | None]]:
    keywords = {"t": None, "tp": ((1, "c"), 2)}
    for path in sorted((HERE / "static").glob("*.js")):
        with path.open("rb") as f:
            for lineno, message, _comments, context in extract(
                "javascript", f, keywords=keywords, comment_tags=()
            ):
                msgid = message if isinstance(message, str) else message[0]
                yield f"static/{path.name}", lineno, msgid, context


def _server_strings() -> Iterator[tuple[str, int, str, str | None]]:
    from dialer.web import i18n_server

    for i, msgid in enumerate(i18n_server.MESSAGES, 1):
        yield "i18n_server.py", i, msgid, None
    for ctx, words in i18n_server.VALUES.items():
        for word in words:
            yield "i18n_server.py", 0, word, ctx


def template_catalog() -> Catalog:
    cat = Catalog(project="dialer505", charset="utf-8")
    for source in (_template_strings, _js_strings, _server_strings):
        for where, line, msgid, ctx in source():
            cat.add(msgid, locations=[(where, line)], context=ctx)
    return cat


def update() -> None:
    """Write messages.pot from the sources and merge it into every catalogue."""
    template = template_catalog()
    with (LOCALE / f"{DOMAIN}.pot").open("wb") as f:
        write_po(f, template, width=110, omit_header=False)
    for lang in LANGUAGES:
        if lang == "en":
            continue  # the source language
        path = _po_path(lang)
        if path.exists():
            with path.open("rb") as f:
                cat = read_po(f, locale=lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            cat = Catalog(locale=lang, project="dialer505", charset="utf-8")
        cat.update(template, no_fuzzy_matching=True)
        with path.open("wb") as f:
            write_po(f, cat, width=110, ignore_obsolete=True)
        missing = [m.id for m in cat if m.id and not m.string]
        print(f"{path}: {len(cat)} messages, {len(missing)} untranslated", file=sys.stderr)


if __name__ == "__main__":
    update()

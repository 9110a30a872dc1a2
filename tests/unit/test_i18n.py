"""The web interface's catalogues: every string the pages mark has its Russian translation with the same
placeholders, the committed template is up to date, and the API's messages with values in them are
translated (expected texts written by hand)."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from dialer.web import i18n, pages

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _key(ctx: str | None, msgid: str) -> tuple[str | None, str]:
    return (ctx or None, msgid)


def test_every_marked_string_has_a_russian_translation_with_the_same_placeholders() -> None:
    wanted = {_key(m.context, m.id) for m in i18n.template_catalog() if m.id}
    assert len(wanted) > 150  # templates, scripts and server messages were all found
    with (i18n.LOCALE / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        ru = {_key(m.context, m.id): m for m in read_po(f, locale="ru") if m.id}
    missing = sorted(str(k) for k in wanted if k not in ru or not ru[k].string or ru[k].fuzzy)
    assert not missing, missing
    for key in wanted:
        msg = ru[key]
        assert sorted(PLACEHOLDER.findall(str(msg.string))) == sorted(PLACEHOLDER.findall(key[1])), key


def test_the_committed_template_lists_everything_the_sources_mark() -> None:
    with (i18n.LOCALE / "messages.pot").open("rb") as f:
        pot = {_key(m.context, m.id) for m in read_po(f) if m.id}
    marked = {_key(m.context, m.id) for m in i18n.template_catalog() if m.id}
    assert not marked - pot, f"run: .venv/bin/python -m dialer.web.i18n ({sorted(map(str, marked - pot))})"


@pytest.mark.parametrize(
    ("english", "russian"),
    [
        ("wrong user name or password", "неверное имя пользователя или пароль"),
        ("no campaign named 'spring'", "нет кампании 'spring'"),
        ("no call 17 of yours", "у вас нет звонка 17"),
        ("name: Field required", "name: обязательное поле"),
        (
            "duplicate: +79161234561 for application A-1 already listed (line 2)",
            "повтор: +79161234561 для заявления A-1 уже есть (строка 2)",
        ),
        ("bad phone '12': too short", "неверный телефон '12': слишком короткий"),
        ("something nobody translated", "something nobody translated"),
    ],
)
def test_server_messages_in_russian(english: str, russian: str) -> None:
    assert i18n.catalogue("ru").server_message(english) == russian
    assert i18n.catalogue("en").server_message(english) == english


@pytest.mark.parametrize(
    ("header", "lang"),
    [("en-US,en;q=0.9", "en"), ("ru-RU,ru;q=0.9", "ru"), ("de-DE", "ru"), (None, "ru"), ("EN", "en")],
)
def test_language_from_a_header_or_a_stored_value(header: str | None, lang: str) -> None:
    assert i18n.normalise(header) == lang


@pytest.mark.parametrize("name", ["login.html", "admin.html", "imports.html", "agent.html"])
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_page_renders_without_a_marker_or_variable_left(name: str, lang: str) -> None:
    values = {k: "x" for k in ("lang", "tz", "tz_label", "csrf", "username", "extension")}
    text = pages.render(name, lang, {"i18n": "{}", "lang_select": ""}, **values)
    assert "{{" not in text and "$" not in text
    if lang == "ru":
        assert "Обзвон 505" in text and "Log out" not in text


def test_the_time_zone_label_names_the_zone_and_its_offset() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    winter = datetime(2026, 1, 15, 12, 0, tzinfo=ZoneInfo("UTC"))
    summer = datetime(2026, 7, 15, 12, 0, tzinfo=ZoneInfo("UTC"))
    assert pages.tz_label("Europe/Moscow", winter) == "Europe/Moscow (UTC+03:00)"
    assert pages.tz_label("Europe/Berlin", winter) == "Europe/Berlin (UTC+01:00)"
    assert pages.tz_label("Europe/Berlin", summer) == "Europe/Berlin (UTC+02:00)"

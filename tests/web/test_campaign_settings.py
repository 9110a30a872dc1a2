"""Every campaign setting makes the whole trip: created through the API, shown in its answer, run by the
engine, edited, shown and run again. A setting declared in ``CampaignSettings`` but dropped anywhere on the
way (no column, not written on create or edit, missing from the answer or from the engine's runtime)
fails here; a new setting fails until it has its two values below."""

from __future__ import annotations

from typing import Any

from dialer.campaigns.settings import CampaignSettings
from dialer.engine import runtime
from dialer.engine.window import CallingWindow
from tests.web.conftest import Web

# per setting: (on create, on edit), each unlike the default and unlike the other
VALUES: dict[str, tuple[Any, Any]] = {
    "mode": ("ratio", "ratio"),  # the ratio is kept in ratio mode only; a change of mode is tried last
    "ratio": (3.5, 4.5),
    "max_attempts": (5, 7),
    "retry_delays": (
        {"busy": 120, "noanswer": 240, "congestion": 180, "failed": 300, "abandoned": 360, "machine": 420},
        {
            "busy": 900,
            "noanswer": 960,
            "congestion": 1020,
            "failed": 1080,
            "abandoned": 1140,
            "machine": 1200,
        },
    ),
    "abandon_cap": (0.02, 0.04),
    "window": (
        {"hours": {"mon": "10:00-18:00"}, "holidays": ["2027-01-07"], "service_holidays": False},
        {"hours": {"tue": "08:00-12:00", "sat": "closed"}, "holidays": [], "service_holidays": True},
    ),
    "timezone": ("Asia/Novosibirsk", "Asia/Vladivostok"),
    "caller_id": ("74951234567", "+74957654321"),
    "weight": (3, 9),
    "ring_timeout": (25, 40),
    "wrapup_seconds": (45, 90),
    "amd": (True, False),
}
SERVICE_WINDOW = {"hours": {"mon": "09:00-19:00"}, "holidays": ["2027-05-01"]}
# how the engine shows the settings it runs in another shape than the API's (the others: same name, value)
RUNTIME_VALUE = {
    "ratio": lambda rt: rt.params.get("ratio"),
    "window": lambda rt: rt.window,
}
RUNTIME_WINDOWS = (  # by hand from VALUES["window"]: the edited one adds the service's holidays
    CallingWindow.build("Asia/Novosibirsk", {"mon": "10:00-18:00"}, ["2027-01-07"]),
    CallingWindow.build("Asia/Vladivostok", {"tue": "08:00-12:00", "sat": "closed"}, ["2027-05-01"]),
)


async def _answer(web: Web, method: str, path: str, status: int = 200, **kw: Any) -> dict[str, Any]:
    r = await web.admin(method, path, **kw)
    body: dict[str, Any] = await r.json()
    assert r.status == status, body
    return body


async def _running(web: Web) -> runtime.CampaignRuntime:
    (camp,) = await runtime.load_campaigns(web.service.sessions, SERVICE_WINDOW, "Europe/Moscow")
    return camp


def _runs(rt: runtime.CampaignRuntime, name: str) -> Any:
    return RUNTIME_VALUE[name](rt) if name in RUNTIME_VALUE else getattr(rt, name)


async def test_every_setting_goes_from_create_to_answer_to_engine_and_through_an_edit(web: Web) -> None:
    assert set(VALUES) == set(CampaignSettings.model_fields), "give each setting two values here"
    defaults = CampaignSettings().model_dump(mode="json")
    for name, (created, edited) in VALUES.items():
        assert created != defaults[name], name
        assert edited != created or name == "mode", name

    for step, path, method, status in ((0, "/campaigns", "POST", 201), (1, "/campaigns/all", "PATCH", 200)):
        given = {name: pair[step] for name, pair in VALUES.items()}
        body = await _answer(web, method, path, status, json={"name": "all", **given} if step == 0 else given)
        shown = await _answer(web, "GET", "/campaigns/all")
        assert {k: body[k] for k in VALUES} == given
        assert {k: shown[k] for k in VALUES} == given
        await _answer(web, "POST", "/campaigns/all/start" if step == 0 else "/campaigns/all/resume")
        rt = await _running(web)
        ran = {name: _runs(rt, name) for name in VALUES}
        assert ran == {**given, "window": RUNTIME_WINDOWS[step]}
        await _answer(web, "POST", "/campaigns/all/pause")

    body = await _answer(web, "PATCH", "/campaigns/all", json={"mode": "progressive"})
    assert (body["mode"], body["ratio"], body["weight"]) == ("progressive", None, 9)
    await _answer(web, "POST", "/campaigns/all/resume")
    rt = await _running(web)
    assert (rt.mode, rt.params, rt.weight) == ("progressive", {}, 9)

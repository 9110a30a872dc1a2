"""The campaign CLI against a real database (SQLite and PostgreSQL): the time zone, window, holidays and
retry delays set from the command line, and `campaign status` saying what a running campaign is doing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from dialer.agents import services as agents
from dialer.campaigns import activity
from dialer.campaigns.activity import LinkOnly
from dialer.db.engine import make_engine, make_sessionmaker
from dialer.db.models import Agent, AgentPresence, AuditLog, CallAttempt, Campaign, Contact

REPO = Path(__file__).resolve().parents[2]
DEFAULT = {
    "hours": {d: "09:00-19:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "holidays": [],
}


def dialer(db_url: str, *args: str, bind: str = "127.0.0.1:9") -> subprocess.CompletedProcess[str]:
    # port 9 (discard) on loopback: no dialer service answers there
    env = {**os.environ, "DIALER_DATABASE__URL": db_url, "DIALER_HTTP__BIND": bind}
    return subprocess.run(
        [sys.executable, "-m", "dialer", "--config", str(REPO / "config.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )


def contacts_csv(tmp: Path) -> Path:
    p = tmp / "c.csv"
    p.write_text("phone,application_number,name\n+79900000011,A-1,Ivan\n+79900000022,A-2,Olga\n")
    return p


async def campaign_row(db_url: str, name: str) -> Campaign:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as s:
            return (await s.execute(select(Campaign).where(Campaign.name == name))).scalar_one()
    finally:
        await engine.dispose()


async def test_create_and_edit_set_zone_window_holidays_and_retries(db_url: str, tmp_path: Path) -> None:
    r = dialer(
        db_url,
        *("campaign", "create", "nsk", "--contacts", str(contacts_csv(tmp_path))),
        *("--timezone", "Asia/Novosibirsk", "--window", "mon-fri=09:00-18:00", "--window", "weekend=closed"),
        *("--holiday", "2027-01-01", "--retry", "busy=15m", "--retry", "noanswer=7200"),
    )
    assert r.returncode == 0, r.stderr
    assert "  window: mon-fri 09:00-18:00, sat-sun closed, Asia/Novosibirsk time" in r.stdout
    assert "busy after 15m, noanswer after 2h" in r.stdout
    c = await campaign_row(db_url, "nsk")
    assert c.timezone == "Asia/Novosibirsk"
    assert c.window["hours"] == {
        **{d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        "sat": "closed",
        "sun": "closed",
    }
    assert "2027-01-01" in c.window["holidays"]
    assert c.retry_delays["busy"] == 900 and c.retry_delays["noanswer"] == 7200
    assert c.retry_delays["congestion"] == 300  # the default for outcomes not given

    r = dialer(db_url, "campaign", "edit", "nsk", "--window", "sat=10:00-14:00", "--retry", "busy=20m")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("campaign 'nsk' changed: retry_delays, window")
    c = await campaign_row(db_url, "nsk")
    assert c.window["hours"]["sat"] == "10:00-14:00" and c.window["hours"]["mon"] == "09:00-18:00"
    assert c.retry_delays["busy"] == 1200 and c.retry_delays["noanswer"] == 7200  # the rest kept
    assert c.timezone == "Asia/Novosibirsk"

    r = dialer(db_url, "campaign", "edit", "nsk", "--clear-holidays", "--timezone", "Europe/Kaliningrad")
    assert r.returncode == 0, r.stderr
    c = await campaign_row(db_url, "nsk")
    assert c.window["holidays"] == [] and c.timezone == "Europe/Kaliningrad"


async def test_create_without_a_zone_says_which_it_took(db_url: str) -> None:
    r = dialer(db_url, "campaign", "create", "plain")
    assert r.returncode == 0, r.stderr
    assert "Europe/Moscow time (the service default)" in r.stdout
    assert (
        "  time zone Europe/Moscow is the service's `timezone`; --timezone (or `edit`) sets another"
        in r.stdout
    )


async def test_bad_settings_are_one_line_and_create_nothing(db_url: str) -> None:
    cases = {
        ("--window", "funday=09:00-10:00"): "dialer: --window: unknown days 'funday'",
        ("--window", "mon=19:00-09:00"): "dialer: window.hours: Value error, window must end after it starts",
        ("--window", "mon"): "dialer: --window 'mon': expected DAYS=HH:MM-HH:MM or DAYS=closed",
        ("--timezone", "Mars/Base"): "dialer: timezone: Value error, unknown time zone 'Mars/Base'",
        ("--retry", "busy=10"): "dialer: retry_delays: Value error, retry delays must be at least 60 seconds",
        ("--retry", "sleepy=10m"): "dialer: retry_delays: Value error, unknown outcome(s) ['sleepy']",
        (
            "--retry",
            "busy=soon",
        ): "dialer: --retry 'busy=soon': expected seconds or a number with s, m, h or d",
        ("--holiday", "2027-13-01"): "dialer: window.holidays.",
    }
    for argv, error in cases.items():
        r = dialer(db_url, "campaign", "create", "bad", *argv)
        assert r.returncode == 1, argv
        assert r.stderr.startswith(error), (argv, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    r = dialer(db_url, "campaign", "create", "bad", "--holiday", "2027-13-01")
    assert r.stderr.rstrip().endswith("month value is outside expected range of 1-12 (got '2027-13-01')")
    assert dialer(db_url, "campaign", "list").stdout == ""


async def test_edit_refuses_a_running_campaign_and_an_empty_change(db_url: str) -> None:
    assert dialer(db_url, "campaign", "create", "live").returncode == 0
    r = dialer(db_url, "campaign", "edit", "live")
    assert r.returncode == 1 and r.stderr.startswith("dialer: nothing to change")
    assert dialer(db_url, "campaign", "start", "live").returncode == 0
    r = dialer(db_url, "campaign", "edit", "live", "--timezone", "Asia/Omsk")
    assert r.returncode == 1 and "pause it before editing" in r.stderr
    assert (await campaign_row(db_url, "live")).timezone == "Europe/Moscow"


async def test_status_without_a_running_service_says_so(db_url: str, tmp_path: Path) -> None:
    assert (
        dialer(db_url, "campaign", "create", "s", "--contacts", str(contacts_csv(tmp_path))).returncode == 0
    )
    assert dialer(db_url, "campaign", "start", "s").returncode == 0
    r = dialer(db_url, "campaign", "status", "s")
    assert "  now: waiting: the dialer service is not running" in r.stdout
    r = dialer(db_url, "campaign", "status", "s", "--json")
    data = json.loads(r.stdout)
    assert data["activity"]["code"] == "no_service" and data["activity"]["dialling"] is False
    assert data["occupancy"]["logged_in_now"] == 0


async def test_activity_and_occupancy_from_the_database(db_url: str, tmp_path: Path) -> None:
    """With the link up (as a running service reports it), the reasons come from the campaign's window,
    its agents and contacts, and occupancy from presence changes and calls."""
    assert (
        dialer(db_url, "campaign", "create", "a", "--contacts", str(contacts_csv(tmp_path))).returncode == 0
    )
    assert dialer(db_url, "campaign", "start", "a").returncode == 0
    engine = make_engine(db_url)
    ss = make_sessionmaker(engine)
    up = LinkOnly("up")
    tue_10 = datetime(2025, 12, 2, 7, 0, tzinfo=UTC)  # Tuesday 10:00 in Moscow

    async def status(now: datetime) -> object:
        return await activity.campaign_status(ss, "a", engine=up, default_window=DEFAULT, now=now)

    try:
        async with ss() as s:  # the contacts were imported "now": make them due before the fake clock
            await s.execute(update(Contact).values(next_attempt_at=tue_10 - timedelta(hours=1)))
            await s.commit()
        st = await status(datetime(2025, 12, 2, 4, 0, tzinfo=UTC))  # 07:00 Moscow
        assert st.activity.text == "waiting: window opens at 09:00 (Europe/Moscow)"  # type: ignore[attr-defined]
        st = await status(tue_10)
        assert st.activity.text == "waiting: no agent is ready"  # type: ignore[attr-defined]
        await agents.ensure_agent(ss, "101")
        await agents.ensure_agent(ss, "102")
        await agents.set_presence(ss, "101", AgentPresence.READY, actor="test")
        await agents.set_presence(ss, "102", AgentPresence.PAUSED, actor="test", reason="lunch")
        async with ss() as s:  # presence changes at known instants: 101 in at 09:00, 102 in at 09:30
            for ext, at in (("101", tue_10 - timedelta(hours=1)), ("102", tue_10 - timedelta(minutes=30))):
                await s.execute(update(AuditLog).where(AuditLog.target == ext).values(at=at))
            await s.commit()
        st = await status(tue_10)
        assert st.activity.code == "dialling"  # type: ignore[attr-defined]
        assert st.activity.text == "dialling (predictive)"  # type: ignore[attr-defined]
        # both contacts called back later: everyone waits for the retry time
        async with ss() as s:
            await s.execute(update(Contact).values(next_attempt_at=tue_10 + timedelta(minutes=42)))
            camp = (await s.execute(select(Campaign))).scalar_one()
            a101 = (await s.execute(select(Agent).where(Agent.extension == "101"))).scalar_one()
            # 101 talked 15 minutes (09:10-09:25) and is on a call since 09:50
            s.add_all(
                [
                    CallAttempt(
                        campaign_id=camp.id,
                        phone="+79900000011",
                        action_id="t-1",
                        agent_id=a101.id,
                        outcome="connected",
                        bridged_at=tue_10 - timedelta(minutes=50),
                        ended_at=tue_10 - timedelta(minutes=35),
                        talk_seconds=900.0,
                    ),
                    CallAttempt(
                        campaign_id=camp.id,
                        phone="+79900000022",
                        action_id="t-2",
                        agent_id=a101.id,
                        bridged_at=tue_10 - timedelta(minutes=10),
                    ),
                ]
            )
            await s.commit()
        st = await status(tue_10)
        assert st.activity.text == (  # type: ignore[attr-defined]
            "waiting: all contacts are waiting for their retry time; the next is due at 10:42 (Europe/Moscow)"
        )
        occ = st.occupancy  # type: ignore[attr-defined]
        # logged in: 101 for 60 min, 102 (paused counts) for 30 min; talk 15 + 10 min
        assert occ.logged_in_seconds_today == 90 * 60 and occ.talk_seconds_today == 25 * 60
        assert occ.today == 25 / 90
        assert (occ.talking_now, occ.logged_in_now, occ.now) == (1, 2, 0.5)
        total, per_campaign = await activity.occupancies(ss, "Europe/Moscow", tue_10)
        assert total == occ and per_campaign == {"a": occ}  # one campaign, agents shared: the same figures
    finally:
        await engine.dispose()

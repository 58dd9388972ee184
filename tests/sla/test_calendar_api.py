"""/api/v1/calendar: the days as deadlines see them, the override table (city admins only),
how fast every process sees a change, and what a change does to deadlines."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlalchemy import func, select

from app.core.scope import unscoped
from app.sla import service
from app.sla.models import CalendarOverride

CST = ZoneInfo("Asia/Shanghai")
SATURDAY = "2027-03-06"  # an ordinary Saturday of 2027, a year chinesecalendar 1.11 does not know
OVERRIDES = "/api/v1/calendar/overrides"


@pytest.fixture(autouse=True)
def fresh_calendar(session):
    """Each test starts and ends with no cached calendar (its overrides are rolled back)."""
    service.invalidate_calendar()
    yield
    service.invalidate_calendar()


@pytest.fixture
def district_admin(session, auth):
    """An admin of 渝中区 (not the city): logged in, returns the username."""
    from app.accounts.service import create_user

    with unscoped():
        create_user(
            username="yz_admin", password="District-2026-pw", role="admin", node="500103000000"
        )
    auth.token("yz_admin", "District-2026-pw")
    return "yz_admin"


def _days(auth, first: str, last: str, user: str = "demo_worker"):
    return auth.get(user, f"/api/v1/calendar/days?from={first}&to={last}")


# -- the days -----------------------------------------------------------------------------------


def test_every_user_reads_the_days_with_their_source(auth):
    response = _days(auth, "2026-09-20", "2026-10-11")
    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert (len(items), items[0]["date"], items[-1]["date"]) == (22, "2026-09-20", "2026-10-11")
    for item in items:
        day = date.fromisoformat(item["date"])
        assert item["workday"] == chinese_calendar.is_workday(day), item
        assert item["source"] == "chinesecalendar"
        assert item["weekday"] == day.isoweekday()
    assert not next(i for i in items if i["date"] == "2026-10-01")["workday"]

    later = _days(auth, "2027-01-01", "2027-01-04").json["items"]
    assert [(i["workday"], i["source"]) for i in later] == [
        (False, "holidays"),  # 元旦 from the holidays package
        (False, "holidays"),
        (False, "holidays"),
        (True, "holidays"),
    ]
    beyond = _days(auth, "2101-01-03", "2101-01-03").json["items"]
    assert [(i["workday"], i["source"]) for i in beyond] == [(True, "weekends")]


@pytest.mark.parametrize(
    "query",
    [
        "from=2028-01-01&to=2029-01-01",  # 366 days is the most: this is 367
        "from=2027-03-02&to=2027-03-01",
        "from=2027-03-01",
        "from=2027-02-30&to=2027-03-01",
    ],
)
def test_bad_ranges_are_refused(auth, query):
    response = auth.get("demo_worker", f"/api/v1/calendar/days?{query}")
    assert response.status_code == 422, response.json
    assert response.json["error"]["message"]


def test_a_whole_leap_year_is_one_request(auth):
    response = _days(auth, "2028-01-01", "2028-12-31")
    assert response.status_code == 200 and len(response.json["items"]) == 366


# -- the override table ---------------------------------------------------------------------------


def test_city_admin_declares_a_saturday_a_working_day_and_takes_it_back(auth):
    put = auth.request(
        "demo_admin", "PUT", f"{OVERRIDES}/{SATURDAY}", json={"workday": True, "note": "调休上班"}
    )
    assert put.status_code == 200, put.json
    assert put.json == {
        "date": SATURDAY,
        "workday": True,
        "note": "调休上班",
        "library_workday": False,
        "library_source": "holidays",
    }
    day = _days(auth, SATURDAY, SATURDAY).json["items"][0]
    assert (day["workday"], day["source"], day["note"]) == (True, "override", "调休上班")

    again = auth.request("demo_admin", "PUT", f"{OVERRIDES}/{SATURDAY}", json={"workday": False})
    assert again.status_code == 200 and again.json["workday"] is False and again.json["note"] == ""
    listed = auth.get("demo_admin", f"{OVERRIDES}?year=2027").json
    assert [(i["date"], i["workday"]) for i in listed["items"]] == [(SATURDAY, False)]
    assert auth.get("demo_admin", f"{OVERRIDES}?year=2028").json["total"] == 0

    gone = auth.request("demo_admin", "DELETE", f"{OVERRIDES}/{SATURDAY}")
    assert gone.status_code == 204
    day = _days(auth, SATURDAY, SATURDAY).json["items"][0]
    assert (day["workday"], day["source"], day["note"]) == (False, "holidays", None)
    missing = auth.request("demo_admin", "DELETE", f"{OVERRIDES}/{SATURDAY}")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "override_not_found"


def test_only_city_admins_change_the_calendar(auth, district_admin, session):
    refused = auth.request(district_admin, "PUT", f"{OVERRIDES}/{SATURDAY}", json={"workday": True})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "city_admin_only"
    assert "市级管理员" in refused.json["error"]["message"]
    session.add(CalendarOverride(day=date(2027, 3, 6), workday=True, note="市里定的"))
    session.flush()
    assert auth.request(district_admin, "DELETE", f"{OVERRIDES}/{SATURDAY}").status_code == 403
    # Reading is fine: the calendar is the same everywhere.
    assert auth.get(district_admin, OVERRIDES).json["total"] == 1

    for user in ("demo_dispatcher", "demo_supervisor_city"):
        put = auth.request(user, "PUT", f"{OVERRIDES}/{SATURDAY}", json={"workday": True})
        assert put.status_code == 403 and put.json["error"]["code"] == "role_forbidden"
        listed = auth.get(user, OVERRIDES)
        assert listed.status_code == 403 and listed.json["error"]["code"] == "role_forbidden"


@pytest.mark.parametrize(
    ("day", "body", "code"),
    [
        ("2027-02-30", {"workday": True}, "invalid_date"),
        ("20270306", {"workday": True}, "invalid_date"),
        ("2027-W10-6", {"workday": True}, "invalid_date"),
        ("1999-12-31", {"workday": True}, "date_out_of_range"),
        (SATURDAY, {}, "validation_error"),
        (SATURDAY, {"workday": "sometimes"}, "validation_error"),
        (SATURDAY, {"workday": True, "note": "长" * 81}, "validation_error"),
        (SATURDAY, {"workday": True, "extra": 1}, "validation_error"),
    ],
)
def test_bad_overrides_are_refused_with_a_reason(auth, session, day, body, code):
    response = auth.request("demo_admin", "PUT", f"{OVERRIDES}/{day}", json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == code
    assert session.scalar(select(func.count()).select_from(CalendarOverride)) == 0


# -- what a change does ---------------------------------------------------------------------------


def _report_at(monkeypatch, report, moment: datetime, grid: str, text: str):
    """Report a 邻里纠纷 (accept within 4 working hours) as if received at `moment`."""
    from app.events import service as events

    monkeypatch.setattr(events, "utcnow", lambda: moment)
    response = report(grid=grid, text=text, subcategory="DISPUTE_NEIGHBOR")
    assert response.status_code == 201, response.json
    return response.json


def test_a_saturday_made_a_working_day_moves_new_deadlines_not_running_ones(
    auth, report, monkeypatch
):
    friday_4pm = datetime(2027, 3, 5, 16, tzinfo=CST)
    before = _report_at(monkeypatch, report, friday_4pm, "500103003013001", "楼上楼下吵架")
    # 16:00–18:00 Friday, then Monday 09:00–11:00.
    assert datetime.fromisoformat(before["deadline"]) == datetime(2027, 3, 8, 11, tzinfo=CST)

    put = auth.request("demo_admin", "PUT", f"{OVERRIDES}/{SATURDAY}", json={"workday": True})
    assert put.status_code == 200

    after = _report_at(monkeypatch, report, friday_4pm, "500103003013002", "邻居装修噪音扰民")
    assert datetime.fromisoformat(after["deadline"]) == datetime(2027, 3, 6, 11, tzinfo=CST)
    # The clock already running keeps the deadline it was given (see put_override).
    unchanged = auth.get("demo_admin", f"/api/v1/events/{before['id']}").json
    assert unchanged["deadline"] == before["deadline"]


def test_the_changing_process_sees_a_change_at_once(app, auth, monkeypatch):
    monkeypatch.setitem(app.config, "SLA_CALENDAR_CHECK_SECONDS", 3600.0)
    saturday = date(2027, 3, 6)
    assert not service.calendar().is_workday(saturday)  # cached for the hour
    auth.request("demo_admin", "PUT", f"{OVERRIDES}/{SATURDAY}", json={"workday": True})
    assert service.calendar().is_workday(saturday)
    auth.request("demo_admin", "DELETE", f"{OVERRIDES}/{SATURDAY}")
    assert not service.calendar().is_workday(saturday)


def test_other_processes_see_a_change_within_the_check_interval(app, session, monkeypatch):
    saturday = date(2027, 3, 6)
    monkeypatch.setitem(app.config, "SLA_CALENDAR_CHECK_SECONDS", 3600.0)
    cached = service.calendar()
    # Another process commits an override: this one was not told.
    session.add(CalendarOverride(day=saturday, workday=True))
    session.flush()
    assert not service.calendar().is_workday(saturday)
    # Once the interval has passed, the next use re-reads the table and sees it.
    monkeypatch.setitem(app.config, "SLA_CALENDAR_CHECK_SECONDS", 0.0)
    assert service.calendar().is_workday(saturday)
    # An unchanged table keeps the same calendar (and the year tables it has built).
    fresh = service.calendar()
    assert fresh is service.calendar() and fresh is not cached


def test_changes_leave_a_trace_with_the_admin_only_when_committed(auth, district_admin, caplog):
    caplog.set_level(logging.INFO, logger="wangge.admin")
    auth.request("demo_admin", "PUT", f"{OVERRIDES}/{SATURDAY}", json={"workday": True})
    auth.request(district_admin, "PUT", f"{OVERRIDES}/2027-03-07", json={"workday": True})
    auth.request("demo_admin", "DELETE", f"{OVERRIDES}/{SATURDAY}")
    lines = [
        json.loads(r.getMessage().removeprefix("admin change "))
        for r in caplog.records
        if r.name == "wangge.admin"
    ]
    assert [(line["action"], line["username"]) for line in lines] == [
        ("calendar_override.put", "demo_admin"),
        ("calendar_override.delete", "demo_admin"),
    ]
    assert lines[0]["target"] == f"calendar:{SATURDAY}" and lines[0]["user_id"]
    assert lines[0]["before"] is None and lines[0]["after"] == {"workday": True, "note": ""}
    assert lines[1]["before"] == {"workday": True, "note": ""}


def test_a_days_answer_is_the_calendar_deadlines_use(auth, session):
    session.add(CalendarOverride(day=date(2027, 3, 6), workday=True, note="调休"))
    session.flush()
    service.invalidate_calendar()
    items = _days(auth, "2027-03-01", "2027-03-14").json["items"]
    cal = service.calendar()
    for item in items:
        day = date.fromisoformat(item["date"])
        assert item["workday"] == cal.is_workday(day)
        assert item["source"] == cal.source(day)
    assert sum(i["workday"] for i in items) == 11  # ten weekdays and the Saturday

"""Duty roster 24小时值班: shifts per command centre, alarms and escalations reaching whoever
is on duty, and handover notes between shifts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.core.scope import unscoped
from app.events.models import Event
from app.realtime.models import OutboxMessage
from app.sla.sweep import sweep

TOWNSHIP, DISTRICT, CITY = 500103003000, 500103000000, 500000000000
OTHER_TOWNSHIP = 500103001000  # 七星岗街道


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _uid(session, username: str) -> int:
    with unscoped():
        return session.scalar(select(User.id).where(User.username == username))


def _rooms(session, kind: str, event_id: int | None = None) -> set[str]:
    stmt = select(OutboxMessage.room).where(OutboxMessage.kind == kind)
    if event_id is not None:
        stmt = stmt.where(OutboxMessage.event_id == event_id)
    with unscoped():
        return set(session.scalars(stmt))


@pytest.fixture
def shift(auth, session):
    """Put someone on duty at a centre, as the township dispatcher unless told otherwise."""

    def make(username, *, centre=TOWNSHIP, start=None, hours=12, post="officer", by=None):
        start = start or _now() - timedelta(hours=1)
        body = {
            "centre_id": centre,
            "user_id": _uid(session, username),
            "post": post,
            "starts_at": _iso(start),
            "ends_at": _iso(start + timedelta(hours=hours)),
        }
        return auth.post(by or "demo_dispatcher", "/api/v1/duty/shifts", json=body)

    return make


def test_the_roster_says_who_is_on_duty_now_and_who_comes_next(auth, shift):
    assert auth.get("demo_dispatcher", "/api/v1/duty/now").json["unstaffed"] is True
    now = shift("demo_dispatcher")
    assert now.status_code == 201, now.json
    assert now.json["user_name"] == "赵调度" and now.json["centre_id"] == TOWNSHIP
    leader = shift("demo_supervisor_township", post="leader")
    assert leader.status_code == 201, leader.json
    later = shift("demo_dispatcher", start=_now() + timedelta(hours=11, minutes=30), hours=12)
    assert later.status_code == 201, later.json

    current = auth.get("demo_dispatcher", "/api/v1/duty/now").json
    assert current["unstaffed"] is False
    # The leader of the shift first.
    assert [s["post"] for s in current["on_duty"]] == ["leader", "officer"]
    assert [s["id"] for s in current["upcoming"]] == [later.json["id"]]
    # The district sees the township's roster too; another township does not.
    seen = auth.get("demo_supervisor_district", f"/api/v1/duty/now?centre_id={TOWNSHIP}")
    assert seen.status_code == 200 and len(seen.json["on_duty"]) == 2
    listed = auth.get("demo_dispatcher", "/api/v1/duty/shifts").json
    assert listed["total"] == 3


def test_bad_shifts_are_refused_with_reasons(auth, shift, session):
    assert shift("demo_dispatcher").status_code == 201
    clash = shift("demo_dispatcher", start=_now())
    assert clash.status_code == 409 and clash.json["error"]["code"] == "shift_overlaps"
    long = shift("demo_supervisor_township", hours=25)
    assert long.status_code == 422 and long.json["error"]["code"] == "shift_too_long"
    # A grid worker is not command-centre staff.
    worker = shift("demo_worker")
    assert worker.status_code == 422 and worker.json["error"]["code"] == "not_centre_staff"
    assert "值班人员" in worker.json["error"]["message"]
    # A village office is not a command centre.
    village = shift("demo_dispatcher", centre=500103003013)
    assert village.status_code == 422 and village.json["error"]["code"] == "not_a_centre"
    # Another township's centre is out of this dispatcher's reach.
    other = shift("demo_dispatcher", centre=OTHER_TOWNSHIP)
    assert other.status_code == 404
    # Grid workers cannot keep a roster at all.
    refused = shift("demo_supervisor_township", by="demo_worker")
    assert refused.status_code == 403


def test_a_shift_not_yet_started_can_be_taken_back_one_started_cannot(auth, shift):
    started = shift("demo_dispatcher").json
    future = shift("demo_supervisor_township", start=_now() + timedelta(days=1)).json
    gone = auth.request("demo_dispatcher", "DELETE", f"/api/v1/duty/shifts/{future['id']}")
    assert gone.status_code == 204
    kept = auth.request("demo_dispatcher", "DELETE", f"/api/v1/duty/shifts/{started['id']}")
    assert kept.status_code == 409 and kept.json["error"]["code"] == "shift_started"
    assert [s["id"] for s in auth.get("demo_dispatcher", "/api/v1/duty/shifts").json["items"]] == [
        started["id"]
    ]


def test_an_alarm_reaches_whoever_is_on_duty_wherever_they_are(session, shift, report):
    assert shift("demo_supervisor_township").status_code == 201
    # The district's officer, rostered by the district.
    district = shift("demo_supervisor_district", centre=DISTRICT, by="demo_supervisor_district")
    assert district.status_code == 201, district.json
    # Off duty: yesterday's shift does not count.
    off = shift("demo_dispatcher", start=_now() - timedelta(hours=30), hours=12)
    assert off.status_code == 201

    sent = report(text="燃气管道泄漏，有很大的气味", subcategory="SAFETY_GAS")
    event_id = sent.json["id"]
    on_duty = {
        f"user:{_uid(session, 'demo_supervisor_township')}",
        f"user:{_uid(session, 'demo_supervisor_district')}",
    }
    assert _rooms(session, "alarm", event_id) == {
        f"area:{TOWNSHIP}",
        f"area:{DISTRICT}",
        *on_duty,
    }
    with unscoped():
        payload = session.scalar(
            select(OutboxMessage.payload).where(
                OutboxMessage.kind == "alarm", OutboxMessage.event_id == event_id
            )
        )
    assert sorted(payload["on_duty"]) == sorted(
        [_uid(session, "demo_supervisor_township"), _uid(session, "demo_supervisor_district")]
    )


def test_an_overdue_escalation_reaches_the_next_levels_officer_on_duty(session, shift, report):
    assert shift("demo_dispatcher").status_code == 201
    event_id = report(text="小区门口井盖不见了", subcategory="MUNICIPAL_MANHOLE").json["id"]
    with unscoped():
        event = session.get(Event, event_id)
        # Left at the township's triage past its deadline: the district hears of it.
        event.handling_level = "township"
        event.warn_at = event.due_at = _now() - timedelta(minutes=5)
        session.flush()
    district_shift = shift(
        "demo_supervisor_district", centre=DISTRICT, by="demo_supervisor_district"
    )
    assert district_shift.status_code == 201
    result = sweep(now=_now())
    assert result.overdue >= 1
    assert f"user:{_uid(session, 'demo_supervisor_district')}" in _rooms(
        session, "overdue", event_id
    )


def test_a_handover_carries_what_is_still_open_to_the_next_shift(auth, session, shift, report):
    assert shift("demo_dispatcher").status_code == 201
    assert (
        shift("demo_supervisor_township", start=_now() + timedelta(minutes=30)).status_code == 201
    )
    report(text="房屋后面山体滑坡了", subcategory="GEOHAZARD_LANDSLIDE")  # an open alarm

    empty = auth.post("demo_dispatcher", "/api/v1/duty/handovers", json={"note": "  "})
    assert empty.status_code == 422
    written = auth.post(
        "demo_dispatcher", "/api/v1/duty/handovers", json={"note": "滑坡点已派人，注意回访"}
    )
    assert written.status_code == 201, written.json
    note = written.json
    assert note["from_name"] == "赵调度" and note["shift_id"] is not None
    assert (
        note["summary"]["unacknowledged_alarms"] >= 1 and note["summary"]["open_emergencies"] >= 1
    )
    # The next shift hears of it on whatever screen it has open, and so does the centre.
    assert {f"area:{TOWNSHIP}", f"user:{_uid(session, 'demo_supervisor_township')}"} <= _rooms(
        session, "handover"
    )

    own = auth.post("demo_dispatcher", f"/api/v1/duty/handovers/{note['id']}/receive")
    assert own.status_code == 409 and own.json["error"]["code"] == "handover_own"
    taken = auth.post("demo_supervisor_township", f"/api/v1/duty/handovers/{note['id']}/receive")
    assert taken.status_code == 200 and taken.json["received_at"] is not None
    again = auth.post("demo_supervisor_township", f"/api/v1/duty/handovers/{note['id']}/receive")
    assert again.status_code == 409

    current = auth.get("demo_supervisor_township", "/api/v1/duty/now").json
    assert current["latest_handover"]["id"] == note["id"]
    listed = auth.get("demo_dispatcher", "/api/v1/duty/handovers").json["items"]
    assert listed[0]["note"] == "滑坡点已派人，注意回访"
    # The city reads it; a centre outside one's scope is not there at all.
    city = auth.get("demo_supervisor_city", f"/api/v1/duty/handovers?centre_id={TOWNSHIP}")
    assert city.json["total"] == 1
    elsewhere = auth.get("demo_dispatcher", f"/api/v1/duty/handovers?centre_id={OTHER_TOWNSHIP}")
    assert elsewhere.status_code == 404


def test_the_staff_list_offers_only_the_centres_console_staff(auth):
    names = {u["username"] for u in auth.get("demo_dispatcher", "/api/v1/duty/staff").json["items"]}
    assert names == {"demo_dispatcher", "demo_supervisor_township"}


def test_the_demo_roster_staffs_the_demo_centres_around_the_clock(session, auth):
    from app.duty import demo

    added = demo.seed(days=2)
    assert added == 3 * 2 + 3  # township officer + leader, district officer; yesterday to +1
    assert demo.seed(days=2) == 0
    current = auth.get("demo_dispatcher", "/api/v1/duty/now").json
    assert {s["user_name"] for s in current["on_duty"]} == {"赵调度", "镇街督查"}

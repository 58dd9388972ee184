"""Emergency alarms: raised once on the township's and district's consoles, cleared by an
acknowledgement, climbing to the city when nobody acknowledges them in time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.console.models import Alarm
from app.console.service import escalate_alarms
from app.core.scope import unscoped
from app.realtime.models import OutboxMessage

TOWNSHIP, DISTRICT, CITY = "area:500103003000", "area:500103000000", "area:500000000000"


def _rooms(session, kind: str, event_id: int) -> set[str]:
    with unscoped():
        return set(
            session.scalars(
                select(OutboxMessage.room).where(
                    OutboxMessage.kind == kind, OutboxMessage.event_id == event_id
                )
            )
        )


def _alarm(session, event_id: int) -> Alarm:
    with unscoped():
        return session.scalar(select(Alarm).where(Alarm.event_id == event_id))


def test_an_emergency_report_raises_one_alarm_on_township_and_district(session, report):
    sent = report(text="山坡上有石头滚下来，裂缝越来越大", subcategory="GEOHAZARD_ROCKFALL")
    assert sent.status_code == 201, sent.json
    event_id = sent.json["id"]
    alarm = _alarm(session, event_id)
    assert alarm is not None and alarm.level == "township" and alarm.acknowledged_at is None
    assert _rooms(session, "alarm", event_id) == {TOWNSHIP, DISTRICT}
    # A routine report raises nothing.
    routine = report(text="小区门口井盖不见了", subcategory="MUNICIPAL_MANHOLE")
    assert _alarm(session, routine.json["id"]) is None


def test_the_console_lists_it_until_someone_acknowledges(session, auth, report):
    event_id = report(text="燃气管道泄漏，有很大的气味", subcategory="SAFETY_GAS").json["id"]
    active = auth.get("demo_dispatcher", "/api/v1/alarms").json
    alarm = next(a for a in active["items"] if a["event_id"] == event_id)
    # Someone elsewhere in the district sees the same alarm.
    district = auth.get("demo_supervisor_district", "/api/v1/alarms").json["items"]
    assert alarm["id"] in {a["id"] for a in district}

    ack = auth.post(
        "demo_dispatcher", f"/api/v1/alarms/{alarm['id']}/acknowledge", json={"note": "已派人"}
    )
    assert ack.status_code == 200, ack.json
    assert ack.json["acknowledged_by"] is not None and ack.json["acknowledge_note"] == "已派人"
    assert _rooms(session, "alarm_acknowledged", event_id) == {TOWNSHIP, DISTRICT}
    assert alarm["id"] not in {
        a["id"] for a in auth.get("demo_dispatcher", "/api/v1/alarms").json["items"]
    }
    assert alarm["id"] in {
        a["id"] for a in auth.get("demo_dispatcher", "/api/v1/alarms?active=false").json["items"]
    }

    again = auth.post(
        "demo_supervisor_district", f"/api/v1/alarms/{alarm['id']}/acknowledge", json={}
    )
    assert again.status_code == 409
    assert again.json["error"]["code"] == "alarm_already_acknowledged"


def test_unacknowledged_it_climbs_to_the_city_once(session, app, report):
    event_id = report(text="房屋后面山体滑坡了", subcategory="GEOHAZARD_LANDSLIDE").json["id"]
    alarm = _alarm(session, event_id)
    minutes = app.config["ALARM_ESCALATE_MINUTES"]
    assert alarm.escalate_at - alarm.raised_at == timedelta(minutes=minutes)

    assert escalate_alarms(now=alarm.raised_at + timedelta(minutes=minutes - 1)) == 0
    assert escalate_alarms(now=alarm.raised_at + timedelta(minutes=minutes + 1)) == 1
    assert escalate_alarms(now=alarm.raised_at + timedelta(minutes=minutes * 5)) == 0
    session.refresh(alarm)
    assert alarm.level == "city" and alarm.escalations == 1
    assert _rooms(session, "alarm_escalated", event_id) == {TOWNSHIP, DISTRICT, CITY}


def test_an_acknowledged_alarm_never_climbs(session, auth, report):
    event_id = report(text="仓库起火了，冒黑烟", subcategory="SAFETY_FIRE").json["id"]
    alarm = _alarm(session, event_id)
    auth.post("demo_dispatcher", f"/api/v1/alarms/{alarm.id}/acknowledge", json={})
    assert escalate_alarms(now=alarm.raised_at + timedelta(hours=5)) == 0


def test_recategorising_into_an_emergency_raises_the_alarm(session, auth, report):
    sent = report(text="路边有个东西不对劲", subcategory="OTHER_MISC")
    event_id = sent.json["id"]
    assert _alarm(session, event_id) is None
    fixed = auth.post(
        "demo_dispatcher",
        f"/api/v1/events/{event_id}/category",
        json={"subcategory": "GEOHAZARD_ROCKFALL"},
    )
    assert fixed.status_code == 200, fixed.json
    assert _alarm(session, event_id) is not None


def test_only_console_staff_acknowledge(session, auth, report):
    event_id = report(text="山上落石砸到路上了", subcategory="GEOHAZARD_ROCKFALL").json["id"]
    alarm = _alarm(session, event_id)
    refused = auth.post("demo_worker", f"/api/v1/alarms/{alarm.id}/acknowledge", json={})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "role_forbidden"
    # Another township's console cannot see it, so cannot acknowledge it.
    missing = auth.post("demo_admin", "/api/v1/alarms/2147483000/acknowledge", json={})
    assert missing.status_code == 404 and missing.json["error"]["code"] == "alarm_not_found"

"""Threshold rules: level and rate, raised once while it lasts, escalated, cleared after quiet."""

from __future__ import annotations

from sqlalchemy import func, select

from app.console.models import Alarm
from app.events.models import Event, EventAudit
from app.realtime.models import OutboxMessage
from app.sensors.models import Sensor


def _sensor(session, sensor) -> Sensor:
    session.expire_all()
    return session.get(Sensor, sensor["id"])


def _kinds(session) -> list[str]:
    """The kinds of the pushes queued, one per message (a message has a row per room)."""
    rows = session.execute(select(OutboxMessage.key, OutboxMessage.kind).distinct()).all()
    return [kind for _, kind in rows]


def _audit_actions(session, event_id: int) -> list[str]:
    return list(
        session.scalars(
            select(EventAudit.action)
            .where(EventAudit.event_id == event_id)
            .order_by(EventAudit.seq)
        )
    )


def test_a_level_crossing_raises_one_event_and_one_alarm(device, upload, session):
    sensor = device("combustible_gas", name="餐馆燃气探测器")
    calm = upload(sensor, [(30, 1.0), (20, 2.0)])
    assert calm.json["warning"]["level"] is None
    crossed = upload(sensor, [(10, 12.0)])
    warning = crossed.json["warning"]
    assert warning["level"] == "yellow" and warning["event_id"] and warning["alarm_id"]
    event = session.get(Event, warning["event_id"])
    assert event.source == "sensor" and event.subcategory_code == "SAFETY_GAS"
    assert event.grid_id == 500103003013001 and "黄色预警" in event.description
    alarm = session.get(Alarm, warning["alarm_id"])
    assert alarm.event_id == event.id and alarm.township_id == 500103003000
    # While the condition lasts: no second event, no second alarm.
    lasting = upload(sensor, [(5, 13.0), (0, 11.5)])
    assert lasting.json["warning"]["event_id"] == event.id
    assert (
        session.scalar(select(func.count()).select_from(Event).where(Event.source == "sensor")) == 1
    )
    assert (
        session.scalar(select(func.count()).select_from(Alarm).where(Alarm.event_id == event.id))
        == 1
    )
    assert "sensor_warning" in _kinds(session)


def test_a_non_emergency_event_gets_the_sensor_alarm(device, upload, session):
    sensor = device("water_level", name="下穿道水位计")
    response = upload(sensor, [(0, 0.6)])
    warning = response.json["warning"]
    assert warning["level"] == "yellow"
    event = session.get(Event, warning["event_id"])
    assert not event.emergency and event.subcategory_code == "TRAFFIC_WATERLOGGING"
    alarm = session.get(Alarm, warning["alarm_id"])
    assert alarm.source == "sensor" and "水位计" in alarm.title
    assert "alarm" in _kinds(session)


def test_a_rate_rule_fires_on_a_crack_widening_3_cm_in_24_hours(device, upload, session):
    sensor = device("crack_meter")
    # 12 mm → 43 mm over 20 hours: the level (43) is only yellow; the rise (31 mm) is red.
    points = [(20 * 60 - i * 60, 12.0 + i * 31 / 20) for i in range(21)]
    response = upload(sensor, points)
    warning = response.json["warning"]
    assert warning["level"] == "red"
    event = session.get(Event, warning["event_id"])
    assert event.category_code == "GEOHAZARD" and event.subcategory_code == "GEOHAZARD_ROCKFALL"
    assert "时间窗口内变化 31.00mm（红色）" in event.description
    # The same rise spread over three days stays under every rate threshold.
    slow = device("crack_meter", name="缓变裂缝计")
    creep = [(72 * 60 - i * 180, 12.0 + i * 0.3) for i in range(25)]
    assert upload(slow, creep).json["warning"]["level"] is None


def test_a_rising_level_escalates_the_same_warning(device, upload, session):
    sensor = device("water_level", name="河道水位计")
    first = upload(sensor, [(30, 0.3)]).json["warning"]
    assert first["level"] == "blue"
    higher = upload(sensor, [(20, 1.2)]).json["warning"]
    assert higher["level"] == "orange" and higher["event_id"] == first["event_id"]
    # Falling back a little does not lower (or re-raise) the warning.
    assert upload(sensor, [(10, 0.6)]).json["warning"]["level"] == "orange"
    highest = upload(sensor, [(5, 1.6)]).json["warning"]
    assert highest["level"] == "red"
    actions = _audit_actions(session, first["event_id"])
    assert actions.count("sensor_warning") == 1 and actions.count("sensor_escalated") == 2
    assert _kinds(session).count("sensor_escalated") == 2
    assert (
        session.scalar(select(func.count()).select_from(Event).where(Event.source == "sensor")) == 1
    )


def test_the_warning_clears_after_a_quiet_period_not_on_one_low_reading(device, upload, session):
    sensor = device("water_level", name="积水点水位计")
    raised = upload(sensor, [(120, 0.8)]).json["warning"]
    assert raised["level"] == "yellow"
    # One low reading: still warning (noise must not flap it).
    assert upload(sensor, [(100, 0.05)]).json["warning"]["level"] == "yellow"
    # Back up inside the quiet period: the quiet period starts over.
    assert upload(sensor, [(90, 0.3)]).json["warning"]["level"] == "yellow"
    assert upload(sensor, [(80, 0.0)]).json["warning"]["level"] == "yellow"
    assert _sensor(session, sensor).quiet_since is not None
    # Low for an hour since 80 minutes ago: cleared.
    cleared = upload(sensor, [(40, 0.0), (15, 0.01)]).json["warning"]
    assert cleared == {"level": None, "since": None, "event_id": None, "alarm_id": None}
    assert "sensor_cleared" in _audit_actions(session, raised["event_id"])
    alarm = session.get(Alarm, raised["alarm_id"])
    assert alarm.acknowledged_at is not None and "自动解除" in alarm.acknowledge_note
    assert {"sensor_cleared", "alarm_acknowledged"} <= set(_kinds(session))
    # A new crossing after clearing is a new warning: a new event.
    again = upload(sensor, [(0, 0.9)]).json["warning"]
    assert again["level"] == "yellow" and again["event_id"] != raised["event_id"]


def test_a_site_rule_overrides_its_type_rule(device, upload, auth):
    sensor = device("water_level", name="低洼处水位计")
    rule = auth.post(
        "demo_dispatcher",
        "/api/v1/sensors/rules",
        json={
            "sensor_id": sensor["id"],
            "kind": "level",
            "blue": 1,
            "yellow": 2,
            "orange": 3,
            "red": 4,
        },
    )
    assert rule.status_code == 201, rule.json
    assert upload(sensor, [(10, 0.9)]).json["warning"]["level"] is None
    assert upload(sensor, [(0, 2.5)]).json["warning"]["level"] == "yellow"
    detail = auth.get("demo_dispatcher", f"/api/v1/sensors/{sensor['id']}")
    assert detail.json["rules"] == [
        {
            "kind": "level",
            "window_hours": None,
            "blue": 1.0,
            "yellow": 2.0,
            "orange": 3.0,
            "red": 4.0,
        }
    ]


def test_rules_must_be_increasing_and_type_rules_are_for_city_admins(device, auth):
    sensor = device("smoke", name="烟感")
    bad = auth.post(
        "demo_dispatcher",
        "/api/v1/sensors/rules",
        json={
            "sensor_id": sensor["id"],
            "kind": "level",
            "blue": 5,
            "yellow": 4,
            "orange": 6,
            "red": 7,
        },
    )
    assert bad.status_code == 422 and bad.json["error"]["code"] == "thresholds_not_increasing"
    no_window = auth.post(
        "demo_dispatcher",
        "/api/v1/sensors/rules",
        json={
            "sensor_id": sensor["id"],
            "kind": "rate",
            "blue": 1,
            "yellow": 2,
            "orange": 3,
            "red": 4,
        },
    )
    assert no_window.status_code == 422 and no_window.json["error"]["code"] == "window_mismatch"
    type_rule = {
        "type": "smoke",
        "kind": "rate",
        "window_hours": 1,
        "blue": 1,
        "yellow": 2,
        "orange": 3,
        "red": 4,
    }
    township = auth.post("demo_dispatcher", "/api/v1/sensors/rules", json=type_rule)
    assert township.status_code == 403 and township.json["error"]["code"] == "action_forbidden"
    city = auth.post("demo_admin", "/api/v1/sensors/rules", json=type_rule)
    assert city.status_code == 201
    again = auth.post("demo_admin", "/api/v1/sensors/rules", json=type_rule)
    assert again.status_code == 409 and again.json["error"]["code"] == "rule_exists"

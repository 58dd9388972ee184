"""The simulator: demo streams through the ingest path; the failing slope raises a GEOHAZARD
event and an alarm on the demo township's console."""

from __future__ import annotations

from sqlalchemy import select

from app.console.models import Alarm
from app.core.db import utcnow
from app.events.models import Event
from app.sensors.models import Sensor
from app.sensors.simulate import simulate


def test_the_failing_slope_raises_a_geohazard_event_and_an_alarm(session):
    result = simulate(hours=36)
    assert result["readings"] == 5 * 216
    assert result["warnings"]["DEMO-CRACK-01"] == "red"
    event = session.get(Event, result["events"]["DEMO-CRACK-01"])
    assert event.category_code == "GEOHAZARD" and event.source == "sensor"
    assert event.township_id == 500103003000
    alarm = session.scalar(select(Alarm).where(Alarm.event_id == event.id))
    assert alarm is not None and alarm.acknowledged_at is None
    # The storm's water level rose and drained away: its warning came and cleared.
    water = session.scalar(select(Sensor).where(Sensor.code == "DEMO-WATER-01"))
    assert water.level is None and result["warnings"]["DEMO-GAS-01"] is None
    assert session.scalar(select(Event.id).where(Event.description.contains("演示下穿道水位计")))


def test_a_slope_that_does_not_fail_stays_below_red_and_reruns_reuse_the_sensors(session):
    end = utcnow()
    first = simulate(hours=12, fail=False, end=end)
    assert first["warnings"]["DEMO-CRACK-01"] != "red"
    again = simulate(hours=12, fail=False, end=end)
    assert again["readings"] == 0  # the same instants: stored once
    codes = session.scalars(select(Sensor.code).where(Sensor.code.like("DEMO-%"))).all()
    assert sorted(codes) == sorted(first["warnings"])

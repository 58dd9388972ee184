"""Sensors at points, their readings, and the threshold rules that turn readings into warnings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.scope import AreaScoped
from app.core.types import GeometryType, UTCDateTime
from app.extensions import db

TYPES = ("rain_gauge", "crack_meter", "inclinometer", "water_level", "smoke", "combustible_gas")
# Warning levels, lowest first (预警等级: 蓝 < 黄 < 橙 < 红).
LEVELS = ("blue", "yellow", "orange", "red")
RULE_KINDS = ("level", "rate")
_EVENT_ID = BigInteger().with_variant(Integer, "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Sensor(AreaScoped, db.Model):
    """A device at a point, in the grid that point falls in; optionally at a key place.

    The warning columns are the sensor's one active warning: its level, since when, the event
    and alarm it raised, and when the readings last fell below every threshold (the quiet
    period that must pass before it clears).
    """

    __tablename__ = "sensors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The device's public identifier (printed on it); the secret is only ever stored hashed.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(100))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    point = mapped_column(GeometryType("POINT"), nullable=True)
    location_snapped: Mapped[bool] = mapped_column(Boolean, default=False)
    key_place_id: Mapped[int | None] = mapped_column(ForeignKey("key_places.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_reading_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_value: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(8))
    level_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quiet_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warning_event_id: Mapped[int | None] = mapped_column(_EVENT_ID, ForeignKey("events.id"))
    warning_alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarms.id"))

    __table_args__ = (
        CheckConstraint(_one_of("type", TYPES), name="type"),
        CheckConstraint(f"level IS NULL OR {_one_of('level', LEVELS)}", name="level"),
        Index("ix_sensors_point", "point", postgresql_using="gist").ddl_if(dialect="postgresql"),
    )


class Reading(db.Model):
    """One value a device measured at one instant; (sensor, at) is stored once however often
    the device resends it. Read only through its sensor, which the scope filter covers."""

    __tablename__ = "sensor_readings"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensors.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The idempotency key, and the index every window and chart query walks.
    __table_args__ = (UniqueConstraint("sensor_id", "at"),)


class Rule(db.Model):
    """A threshold rule: for a sensor type (sensor_id empty), or one site's override of it.

    Type rules are city-wide reference data; a site rule is visible exactly when its sensor is
    (the service checks through the sensor).
    """

    __tablename__ = "sensor_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("sensors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    window_hours: Mapped[float | None] = mapped_column(Float)
    blue: Mapped[float] = mapped_column(Float)
    yellow: Mapped[float] = mapped_column(Float)
    orange: Mapped[float] = mapped_column(Float)
    red: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint(_one_of("type", TYPES), name="type"),
        CheckConstraint(_one_of("kind", RULE_KINDS), name="kind"),
        CheckConstraint("blue < yellow AND yellow < orange AND orange < red", name="ordered"),
        CheckConstraint(
            "(kind = 'rate') = (window_hours IS NOT NULL AND window_hours > 0)", name="window"
        ),
        Index("ix_sensor_rules_type_kind", "type", "kind"),
    )

    def thresholds(self) -> dict[str, float]:
        return {level: getattr(self, level) for level in LEVELS}

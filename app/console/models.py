"""Alarms and pins: both stay on a console until somebody acknowledges them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.scope import AreaScoped
from app.core.types import UTCDateTime
from app.extensions import db

# How far an alarm reaches, in order: raised at the township and its district, then the city.
LEVELS = ("township", "district", "city")


class Alarm(AreaScoped, db.Model):
    """An alarm on the consoles of a place until acknowledged; unacknowledged, it climbs."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id")
    )
    source: Mapped[str] = mapped_column(String(16), default="emergency")  # later: sensor
    title: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(12), default="township")  # how far it reaches now
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledge_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # One alarm per event and source, however often the trigger fires.
        UniqueConstraint("event_id", "source"),
        Index("ix_alarms_open_escalate_at", "acknowledged_at", "escalate_at"),
    )


class Pin(AreaScoped, db.Model):
    """An item staff pinned 置顶 to the top of the consoles of a place until acknowledged."""

    __tablename__ = "pins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    pinned_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

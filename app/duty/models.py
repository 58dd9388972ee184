"""Shifts at a command centre and the notes handed from one shift to the next."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.scope import AreaScoped
from app.core.types import UTCDateTime
from app.extensions import db

# 带班领导 leads the shift; 值班员 watches the console and answers alarms.
POSTS = ("leader", "officer")


class DutyShift(AreaScoped, db.Model):
    """One person on duty at a command centre (a township, district or the city) for a time."""

    __tablename__ = "duty_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    post: Mapped[str] = mapped_column(String(12), default="officer")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # "Who is on duty at these centres now" reads the shifts ending after now.
        Index("ix_duty_shifts_centre_ends", "centre_id", "ends_at"),
    )


class Handover(AreaScoped, db.Model):
    """A shift's handover note 交接班, with what was still open when it was written."""

    __tablename__ = "duty_handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(BigInteger, index=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("duty_shifts.id"))
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text)
    # Counts and ids taken when the note was written: the next shift sees what it inherits.
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

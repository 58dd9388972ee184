"""Supervision notices 督办: one notice, many events, each with a reply due from its handler."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import utcnow
from app.core.types import UTCDateTime
from app.events.models import Event, EventScoped
from app.extensions import db


class SupervisionNotice(db.Model):
    """What a supervisor sent, when, and by when handlers must reply."""

    __tablename__ = "supervision_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message: Mapped[str] = mapped_column(Text)
    reply_due_at: Mapped[datetime] = mapped_column(UTCDateTime)

    targets: Mapped[list[SupervisionTarget]] = relationship(
        back_populates="notice", order_by="SupervisionTarget.id", lazy="selectin"
    )


class SupervisionTarget(EventScoped, db.Model):
    """One supervised event: the handler's reply, or the escalation when none came in time."""

    __tablename__ = "supervision_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("supervision_notices.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    reply_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reply: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending|replied|escalated

    notice: Mapped[SupervisionNotice] = relationship(back_populates="targets")
    event: Mapped[Event] = relationship(lazy="raise")

    __table_args__ = (UniqueConstraint("notice_id", "event_id"),)

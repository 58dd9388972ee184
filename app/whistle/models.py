"""Whistles 吹哨 and their summons: one per department, each with a report-in 报到 deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Department
from app.core.db import utcnow
from app.core.types import UTCDateTime
from app.events.models import Event, EventScoped
from app.extensions import db

# pending → on_time | late, or pending → overdue (the sweep: due passed, no report-in) → late.
SUMMONS_STATES = ("pending", "overdue", "on_time", "late")


class Whistle(EventScoped, db.Model):
    """A township summoning district departments to an event, with one report-in deadline."""

    __tablename__ = "whistles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    lead_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    report_in_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # How the limit was counted: "working_hours" on the SLA calendar, or "minutes" (emergency).
    limit_unit: Mapped[str] = mapped_column(String(16))
    limit_amount: Mapped[float] = mapped_column(Float)

    event: Mapped[Event] = relationship(lazy="raise")
    summons: Mapped[list[Summons]] = relationship(
        back_populates="whistle", order_by="Summons.id", lazy="selectin"
    )


class Summons(EventScoped, db.Model):
    """One summoned department: when it must report in, and when (and how late) it did."""

    __tablename__ = "whistle_summons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    whistle_id: Mapped[int] = mapped_column(ForeignKey("whistles.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    report_in_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(8), default="pending")
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool | None] = mapped_column(Boolean)  # None until reported in
    late_by_seconds: Mapped[int | None] = mapped_column(Integer)
    # Set once by the sweep when the deadline passed with no report-in (the warning went out).
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    whistle: Mapped[Whistle] = relationship(back_populates="summons")
    event: Mapped[Event] = relationship(lazy="raise")
    department: Mapped[Department] = relationship(lazy="selectin")

    __table_args__ = (
        UniqueConstraint("whistle_id", "department_id"),
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in SUMMONS_STATES)})", name="state"),
        # Evaluation counts per department and period; a department's own pending list.
        Index("ix_whistle_summons_department_due", "department_id", "report_in_due_at"),
        # The sweep: pending summons by deadline.
        Index(
            "ix_whistle_summons_pending_due",
            "report_in_due_at",
            postgresql_where="state = 'pending'",
        ),
    )

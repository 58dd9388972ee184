"""A report form 报表 defined once, one filing 填报 per area at its filling level, and the history
of each filing (saved, submitted, returned 退回)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.scope import AreaScoped, Scope
from app.core.types import UTCDateTime
from app.extensions import db

JSONType = JSON().with_variant(JSONB(), "postgresql")


class FormStatus(StrEnum):
    DRAFT = "draft"  # 草稿: being defined, seen only at the owner's level
    PUBLISHED = "published"  # 已发布: filings exist and are being filled
    CLOSED = "closed"  # 已结束: read-only, kept for the record


class FilingStatus(StrEnum):
    PENDING = "pending"  # 未填报: nobody has saved anything yet
    DRAFT = "draft"  # 已暂存: saved, not submitted
    SUBMITTED = "submitted"  # 已上报: counts in the rollup
    RETURNED = "returned"  # 已退回: sent back by an upper level for correction


PERIOD_KINDS = ("month", "quarter", "year", "adhoc")
FILL_LEVELS = ("grid", "village", "township")


class Form(AreaScoped, db.Model):
    """A report form owned by a node (a township, a district or the city): its period, due date,
    filling level and field definitions (JSON: fixed once published).

    The ancestry columns are the owner's. Besides the owner's subtree (the usual rule), the
    levels below see the forms published above them, since that is what they must fill.
    """

    __tablename__ = "report_forms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # The last day to submit (Beijing) and the instant it ends, which lateness is measured by.
    due_on: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fill_level: Mapped[str] = mapped_column(String(10))
    fields: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(10), default=FormStatus.DRAFT, index=True)
    owner_area_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("areas.id", ondelete="RESTRICT"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'closed')", name="status"),
        CheckConstraint("fill_level IN ('grid', 'village', 'township')", name="fill_level"),
        CheckConstraint("period_kind IN ('month', 'quarter', 'year', 'adhoc')", name="period_kind"),
        CheckConstraint("period_end >= period_start", name="period_order"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope):
        """The owner's subtree, plus forms published (not drafts) by the nodes above the scope."""
        base = super().scope_criteria(scope)
        if scope.everything or not scope.ancestors:
            return base
        from_above = and_(
            cls.owner_area_id.in_(sorted(scope.ancestors)), cls.status != FormStatus.DRAFT
        )
        return or_(base, from_above)


class Filing(AreaScoped, db.Model):
    """One area's answer to a form; ancestry columns are the area's, so fillers see their own
    and each level above sees the filings below it."""

    __tablename__ = "report_filings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("report_forms.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("areas.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=FilingStatus.PENDING)
    # What the filler entered, and what the system knew for the same fields when it was saved:
    # both are kept, so a corrected figure is visible as such.
    values: Mapped[dict] = mapped_column(JSONType, default=dict)
    system: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("form_id", "area_id"),
        CheckConstraint("status IN ('pending', 'draft', 'submitted', 'returned')", name="status"),
        # Progress counts and the rollup read one form's filings by status.
        Index("ix_report_filings_form_status", "form_id", "status"),
    )


class FilingLog(AreaScoped, db.Model):
    """One step in a filing's history: who saved, submitted or returned it, when and why."""

    __tablename__ = "report_filing_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filing_id: Mapped[int] = mapped_column(
        ForeignKey("report_filings.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)

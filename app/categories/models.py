"""The two-level event taxonomy with time limits, seeded from data/taxonomy.toml."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import utcnow
from app.core.types import UTCDateTime
from app.extensions import db

UNITS = ("working_hours", "working_days", "hours")
HANDLING_LEVELS = ("grid", "village", "board", "department")


class Category(db.Model):
    """A top-level category (DISPUTE 矛盾纠纷, SAFETY 安全隐患, …)."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)

    subcategories: Mapped[list[Subcategory]] = relationship(
        back_populates="category", order_by="Subcategory.position", lazy="selectin"
    )


class StageLimits:
    """Reads a stage's limit from the `<stage>_amount` / `<stage>_unit` columns."""

    def limit(self, stage: str) -> tuple[float, str]:
        """(amount, unit) of a stage's time limit."""
        return getattr(self, f"{stage}_amount"), getattr(self, f"{stage}_unit")


class Subcategory(StageLimits, db.Model):
    """A subcategory: what counts as a case, who handles it, and how long each stage may take."""

    __tablename__ = "subcategories"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(120))
    filing_criteria: Mapped[str] = mapped_column(Text, default="")
    closing_criteria: Mapped[str] = mapped_column(Text, default="")
    handling_level: Mapped[str] = mapped_column(String(12))
    board: Mapped[str | None] = mapped_column(String(16))
    department_kind: Mapped[str | None] = mapped_column(String(8))
    accept_amount: Mapped[float] = mapped_column(Float)
    accept_unit: Mapped[str] = mapped_column(String(16))
    handle_amount: Mapped[float] = mapped_column(Float)
    handle_unit: Mapped[str] = mapped_column(String(16))
    verify_amount: Mapped[float] = mapped_column(Float)
    verify_unit: Mapped[str] = mapped_column(String(16))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=3)
    dedup_radius_m: Mapped[float] = mapped_column(Float, default=100.0)
    dedup_window_hours: Mapped[float] = mapped_column(Float, default=24.0)
    gbt_ref: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rows an admin changed are no longer overwritten when the file is loaded again.
    edited_by_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[Category] = relationship(back_populates="subcategories")

    __table_args__ = (
        CheckConstraint(
            "handling_level IN ('grid', 'village', 'board', 'department')", name="handling_level"
        ),
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority"),
        CheckConstraint(
            "accept_amount > 0 AND handle_amount > 0 AND verify_amount > 0", name="limits"
        ),
        *(
            CheckConstraint(
                f"{stage}_unit IN ('working_hours', 'working_days', 'hours')", name=f"{stage}_unit"
            )
            for stage in ("accept", "handle", "verify")
        ),
    )

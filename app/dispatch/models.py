"""Dispatch rules: category × severity × place → handling level and unit, as table rows."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class DispatchRule(db.Model):
    """One rule; the first active rule (by position, then id) whose non-empty conditions all
    match wins.

    Without a matching rule the subcategory's own default level and unit apply, so rules are
    only needed where a place or a severity should route differently.
    """

    __tablename__ = "dispatch_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=100)
    # Conditions (NULL = any).
    category_code: Mapped[str | None] = mapped_column(String(24))
    subcategory_code: Mapped[str | None] = mapped_column(String(64))
    max_priority: Mapped[int | None] = mapped_column(Integer)  # matches priority <= this (1 = top)
    emergency: Mapped[bool | None] = mapped_column(Boolean)
    area_id: Mapped[int | None] = mapped_column(BigInteger)  # a district or township code
    # Outcome.
    handling_level: Mapped[str] = mapped_column(String(12))
    board: Mapped[str | None] = mapped_column(String(16))
    department_kind: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        CheckConstraint(
            "handling_level IN ('grid', 'village', 'board', 'department')", name="handling_level"
        ),
    )

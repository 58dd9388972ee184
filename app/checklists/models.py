"""Checklists, their items, the assignments they become (one per grid or key place), answers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import utcnow
from app.core.scope import AreaScoped, Scope, Scoped
from app.core.types import UTCDateTime
from app.extensions import db

JSONType = JSON().with_variant(JSONB(), "postgresql")
KINDS = ("photo", "gps", "yes_no", "value")
_EVENT_ID = BigInteger().with_variant(Integer, "sqlite")


class Checklist(AreaScoped, db.Model):
    """What a centre sent: title, instructions, deadline and where it went.

    The ancestry columns are the sending node's (a township, a village, a district or none for
    the city). It is visible to the sender's subtree and to whoever can see one of its
    assignments (the grid worker who must answer it, the village that oversees the grid).
    """

    __tablename__ = "checklists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    instructions: Mapped[str] = mapped_column(Text, default="")
    # The sending node (its area code as an id): its console and duty officers hear of lateness.
    centre_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Near due 临期 at 75% of the time allowed, as event stages warn.
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The sweep's one notice each to the sending centre (set in the claiming UPDATE).
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the sender picked (area codes, key-place kind), kept to show how it was targeted.
    targets: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The last change of title, instructions or deadline after sending (items never change).
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Withdrawn 撤回: by whom, when and why. Answers stay; open assignments stop being due.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdraw_reason: Mapped[str | None] = mapped_column(String(200))

    items: Mapped[list[ChecklistItem]] = relationship(
        order_by="ChecklistItem.position", lazy="selectin", back_populates="checklist"
    )

    __table_args__ = (
        CheckConstraint("due_at > created_at", name="due_after_creation"),
        Index("ix_checklists_warn_at", "warn_at", postgresql_where="warned_at IS NULL"),
        Index("ix_checklists_due_at", "due_at", postgresql_where="overdue_at IS NULL"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope):
        if scope.everything:
            return super().scope_criteria(scope)
        return or_(
            super().scope_criteria(scope),
            cls.id.in_(select(ChecklistAssignment.checklist_id)),
        )


class ChecklistItem(Scoped, db.Model):
    """One thing to check: a photo, a GPS fix, a yes/no or a value, and what fails it."""

    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklists.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))
    hint: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(8))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    # yes_no: the answer that fails the item (None: neither does).
    fail_on: Mapped[bool | None] = mapped_column(Boolean)
    # value: its unit and the acceptable range (outside fails).
    unit: Mapped[str] = mapped_column(String(16), default="")
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    # gps: how far from the key place a fix may be (a grid target: the fix must be in the grid).
    max_distance_m: Mapped[float | None] = mapped_column(Float)

    checklist: Mapped[Checklist] = relationship(back_populates="items", lazy="raise")

    __table_args__ = (
        UniqueConstraint("checklist_id", "key"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name="kind"),
        CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="range"
        ),
    )

    # Items are read with their checklist, whose own rule decides visibility.
    @classmethod
    def scope_criteria(cls, scope: Scope):
        if scope.everything:
            return super().scope_criteria(scope)
        return cls.checklist_id.in_(select(Checklist.id))

    def in_scope(self, scope: Scope) -> bool:
        checklist = self.__dict__.get("checklist")
        return scope.everything or (checklist is not None and checklist.in_scope(scope))


class ChecklistAssignment(AreaScoped, db.Model):
    """One grid's (or one key place's) copy of a checklist, answered by the grid's workers.

    The counters are kept by the answers (so progress is one GROUP BY, not a join over every
    answer); completed_at is when the last required item was answered (the phone's time,
    bounded), which against due_at decides lateness. due_at and warn_at are copied from the
    checklist so the late sweep walks one indexed column, as the event sweep does.
    """

    __tablename__ = "checklist_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklists.id"), index=True)
    # "g<grid code>" or "p<key place id>": one assignment per target of a checklist.
    target: Mapped[str] = mapped_column(String(24))
    key_place_id: Mapped[int | None] = mapped_column(ForeignKey("key_places.id"), index=True)
    item_count: Mapped[int] = mapped_column(Integer)
    required_count: Mapped[int] = mapped_column(Integer)
    answered_count: Mapped[int] = mapped_column(Integer, default=0)
    required_answered: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The sweep's one notice each to the grid's workers.
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Copied from the checklist when it is withdrawn, so the sweep and the phone's list filter
    # on the row itself. Still open then (completed_at NULL): no longer due, never late.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    checklist: Mapped[Checklist] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("checklist_id", "target"),
        Index("ix_checklist_assignments_warn_at", "warn_at", postgresql_where="warned_at IS NULL"),
        Index("ix_checklist_assignments_due_at", "due_at", postgresql_where="overdue_at IS NULL"),
    )


class ChecklistAnswer(Scoped, db.Model):
    """The answer to one item of one assignment: stored once, replaced by a later answer.

    Visible and writable exactly when its assignment is (the service hands the loaded
    assignment over as `assignment`). The server judges pass/fail; a failed answer may raise
    one event (event_client_uuid keeps a retried tap to that one event).
    """

    __tablename__ = "checklist_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("checklist_assignments.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    item_key: Mapped[str] = mapped_column(String(32))
    yes: Mapped[bool | None] = mapped_column(Boolean)
    value: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    attachment_ids: Mapped[list] = mapped_column(JSONType, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    fail_reason: Mapped[str] = mapped_column(String(200), default="")
    answered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event_id: Mapped[int | None] = mapped_column(_EVENT_ID, ForeignKey("events.id"), index=True)
    event_client_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)

    assignment: Mapped[ChecklistAssignment] = relationship(lazy="raise")

    # The idempotency key: the same answer sent again (a lost reply, a retried queue) is one row.
    __table_args__ = (UniqueConstraint("assignment_id", "item_key"),)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        if scope.everything:
            return super().scope_criteria(scope)
        return cls.assignment_id.in_(select(ChecklistAssignment.id))

    def in_scope(self, scope: Scope) -> bool:
        assignment = self.__dict__.get("assignment")
        return scope.everything or (assignment is not None and assignment.in_scope(scope))

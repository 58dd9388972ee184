"""Events (reported incidents), their append-only hash-chained audit trail, and attachments."""

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
    false,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from app.core.db import utcnow
from app.core.scope import AreaScoped, Scope, Scoped
from app.core.types import GeometryType, UTCDateTime
from app.events.lifecycle import State
from app.extensions import db
from app.keys.models import KeyPerson, KeyPlace

JSONType = JSON().with_variant(JSONB(), "postgresql")
SOURCES = ("app", "console", "hotline", "sensor", "open311", "checklist")
_STATES = ", ".join(f"'{s.value}'" for s in State)


class Event(AreaScoped, db.Model):
    """A reported incident and where it stands in the loop."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The phone's idempotency key: the same report retried any number of times is one event.
    client_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    source: Mapped[str] = mapped_column(String(16), default="app")
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    # WGS84; the point column serves PostGIS queries, lon/lat the embedded side.
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    point = mapped_column(GeometryType("POINT"), nullable=True)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_snapped: Mapped[bool] = mapped_column(Boolean, default=False)
    location_distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The key person or place the event concerns (raises its priority; see app.keys).
    key_person_id: Mapped[int | None] = mapped_column(ForeignKey("key_persons.id"), index=True)
    key_place_id: Mapped[int | None] = mapped_column(ForeignKey("key_places.id"), index=True)
    # Loaded only where shown (one event's detail); out of the reader's scope they read None.
    key_person: Mapped[KeyPerson | None] = relationship(lazy="select")
    key_place: Mapped[KeyPlace | None] = relationship(lazy="select")

    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    subcategory_code: Mapped[str] = mapped_column(ForeignKey("subcategories.code"))
    confidence: Mapped[float | None] = mapped_column(Float)
    classifier_version: Mapped[str | None] = mapped_column(String(32))
    # model | reporter | staff: who decided the category in force.
    category_source: Mapped[str] = mapped_column(String(12), default="model")
    classification: Mapped[dict | None] = mapped_column(JSONType)

    state: Mapped[str] = mapped_column(String(24), default=State.REPORTED)
    priority: Mapped[int] = mapped_column(Integer, default=3)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)

    # The unit handling it: a level, then the board, department or area, and maybe a person.
    handling_level: Mapped[str | None] = mapped_column(String(12))
    assigned_board: Mapped[str | None] = mapped_column(String(16))
    assigned_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id"), index=True
    )
    assigned_area_id: Mapped[int | None] = mapped_column(BigInteger)
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    dispatch_reason: Mapped[dict | None] = mapped_column(JSONType)

    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    likely_duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))

    # The running stage's clock (see app/sla): set when a stage starts, read by the sweep.
    stage: Mapped[str | None] = mapped_column(String(8))
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the event first ran past a deadline, at any stage; never cleared (breached_at is
    # reset when the next stage starts). Evaluation's on-time closure reads this.
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Approved extensions of the running stage, in the stage's unit.
    stage_extension: Mapped[float] = mapped_column(Float, default=0.0)

    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    supervision_count: Mapped[int] = mapped_column(Integer, default=0)
    # Head of the audit chain: the next row's seq and prev_hash, and a check on truncation.
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(f"state IN ({_STATES})", name="state"),
        CheckConstraint(f"source IN ({', '.join(repr(s) for s in SOURCES)})", name="source"),
        # The command-centre queue: one township, open states, newest or most urgent first.
        Index("ix_events_queue", "township_id", "state", "received_at"),
        Index("ix_events_district_state", "district_id", "state"),
        # The sweep: due and near-due events among the open ones.
        Index("ix_events_due", "due_at", postgresql_where="breached_at IS NULL"),
        Index("ix_events_warn", "warn_at", postgresql_where="warned_at IS NULL"),
        Index("ix_events_point", "point", postgresql_using="gist").ddl_if(dialect="postgresql"),
        Index("ix_events_lonlat", "lon", "lat"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope):
        """Places as usual; a department sees what is assigned to it, wherever it is; and
        reporters always see what they reported (a worker may report outside their grids).
        Units involved beyond the lead (co-handlers, summoned departments) see it too."""
        if scope.everything:
            return super().scope_criteria(scope)
        own = cls.reporter_id == scope.user_id
        if scope.department_id:
            return or_(
                cls.assigned_department_id == scope.department_id,
                own,
                cls.id.in_(EventUnit.event_ids_involving(scope)),
            )
        if scope.level == "village":  # a village co-handling next door
            return or_(
                super().scope_criteria(scope), own, cls.id.in_(EventUnit.event_ids_involving(scope))
            )
        return or_(super().scope_criteria(scope), own)

    def in_scope(self, scope: Scope) -> bool:
        if scope.everything or (scope.user_id and self.reporter_id == scope.user_id):
            return True
        if scope.department_id:
            if self.assigned_department_id == scope.department_id:
                return True
        elif super().in_scope(scope):
            return True
        return self._involves(scope)

    def _involves(self, scope: Scope) -> bool:
        """Whether the scope's unit is involved in this event (the twin of the SQL above)."""
        session = object_session(self)
        if self.id is None or session is None:
            return False
        if not (scope.department_id or scope.level == "village"):  # others see by place
            return False
        stmt = EventUnit.event_ids_involving(scope).where(EventUnit.__table__.c.event_id == self.id)
        return session.execute(stmt.limit(1)).first() is not None


class EventScoped(Scoped):
    """Rows that belong to one event are visible and writable exactly when their event is.

    Reads: the event's own rule applies inside the subquery. Writes: the service hands over
    the loaded (hence visible) event as `event`.
    """

    @classmethod
    def scope_criteria(cls, scope: Scope):
        if scope.everything:
            return super().scope_criteria(scope)
        return cls.event_id.in_(select(Event.id))

    def in_scope(self, scope: Scope) -> bool:
        event = self.__dict__.get("event")
        return scope.everything or (event is not None and event.in_scope(scope))


# Units beyond the lead: co-handlers 协同单位, and departments a whistle 吹哨 summoned.
UNIT_ROLES = ("co_handler", "summoned")
UNIT_LEVELS = ("department", "board", "village")


class EventUnit(EventScoped, db.Model):
    """A unit involved in an event besides its lead unit (the assigned_* columns).

    A co-handler 协同单位 (a district department, a township board or a village) adds progress
    notes; a department summoned by a whistle 吹哨 reports in 报到 and then co-handles. Both
    see the event (Event.scope_criteria); only the lead unit takes lifecycle actions.
    """

    __tablename__ = "event_units"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    level: Mapped[str] = mapped_column(String(12))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    board: Mapped[str | None] = mapped_column(String(16))
    # The village, or the township of a board.
    area_id: Mapped[int | None] = mapped_column(BigInteger)
    # "department:12", "board:500103003000:safety", "village:500103003016": one row per unit.
    unit_key: Mapped[str] = mapped_column(String(48))
    name: Mapped[str] = mapped_column(String(80))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("event_id", "unit_key"),
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in UNIT_ROLES)})", name="role"),
        CheckConstraint(f"level IN ({', '.join(repr(v) for v in UNIT_LEVELS)})", name="level"),
        # The scope filter's lookups: a department's or a village's events.
        Index("ix_event_units_department_event", "department_id", "event_id"),
        Index("ix_event_units_area_event", "area_id", "event_id"),
    )

    @classmethod
    def event_ids_involving(cls, scope: Scope, *, board: str | None = None):
        """The events a scope's unit is involved in beyond leading them (a board needs its
        board named). Core columns on purpose: no scope filter applies inside, which also
        keeps Event's rule from recursing through EventScoped's."""
        t = cls.__table__
        if scope.department_id:
            unit = t.c.department_id == scope.department_id
        elif scope.level == "village" and scope.area_id:
            unit = (t.c.level == "village") & (t.c.area_id == scope.area_id)
        elif scope.level == "township" and scope.area_id and board:
            unit = (t.c.level == "board") & (t.c.area_id == scope.area_id) & (t.c.board == board)
        else:
            unit = false()
        return select(t.c.event_id).where(unit)


class EventAudit(EventScoped, db.Model):
    """One transition of one event: who, when, from, to, why. Never updated, never deleted.

    Rows are hash-chained per event (each hash covers the previous one), so `flask audit
    verify` detects any edit; on PostgreSQL a trigger also refuses UPDATE and DELETE.
    """

    __tablename__ = "event_audit"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSONType)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    event: Mapped[Event] = relationship(lazy="raise")

    # One row per (event, seq): two concurrent transitions cannot both extend the chain.
    __table_args__ = (UniqueConstraint("event_id", "seq"),)


class Attachment(Scoped, db.Model):
    """A photo: uploaded first (owned by its uploader), then linked to an event."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(12), default="report")  # report|handle|verify
    storage_key: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    original_sha256: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # Uploading the same photo twice (a retried upload) yields the same attachment.
        UniqueConstraint("uploader_id", "original_sha256"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope):
        """Mine, or on an event I can see."""
        if scope.everything:
            return super().scope_criteria(scope)
        return or_(cls.uploader_id == scope.user_id, cls.event_id.in_(select(Event.id)))

    def in_scope(self, scope: Scope) -> bool:
        """Only the uploader writes an attachment (links it to an event, for instance)."""
        return scope.everything or self.uploader_id == scope.user_id

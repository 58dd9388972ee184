"""Key persons 重点人员 and key places 重点场所: a registry tied to grids, with visit schedules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.core.db import utcnow
from app.core.scope import AreaScoped, Scope, Scoped
from app.core.types import GeometryType, UTCDateTime
from app.extensions import db

JSONType = JSON().with_variant(JSONB(), "postgresql")
SUBJECTS = ("person", "place")
RISK_LEVELS = ("low", "medium", "high")
GENDERS = ("male", "female")


class KeyKind(db.Model):
    """A kind of key person or place (独居老人, 危岩 …): its visit interval and priority bump."""

    __tablename__ = "key_kinds"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(8))
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(80))
    visit_interval_days: Mapped[int] = mapped_column(Integer)
    priority_bump: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        CheckConstraint("subject IN ('person', 'place')", name="subject"),
        CheckConstraint("visit_interval_days BETWEEN 1 AND 365", name="interval"),
        CheckConstraint("priority_bump BETWEEN 0 AND 3", name="bump"),
    )


class Registered(AreaScoped):
    """What key persons and places share: kind, grid, who visits, and the visit schedule.

    next_visit_due_at is stored (last visit or registration + interval) so the overdue sweep
    and the worker's schedule are one indexed range each; visit_overdue_at marks the sweep's
    one notice per lapse and is cleared by the next visit.
    """

    subject: ClassVar[str]

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    risk_level: Mapped[str] = mapped_column(String(8), default="low")
    visit_interval_days: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_visit_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    visit_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivation_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @declared_attr
    def kind_code(cls) -> Mapped[str]:
        return mapped_column(ForeignKey("key_kinds.code"), index=True)

    @declared_attr
    def responsible_user_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id"), index=True)

    @declared_attr
    def registered_by(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def kind(cls) -> Mapped[KeyKind]:
        # Kinds are a handful of rows every dump needs (their names): always joined.
        return relationship(KeyKind, lazy="joined", innerjoin=True)

    @classmethod
    def _checks(cls) -> tuple:
        return (
            CheckConstraint("risk_level IN ('low', 'medium', 'high')", name="risk_level"),
            CheckConstraint("visit_interval_days BETWEEN 1 AND 365", name="interval"),
        )


class KeyPerson(Registered, db.Model):
    """A key person: who, where they live, who visits; the sensitive fields are masked for
    roles that do not need them (see app.keys.sensitive)."""

    __tablename__ = "key_persons"
    subject = "person"

    gender: Mapped[str | None] = mapped_column(String(8))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    # Sensitive (masked by role): identity, contact and case groups.
    id_card_no: Mapped[str | None] = mapped_column(String(18))
    phone: Mapped[str | None] = mapped_column(String(20))
    guardian_name: Mapped[str | None] = mapped_column(String(40))
    guardian_phone: Mapped[str | None] = mapped_column(String(20))
    case_notes: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        *Registered._checks(),
        CheckConstraint("gender IS NULL OR gender IN ('male', 'female')", name="gender"),
        CheckConstraint("birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100", name="birth"),
        # One active registration per person and kind; deactivated ones may be re-registered.
        Index(
            "uq_key_persons_kind_id_card",
            "kind_code",
            "id_card_no",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )


class KeyPlace(Registered, db.Model):
    """A key place at a point (WGS84), in the grid that point falls in."""

    __tablename__ = "key_places"
    subject = "place"

    # WGS84; the point column serves PostGIS queries, lon/lat the embedded side (as events).
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    point = mapped_column(GeometryType("POINT"), nullable=True)
    location_snapped: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sensitive (contact group).
    contact_name: Mapped[str | None] = mapped_column(String(40))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        *Registered._checks(),
        Index("ix_key_places_point", "point", postgresql_using="gist").ddl_if(dialect="postgresql"),
        Index("ix_key_places_lonlat", "lon", "lat"),
    )


MODELS: dict[str, type[Registered]] = {"person": KeyPerson, "place": KeyPlace}


class KeyVisit(Scoped, db.Model):
    """One visit to a person or place; visible exactly when its person or place is.

    Scoped through the subject (as event rows are through their event), so the history
    follows a person who moves to another grid.
    """

    __tablename__ = "key_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The phone's idempotency key: a visit recorded offline and retried is one visit.
    client_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("key_persons.id"), index=True)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("key_places.id"), index=True)
    visitor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    attachment_ids: Mapped[list] = mapped_column(JSONType, default=list)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)

    person: Mapped[KeyPerson | None] = relationship(lazy="raise")
    place: Mapped[KeyPlace | None] = relationship(lazy="raise")

    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (place_id IS NULL)", name="one_subject"),
    )

    @property
    def subject(self) -> str:
        return "person" if self.person_id is not None else "place"

    @classmethod
    def scope_criteria(cls, scope: Scope):
        if scope.everything:
            return super().scope_criteria(scope)
        return or_(cls.person_id.in_(select(KeyPerson.id)), cls.place_id.in_(select(KeyPlace.id)))

    def in_scope(self, scope: Scope) -> bool:
        """Written only by the service, which hands over the loaded (hence visible) subject."""
        subject = self.__dict__.get("person") or self.__dict__.get("place")
        return scope.everything or (subject is not None and subject.in_scope(scope))

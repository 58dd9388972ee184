"""The outbox: every push is first a row, so a reconnecting client (or a Redis outage) loses
nothing; live delivery only makes it prompt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.types import UTCDateTime
from app.extensions import db

JSONType = JSON().with_variant(JSONB(), "postgresql")


class OutboxMessage(db.Model):
    """One message for one room, in id order (clients resume from the last id they saw)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    room: Mapped[str] = mapped_column(String(40))
    # Rows of one message (one per room) share a key, so a client in several rooms sees it once.
    key: Mapped[str] = mapped_column(String(24), default="")
    kind: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    payload: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_outbox_room_id", "room", "id"),)

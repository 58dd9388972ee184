"""Open311 API keys (bound to one account, stored hashed) and what a posted request carried."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.db import utcnow
from app.core.scope import AreaScoped
from app.core.types import UTCDateTime
from app.events.models import Event, EventScoped, JSONType
from app.extensions import db


class ApiKey(AreaScoped, db.Model):
    """A partner's key: posts as `user`; scoped by the account's home so district admins
    manage their own district's keys. Only the SHA-256 is kept, like login tokens."""

    __tablename__ = "open311_api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell keys apart
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="selectin")


class ServiceRequest(EventScoped, db.Model):
    """The Open311 side of an event posted through the API: fields the event has no column for.

    Contact fields (name, phone, email) are kept for call-backs by staff and never published.
    """

    __tablename__ = "open311_requests"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id"), primary_key=True, autoincrement=False
    )
    api_key_id: Mapped[int] = mapped_column(ForeignKey("open311_api_keys.id"), index=True)
    address_string: Mapped[str | None] = mapped_column(String(255))
    media_url: Mapped[str | None] = mapped_column(String(1024))
    device_id: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[dict | None] = mapped_column(JSONType)
    attributes: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship(lazy="raise")

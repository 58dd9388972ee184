"""publish(): write messages to the outbox in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert

from app.core.db import utcnow
from app.extensions import db
from app.realtime.models import OutboxMessage


def publish(kind: str, payload: dict, rooms: Iterable[str], *, event_id: int | None = None) -> None:
    """Queue one message per room; it exists only if the surrounding transaction commits."""
    publish_many([(kind, payload, rooms, event_id)])


def publish_many(messages: Iterable[tuple[str, dict, Iterable[str], int | None]]) -> int:
    """Bulk form for sweeps: one INSERT for many messages."""
    now = utcnow()
    rows = [
        {"room": room, "kind": kind, "payload": payload, "event_id": event_id, "created_at": now}
        for kind, payload, rooms, event_id in messages
        for room in dict.fromkeys(rooms)  # each room once, order kept
    ]
    if rows:
        db.session.execute(insert(OutboxMessage), rows)
    return len(rows)

"""The outbox: publish() writes messages in the caller's transaction; after it commits they are
pushed live; catch_up() replays what a reconnecting client missed."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, func, insert, select

from app.core.db import on_commit, utcnow
from app.core.scope import unscoped
from app.extensions import db
from app.realtime.models import OutboxMessage

log = logging.getLogger(__name__)

# A message's id is taken when it is written but it is seen only when its transaction commits,
# so a slow transaction can commit a lower id after a client saw a higher one. Catch-up
# therefore looks this many ids further back, and clients drop keys they already have.
LATE_COMMIT_MARGIN = 2_000
CATCH_UP_LIMIT = 500
RETENTION = timedelta(days=7)


def publish(kind: str, payload: dict, rooms: Iterable[str], *, event_id: int | None = None) -> None:
    """Queue one message for its rooms; it exists only if the surrounding transaction commits."""
    publish_many([(kind, payload, rooms, event_id)])


def publish_many(messages: Iterable[tuple[str, dict, Iterable[str], int | None]]) -> int:
    """Bulk form for sweeps: one INSERT for many messages; returns the number of rows."""
    now = utcnow()
    rows, targets = [], {}
    for kind, payload, rooms, event_id in messages:
        key = secrets.token_urlsafe(12)
        targets[key] = list(dict.fromkeys(rooms))  # each room once, order kept
        rows += [
            {
                "room": room,
                "key": key,
                "kind": kind,
                "payload": payload,
                "event_id": event_id,
                "created_at": now,
            }
            for room in targets[key]
        ]
    if not rows:
        return 0
    ids = db.session.execute(
        insert(OutboxMessage).returning(OutboxMessage.id, OutboxMessage.key), rows
    ).all()
    last_id: dict[str, int] = {}
    for row_id, key in ids:
        last_id[key] = max(row_id, last_id.get(key, 0))
    by_key = {row["key"]: row for row in rows}
    envelopes = [(_envelope(last_id[key], by_key[key]), rooms) for key, rooms in targets.items()]
    on_commit(db.session(), lambda: _push(envelopes))
    return len(rows)


def _envelope(message_id: int, row: dict) -> dict:
    return {
        "id": message_id,
        "key": row["key"],
        "kind": row["kind"],
        "event_id": row["event_id"],
        "payload": row["payload"],
        "at": row["created_at"].isoformat(),
    }


def _push(envelopes: list[tuple[dict, list[str]]]) -> None:
    from app.realtime import socket

    try:
        socket.emit_all(envelopes)
    except Exception:  # noqa: BLE001 - the outbox has it; clients catch up on reconnect
        log.warning(
            "live push failed; %d messages wait in the outbox", len(envelopes), exc_info=True
        )


def catch_up(
    *, rooms: list[str], since: int, after: int | None = None, limit: int = CATCH_UP_LIMIT
):
    """Messages for these rooms a client that last saw `since` may have missed, oldest first.

    Returns (envelopes, next_after, more): page on with after=next_after while more is true.
    """
    lower = after if after is not None else max(0, since - LATE_COMMIT_MARGIN)
    with unscoped():  # room membership is the filter: for_principal() derived it from scope
        found = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.room.in_(rooms), OutboxMessage.id > lower)
            .order_by(OutboxMessage.id)
            .limit(limit + 1)
        ).all()
    more = len(found) > limit
    found = found[:limit]
    merged: dict[str, dict] = {}
    for row in found:
        envelope = merged.get(row.key)
        if envelope is None:
            merged[row.key] = {
                "id": row.id,
                "key": row.key,
                "kind": row.kind,
                "event_id": row.event_id,
                "payload": row.payload,
                "at": row.created_at.isoformat(),
            }
        else:
            envelope["id"] = max(envelope["id"], row.id)
    return list(merged.values()), (found[-1].id if found else lower), more


def last_id() -> int:
    """The newest message id: where a fresh client starts."""
    with unscoped():
        return db.session.scalar(select(func.max(OutboxMessage.id))) or 0


def purge(*, older_than: timedelta = RETENTION) -> int:
    """Drop messages nobody will replay any more (clients older than this reload in full)."""
    with unscoped():
        result = db.session.execute(
            delete(OutboxMessage).where(OutboxMessage.created_at < utcnow() - older_than)
        )
    return result.rowcount

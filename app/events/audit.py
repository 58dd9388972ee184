"""The audit trail: append a hash-chained row per transition, and verify every chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.core.auth import Principal
from app.core.db import utcnow
from app.events.models import Event, EventAudit
from app.extensions import db

SYSTEM_ACTOR = "system"


def _canonical(row: EventAudit) -> bytes:
    """The bytes a row's hash covers: every field a reader relies on, in a fixed form."""
    at: datetime = row.at
    fields = [
        row.event_id,
        row.seq,
        at.isoformat(timespec="microseconds"),
        row.actor_id,
        row.actor_name,
        row.actor_role,
        row.action,
        row.from_state,
        row.to_state,
        row.reason,
        row.data,
    ]
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(prev_hash: str | None, row: EventAudit) -> str:
    """sha256(previous hash ‖ canonical row): changing any row breaks every later link."""
    digest = hashlib.sha256((prev_hash or "").encode())
    digest.update(_canonical(row))
    return digest.hexdigest()


def append(
    event: Event,
    *,
    actor: Principal | None,
    action: str,
    from_state: str | None,
    to_state: str,
    reason: str | None = None,
    data: dict | None = None,
) -> EventAudit:
    """Add the next link of an event's chain (the caller holds the event, locked if it can)."""
    if event.id is None:
        db.session.flush()  # the row needs its event's id before it can be hashed
    row = EventAudit(
        event=event,
        event_id=event.id,
        seq=(event.audit_seq or 0) + 1,
        at=utcnow(),
        actor_id=actor.user_id if actor else None,
        actor_name=actor.username if actor else SYSTEM_ACTOR,
        actor_role=actor.role if actor else None,
        action=str(action),
        from_state=str(from_state) if from_state else None,
        to_state=str(to_state),
        reason=reason,
        data=data,
        prev_hash=event.audit_head,
    )
    row.hash = row_hash(row.prev_hash, row)
    event.audit_seq, event.audit_head = row.seq, row.hash
    db.session.add(row)
    return row


def note(
    event: Event,
    *,
    actor: Principal | None,
    action: str,
    reason: str | None = None,
    data: dict | None = None,
) -> EventAudit:
    """Record something that happened to an event without changing its state."""
    return append(
        event,
        actor=actor,
        action=action,
        from_state=event.state,
        to_state=event.state,
        reason=reason,
        data=data,
    )


@dataclass(frozen=True)
class Problem:
    event_id: int
    seq: int | None
    message: str


def verify(*, batch: int = 5_000) -> Iterator[Problem]:
    """Recompute every chain; yield each broken link, gap, or truncated tail."""
    heads = dict(db.session.execute(select(Event.id, Event.audit_head)).all())
    seqs = dict(db.session.execute(select(Event.id, Event.audit_seq)).all())
    current, prev, expected_seq = None, None, 1
    stmt = select(EventAudit).order_by(EventAudit.event_id, EventAudit.seq)
    # populate_existing: judge what the database holds now, never rows cached in the session.
    options = {"yield_per": batch, "populate_existing": True}
    for row in db.session.scalars(stmt.execution_options(**options)):
        if row.event_id != current:
            if current is not None:
                yield from _check_tail(current, prev, expected_seq, heads, seqs)
            current, prev, expected_seq = row.event_id, None, 1
        if row.seq != expected_seq:
            yield Problem(row.event_id, row.seq, f"expected seq {expected_seq}: rows missing")
        if row.prev_hash != prev:
            yield Problem(row.event_id, row.seq, "prev_hash does not match the previous row")
        if row_hash(row.prev_hash, row) != row.hash:
            yield Problem(row.event_id, row.seq, "row content does not match its hash")
        prev, expected_seq = row.hash, row.seq + 1
    if current is not None:
        yield from _check_tail(current, prev, expected_seq, heads, seqs)
    for event_id in heads.keys() - _events_with_rows():
        if heads[event_id] is not None:
            yield Problem(event_id, None, "event has a chain head but no audit rows")


def _check_tail(event_id, last_hash, next_seq, heads, seqs) -> Iterator[Problem]:
    if heads.get(event_id) != last_hash or seqs.get(event_id) != next_seq - 1:
        yield Problem(event_id, next_seq - 1, "chain ends before the event's recorded head")


def _events_with_rows() -> set[int]:
    return set(db.session.scalars(select(EventAudit.event_id).distinct()))

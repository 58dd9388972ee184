"""The overdue-visit sweep: flags each lapsed visit schedule once and tells who must visit.

visit_overdue_at is set in the statement that selects the rows, so a row is announced once
per lapse (a visit clears the mark); safe to run twice and in two workers at once (FOR UPDATE
SKIP LOCKED on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.core.db import utcnow
from app.extensions import db
from app.keys.models import MODELS
from app.realtime import rooms
from app.realtime.service import publish_many

BATCH = 5_000


@dataclass
class VisitSweepResult:
    person: int = 0
    place: int = 0
    messages: int = 0


def _claim(model, now: datetime, batch: int) -> list:
    """Mark up to `batch` active rows whose next visit is past due and not yet flagged."""
    t = model.__table__
    claim = (
        select(t.c.id)
        .where(t.c.active.is_(True), t.c.visit_overdue_at.is_(None), t.c.next_visit_due_at <= now)
        .order_by(t.c.next_visit_due_at)
        .limit(batch)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    # Core on the table on purpose: a system job over every place, not a user's query.
    stmt = (
        update(t)
        .where(t.c.id.in_(claim.scalar_subquery()))
        .values(visit_overdue_at=now)
        .returning(
            t.c.id,
            t.c.kind_code,
            t.c.name,
            t.c.grid_id,
            t.c.village_id,
            t.c.responsible_user_id,
            t.c.next_visit_due_at,
        )
    )
    return db.session.execute(stmt).all()


def _message(subject: str, row):
    payload = {
        "subject": subject,
        "id": row.id,
        "kind": row.kind_code,
        "name": row.name,
        "grid_code": str(row.grid_id),
        "due_at": row.next_visit_due_at.isoformat(),
        "responsible_user_id": row.responsible_user_id,
    }
    # The visitor, and the village office that oversees the grid's visits.
    targets = [rooms.user(row.responsible_user_id)] if row.responsible_user_id else []
    targets.append(rooms.area(row.village_id))
    return "visit_overdue", payload, targets, None


def sweep(*, now: datetime | None = None, batch: int = BATCH) -> VisitSweepResult:
    """One pass over persons and places; commits per batch."""
    now = now or utcnow()
    result = VisitSweepResult()
    for subject, model in MODELS.items():
        while True:
            rows = _claim(model, now, batch)
            if not rows:
                break
            result.messages += publish_many(_message(subject, row) for row in rows)
            setattr(result, subject, getattr(result, subject) + len(rows))
            db.session.commit()
            if len(rows) < batch:
                break
    return result

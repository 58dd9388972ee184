"""The report-in sweep: flags each summons whose deadline passed without a report-in, once.

Run every minute by cron. The flag (state 'overdue', overdue_at) is set by the same statement
that selects the rows, so a second run, or two at once, warns nobody twice: on PostgreSQL
rows are claimed with FOR UPDATE SKIP LOCKED; SQLite serialises writers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, bindparam, select, text

from app.core.db import utcnow
from app.core.scope import unscoped
from app.core.types import UTCDateTime
from app.events.lifecycle import OPEN
from app.events.models import Event
from app.extensions import db
from app.realtime import rooms
from app.realtime.service import publish_many

BATCH = 5_000
_OPEN = ", ".join(f"'{s.value}'" for s in OPEN)


def _claim(now: datetime, batch: int) -> list:
    """Mark up to `batch` pending summons past their deadline (on open events) as overdue."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    lock = "FOR UPDATE OF s SKIP LOCKED" if postgres else ""
    sql = text(f"""
        UPDATE whistle_summons SET state = 'overdue', overdue_at = :now
        WHERE state = 'pending' AND id IN (
            SELECT s.id FROM whistle_summons s JOIN events e ON e.id = s.event_id
            WHERE s.state = 'pending' AND s.report_in_due_at <= :now AND e.state IN ({_OPEN})
            ORDER BY s.report_in_due_at LIMIT :batch {lock}
        )
        RETURNING id, whistle_id, event_id, department_id, report_in_due_at
    """)
    sql = sql.bindparams(bindparam("now", type_=UTCDateTime())).columns(
        id=Integer,
        whistle_id=Integer,
        event_id=Integer,
        department_id=Integer,
        report_in_due_at=UTCDateTime,
    )
    # Core SQL on purpose: a system job over every place, not a user's query.
    return db.session.execute(sql, {"now": now, "batch": batch}).all()


def flag_overdue(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """One pass: flag overdue report-ins and warn each department and its township; commits
    per batch. Returns how many were flagged."""
    now = now or utcnow()
    flagged = 0
    while True:
        rows = _claim(now, batch)
        if not rows:
            break
        with unscoped():
            townships = dict(
                db.session.execute(
                    select(Event.id, Event.township_id).where(
                        Event.id.in_({r.event_id for r in rows})
                    )
                ).all()
            )
        messages = []
        for row in rows:
            payload = {
                "summons_id": row.id,
                "whistle_id": row.whistle_id,
                "event_id": row.event_id,
                "department_id": row.department_id,
                "report_in_due_at": row.report_in_due_at.isoformat(),
            }
            targets = [rooms.department(row.department_id), rooms.area(townships[row.event_id])]
            messages.append(("report_in_late", payload, targets, row.event_id))
        publish_many(messages)
        flagged += len(rows)
        db.session.commit()
        if len(rows) < batch:
            break
    return flagged

"""The sweep, the source of truth for near-due 临期 and overdue 超期.

It marks events whose warn or due time has passed, once each (warned_at / breached_at are set
in the same statement that selects them), and tells the handler and, when overdue, the next
level up. Safe to run twice, after a restart, and in two workers at once: on PostgreSQL rows
are claimed with FOR UPDATE SKIP LOCKED; SQLite serialises writers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from app.core.db import utcnow
from app.events.lifecycle import OPEN
from app.extensions import db
from app.realtime import rooms
from app.realtime.service import publish_many

BATCH = 5_000
_OPEN = ", ".join(f"'{s.value}'" for s in OPEN)
_RETURNING = (
    "id, grid_id, village_id, township_id, district_id, handling_level, assigned_user_id, "
    "assigned_department_id, stage, due_at"
)


@dataclass
class SweepResult:
    near_due: int = 0
    overdue: int = 0
    messages: int = 0


def _claim(mark: str, when: str, now: datetime, batch: int) -> list:
    """Set `mark` = now on up to `batch` open events whose `when` has passed; return them."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    lock = "FOR UPDATE SKIP LOCKED" if postgres else ""
    # The first breach is kept for good (evaluation's on-time closure): the deadline it passed.
    first = ", overdue_at = COALESCE(overdue_at, due_at)" if mark == "breached_at" else ""
    sql = f"""
        UPDATE events SET {mark} = :now{first}
        WHERE id IN (
            SELECT id FROM events
            WHERE {when} <= :now AND {mark} IS NULL AND state IN ({_OPEN})
            ORDER BY {when} LIMIT :batch {lock}
        )
        RETURNING {_RETURNING}
    """
    # Core SQL on purpose: the sweep is a system job over every place, not a user's query.
    return db.session.execute(text(sql), {"now": _param(now), "batch": batch}).all()


def _param(now: datetime):
    # SQLite stores our UTC datetimes as naive ISO text; compare like with like.
    if db.session.get_bind().dialect.name == "sqlite":
        return now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return now


def _message(kind: str, row, extra_rooms: list[str]):
    due = row.due_at if isinstance(row.due_at, str) else row.due_at.isoformat()
    payload = {"event_id": row.id, "stage": row.stage, "due_at": due}
    # The township console always counts its near-due and overdue events.
    targets = [*rooms.handler_rooms(row), *extra_rooms, rooms.area(row.township_id)]
    return kind, payload, targets, row.id


def _escalation_rooms(row, duty: dict[int, list[int]]) -> list[str]:
    node = rooms.next_level_up_node(row)
    return [rooms.area(node), *(rooms.user(u) for u in duty.get(node, ()))]


def sweep(*, now: datetime | None = None, batch: int = BATCH) -> SweepResult:
    """One pass: flag newly near-due and overdue events and notify; commits per batch."""
    now = now or utcnow()
    result = SweepResult()
    for mark, when, kind in (
        ("warned_at", "warn_at", "near_due"),
        ("breached_at", "due_at", "overdue"),
    ):
        while True:
            rows = _claim(mark, when, now, batch)
            if not rows:
                break
            # Escalated to the next level up: its consoles and, at a centre, whoever is on duty.
            duty = (
                rooms.on_duty({rooms.next_level_up_node(r) for r in rows})
                if kind == "overdue"
                else {}
            )
            messages = [
                _message(kind, row, _escalation_rooms(row, duty) if kind == "overdue" else [])
                for row in rows
            ]
            result.messages += publish_many(messages)
            setattr(result, kind, getattr(result, kind) + len(rows))
            db.session.commit()
            if len(rows) < batch:
                break
    return result

"""The late sweep: near-due 临期 and overdue 超期 checklist work, each announced once.

Two claims per pass, each marking its rows in the statement that selects them (so a row is
announced once however often the sweep runs, and two workers never both claim it; FOR UPDATE
SKIP LOCKED on PostgreSQL, SQLite serialises writers):

- assignments not completed: their grid's workers are told (near due, then overdue);
- checklists: the sending centre is told once per checklist, with how many are still open,
  on its console and to whoever is on duty there (none is sent when all were done in time).

Withdrawn checklists and their assignments are never claimed. Changing a checklist's deadline
clears the marks of its open work (service.edit), so each is announced again at the new times.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from app.checklists.models import Checklist, ChecklistAssignment
from app.checklists.service import workers_of
from app.core.db import utcnow
from app.extensions import db
from app.realtime import rooms
from app.realtime.service import publish_many

BATCH = 5_000


@dataclass
class ChecklistSweepResult:
    near_due: int = 0
    overdue: int = 0
    checklists_near_due: int = 0
    checklists_overdue: int = 0
    messages: int = 0


def _claim(model, mark: str, when: str, now: datetime, batch: int, returning: list) -> list:
    """Set `mark` = now on up to `batch` rows whose `when` has passed; return them."""
    t = model.__table__
    # A withdrawn checklist (and its assignments) is due no more: nobody is warned of it.
    condition = [t.c[when] <= now, t.c[mark].is_(None), t.c.withdrawn_at.is_(None)]
    if model is ChecklistAssignment:
        condition.append(t.c.completed_at.is_(None))
    if mark == "warned_at":
        condition.append(t.c.due_at > now)  # past due already: the overdue notice says enough
    claim = select(t.c.id).where(*condition).order_by(t.c[when]).limit(batch)
    if db.session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    values = {mark: now}
    if mark == "overdue_at":
        values["warned_at"] = func.coalesce(t.c.warned_at, now)
    # Core on the table on purpose: a system job over every place, not a user's query.
    stmt = update(t).where(t.c.id.in_(claim.scalar_subquery())).values(**values)
    return db.session.execute(stmt.returning(*(t.c[c] for c in returning))).all()


def _titles(checklist_ids) -> dict[int, str]:
    rows = db.session.execute(
        select(Checklist.id, Checklist.title).where(Checklist.id.in_(sorted(checklist_ids)))
    ).all()
    return dict(rows)


def _worker_messages(kind: str, rows: list) -> list:
    workers = workers_of(sorted({r.grid_id for r in rows}))
    titles = _titles({r.checklist_id for r in rows})
    messages = []
    for row in rows:
        people = workers.get(row.grid_id, [])
        if not people:
            continue
        payload = {
            "checklist_id": row.checklist_id,
            "assignment_id": row.id,
            "title": titles.get(row.checklist_id, ""),
            "due_at": row.due_at.isoformat(),
        }
        messages.append((kind, payload, [rooms.user(u) for u in people], None))
    return messages


def _centre_messages(kind: str, rows: list) -> list:
    ids = [r.id for r in rows]
    a = ChecklistAssignment
    open_ = dict(
        db.session.execute(
            select(a.checklist_id, func.count(a.id))
            .where(a.checklist_id.in_(ids), a.completed_at.is_(None))
            .group_by(a.checklist_id)
        ).all()
    )
    duty = rooms.on_duty({r.centre_id for r in rows})
    messages = []
    for row in rows:
        if not open_.get(row.id):
            continue
        payload = {
            "checklist_id": row.id,
            "title": row.title,
            "due_at": row.due_at.isoformat(),
            "open": open_[row.id],
        }
        targets = [rooms.area(row.centre_id), *(rooms.user(u) for u in duty.get(row.centre_id, ()))]
        messages.append((kind, payload, targets, None))
    return messages


def sweep(*, now: datetime | None = None, batch: int = BATCH) -> ChecklistSweepResult:
    """One pass: flag newly near-due and overdue assignments and checklists, and notify."""
    now = now or utcnow()
    result = ChecklistSweepResult()
    counters = defaultdict(int)
    steps = (
        (
            ChecklistAssignment,
            "warned_at",
            "warn_at",
            "near_due",
            ["id", "checklist_id", "grid_id", "due_at"],
        ),
        (
            ChecklistAssignment,
            "overdue_at",
            "due_at",
            "overdue",
            ["id", "checklist_id", "grid_id", "due_at"],
        ),
        (
            Checklist,
            "warned_at",
            "warn_at",
            "checklists_near_due",
            ["id", "centre_id", "title", "due_at"],
        ),
        (
            Checklist,
            "overdue_at",
            "due_at",
            "checklists_overdue",
            ["id", "centre_id", "title", "due_at"],
        ),
    )
    for model, mark, when, counter, returning in steps:
        kind = "checklist_overdue" if mark == "overdue_at" else "checklist_near_due"
        while True:
            rows = _claim(model, mark, when, now, batch, returning)
            if not rows:
                break
            build = _worker_messages if model is ChecklistAssignment else _centre_messages
            result.messages += publish_many(build(kind, rows))
            counters[counter] += len(rows)
            db.session.commit()
            if len(rows) < batch:
                break
    for key, value in counters.items():
        setattr(result, key, value)
    return result

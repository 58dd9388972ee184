"""Who is on duty: the lookup that alarms and escalations make, installed into
app.realtime.rooms so that lower modules route to the people on duty without importing duty."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from app.core.db import utcnow
from app.core.scope import unscoped
from app.duty.models import DutyShift
from app.extensions import db


def on_duty(centre_ids: Iterable[int], *, at: datetime | None = None) -> dict[int, list[int]]:
    """The users on duty at each centre at a moment (leaders first), in one query."""
    ids = sorted({int(c) for c in centre_ids if c})
    if not ids:
        return {}
    at = at or utcnow()
    with unscoped():  # routing a message is not reading the roster on someone's behalf
        found = db.session.execute(
            select(DutyShift.centre_id, DutyShift.user_id)
            .where(
                DutyShift.centre_id.in_(ids),
                DutyShift.ends_at > at,
                DutyShift.starts_at <= at,
            )
            .order_by(DutyShift.centre_id, DutyShift.post, DutyShift.starts_at)
        ).all()
    result: dict[int, list[int]] = {}
    for centre_id, user_id in found:
        people = result.setdefault(centre_id, [])
        if user_id not in people:
            people.append(user_id)
    return result

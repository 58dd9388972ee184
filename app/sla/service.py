"""Stage clocks: when a stage starts, its warn and due times come from the category's limits."""

from __future__ import annotations

import time
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.categories.models import Subcategory
from app.core.scope import unscoped
from app.events.lifecycle import STAGE_OF_STATE, State
from app.events.models import Event
from app.extensions import db
from app.sla.calendar import WorkCalendar
from app.sla.models import CalendarOverride

_CACHE_SECONDS = 60.0


def calendar() -> WorkCalendar:
    """This process's working calendar, with the override table re-read at most once a minute."""
    ext = current_app.extensions
    cached = ext.get("wangge_calendar")
    if cached is None or time.monotonic() - cached[0] > _CACHE_SECONDS:
        with unscoped():
            overrides = dict(
                db.session.execute(select(CalendarOverride.day, CalendarOverride.workday)).all()
            )
        cached = ext["wangge_calendar"] = (time.monotonic(), WorkCalendar(overrides))
    return cached[1]


def invalidate_calendar() -> None:
    """Forget the cached calendar (after the override table changed)."""
    current_app.extensions.pop("wangge_calendar", None)


def start_clock(event: Event, subcategory: Subcategory, *, at: datetime) -> None:
    """Start the clock of the stage the event's state belongs to (or stop it when terminal)."""
    stage = STAGE_OF_STATE[State(event.state)]
    event.stage_extension = 0.0
    if stage is None:
        event.stage = event.stage_started_at = event.warn_at = event.due_at = None
        return
    event.stage = stage.value
    _set_deadlines(event, subcategory, at)


def extend_clock(event: Event, subcategory: Subcategory, amount: float) -> None:
    """Lengthen the running stage by `amount` of its own unit (an approved extension)."""
    event.stage_extension = (event.stage_extension or 0.0) + amount
    _set_deadlines(event, subcategory, event.stage_started_at)


def _set_deadlines(event: Event, subcategory: Subcategory, at: datetime) -> None:
    amount, unit = subcategory.limit(event.stage)
    amount += event.stage_extension or 0.0
    cal = calendar()
    fraction = current_app.config["SLA_WARN_FRACTION"]
    event.stage_started_at = at
    event.due_at = cal.add(at, amount, unit)
    event.warn_at = cal.add(at, amount * fraction, unit)
    event.warned_at = None
    event.breached_at = None

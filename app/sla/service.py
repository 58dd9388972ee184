"""Stage clocks: when a stage starts, its warn and due times come from the category's limits,
counted on the working calendar, whose override table city administrators edit."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.accounts.roles import Role
from app.categories.models import Subcategory
from app.core import adminlog
from app.core.auth import Principal
from app.core.db import on_commit, on_commit_batch, utcnow
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import unscoped
from app.events.lifecycle import STAGE_OF_STATE, State
from app.events.models import Event
from app.extensions import db
from app.sla.calendar import SOURCE_OVERRIDE, WorkCalendar
from app.sla.models import CalendarOverride

# Timed sweeps run just after the moment, so the stored time has certainly passed.
_SLACK = timedelta(seconds=1)
log = logging.getLogger(__name__)


def calendar() -> WorkCalendar:
    """This process's working calendar, the override table re-read every few seconds.

    The table is tiny (tens of rows a year), so re-reading it *is* the cross-process version
    check: a change committed by any process is seen by every other within
    SLA_CALENDAR_CHECK_SECONDS (2 s by default), and at once by the process that made it
    (invalidate_calendar after commit). The calendar, with the per-year tables it has built,
    is only replaced when the overrides really differ.
    """
    ext = current_app.extensions
    cached = ext.get("wangge_calendar")
    now = time.monotonic()
    if cached is not None and now - cached[0] < current_app.config["SLA_CALENDAR_CHECK_SECONDS"]:
        return cached[1]
    with unscoped():
        overrides = dict(
            db.session.execute(select(CalendarOverride.day, CalendarOverride.workday)).all()
        )
    cal = cached[1] if cached is not None and cached[1].overrides == overrides else None
    if cal is None:
        cal = WorkCalendar(overrides)
    ext["wangge_calendar"] = (now, cal)
    return cal


def invalidate_calendar() -> None:
    """Forget the cached calendar (after the override table changed)."""
    current_app.extensions.pop("wangge_calendar", None)


def start_clock(event: Event, subcategory: Subcategory, *, at: datetime) -> None:
    """Start the clock of the stage the event's state belongs to (or stop it when terminal)."""
    _note_lateness(event, at)
    stage = STAGE_OF_STATE[State(event.state)]
    event.stage_extension = 0.0
    if stage is None:
        event.stage = event.stage_started_at = event.warn_at = event.due_at = None
        return
    event.stage = stage.value
    _set_deadlines(event, subcategory, at)


def extend_clock(event: Event, subcategory: Subcategory, amount: float) -> None:
    """Lengthen the running stage by `amount` of its own unit (an approved extension)."""
    _note_lateness(event, utcnow())
    event.stage_extension = (event.stage_extension or 0.0) + amount
    _set_deadlines(event, subcategory, event.stage_started_at)


def _note_lateness(event: Event, at: datetime) -> None:
    """The running stage ends (or its deadline moves) at `at`: if it was already late, keep the
    fact, even when the sweep has not run since the deadline passed."""
    due = event.due_at
    if due is not None and event.overdue_at is None and at > due:
        event.overdue_at = due


def answer_stage_started(event: Event, *, subcategory: Subcategory, at: datetime) -> None:
    """Events entered a stage (signal events.stage_started): start its clock."""
    start_clock(event, subcategory, at=at)


def answer_extension_approved(event: Event, *, subcategory: Subcategory, amount: float) -> None:
    """An extension 延期 was approved (signal events.extension_approved): move the deadline."""
    extend_clock(event, subcategory, amount)


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
    _time_warnings(event)


def _time_warnings(event: Event) -> None:
    """Ask for a sweep soon after the event's warn and due times, so warnings come on time.

    The minute's cron sweep stays the source of truth; these timed jobs only make it punctual
    (and a sweep that finds nothing due costs one indexed query).
    """
    if not current_app.config["SLA_TIMED_JOBS"]:
        return
    moments = on_commit_batch(db.session(), "sla_timers", _schedule)
    moments[id(event)] = (event.warn_at, event.due_at)


# One sweep serves every deadline of its bucket: a burst of reports schedules a handful of
# jobs, not two per report. Warnings come at most this much after their moment.
TIMER_BUCKET_SECONDS = 10
_scheduled_buckets: set[int] = set()  # buckets this process has already asked for
_buckets_lock = threading.Lock()


def _bucket(at: datetime) -> int:
    """The end of the bucket holding `at` (plus slack), in epoch seconds."""
    moment = (at + _SLACK).timestamp()
    return int(-(-moment // TIMER_BUCKET_SECONDS) * TIMER_BUCKET_SECONDS)


def _schedule(timers: dict[int, tuple[datetime, datetime]]) -> None:
    from app.core.jobs import queue
    from app.sla.tasks import run_sweep

    now = time.time()
    wanted = {_bucket(at) for moments in timers.values() for at in moments}
    with _buckets_lock:
        # Forget what has passed: the set stays as small as the deadlines still ahead.
        _scheduled_buckets.difference_update([b for b in _scheduled_buckets if b < now])
        wanted -= _scheduled_buckets
    if not wanted:
        return
    try:
        high = queue("high")
        for bucket in sorted(wanted):
            # A fixed id per bucket: other processes asking for the same moment re-save the
            # same job rather than add one.
            at = datetime.fromtimestamp(bucket, tz=UTC)
            high.enqueue_at(at, run_sweep, job_id=f"sla-sweep-{bucket}")
        with _buckets_lock:
            _scheduled_buckets.update(wanted)
    except Exception:  # noqa: BLE001 - the minute's sweep catches up whatever this missed
        log.warning("could not time SLA sweeps for %d events", len(timers), exc_info=True)


# -- the override table (city administrators) ------------------------------------------------

# What the libraries alone say about a day, to show beside each override.
_LIBRARIES = WorkCalendar()
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Overrides outside these years would only be typos: no clock runs that far.
OVERRIDE_YEARS = (2000, 2100)


@dataclass(frozen=True)
class OverrideInfo:
    """An override with what the libraries would answer without it."""

    day: date
    workday: bool
    note: str
    library_workday: bool
    library_source: str


def _info(row: CalendarOverride) -> OverrideInfo:
    return OverrideInfo(
        row.day,
        row.workday,
        row.note,
        _LIBRARIES.is_workday(row.day),
        _LIBRARIES.source(row.day),
    )


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date from a URL, within the years an override may concern."""
    try:
        day = date.fromisoformat(text) if _DAY_RE.match(text) else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", code="invalid_date", date=text)
    low, high = OVERRIDE_YEARS
    if not low <= day.year <= high:
        raise ValidationFailed(
            f"只能调整 {low}–{high} 年的日期", code="date_out_of_range", date=text
        )
    return day


def _require_city_admin(actor: Principal) -> None:
    if actor.role != Role.ADMIN or not actor.scope.everything:
        raise Forbidden("工作日历全市统一，只有市级管理员可以修改", code="city_admin_only")


def list_overrides(*, year: int | None = None, page: int, page_size: int) -> Page:
    """The override table, by date, optionally one year."""
    stmt = select(CalendarOverride).order_by(CalendarOverride.day)
    if year is not None:
        stmt = stmt.where(CalendarOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
    result = paginate(stmt, page=page, page_size=page_size)
    result.items = [_info(row) for row in result.items]
    return result


def put_override(*, actor: Principal, day: date, workday: bool, note: str = "") -> OverrideInfo:
    """Declare a day a working day or a day off (city administrators only).

    Applies to clocks that start from now on (a new stage, a restart, a re-dispatch, and an
    approved extension, which recounts its stage on the current calendar). Deadlines already
    running are deliberately not recomputed: they were announced to the handler when the
    stage began, a day turned into a working day would make events overdue retroactively
    (and warnings already sent would contradict the new times), and the State Council's notice
    normally comes out weeks before the year it governs. A case that needs more time gets an
    extension 延期, which is counted.
    """
    _require_city_admin(actor)
    row = db.session.get(CalendarOverride, day)
    before = None if row is None else {"workday": row.workday, "note": row.note}
    if row is None:
        row = CalendarOverride(day=day)
        db.session.add(row)
    row.workday, row.note = workday, note
    db.session.flush()
    adminlog.record(
        actor,
        "calendar_override.put",
        f"calendar:{day.isoformat()}",
        before=before,
        after={"workday": workday, "note": note},
    )
    on_commit(db.session(), invalidate_calendar)
    return _info(row)


def delete_override(*, actor: Principal, day: date) -> None:
    """Remove an override: the libraries decide that day again (city administrators only)."""
    _require_city_admin(actor)
    row = db.session.get(CalendarOverride, day)
    if row is None:
        raise NotFound("该日期没有调整记录", code="override_not_found", date=day.isoformat())
    before = {"workday": row.workday, "note": row.note}
    db.session.delete(row)
    db.session.flush()
    adminlog.record(actor, "calendar_override.delete", f"calendar:{day.isoformat()}", before=before)
    on_commit(db.session(), invalidate_calendar)


def calendar_days(*, first: date, last: date) -> list[dict]:
    """Each day from first to last: working day or not, and which layer decided it."""
    cal = calendar()
    notes = dict(
        db.session.execute(
            select(CalendarOverride.day, CalendarOverride.note).where(
                CalendarOverride.day.between(first, last)
            )
        ).all()
    )
    days = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        source = cal.source(day)
        days.append(
            {
                "date": day,
                "weekday": day.isoweekday(),
                "workday": cal.is_workday(day),
                "source": source,
                "note": notes.get(day) if source == SOURCE_OVERRIDE else None,
            }
        )
    return days

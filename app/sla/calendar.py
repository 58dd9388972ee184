"""Working time under China's official calendar: a stage's time limit 时限 becomes a deadline.

Which days are working days (first match wins, per date):

1. ``overrides``: the admin-editable table (date -> is a working day), above every library.
2. ``chinesecalendar``, for the years it supports (2004–2026 in 1.11; probed once per year by
   asking it about 1 January, never per date). It knows public holidays *and* 调休, the weekend
   days that become working days. Its tables end on 2026-10-10 but it answers for all of 2026,
   and rightly: the State Council's 2026 notice covers the whole year.
3. ``holidays`` (CN, public category), for the years it supports (1950–2100): its holidays are
   days off, then Saturdays and Sundays are off. It knows no 调休 working weekends, and beyond
   the published years its "observed" days off are rule-based guesses (hence the override table).
4. Otherwise Saturdays and Sundays off. No date raises.

Working hours are the periods of ``WorkHours`` on every working day, in the calendar's local
zone. The default, 09:00–12:00 and 14:00–18:00 Asia/Shanghai, is 3 h + 4 h = 7 h a day (one
working_days unit); WorkHours.parse("09:00-12:00,13:00-18:00") would give 8 h.

Units of a limit (``add``, ``elapsed``, ``warn_at``):

- ``"hours"``: wall-clock hours, calendar ignored (emergencies).
- ``"working_hours"``: only time inside working periods of working days counts; the deadline is
  the earliest moment the amount is used up (17:30 + 2 h -> 10:30 next working day; 09:00 + 3 h
  -> 12:00, not 14:00).
- ``"working_days"``: the day of receipt never counts, whatever the hour (期间开始的日不计算在
  期间内), so N days end at the close of business of the N-th working day after it. The clock
  starts at midnight after the day of receipt and runs in working hours at one day = the
  ``WorkHours`` length: 0.5 day from a Monday 10:00 receipt ends Tuesday 14:30 (3.5 working
  hours into Tuesday). This keeps add/elapsed exact inverses, so warn_at (75 % of 20 days) is the
  close of the 15th working day. A limit meant to run from the moment of receipt belongs in
  working_hours.

Datetimes in must be timezone-aware (any zone); results are aware UTC. Working time is counted
on the local wall clock, which for Asia/Shanghai (no DST since 1991) is exact.

Per-day data is precomputed lazily per year (flags and cumulative working seconds), so ``add``
and ``elapsed`` are two bisections plus a loop over the years spanned; no day-by-day walking.
Library answers are cached per process and shared by every calendar, so building one for a new
override table costs only its overrides. Reads are thread-safe; a year's table is built once
under a lock.
"""

from __future__ import annotations

import functools
import math
import threading
from bisect import bisect_left
from calendar import isleap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta, tzinfo
from itertools import accumulate
from types import MappingProxyType
from typing import Final, Literal
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

Unit = Literal["hours", "working_hours", "working_days"]
HOURS: Final = "hours"
WORKING_HOURS: Final = "working_hours"
WORKING_DAYS: Final = "working_days"
UNITS: Final = (HOURS, WORKING_HOURS, WORKING_DAYS)

DEFAULT_WARN_FRACTION: Final = 0.75
DEFAULT_TZ: Final = "Asia/Shanghai"

# Which layer decided a date (WorkCalendar.source), highest precedence first.
SOURCE_OVERRIDE: Final = "override"
SOURCE_CHINESECALENDAR: Final = "chinesecalendar"
SOURCE_HOLIDAYS: Final = "holidays"
SOURCE_WEEKENDS: Final = "weekends"


def _seconds(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


@dataclass(frozen=True, slots=True)
class WorkHours:
    """The working periods of every working day, local wall-clock times, sorted and disjoint."""

    periods: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(14), time(18)))

    def __post_init__(self) -> None:
        periods = tuple((start, end) for start, end in self.periods)
        if not periods:
            raise ValueError("WorkHours needs at least one period")
        previous_end = -1.0
        for start, end in periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("WorkHours periods are local wall-clock times, without tzinfo")
            if not start < end:
                raise ValueError(f"empty or reversed period {start}-{end}")
            if _seconds(start) < previous_end:
                raise ValueError("WorkHours periods must be sorted and must not overlap")
            previous_end = _seconds(end)
        object.__setattr__(self, "periods", periods)

    @classmethod
    def parse(cls, text: str) -> WorkHours:
        """Periods from configuration text such as "09:00-12:00,14:00-18:00"."""
        periods = []
        for part in text.split(","):
            start, sep, end = part.strip().partition("-")
            if not sep:
                raise ValueError(f"period {part.strip()!r} is not HH:MM-HH:MM")
            periods.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
        return cls(tuple(periods))

    def spans(self) -> tuple[tuple[float, float], ...]:
        """The periods as (start, end) seconds after local midnight."""
        return tuple((_seconds(start), _seconds(end)) for start, end in self.periods)

    @property
    def hours_per_day(self) -> float:
        """Working hours in one working day (the length of one working_days unit)."""
        return sum(end - start for start, end in self.spans()) / 3600


DEFAULT_HOURS: Final = WorkHours()


@functools.cache
def _chinesecalendar_covers(year: int) -> bool:
    """Whether chinesecalendar answers for `year` (it raises NotImplementedError outside)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@functools.cache
def _base_year(year: int) -> tuple[bytes, str]:
    """Every day of `year` as 1 (working) / 0 (off) from the libraries, and which one decided."""
    first = date(year, 1, 1).toordinal()
    days = [date.fromordinal(first + i) for i in range(366 if isleap(year) else 365)]
    if _chinesecalendar_covers(year):
        return bytes(chinese_calendar.is_workday(d) for d in days), SOURCE_CHINESECALENDAR
    if holidays.China.start_year <= year <= holidays.China.end_year:
        # Public category only: the half-day ones (Women's Day, Youth Day...) concern some
        # staff, not the office's opening days.
        off = holidays.China(years=year)
        return bytes(d.weekday() < 5 and d not in off for d in days), SOURCE_HOLIDAYS
    return bytes(d.weekday() < 5 for d in days), SOURCE_WEEKENDS


# One year of one calendar: (ordinal of 1 January, working-day flags, cumulative working
# seconds at the end of each day counted from 1 January 00:00).
_Year = tuple[int, bytes, list[float]]


class WorkCalendar:
    """Working days and hours of one override table; turns time limits into deadlines."""

    __slots__ = (
        "_by_year",
        "_day",
        "_hours",
        "_lock",
        "_overrides",
        "_period_ends",
        "_spans",
        "_starts",
        "_tz",
        "_years",
    )

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        *,
        hours: WorkHours = DEFAULT_HOURS,
        tz: str | tzinfo = DEFAULT_TZ,
    ) -> None:
        table: dict[date, bool] = {}
        by_year: dict[int, list[tuple[int, bool]]] = {}
        for day, workday in (overrides or {}).items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"override keys are dates, not {type(day).__name__}")
            table[day] = bool(workday)
            by_year.setdefault(day.year, []).append((day.toordinal(), bool(workday)))
        self._overrides = MappingProxyType(table)
        self._by_year = by_year
        self._hours = hours
        self._tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self._spans = hours.spans()
        self._starts = tuple(start for start, _ in self._spans)
        # Working seconds of the day elapsed at the end of each period.
        self._period_ends = tuple(accumulate(end - start for start, end in self._spans))
        self._day = self._period_ends[-1]
        self._years: dict[int, _Year] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"WorkCalendar({len(self._overrides)} overrides, hours={self._hours.periods}, "
            f"tz={self._tz})"
        )

    @property
    def overrides(self) -> Mapping[date, bool]:
        """The override table (read-only copy)."""
        return self._overrides

    @property
    def hours(self) -> WorkHours:
        """The working periods of a working day."""
        return self._hours

    @property
    def tz(self) -> tzinfo:
        """The zone whose wall clock the working periods and dates are read in."""
        return self._tz

    def with_overrides(self, overrides: Mapping[date, bool] | None) -> WorkCalendar:
        """The same hours and zone with a new override table (replacing, not merging)."""
        return WorkCalendar(overrides, hours=self._hours, tz=self._tz)

    # -- days -----------------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        """Whether `d` is a working day; an aware datetime stands for its local date."""
        d = self._date(d)
        first, flags, _ = self._table(d.year)
        return bool(flags[d.toordinal() - first])

    def source(self, d: date) -> str:
        """Which layer decides `d`: one of the SOURCE_* names (precedence made visible)."""
        d = self._date(d)
        if d in self._overrides:
            return SOURCE_OVERRIDE
        return _base_year(d.year)[1]

    # -- limits ---------------------------------------------------------------------------

    def add(self, start: datetime, amount: float, unit: Unit) -> datetime:
        """The deadline (aware UTC) of a limit of `amount` `unit`s starting at `start`."""
        if not (amount >= 0 and math.isfinite(amount)):
            raise ValueError(f"limit amount must be finite and >= 0, not {amount!r}")
        if unit == HOURS:
            # In UTC: aware arithmetic in a zone with DST would add wall-clock time instead.
            return self._utc(start) + timedelta(hours=amount)
        local = self._local(start)
        if unit == WORKING_HOURS:
            year, position = self._position(local)
            seconds = amount * 3600
        elif unit == WORKING_DAYS:
            year, position = self._day_start(local.toordinal() + 1)
            seconds = amount * self._day
        else:
            raise ValueError(f"unknown unit {unit!r}; expected one of {UNITS}")
        if amount == 0:
            return local.astimezone(UTC)
        return self._locate(year, position + seconds).replace(tzinfo=self._tz).astimezone(UTC)

    def elapsed(self, start: datetime, now: datetime, unit: Unit) -> float:
        """How much of a `unit` limit started at `start` is used up at `now` (0 before start)."""
        # Compared in UTC: aware datetimes sharing one tzinfo compare by wall clock.
        utc_start, utc_now = self._utc(start), self._utc(now)
        if unit == HOURS:
            return max(0.0, (utc_now - utc_start).total_seconds() / 3600)
        local_start = utc_start.astimezone(self._tz)
        if unit == WORKING_HOURS:
            year, position = self._position(local_start)
            per_unit = 3600.0
        elif unit == WORKING_DAYS:
            year, position = self._day_start(local_start.toordinal() + 1)
            per_unit = self._day
        else:
            raise ValueError(f"unknown unit {unit!r}; expected one of {UNITS}")
        if utc_now <= utc_start:
            return 0.0
        year_now, position_now = self._position(utc_now.astimezone(self._tz))
        if year > year_now:  # a working_days clock that starts next year
            return 0.0
        worked = position_now - position
        for y in range(year, year_now):
            worked += self._table(y)[2][-1]
        return max(0.0, worked / per_unit)

    def warn_at(
        self,
        start: datetime,
        amount: float,
        unit: Unit,
        fraction: float = DEFAULT_WARN_FRACTION,
    ) -> datetime:
        """The moment `fraction` of the limit has elapsed (临期), aware UTC."""
        return self.add(start, amount * fraction, unit)

    # -- internals ------------------------------------------------------------------------

    def _date(self, d: date) -> date:
        """A plain date: an aware datetime's local date, a naive one's own."""
        if isinstance(d, datetime):
            return (d.astimezone(self._tz) if d.tzinfo is not None else d).date()
        return d

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("naive datetime: give a timezone-aware one")
        return moment.astimezone(self._tz)

    @staticmethod
    def _utc(moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("naive datetime: give a timezone-aware one")
        return moment.astimezone(UTC)

    def _table(self, year: int) -> _Year:
        table = self._years.get(year)
        return table if table is not None else self._build(year)

    def _build(self, year: int) -> _Year:
        """Build a year's table once; the lock only spares concurrent first users the work."""
        with self._lock:
            table = self._years.get(year)
            if table is None:
                first = date(year, 1, 1).toordinal()
                flags, _ = _base_year(year)
                changes = self._by_year.get(year)
                if changes:
                    edited = bytearray(flags)
                    for ordinal, workday in changes:
                        edited[ordinal - first] = workday
                    flags = bytes(edited)
                day = self._day
                ends = list(accumulate(day if flag else 0 for flag in flags))
                table = self._years[year] = (first, flags, ends)
        return table

    def _position(self, local: datetime) -> tuple[int, float]:
        """(year, working seconds from that year's 1 January 00:00 to the local moment)."""
        year = local.year
        first, flags, ends = self._table(year)
        i = local.toordinal() - first
        position = ends[i - 1] if i else 0
        if flags[i]:
            secs = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
            for start, end in self._spans:
                if secs <= start:
                    break
                position += (secs if secs < end else end) - start
        return year, position

    def _day_start(self, ordinal: int) -> tuple[int, float]:
        """(year, working seconds from that year's start to 00:00 of the given day)."""
        year = date.fromordinal(ordinal).year
        first, _, ends = self._table(year)
        i = ordinal - first
        return year, (ends[i - 1] if i else 0)

    def _locate(self, year: int, target: float) -> datetime:
        """The earliest naive local moment `target` (> 0) working seconds after `year` began."""
        while True:
            first, _, ends = self._table(year)
            if target <= ends[-1]:
                break
            target -= ends[-1]
            year += 1
            if year > MAXYEAR:
                raise OverflowError("deadline beyond year 9999")
        # bisect_left: the earliest day (and period) reaching the target, so a limit used up
        # exactly at closing time is due then, not at the next opening.
        i = bisect_left(ends, target)
        rest = target - (ends[i - 1] if i else 0)
        period_ends = self._period_ends
        k = min(bisect_left(period_ends, rest), len(period_ends) - 1)
        secs = self._starts[k] + rest - (period_ends[k - 1] if k else 0)
        return datetime.fromordinal(first + i) + timedelta(seconds=secs)

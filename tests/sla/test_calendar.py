"""WorkCalendar: China's official working days (with 调休), working-hour arithmetic, the
working-days rule, library fallbacks and overrides, and add/elapsed as inverses."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays
import pytest

from app.sla.calendar import (
    DEFAULT_HOURS,
    HOURS,
    SOURCE_CHINESECALENDAR,
    SOURCE_HOLIDAYS,
    SOURCE_OVERRIDE,
    SOURCE_WEEKENDS,
    UNITS,
    WORKING_DAYS,
    WORKING_HOURS,
    WorkCalendar,
    WorkHours,
)

CST = ZoneInfo("Asia/Shanghai")
PLUS8 = timezone(timedelta(hours=8))
CAL = WorkCalendar()


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """A Chongqing local moment."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=CST)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def nth_working_day_after(day: date, n: int) -> date:
    """Oracle straight from chinesecalendar, one day at a time."""
    while n:
        day += timedelta(1)
        n -= chinese_calendar.is_workday(day)
    return day


# -- days: chinesecalendar years ---------------------------------------------------------------


def test_2025_national_day_and_mid_autumn():
    for d in days(date(2025, 10, 1), date(2025, 10, 8)):
        assert not CAL.is_workday(d), d
    assert CAL.is_workday(date(2025, 9, 28))  # Sunday, 调休
    assert CAL.is_workday(date(2025, 10, 11))  # Saturday, 调休
    assert not CAL.is_workday(date(2025, 9, 27))  # an ordinary Saturday
    assert CAL.is_workday(date(2025, 9, 30))
    assert CAL.is_workday(date(2025, 10, 9))


def test_2025_spring_festival():
    for d in days(date(2025, 1, 28), date(2025, 2, 4)):
        assert not CAL.is_workday(d), d
    assert CAL.is_workday(date(2025, 1, 26))  # Sunday, 调休
    assert CAL.is_workday(date(2025, 2, 8))  # Saturday, 调休
    assert CAL.is_workday(date(2025, 1, 27))
    assert CAL.is_workday(date(2025, 2, 5))


@pytest.mark.parametrize(
    ("name", "off", "made_up"),
    [
        # Hand-checked against the State Council's 2026 holiday notice.
        (
            "Spring Festival",
            (date(2026, 2, 15), date(2026, 2, 23)),
            {date(2026, 2, 14), date(2026, 2, 28)},
        ),
        ("Labour Day", (date(2026, 5, 1), date(2026, 5, 5)), {date(2026, 5, 9)}),
    ],
)
def test_2026_blocks_match_chinesecalendar(name, off, made_up):
    detail = {
        d: chinese_calendar.get_holiday_detail(d)
        for d in days(date(2026, 1, 1), date(2026, 12, 31))
    }
    package_off = sorted(d for d, (rest, label) in detail.items() if rest and label == name)
    package_made_up = {d for d, (rest, label) in detail.items() if not rest and label == name}
    assert package_off == days(*off)
    assert package_made_up == made_up
    for d in package_off:
        assert not CAL.is_workday(d), d
    for d in package_made_up:
        assert d.weekday() >= 5 and CAL.is_workday(d), d


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_of_2025_and_2026_agrees_with_chinesecalendar(year):
    for d in days(date(year, 1, 1), date(year, 12, 31)):
        assert CAL.is_workday(d) == chinese_calendar.is_workday(d), d
        assert CAL.source(d) == SOURCE_CHINESECALENDAR


def test_late_2026_needs_no_choice_between_layers():
    # chinesecalendar's tables end on 2026-10-10 but it answers for all of 2026; holidays plus
    # weekends says the same for the rest of the year, so where the handover sits is moot.
    cn = holidays.China(years=2026)
    for d in days(date(2026, 10, 11), date(2026, 12, 31)):
        assert CAL.is_workday(d) == (d.weekday() < 5 and d not in cn), d


# -- days: beyond chinesecalendar --------------------------------------------------------------


def test_2027_falls_back_to_holidays_and_weekends():
    assert CAL.source(date(2027, 1, 1)) == SOURCE_HOLIDAYS
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 1))  # why the fallback exists
    assert not CAL.is_workday(date(2027, 1, 1))  # New Year's Day
    assert CAL.is_workday(date(2027, 1, 5))  # an ordinary Tuesday
    assert not CAL.is_workday(date(2027, 1, 9))  # an ordinary Saturday
    assert not CAL.is_workday(date(2027, 10, 1))  # National Day
    assert CAL.is_workday(date(2027, 10, 8))  # the Friday after the week


def test_no_date_raises():
    for d in days(date(2026, 9, 1), date(2028, 12, 31)):
        CAL.is_workday(d)
    for d in (date(1, 1, 1), date(1949, 12, 31), date(2101, 1, 1), date(9999, 12, 31)):
        assert CAL.is_workday(d) == (d.weekday() < 5), d
        assert CAL.source(d) == SOURCE_WEEKENDS


@pytest.mark.parametrize("year", [1990, 2003, 2090])
def test_years_outside_chinesecalendar_follow_holidays(year):
    cn = holidays.China(years=year)
    for d in days(date(year, 1, 1), date(year, 12, 31)):
        assert CAL.is_workday(d) == (d.weekday() < 5 and d not in cn), d
    assert CAL.source(date(year, 6, 1)) == SOURCE_HOLIDAYS
    assert not CAL.is_workday(date(year, 1, 1))
    assert not CAL.is_workday(date(year, 10, 1))


def test_far_future_and_past_arithmetic():
    for start in (at(2090, 3, 1, 10), at(1999, 6, 30, 17, 30)):
        due = CAL.add(start, 20, WORKING_DAYS)
        assert CAL.is_workday(due.astimezone(CST))
        assert due.astimezone(CST).time() == time(18)
        assert CAL.elapsed(start, due, WORKING_DAYS) == pytest.approx(20)


def test_add_across_the_chinesecalendar_horizon():
    # Thursday 17:00: 1 h left; Fri 1 Jan 2027 holiday, then the weekend.
    assert CAL.add(at(2026, 12, 31, 17), 2, WORKING_HOURS) == at(2027, 1, 4, 10)
    assert CAL.add(at(2026, 12, 30, 11), 2, WORKING_DAYS) == at(2027, 1, 4, 18)


# -- overrides -----------------------------------------------------------------------------------


def test_overrides_win_both_ways_over_every_layer():
    table = {
        date(2025, 3, 15): True,  # Saturday -> working (chinesecalendar year)
        date(2025, 3, 11): False,  # Tuesday -> off
        date(2025, 10, 1): True,  # National Day -> working
        date(2025, 9, 28): False,  # 调休 Sunday -> off
        date(2027, 1, 1): True,  # holidays layer
        date(2200, 1, 1): False,  # weekends layer (a Wednesday)
    }
    cal = WorkCalendar(table)
    for d, workday in table.items():
        assert cal.is_workday(d) is workday, d
        assert cal.source(d) == SOURCE_OVERRIDE
        assert CAL.is_workday(d) is not workday, d  # the base calendar is untouched
    assert cal.source(date(2025, 3, 12)) == SOURCE_CHINESECALENDAR
    # Friday 17:00 + 2 h: the working Saturday takes the remaining hour.
    assert cal.add(at(2025, 3, 14, 17), 2, WORKING_HOURS) == at(2025, 3, 15, 10)
    assert CAL.add(at(2025, 3, 14, 17), 2, WORKING_HOURS) == at(2025, 3, 17, 10)
    # Monday 17:00 + 2 h skips the Tuesday made a holiday.
    assert cal.add(at(2025, 3, 10, 17), 2, WORKING_HOURS) == at(2025, 3, 12, 10)
    assert cal.add(at(2025, 3, 10, 17), 1, WORKING_DAYS) == at(2025, 3, 12, 18)


def test_with_overrides_replaces_the_table_and_keeps_hours_and_zone():
    hours = WorkHours.parse("08:30-12:00,13:30-17:30")
    cal = WorkCalendar({date(2025, 3, 15): True}, hours=hours, tz="UTC")
    other = cal.with_overrides({date(2025, 3, 11): False})
    assert other.hours == hours and other.tz == cal.tz
    assert dict(other.overrides) == {date(2025, 3, 11): False}
    assert not other.is_workday(date(2025, 3, 15))
    assert dict(cal.overrides) == {date(2025, 3, 15): True}


def test_override_keys_must_be_dates():
    with pytest.raises(TypeError):
        WorkCalendar({datetime(2025, 3, 15, tzinfo=UTC): True})
    with pytest.raises(TypeError):
        WorkCalendar({"2025-03-15": True})


# -- working hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [
        (at(2025, 3, 11, 17, 30), 2, at(2025, 3, 12, 10, 30)),  # evening: 0.5 h today, 1.5 h
        (at(2025, 3, 11, 11), 2, at(2025, 3, 11, 15)),  # across lunch
        (at(2025, 3, 11, 12, 30), 1, at(2025, 3, 11, 15)),  # starting in the lunch break
        (at(2025, 3, 11, 7), 1, at(2025, 3, 11, 10)),  # before opening
        (at(2025, 3, 11, 9), 3, at(2025, 3, 11, 12)),  # used up at closing: due then
        (at(2025, 3, 11, 9), 7, at(2025, 3, 11, 18)),  # a whole day
        (at(2025, 3, 11, 9), 7.5, at(2025, 3, 12, 9, 30)),
        (at(2025, 3, 14, 20), 1, at(2025, 3, 17, 10)),  # Friday night -> Monday
        (at(2025, 3, 15, 10), 7, at(2025, 3, 17, 18)),  # from a Saturday
        (at(2025, 9, 30, 17), 2, at(2025, 10, 9, 10)),  # over the National Day block
        (at(2025, 10, 10, 17), 2, at(2025, 10, 11, 10)),  # into the 调休 Saturday
        (at(2025, 9, 26, 17), 2, at(2025, 9, 28, 10)),  # Saturday off, 调休 Sunday on
        (at(2025, 1, 27, 17), 2, at(2025, 2, 5, 10)),  # over the Spring Festival block
        (at(2025, 3, 11, 10, 0, 30), 0.25, at(2025, 3, 11, 10, 15, 30)),
    ],
)
def test_working_hours(start, amount, due):
    result = CAL.add(start, amount, WORKING_HOURS)
    assert result == due
    assert result.tzinfo is UTC
    assert CAL.elapsed(start, result, WORKING_HOURS) == pytest.approx(amount)


def test_zero_limit_is_the_start():
    for unit in UNITS:
        assert CAL.add(at(2025, 3, 15, 3), 0, unit) == at(2025, 3, 15, 3)


# -- working days --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [
        (at(2025, 3, 10, 10), 1, at(2025, 3, 11, 18)),  # the day of receipt never counts
        (at(2025, 3, 10, 8), 1, at(2025, 3, 11, 18)),  # ... even before opening
        (at(2025, 3, 10, 23, 59), 1, at(2025, 3, 11, 18)),
        (at(2025, 3, 10, 10), 5, at(2025, 3, 17, 18)),
        (at(2025, 3, 15, 10), 1, at(2025, 3, 17, 18)),  # received on a Saturday
        (at(2025, 9, 30, 10), 1, at(2025, 10, 9, 18)),  # over National Day
        (at(2025, 9, 30, 10), 3, at(2025, 10, 11, 18)),  # the 调休 Saturday is the third
        (at(2025, 3, 10, 10), 0.5, at(2025, 3, 11, 14, 30)),  # half of a 7 h day
        (at(2025, 3, 10, 10), 1.5, at(2025, 3, 12, 14, 30)),
        (at(2025, 3, 3, 9), 20, at(2025, 3, 31, 18)),
    ],
)
def test_working_days(start, amount, due):
    assert CAL.add(start, amount, WORKING_DAYS) == due
    assert CAL.elapsed(start, due, WORKING_DAYS) == pytest.approx(amount)


def test_whole_working_days_match_the_oracle():
    rng = random.Random(20251001)
    for _ in range(300):
        received = date(2025, 1, 1) + timedelta(rng.randrange(640))
        n = rng.randint(1, 30)
        start = at(
            received.year, received.month, received.day, rng.randrange(24), rng.randrange(60)
        )
        last = nth_working_day_after(received, n)
        assert CAL.add(start, n, WORKING_DAYS) == at(last.year, last.month, last.day, 18), (
            start,
            n,
        )


def test_local_date_decides_the_day_of_receipt():
    # 16:30 UTC on Thursday is 00:30 Friday in Chongqing: Friday is the day of receipt.
    start = datetime(2025, 3, 13, 16, 30, tzinfo=UTC)
    assert CAL.add(start, 1, WORKING_DAYS) == at(2025, 3, 17, 18)
    assert CAL.is_workday(datetime(2025, 3, 14, 16, 30, tzinfo=UTC)) is False  # Saturday local
    saturday = WorkCalendar({date(2025, 3, 15): True})
    assert saturday.source(datetime(2025, 3, 14, 16, 30, tzinfo=UTC)) == SOURCE_OVERRIDE
    assert saturday.is_workday(datetime(2025, 3, 14, 16, 30, tzinfo=UTC)) is True


def test_elapsed_working_days_is_zero_on_the_day_of_receipt():
    start = at(2025, 3, 10, 10)
    assert CAL.elapsed(start, at(2025, 3, 10, 17), WORKING_DAYS) == 0
    assert CAL.elapsed(start, at(2025, 3, 11, 9), WORKING_DAYS) == 0
    assert CAL.elapsed(start, at(2025, 3, 11, 18), WORKING_DAYS) == pytest.approx(1)
    assert CAL.elapsed(at(2025, 12, 31, 10), at(2025, 12, 31, 17), WORKING_DAYS) == 0


def test_warn_at():
    start = at(2025, 3, 3, 9)
    assert CAL.warn_at(start, 20, WORKING_DAYS) == at(2025, 3, 24, 18)  # close of the 15th
    assert CAL.warn_at(start, 2, WORKING_HOURS) == at(2025, 3, 3, 10, 30)
    assert CAL.warn_at(start, 24, HOURS, fraction=0.5) == at(2025, 3, 3, 21)


# -- wall-clock hours ----------------------------------------------------------------------------


def test_hours_ignore_the_calendar():
    assert CAL.add(at(2025, 10, 1, 10), 24, HOURS) == at(2025, 10, 2, 10)
    assert CAL.add(at(2025, 3, 15, 23), 1.5, HOURS) == at(2025, 3, 16, 0, 30)
    assert CAL.elapsed(at(2025, 10, 1, 10), at(2025, 10, 2, 22), HOURS) == 36
    # A day across a DST change is 24 h of elapsed time, not of wall clock.
    ny = ZoneInfo("America/New_York")
    start = datetime(2025, 3, 8, 12, tzinfo=ny)
    assert CAL.add(start, 24, HOURS) == datetime(2025, 3, 9, 13, tzinfo=ny)
    assert CAL.elapsed(start, datetime(2025, 3, 9, 13, tzinfo=ny), HOURS) == 24


# -- zones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("amount", [0.75, 2, 5, 20])
def test_any_input_zone_gives_the_same_instant(unit, amount):
    for local in (at(2025, 9, 30, 17, 20), at(2026, 2, 13, 23, 30), at(2025, 3, 14, 8, 5)):
        results = {
            CAL.add(local.astimezone(zone), amount, unit)
            for zone in (UTC, PLUS8, CST, ZoneInfo("America/New_York"))
        }
        assert len(results) == 1
        (result,) = results
        assert result.tzinfo is UTC


def test_other_zone_and_hours():
    cal = WorkCalendar(hours=WorkHours.parse("08:30-12:00, 13:30-17:30"), tz="Europe/Paris")
    assert cal.hours.hours_per_day == 7.5
    start = datetime(2025, 3, 11, 17, tzinfo=ZoneInfo("Europe/Paris"))
    assert cal.add(start, 1, WORKING_HOURS) == datetime(
        2025, 3, 12, 9, tzinfo=ZoneInfo("Europe/Paris")
    )


# -- inverse property ----------------------------------------------------------------------------


def test_elapsed_inverts_add():
    rng = random.Random(8_675_309)
    origin = at(2024, 1, 1)
    zones = (UTC, PLUS8, CST)
    for _ in range(3000):
        start = (origin + timedelta(seconds=rng.randrange(4 * 366 * 86400))).astimezone(
            rng.choice(zones)
        )
        unit = rng.choice(UNITS)
        top = {HOURS: 500, WORKING_HOURS: 200, WORKING_DAYS: 40}[unit]
        amount = rng.choice([rng.uniform(0.001, top), float(rng.randint(1, top))])
        due = CAL.add(start, amount, unit)
        assert due >= start
        assert CAL.elapsed(start, due, unit) == pytest.approx(amount, abs=1e-6), (
            start,
            amount,
            unit,
        )
        assert CAL.add(start, amount * 0.75, unit) <= due
        # The other way round, from any moment: add(elapsed) reaches no later than it.
        now = start + timedelta(seconds=rng.randrange(60 * 86400))
        used = CAL.elapsed(start, now, unit)
        assert CAL.add(start, used, unit) <= now + timedelta(microseconds=1)
        assert CAL.elapsed(start, CAL.add(start, used, unit), unit) == pytest.approx(used, abs=1e-6)


def test_elapsed_before_start_is_zero():
    for unit in UNITS:
        assert CAL.elapsed(at(2025, 3, 11, 10), at(2025, 3, 10, 10), unit) == 0


def test_elapsed_over_decades():
    start, now = at(2004, 1, 1), at(2100, 12, 31, 23)
    working = sum(CAL.is_workday(d) for d in days(date(2004, 1, 1), date(2100, 12, 31)))
    assert CAL.elapsed(start, now, WORKING_HOURS) == pytest.approx(working * 7)


# -- validation and hours ------------------------------------------------------------------------


def test_bad_input():
    with pytest.raises(ValueError, match="naive"):
        CAL.add(datetime(2025, 3, 11, 10), 1, WORKING_HOURS)
    with pytest.raises(ValueError, match="naive"):
        CAL.elapsed(at(2025, 3, 11), datetime(2025, 3, 12), HOURS)
    with pytest.raises(ValueError, match="unit"):
        CAL.add(at(2025, 3, 11), 1, "weeks")
    with pytest.raises(ValueError, match="unit"):
        CAL.elapsed(at(2025, 3, 11), at(2025, 3, 12), "weeks")
    for amount in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="amount"):
            CAL.add(at(2025, 3, 11), amount, WORKING_HOURS)


def test_work_hours():
    assert DEFAULT_HOURS.periods == ((time(9), time(12)), (time(14), time(18)))
    assert DEFAULT_HOURS.hours_per_day == 7
    assert WorkHours.parse("09:00-12:00,14:00-18:00") == DEFAULT_HOURS
    for bad in ("09:00-12:00,11:00-18:00", "12:00-09:00", "09:00"):
        with pytest.raises(ValueError):
            WorkHours.parse(bad)
    with pytest.raises(ValueError):
        WorkHours(())


def test_concurrent_first_use_builds_consistent_tables():
    expected = [CAL.add(at(y, 12, 30, 17), 3, WORKING_HOURS) for y in range(2000, 2060)]
    cal = WorkCalendar()
    results: list[list[datetime]] = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        results.append([cal.add(at(y, 12, 30, 17), 3, WORKING_HOURS) for y in range(2000, 2060)])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 8

"""Evaluation 综合评价: per unit and per person measures for a period, as docs/evaluation.md
defines them, computed in one GROUP BY over the scope-filtered events and return rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Float, case, cast, func, literal, null, select, union_all

from app.accounts.models import Department, User
from app.accounts.roles import BOARD_NAMES_ZH, ROLE_NAMES_ZH, Board, Role
from app.core.auth import Principal
from app.core.errors import ValidationFailed
from app.core.pagination import Page
from app.events.lifecycle import NOT_FILED, Action, State
from app.events.models import Event, EventAudit
from app.extensions import db
from app.geo import service as geo
from app.geo.codes import level_of
from app.geo.models import Area

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 366
DEFAULT_DAYS = 30
EVALUATORS = (Role.SUPERVISOR, Role.ADMIN, Role.TOWNSHIP_DISPATCHER)
UNIT_LEVELS = ("grid", "village", "board", "department")
# Scopes at or below a township see no district departments (docs/evaluation.md, Units).
_LOCAL_SCOPES = frozenset({"township", "village", "grid"})

COUNTS = (
    "received",
    "filed",
    "due",
    "closed",
    "closed_on_time",
    "returns",
    "supervisions",
    "self_handled",
)
RATES = ("closure_rate", "on_time_rate", "rework_rate", "extension_rate", "return_rate")
MEASURES = (*COUNTS, *RATES, "avg_handling_hours")
SORTS = tuple(f"{sign}{m}" for m in MEASURES for sign in ("", "-"))


@dataclass(frozen=True)
class Period:
    """Calendar days in Asia/Shanghai, both included, and the UTC instants that bound them."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), SHANGHAI).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)


def period(*, first: date | None = None, last: date | None = None) -> Period:
    """The period asked for: `to` defaults to today in Beijing, `from` to 30 days ending there."""
    last = last or datetime.now(SHANGHAI).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationFailed("开始日期不能晚于结束日期", code="bad_period")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"统计周期最长 {MAX_DAYS} 天", code="period_too_long")
    return Period(first, last)


def area_criterion(area: str | None):
    """Events inside a node the caller may see (404 otherwise); None for no filter."""
    if not area:
        return None
    node = geo.get_area(code=area)  # scoped: a node outside the caller's scope is not found
    level = level_of(node.code)
    return None if level == "city" else getattr(Event, f"{level}_id") == node.id


def _levels(principal: Principal, level: str | None) -> list[str]:
    allowed = [v for v in UNIT_LEVELS if v != "department" or not _local(principal)]
    return [v for v in allowed if level in (None, v)]


def _local(principal: Principal) -> bool:
    scope = principal.scope
    return not scope.everything and (scope.level in _LOCAL_SCOPES or bool(scope.grid_ids))


def _handling_seconds():
    """closed_at − received_at in seconds, as each database spells it."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Event.closed_at - Event.received_at)
    return (func.julianday(Event.closed_at) - func.julianday(Event.received_at)) * 86400.0


def _flag(condition):
    return case((condition, 1), else_=0)


def _event_rows(key_columns: list, criteria: list):
    """One row per event of the cohort, with its 0/1 contributions to each count."""
    filed = Event.state.not_in(NOT_FILED)
    closed = Event.state == State.CLOSED
    return select(
        *key_columns,
        literal(1).label("received"),
        _flag(filed).label("filed"),
        _flag(filed & (closed | Event.breached_at.is_not(None))).label("due"),
        _flag(closed).label("closed"),
        _flag(closed & Event.overdue_at.is_(None)).label("closed_on_time"),
        _flag(filed & (Event.rework_count > 0)).label("reworked"),
        _flag(filed & (Event.extension_count > 0)).label("extended"),
        literal(0).label("returns"),
        Event.supervision_count.label("supervisions"),
        _flag(Event.handling_level == "grid").label("self_handled"),
        case((closed, _handling_seconds()), else_=null()).label("handling_seconds"),
    ).where(*criteria)


def _return_rows(key_columns: list, criteria: list):
    """One row per return 退回 taken in the period, attributed by its actor."""
    zero = literal(0)
    return (
        select(
            *key_columns,
            *(zero.label(n) for n in ("received", "filed", "due", "closed", "closed_on_time")),
            zero.label("reworked"),
            zero.label("extended"),
            literal(1).label("returns"),
            zero.label("supervisions"),
            zero.label("self_handled"),
            cast(null(), Float).label("handling_seconds"),
        )
        .select_from(EventAudit)
        .join(Event, Event.id == EventAudit.event_id)
        .join(User, User.id == EventAudit.actor_id)
        .where(*criteria)
    )


def _aggregate(rows, keys: list[str]):
    """GROUP BY the unit (or person) key: the counts, then the rates from them."""
    u = rows.subquery("u")
    sums = {name: func.sum(u.c[name]) for name in (*COUNTS, "reworked", "extended")}

    def rate(numerator, denominator):
        return cast(numerator, Float) / func.nullif(denominator, 0)

    measures = {
        **{name: sums[name].label(name) for name in COUNTS},
        "closure_rate": rate(sums["closed"], sums["filed"]).label("closure_rate"),
        "on_time_rate": rate(sums["closed_on_time"], sums["due"]).label("on_time_rate"),
        "rework_rate": rate(sums["reworked"], sums["filed"]).label("rework_rate"),
        "extension_rate": rate(sums["extended"], sums["filed"]).label("extension_rate"),
        "return_rate": rate(sums["returns"], sums["filed"] + sums["returns"]).label("return_rate"),
        "avg_handling_hours": (func.avg(u.c.handling_seconds) / 3600.0).label("avg_handling_hours"),
    }
    group = [u.c[k] for k in keys]
    return select(*group, *measures.values()).group_by(*group), measures, group


def _page(stmt, measures, group, *, sort: str, page: int, page_size: int) -> Page:
    name = sort.lstrip("-")
    column = measures[name]
    order = column.desc() if sort.startswith("-") else column.asc()
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.execute(
        stmt.order_by(order.nulls_last(), *group).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return Page(
        items=[dict(row._mapping) for row in rows], total=total or 0, page=page, page_size=page_size
    )


def cohort(p: Period, area) -> list:
    out = [Event.received_at >= p.start, Event.received_at < p.end]
    return out if area is None else [*out, area]


def _returns_in(p: Period, area) -> list:
    out = [EventAudit.action == Action.RETURN, EventAudit.at >= p.start, EventAudit.at < p.end]
    return out if area is None else [*out, area]


# -- units ------------------------------------------------------------------------------------

_UNIT_KEYS = ["level", "department_id", "area_id", "board"]


def _actor_unit() -> list:
    """The unit a returning user acts for (docs/evaluation.md, returns)."""
    level = case(
        (User.department_id.is_not(None), "department"),
        (User.role == Role.TOWNSHIP_BOARD_HANDLER, "board"),
        (User.role == Role.GRID_WORKER, "grid"),
        (User.role.in_([Role.VILLAGE_STAFF, Role.GRID_LEADER]), "village"),
        else_=null(),
    )
    area = case(
        (User.role == Role.TOWNSHIP_BOARD_HANDLER, User.township_id),
        (User.role == Role.GRID_WORKER, User.area_id),
        (User.role.in_([Role.VILLAGE_STAFF, Role.GRID_LEADER]), User.village_id),
        else_=null(),
    )
    board = case((User.role == Role.TOWNSHIP_BOARD_HANDLER, User.board), else_=null())
    return [level, User.department_id, area, board]


def unit_scores(
    *,
    principal: Principal,
    first: date | None = None,
    last: date | None = None,
    area: str | None = None,
    level: str | None = None,
    sort: str = "-received",
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Measures per lead unit for a period, ranked by any measure (docs/evaluation.md)."""
    p, where = period(first=first, last=last), area_criterion(area)
    levels = _levels(principal, level)
    event_keys = [
        Event.handling_level,
        Event.assigned_department_id,
        Event.assigned_area_id,
        Event.assigned_board,
    ]
    actor_keys = _actor_unit()
    labelled = [
        [c.label(k) for c, k in zip(cols, _UNIT_KEYS, strict=True)]
        for cols in (event_keys, actor_keys)
    ]
    rows = union_all(
        _event_rows(labelled[0], [*cohort(p, where), Event.handling_level.in_(levels)]),
        _return_rows(labelled[1], [*_returns_in(p, where), actor_keys[0].in_(levels)]),
    )
    stmt, measures, group = _aggregate(rows, _UNIT_KEYS)
    result = _page(stmt, measures, group, sort=sort, page=page, page_size=page_size)
    _name_units(result.items)
    return result


def _name_units(items: list[dict]) -> None:
    """Keys and names for one page of units (a lookup per page, never per event)."""
    area_ids = {i["area_id"] for i in items if i["area_id"]}
    dept_ids = {i["department_id"] for i in items if i["department_id"]}
    areas = dict(db.session.execute(select(Area.id, Area.name).where(Area.id.in_(area_ids))).all())
    depts = dict(
        db.session.execute(
            select(Department.id, Department.name).where(Department.id.in_(dept_ids))
        ).all()
    )
    for item in items:
        level, area_id = item["level"], item["area_id"]
        if level == "department":
            item["key"] = f"department:{item['department_id']}"
            item["name"] = depts.get(item["department_id"], "")
            item["area"] = None
        else:
            item["area"] = str(area_id) if area_id else None
            place = areas.get(area_id, item["area"] or "")
            if level == "board":
                item["key"] = f"board:{area_id}:{item['board']}"
                board = BOARD_NAMES_ZH.get(Board(item["board"])) if item["board"] else ""
                item["name"] = f"{place} · {board}"
            else:
                item["key"] = f"{level}:{area_id}"
                item["name"] = place


# -- people -----------------------------------------------------------------------------------


def person_scores(
    *,
    principal: Principal,
    first: date | None = None,
    last: date | None = None,
    area: str | None = None,
    level: str | None = None,
    sort: str = "-received",
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Measures per handler (assigned_user_id) for a period, ranked by any measure."""
    p, where = period(first=first, last=last), area_criterion(area)
    levels = _levels(principal, level)
    rows = union_all(
        _event_rows(
            [Event.assigned_user_id.label("user_id")],
            [
                *cohort(p, where),
                Event.assigned_user_id.is_not(None),
                Event.handling_level.in_(levels),
            ],
        ),
        _return_rows(
            [EventAudit.actor_id.label("user_id")],
            [*_returns_in(p, where), _actor_unit()[0].in_(levels)],
        ),
    )
    grouped, measures, group = _aggregate(rows, ["user_id"])
    g = grouped.subquery("g")
    # Only people the caller may see: User's scope rule applies to this join.
    stmt = select(
        g.c.user_id,
        User.username,
        User.display_name,
        User.role,
        *(g.c[m] for m in MEASURES),
    ).join(User, User.id == g.c.user_id)
    outer = {m: g.c[m] for m in MEASURES}
    result = _page(stmt, outer, [g.c.user_id], sort=sort, page=page, page_size=page_size)
    for item in result.items:
        item["name"] = item["display_name"] or item["username"]
        item["role_name"] = ROLE_NAMES_ZH.get(Role(item["role"]), item["role"])
    return result

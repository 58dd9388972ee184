"""Prefill sources 系统预填: figures the system already knows for an area and a period, by name.

A form's numeric field may name one; its filings open with the figure filled in (shown as the
system's), and the filler may correct it. Event figures use docs/evaluation.md's definitions
(the cohort of events received in the period); registry figures are counted as they stand now.
The catalogue is partly data: one source per event category and per key-person/place kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, true

from app.accounts.models import User
from app.accounts.roles import Role
from app.categories.models import Category
from app.core.scope import unscoped
from app.events.lifecycle import NOT_FILED, OPEN, State
from app.events.models import Event
from app.extensions import db
from app.geo.codes import level_of
from app.geo.models import Area, AreaLevel
from app.keys.models import KeyKind, KeyPerson, KeyPlace, KeyVisit

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Source:
    key: str
    name_zh: str
    name_en: str
    group: str  # events | keys | staff | geo
    in_period: bool  # counted over the form's period; otherwise as it stands when filled
    description: str


_EVENTS = (
    Source(
        "events.received", "受理事件数", "Events received", "events", True, "周期内上报受理的事件"
    ),
    Source(
        "events.filed",
        "立案事件数",
        "Events filed",
        "events",
        True,
        "周期内受理且已立案的事件（不含待受理、不予立案、已合并）",
    ),
    Source(
        "events.closed", "结案事件数", "Events closed", "events", True, "周期内受理、现已结案的事件"
    ),
    Source(
        "events.overdue",
        "超期事件数",
        "Events overdue",
        "events",
        True,
        "周期内受理、曾有环节超过时限的事件",
    ),
    Source(
        "events.self_handled",
        "网格自处置事件数",
        "Events self-handled in the grid",
        "events",
        True,
        "周期内受理、由网格自处置的事件",
    ),
    Source("events.emergency", "紧急事件数", "Emergencies", "events", True, "周期内受理的紧急事件"),
    Source(
        "events.open",
        "在办事件数",
        "Events open now",
        "events",
        False,
        "填报时尚未办结的事件（不限周期）",
    ),
)
_STATIC = (
    *_EVENTS,
    Source("keys.persons", "重点人员数", "Key persons", "keys", False, "在册的重点人员"),
    Source("keys.places", "重点场所数", "Key places", "keys", False, "在册的重点场所"),
    Source(
        "keys.visits",
        "走访次数",
        "Visits to key persons and places",
        "keys",
        True,
        "周期内对重点人员和场所的走访次数",
    ),
    Source("staff.grid_workers", "网格员人数", "Grid workers", "staff", False, "在岗的网格员账号"),
    Source("geo.grids", "网格数", "Grids", "geo", False, "区域内的网格个数"),
)


def catalogue() -> list[Source]:
    """Every source: the fixed ones, then one per event category and per key kind."""
    with unscoped():
        categories = db.session.execute(
            select(Category.code, Category.name_zh, Category.name_en).order_by(
                Category.position, Category.code
            )
        ).all()
        kinds = db.session.execute(
            select(KeyKind.code, KeyKind.subject, KeyKind.name_zh, KeyKind.name_en)
            .where(KeyKind.active.is_(True))
            .order_by(KeyKind.subject, KeyKind.position, KeyKind.code)
        ).all()
    out = list(_STATIC)
    out += [
        Source(
            f"events.category.{code}",
            f"{zh}事件数",
            f"Events: {en}",
            "events",
            True,
            f"周期内受理的“{zh}”类事件",
        )
        for code, zh, en in categories
    ]
    for code, subject, zh, en in kinds:
        noun = "重点人员" if subject == "person" else "重点场所"
        out.append(
            Source(
                f"keys.{subject}.{code}", f"{zh}数", f"{en}", "keys", False, f"在册的{noun}：{zh}"
            )
        )
    return out


def keys() -> set[str]:
    return {s.key for s in catalogue()}


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants of Beijing days first 00:00 .. the midnight after last."""
    start = datetime.combine(first, time(), SHANGHAI).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)
    return start, end


def _inside(model, code: str):
    level = level_of(code)
    return true() if level == "city" else getattr(model, f"{level}_id") == int(code)


def values(wanted: set[str], *, area_code: str, first: date, last: date) -> dict[str, int]:
    """The figures named in `wanted` for one area and period (a few grouped queries).

    Run unscoped but limited to the area: a figure must not depend on who opens the filing.
    """
    wanted = set(wanted)
    out: dict[str, int] = {}
    if not wanted:
        return out
    start, end = bounds(first, last)
    with unscoped():
        out |= _event_values(wanted, area_code, start, end)
        out |= _key_values(wanted, area_code, start, end)
        if "staff.grid_workers" in wanted:
            out["staff.grid_workers"] = db.session.scalar(
                select(func.count(User.id)).where(
                    User.role == Role.GRID_WORKER,
                    User.is_active.is_(True),
                    _inside(User, area_code),
                )
            )
        if "geo.grids" in wanted:
            out["geo.grids"] = db.session.scalar(
                select(func.count(Area.id)).where(
                    Area.level == AreaLevel.GRID, _inside(Area, area_code)
                )
            )
    return {k: int(v or 0) for k, v in out.items() if k in wanted}


def _event_values(wanted: set[str], code: str, start: datetime, end: datetime) -> dict:
    filed = Event.state.not_in(NOT_FILED)
    in_period = (Event.received_at >= start) & (Event.received_at < end)
    counts = {
        "events.received": in_period,
        "events.filed": in_period & filed,
        "events.closed": in_period & (Event.state == State.CLOSED),
        "events.overdue": in_period & filed & Event.overdue_at.is_not(None),
        "events.self_handled": in_period & (Event.handling_level == "grid"),
        "events.emergency": in_period & Event.emergency.is_(True),
        "events.open": Event.state.in_(sorted(OPEN)),
    }
    for key in wanted:
        if key.startswith("events.category."):
            counts[key] = in_period & (Event.category_code == key.removeprefix("events.category."))
    asked = [k for k in counts if k in wanted]
    if not asked:
        return {}
    row = db.session.execute(
        select(*(func.count().filter(counts[k]) for k in asked)).where(_inside(Event, code))
    ).one()
    return dict(zip(asked, row, strict=True))


def _key_values(wanted: set[str], code: str, start: datetime, end: datetime) -> dict:
    out: dict[str, int] = {}
    for subject, model in (("person", KeyPerson), ("place", KeyPlace)):
        plural = f"keys.{subject}s"
        if plural not in wanted and not any(k.startswith(f"keys.{subject}.") for k in wanted):
            continue
        rows = db.session.execute(
            select(model.kind_code, func.count(model.id))
            .where(model.active.is_(True), _inside(model, code))
            .group_by(model.kind_code)
        ).all()
        out[plural] = sum(n for _, n in rows)
        out |= {f"keys.{subject}.{kind}": n for kind, n in rows}
        out |= {k: out.get(k, 0) for k in wanted if k.startswith(f"keys.{subject}.")}
    if "keys.visits" in wanted:
        total = 0
        for column, model in ((KeyVisit.person_id, KeyPerson), (KeyVisit.place_id, KeyPlace)):
            total += db.session.scalar(
                select(func.count(KeyVisit.id))
                .join(model, model.id == column)
                .where(
                    KeyVisit.visited_at >= start, KeyVisit.visited_at < end, _inside(model, code)
                )
            )
        out["keys.visits"] = total
    return out

"""Demo key persons and places in the demo township (解放碑街道), for `flask keys seed-demo`.

The rows come from data/demo.toml; some schedules are already overdue, so the demo worker's
list has work on it.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import shapely
from sqlalchemy import select

from app.accounts.demo import VILLAGE
from app.accounts.models import User
from app.core.db import utcnow
from app.extensions import db
from app.geo.codes import ancestry
from app.geo.models import Area, AreaLevel
from app.keys import idcard, service
from app.keys.models import KeyPerson, KeyPlace, KeyVisit, Registered

DEMO_FILE = Path(__file__).resolve().parent / "data" / "demo.toml"
OTHER_VILLAGE = "500103003016"  # 莲花池社区, same township
REGION = "500103"  # 渝中区: the first six digits of the demo identity numbers
_SCHEDULE = ("kind", "grid", "last_visit_days_ago", "id_digits")


def seed() -> dict[str, int]:
    """Load the kinds, then add the demo persons and places that are missing (by name)."""
    service.load_kinds()
    data = tomllib.loads(DEMO_FILE.read_text(encoding="utf-8"))
    grids = _grids()
    kinds = {k.code: k for k in service.list_kinds()}
    existing = set(db.session.scalars(select(KeyPerson.name))) | set(
        db.session.scalars(select(KeyPlace.name))
    )
    points = {grid: iter(_points_in(grid, 6)) for grid in grids}
    now = utcnow()
    counts = {"persons": 0, "places": 0}
    for subject, model in (("person", KeyPerson), ("place", KeyPlace)):
        for spec in data[subject]:
            if spec["name"] in existing:
                continue
            grid = grids[spec["grid"]]
            row = model(
                kind_code=spec["kind"], **{k: v for k, v in spec.items() if k not in _SCHEDULE}
            )
            if subject == "person":
                first17 = REGION + spec["id_digits"]
                number = first17 + idcard.check_char(first17)
                row.id_card_no, row.phone = number, f"138230{counts['persons'] + 1:05d}"
                row.birth_year, row.gender = idcard.birth_year(number), idcard.gender(number)
            else:
                point = next(points[grid])
                row.lon, row.lat, row.point = point.x, point.y, point
            interval = kinds[spec["kind"]].visit_interval_days
            _schedule(row, interval, grid, now, spec["last_visit_days_ago"])
            counts[f"{subject}s"] += 1
    db.session.flush()
    return counts


def _grids() -> list[int]:
    """The demo worker's two grids, then the first grid of the other village."""
    found = []
    for village, count in ((VILLAGE, 2), (OTHER_VILLAGE, 1)):
        found += db.session.scalars(
            select(Area.id)
            .where(Area.parent_id == int(village), Area.level == AreaLevel.GRID)
            .order_by(Area.id)
            .limit(count)
        ).all()
    if len(found) < 3:
        raise RuntimeError("demo villages have no grids: run `flask geodata load` first")
    return found


def _points_in(grid_id: int, count: int) -> list[shapely.Point]:
    """Distinct points inside a grid, spread over it, the same on every run."""
    geom = db.session.get(Area, grid_id).geom
    minx, miny, maxx, maxy = geom.bounds
    found = [geom.representative_point()]
    steps = [i / 8 for i in range(1, 8)]
    for fx in steps:
        for fy in steps:
            p = shapely.Point(minx + fx * (maxx - minx), miny + fy * (maxy - miny))
            if len(found) < count and geom.contains(p):
                found.append(p)
    return found


def _schedule(row: Registered, interval: int, grid_id: int, now: datetime, days_ago: int) -> None:
    """Place the row, give it the demo worker as visitor, and a last visit `days_ago`."""
    for key, value in ancestry(str(grid_id)).items():
        setattr(row, key, value)
    worker = db.session.scalar(select(User.id).where(User.username == "demo_worker"))
    visitor = worker if str(grid_id).startswith(VILLAGE) else None
    row.responsible_user_id = visitor
    row.visit_interval_days = interval
    row.registered_at = now - timedelta(days=90)
    row.last_visited_at = now - timedelta(days=days_ago)
    row.next_visit_due_at = row.last_visited_at + timedelta(days=interval)
    db.session.add(row)
    db.session.flush()
    if visitor:
        db.session.add(
            KeyVisit(
                visitor_id=visitor,
                visited_at=row.last_visited_at,
                note="上门走访，情况稳定。",
                **{row.subject: row, f"{row.subject}_id": row.id},
            )
        )

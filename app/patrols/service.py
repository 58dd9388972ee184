"""Patrols 巡查: start, fixes uploaded in batches, stop; lists, one track, coverage per grid.

Every write the phone sends is idempotent, because its offline queue sends again a write
whose answer was lost: a start by its client uuid, fixes by (patrol, time), a stop by the
patrol's state (the first stop's time stands).
"""

from __future__ import annotations

import uuid as uuid_
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.accounts.roles import FIELD_ROLES
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.jobs import enqueue_after_commit
from app.core.pagination import Page, paginate
from app.core.scope import Scope, unscoped
from app.extensions import db
from app.geo import coverage as geo_coverage
from app.geo import service as geo
from app.geo.codes import ancestry, is_code, level_of
from app.patrols import coverage
from app.patrols.models import Patrol, PatrolCoverage, PatrolPoint, PatrolTrack
from app.patrols.track import Fix, day_tracks
from app.realtime import rooms
from app.realtime.service import publish

LOCAL = ZoneInfo("Asia/Shanghai")
# Who patrols: the field roles the phone app serves.
PATROLLERS = FIELD_ROLES
# Phones' clocks drift; a fix further in the future than this is a mistake.
CLOCK_SKEW = timedelta(minutes=10)
# A patrol lasts at most a day; a start older than a week is not a phone catching up.
MAX_PATROL = timedelta(hours=24)
MAX_START_AGE = timedelta(days=7)
COVERAGE_LEVELS = ("township", "village", "grid")


# -- helpers ---------------------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants bounding a calendar day in Asia/Shanghai."""
    start = datetime.combine(day, time.min, tzinfo=LOCAL)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def today() -> date:
    return utcnow().astimezone(LOCAL).date()


def _names(patrols: Iterable[Patrol]) -> None:
    """Give patrols their person's and their place's display names, in one query."""
    patrols = [p for p in patrols if p is not None]
    ids = sorted({p.user_id for p in patrols})
    with unscoped():
        people = (
            dict(
                db.session.execute(
                    select(
                        User.id, func.coalesce(func.nullif(User.display_name, ""), User.username)
                    ).where(User.id.in_(ids))
                ).all()
            )
            if ids
            else {}
        )
    places = geo.locator().snapshot().names
    for p in patrols:
        p.user_name = people.get(p.user_id, "")
        node = p.grid_id or p.village_id or p.township_id or p.district_id
        p.area_name = places.get(node, ("", ""))[0] if node else ""


def _rooms(patrol: Patrol) -> list[str]:
    """The consoles whose scope holds the patrol, and its person's own screens."""
    places = (patrol.grid_id, patrol.village_id, patrol.township_id, patrol.district_id)
    return [*(rooms.area(p) for p in places if p), rooms.CITY, rooms.user(patrol.user_id)]


def payload(patrol: Patrol) -> dict:
    return {
        "patrol_id": patrol.id,
        "uuid": str(patrol.uuid),
        "user_id": patrol.user_id,
        "user_name": getattr(patrol, "user_name", ""),
        "area": str(patrol.grid_id or patrol.village_id or patrol.township_id or ""),
        "status": patrol.status,
        "started_at": patrol.started_at.isoformat(),
        "ended_at": patrol.ended_at.isoformat() if patrol.ended_at else None,
        "distance_m": round(patrol.distance_m, 1),
    }


def _settings() -> dict:
    cfg = current_app.config
    return {
        "radius_m": cfg["PATROL_COVER_RADIUS_M"],
        "max_accuracy_m": cfg["PATROL_MAX_ACCURACY_M"],
        "max_gap_s": cfg["PATROL_MAX_GAP_SECONDS"],
        "max_speed": cfg["PATROL_MAX_SPEED_MPS"],
    }


def _in(scope: Scope, grid_id: int | None) -> bool:
    return grid_id is not None and geo.grid_in_scope(scope, grid_id)


# -- the phone's writes ----------------------------------------------------------------------


def start(
    *,
    principal: Principal,
    uuid: uuid_.UUID,
    started_at: datetime,
    location: dict | None,
    accuracy_m: float | None,
    interval_s: int | None,
) -> tuple[Patrol, bool]:
    """Start a patrol (or return the one this uuid already started); says whether it is new.

    It belongs to the grid of its first fix when that grid is the person's to patrol, else to
    the person's home node (a grid worker's own grid). Another patrol of the same person still
    running is stopped: a phone that lost its state must not leave it running for ever.
    """
    with unscoped():
        existing = db.session.scalar(select(Patrol).where(Patrol.uuid == uuid))
    if existing is not None:
        return _same_start(existing, principal), False
    now = utcnow()
    if started_at > now + CLOCK_SKEW:
        raise ValidationFailed("开始时间晚于当前时间", code="start_in_future")
    if started_at < now - MAX_START_AGE:
        raise ValidationFailed("开始时间早于 7 天前", code="start_too_old")
    with unscoped():
        user = db.session.get(User, principal.user_id)
    place = ancestry(str(user.area_id))
    if location is not None:
        lon, lat = geo.to_wgs84(*location["coordinates"], location.get("crs", geo.CRS_WGS84))
        grid = _locate([(lon, lat)])[0]
        good = accuracy_m is None or accuracy_m <= _settings()["max_accuracy_m"]
        if good and _in(principal.scope, grid):
            place = ancestry(str(grid))
    _stop_others(principal.user_id, before=started_at)
    patrol = Patrol(
        uuid=uuid,
        user_id=principal.user_id,
        status="active",
        started_at=started_at,
        interval_s=interval_s,
        **place,
    )
    try:
        with db.session.begin_nested():
            db.session.add(patrol)
    except IntegrityError:  # the same start, sent twice at once: the other one won
        with unscoped():
            existing = db.session.scalar(select(Patrol).where(Patrol.uuid == uuid))
        if existing is None:
            raise
        return _same_start(existing, principal), False
    _names([patrol])
    publish("patrol_started", payload(patrol), _rooms(patrol))
    return patrol, True


def _same_start(patrol: Patrol, principal: Principal) -> Patrol:
    if patrol.user_id != principal.user_id:
        raise Conflict("巡查编号已被使用", code="patrol_uuid_taken")
    _names([patrol])
    return patrol


def _stop_others(user_id: int, *, before: datetime) -> None:
    with unscoped():
        running = db.session.scalars(
            select(Patrol).where(Patrol.user_id == user_id, Patrol.status == "active")
        ).all()
        for other in running:
            end = min(max(other.last_point_at or other.started_at, other.started_at), before)
            _end(other, max(end, other.started_at), by="restart")


def _owned(patrol: Patrol | None, principal: Principal) -> Patrol:
    """A patrol the caller recorded; anyone else's is not found (it is not theirs to write)."""
    if patrol is None or patrol.user_id != principal.user_id:
        raise NotFound("找不到该巡查", code="patrol_not_found")
    return patrol


def _own(principal: Principal, patrol_uuid: uuid_.UUID) -> Patrol:
    stmt = select(Patrol).where(Patrol.uuid == patrol_uuid)
    if db.session.get_bind().dialect.name == "postgresql":
        # One upload at a time per patrol: each rebuilds the track from every fix it sees.
        stmt = stmt.with_for_update()
    with unscoped():
        return _owned(db.session.scalar(stmt), principal)


def _reject(item: dict, code: str, message: str) -> dict:
    return {"index": item["index"], "code": code, "message": message}


def add_points(
    *, principal: Principal, patrol_uuid: uuid_.UUID, points: list[dict], rejected: list[dict]
) -> dict:
    """Store a batch of fixes once per (patrol, time) and rebuild the track.

    `rejected` carries the items the schema refused: they are reported back with the ones
    refused here, and the good fixes are kept regardless.
    """
    patrol = _own(principal, patrol_uuid)
    settings = _settings()
    now = utcnow()
    rejected = list(rejected)
    # An automatic stop was a guess: fixes recorded later (offline) extend the patrol.
    open_end = patrol.ended_at if patrol.stopped_by in ("user", "restart") else None
    rows, indexes = [], []
    good = [p for p in points if p]
    located = _locate([(p["lon"], p["lat"]) for p in good])
    for item, grid_id in zip(good, located, strict=True):
        at = item["at"].astimezone(UTC)
        if at > now + CLOCK_SKEW:
            rejected.append(_reject(item, "point_in_future", "定位时间晚于当前时间"))
        elif at < patrol.started_at - timedelta(minutes=1):
            rejected.append(_reject(item, "point_before_start", "定位时间早于巡查开始"))
        elif at > patrol.started_at + MAX_PATROL:
            rejected.append(_reject(item, "point_after_limit", "一次巡查最长 24 小时"))
        elif open_end is not None and at > open_end + timedelta(seconds=1):
            rejected.append(_reject(item, "point_after_stop", "定位时间晚于巡查结束"))
        else:
            accuracy = item.get("accuracy_m")
            rows.append(
                {
                    "patrol_id": patrol.id,
                    "at": at,
                    "lon": item["lon"],
                    "lat": item["lat"],
                    "accuracy_m": accuracy,
                    "counted": accuracy is None or accuracy <= settings["max_accuracy_m"],
                    "grid_id": grid_id,
                    "received_at": now,
                }
            )
            indexes.append(item["index"])
    inserted: set[datetime] = set()
    if rows:
        insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(PatrolPoint).values(rows)
        stmt = stmt.on_conflict_do_nothing(index_elements=["patrol_id", "at"])
        inserted = set(db.session.scalars(stmt.returning(PatrolPoint.at)))
    accepted, duplicates, seen = [], [], set()
    for index, row in zip(indexes, rows, strict=True):
        if row["at"] in inserted and row["at"] not in seen:
            accepted.append(index)
            seen.add(row["at"])
        else:
            duplicates.append(index)
    if inserted:
        with unscoped():  # the person's own patrol, wherever its fixes lead
            _place_by_first_fix(patrol, principal.scope)
            rebuild(patrol)
            if patrol.stopped_by == "auto" and patrol.last_point_at > patrol.ended_at:
                patrol.ended_at = patrol.last_point_at
            db.session.flush()
        _recompute_later(patrol.id)
    _names([patrol])
    return {
        "patrol": patrol,
        "accepted": len(accepted),
        "duplicates": len(duplicates),
        "duplicate_indexes": sorted(duplicates),
        "rejected": sorted(rejected, key=lambda r: r["index"]),
    }


def _locate(points: list[tuple[float, float]]) -> list[int | None]:
    """The grid each WGS84 point lies inside (no snapping: time near a grid is not time in it)."""
    if not points:
        return []
    with unscoped():  # where a fix lies, whoever's scope that is
        found = geo.locate_many(points=points)
    return [f.grid_id if isinstance(f, geo.Location) and not f.snapped else None for f in found]


def _place_by_first_fix(patrol: Patrol, scope: Scope) -> None:
    """A patrol started without a fix (or outside the person's grids) moves to the grid of its
    first good fix, once, if that grid is the person's to patrol."""
    if patrol.grid_id is not None:
        return
    first = db.session.scalar(
        select(PatrolPoint.grid_id)
        .where(PatrolPoint.patrol_id == patrol.id, PatrolPoint.counted.is_(True))
        .order_by(PatrolPoint.at)
        .limit(1)
    )
    if _in(scope, first):
        for key, value in ancestry(str(first)).items():
            setattr(patrol, key, value)


def rebuild(patrol: Patrol) -> None:
    """Derive a patrol's figures and its tracks per day from all its fixes."""
    settings = _settings()
    fixes = db.session.execute(
        select(
            PatrolPoint.at,
            PatrolPoint.lon,
            PatrolPoint.lat,
            PatrolPoint.counted,
            PatrolPoint.grid_id,
        )
        .where(PatrolPoint.patrol_id == patrol.id)
        .order_by(PatrolPoint.at)
    ).all()
    tracks = day_tracks(
        (Fix(f.at, f.lon, f.lat, f.counted, f.grid_id) for f in fixes),
        zone=LOCAL,
        max_gap_s=settings["max_gap_s"],
        max_speed=settings["max_speed"],
    )
    patrol.point_count = len(fixes)
    patrol.counted_points = sum(1 for f in fixes if f.counted)
    patrol.last_point_at = fixes[-1].at if fixes else None
    patrol.distance_m = sum(t.distance_m for t in tracks.values())
    patrol.walked_s = sum(t.walked_s for t in tracks.values())
    existing = {
        t.day: t
        for t in db.session.scalars(select(PatrolTrack).where(PatrolTrack.patrol_id == patrol.id))
    }
    for day, track in tracks.items():
        row = existing.pop(day, None)
        if row is None:
            row = PatrolTrack(patrol_id=patrol.id, user_id=patrol.user_id, day=day, grids=[])
            db.session.add(row)
        geom = track.geometry
        row.geom = geom
        bounds = geom.bounds if geom is not None else (None,) * 4
        row.min_lon, row.min_lat, row.max_lon, row.max_lat = bounds
        row.distance_m, row.walked_s = track.distance_m, track.walked_s
        row.grid_seconds = dict(track.grid_seconds)
    # A day no longer walked keeps its row, empty, until coverage clears the grids it touched.
    for row in existing.values():
        row.geom = None
        row.min_lon = row.min_lat = row.max_lon = row.max_lat = None
        row.distance_m, row.walked_s, row.grid_seconds = 0.0, 0.0, {}


def _recompute_later(patrol_id: int) -> None:
    """Coverage follows in the background, once per patrol however many uploads are queued."""
    from app.patrols.tasks import recompute_coverage

    enqueue_after_commit(recompute_coverage, patrol_id, job_id=f"patrol-coverage-{patrol_id}")


def stop(*, principal: Principal, patrol_uuid: uuid_.UUID, ended_at: datetime) -> Patrol:
    """End a patrol at the phone's time; a stop sent again changes nothing."""
    patrol = _own(principal, patrol_uuid)
    if patrol.status == "stopped" and patrol.stopped_by != "auto":
        _names([patrol])
        return patrol
    ended_at = ended_at.astimezone(UTC)
    if ended_at > utcnow() + CLOCK_SKEW:
        raise ValidationFailed("结束时间晚于当前时间", code="stop_in_future")
    if ended_at < patrol.started_at:
        raise ValidationFailed("结束时间早于开始时间", code="stop_before_start")
    with unscoped():
        _end(patrol, max(ended_at, patrol.last_point_at or ended_at), by="user")
    return patrol


def _end(patrol: Patrol, ended_at: datetime, *, by: str) -> None:
    """Stop a patrol, settle its grids' coverage now, and tell the consoles."""
    patrol.status, patrol.ended_at, patrol.stopped_by = "stopped", ended_at, by
    db.session.flush()
    # Inline, so the console's refresh on 'patrol_stopped' shows the final figures (stopping
    # adds no fix; the uploads' own jobs settle whatever they brought).
    coverage.recompute(patrol.id)
    _names([patrol])
    publish("patrol_stopped", payload(patrol), _rooms(patrol))


def stop_abandoned() -> int:
    """Stop patrols silent for PATROL_ABANDON_HOURS at their last fix (a phone left behind, an
    app never reopened); fixes that arrive later still extend them. Safe to run twice."""
    cutoff = utcnow() - timedelta(hours=current_app.config["PATROL_ABANDON_HOURS"])
    stmt = select(Patrol).where(
        Patrol.status == "active", func.coalesce(Patrol.last_point_at, Patrol.started_at) < cutoff
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    count = 0
    with unscoped():
        for patrol in db.session.scalars(stmt.limit(500)).all():
            _end(patrol, patrol.last_point_at or patrol.started_at, by="auto")
            count += 1
    return count


# -- reading ---------------------------------------------------------------------------------


def _area_condition(code: str):
    if not is_code(code):
        raise ValidationFailed("区域代码无效", code="bad_area", area=code)
    level = level_of(code)
    return None if level == "city" else getattr(Patrol, f"{level}_id") == int(code)


def list_patrols(*, principal: Principal, filters: dict) -> Page:
    """Patrols in my scope, latest start first; `day` keeps those running at any time that day."""
    stmt = select(Patrol)
    if filters.get("day"):
        start_, end_ = day_bounds(filters["day"])
        stmt = stmt.where(
            Patrol.started_at < end_,
            or_(Patrol.ended_at.is_(None), Patrol.ended_at >= start_),
        )
    if filters.get("mine"):
        stmt = stmt.where(Patrol.user_id == principal.user_id)
    if filters.get("user_id"):
        stmt = stmt.where(Patrol.user_id == filters["user_id"])
    if filters.get("status"):
        stmt = stmt.where(Patrol.status == filters["status"])
    if filters.get("area"):
        condition = _area_condition(filters["area"])
        if condition is not None:
            stmt = stmt.where(condition)
    stmt = stmt.order_by(Patrol.started_at.desc(), Patrol.id.desc())
    page = paginate(stmt, page=filters["page"], page_size=filters["page_size"])
    _names(page.items)
    return page


def get_detail(*, patrol_id: int) -> Patrol:
    """One patrol in my scope, with its track as a GeoJSON LineString."""
    patrol = db.session.scalar(select(Patrol).where(Patrol.id == patrol_id))
    if patrol is None:
        raise NotFound("找不到该巡查", code="patrol_not_found")
    coords = db.session.execute(
        select(PatrolPoint.lon, PatrolPoint.lat)
        .where(PatrolPoint.patrol_id == patrol.id, PatrolPoint.counted.is_(True))
        .order_by(PatrolPoint.at)
    ).all()
    patrol.track = (
        {"type": "LineString", "coordinates": [[c.lon, c.lat] for c in coords]}
        if len(coords) >= 2
        else None
    )
    tracks = db.session.scalars(
        select(PatrolTrack).where(PatrolTrack.patrol_id == patrol.id, PatrolTrack.geom.is_not(None))
    ).all()
    lines = sum(len(t.geom.geoms) for t in tracks)
    patrol.gaps = max(lines - len(tracks), 0)
    _names([patrol])
    return patrol


def _default_area(scope: Scope) -> str:
    if scope.level in COVERAGE_LEVELS and scope.area_id:
        return str(scope.area_id)
    if scope.grid_ids:
        grids = sorted(scope.grid_ids)
        if len(grids) == 1:
            return str(grids[0])
        villages = {ancestry(str(g))["village_id"] for g in grids}
        return str(villages.pop()) if len(villages) == 1 else str(grids[0])
    raise ValidationFailed("请选择镇街、村社或网格", code="area_required")


def coverage_report(
    *, principal: Principal, area: str | None = None, day: date | None = None
) -> dict:
    """Coverage per grid of an area (a township, a village or one grid) on a day, with totals;
    grids nobody patrolled are listed too, at zero."""
    from app.geo.models import Area, AreaLevel

    code = area or _default_area(principal.scope)
    node = geo.get_area(code=code)
    if node.level not in COVERAGE_LEVELS:
        raise ValidationFailed(
            "覆盖率按镇街、村社或网格查看，请选择下级区域", code="area_too_large", area=code
        )
    day = day or today()
    grids = db.session.execute(
        select(Area.id, Area.name, Area.village_id)
        .where(Area.level == AreaLevel.GRID, getattr(Area, f"{node.level}_id") == node.id)
        .order_by(Area.id)
    ).all()
    rows = {
        r.grid_id: r
        for r in db.session.scalars(
            select(PatrolCoverage).where(
                PatrolCoverage.day == day,
                getattr(PatrolCoverage, f"{node.level}_id") == node.id,
            )
        )
    }
    unpatrolled = [g.id for g in grids if g.id not in rows]
    areas = geo_coverage.grid_areas(grid_ids=unpatrolled) if unpatrolled else {}
    items, patrols, people = [], set(), set()
    for grid in grids:
        row = rows.get(grid.id)
        if row is None:
            items.append(_empty_item(grid, areas.get(grid.id, 0.0)))
            continue
        patrols.update(row.patrol_ids)
        people.update(row.user_ids)
        items.append(
            {
                "code": str(grid.id),
                "name": grid.name,
                "village_code": str(grid.village_id) if grid.village_id else None,
                "area_m2": row.area_m2,
                "covered_m2": row.covered_m2,
                "ratio": row.ratio,
                "distance_m": row.distance_m,
                "walked_s": row.walked_s,
                "patrols": len(row.patrol_ids),
                "people": len(row.user_ids),
                "patrol_ids": list(row.patrol_ids),
                "computed_at": row.computed_at,
            }
        )
    area_m2 = sum(i["area_m2"] for i in items)
    covered = sum(i["covered_m2"] for i in items)
    return {
        "area": {"code": node.code, "name": node.name, "level": node.level},
        "day": day,
        "radius_m": current_app.config["PATROL_COVER_RADIUS_M"],
        "items": items,
        "totals": {
            "grids": len(items),
            "patrolled_grids": sum(1 for i in items if i["covered_m2"] > 0 or i["walked_s"] > 0),
            "area_m2": area_m2,
            "covered_m2": covered,
            "ratio": min(covered / area_m2, 1.0) if area_m2 else 0.0,
            "distance_m": sum(i["distance_m"] for i in items),
            "walked_s": sum(i["walked_s"] for i in items),
            "patrols": len(patrols),
            "people": len(people),
        },
    }


def _empty_item(grid, area_m2: float) -> dict:
    # A grid nobody came near that day: listed at zero, it is what a command centre acts on.
    return {
        "code": str(grid.id),
        "name": grid.name,
        "village_code": str(grid.village_id) if grid.village_id else None,
        "area_m2": area_m2,
        "covered_m2": 0.0,
        "ratio": 0.0,
        "distance_m": 0.0,
        "walked_s": 0.0,
        "patrols": 0,
        "people": 0,
        "patrol_ids": [],
        "computed_at": None,
    }

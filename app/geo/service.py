"""Browsing, searching and locating in the hierarchy; every query passes the scope filter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from flask import current_app
from sqlalchemy import Select, event, func, or_, select, update
from sqlalchemy.orm import Session, attributes

from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import Scope, current_scope, values_in_scope
from app.extensions import db
from app.geo import crs
from app.geo.codes import ancestry, city_of, is_code
from app.geo.locator import Locator
from app.geo.models import Area, AreaLevel, GeoState

CRS_WGS84 = "WGS84"
CRS_GCJ02 = "GCJ-02"


def get_area(*, code: str) -> Area:
    """One node the caller may see."""
    # Codes are 12 or 15 digits; anything else names no area (and must not reach the database).
    valid = is_code(code)
    area = db.session.scalar(select(Area).where(Area.id == int(code))) if valid else None
    if area is None:
        raise NotFound("找不到该区域", code="area_not_found", area=code)
    return area


def area_detail(*, code: str) -> Area:
    """One node with `ancestors` set: the visible nodes above it, city first."""
    area = get_area(code=code)
    ids = list(area.ancestor_ids)
    if area.parent_id is not None:
        ids.insert(0, city_of(area.code))
    rows = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(ids)))}
    area.ancestors = [rows[i] for i in ids if i in rows and i != area.id]
    return area


def children(*, code: str, page: int, page_size: int) -> Page:
    """The visible children of a node, ordered by code."""
    parent = get_area(code=code)
    stmt = select(Area).where(Area.parent_id == parent.id).order_by(Area.id)
    return paginate(stmt, page=page, page_size=page_size)


def search(*, q: str | None, level: str | None, page: int, page_size: int) -> Page:
    """Nodes whose name contains q or whose code starts with q, within scope."""
    stmt: Select = select(Area)
    if q:
        q = q.strip()
        conditions = [Area.name.contains(q, autoescape=True)]
        if q.isdigit():
            conditions.append(Area.code.startswith(q, autoescape=True))
        stmt = stmt.where(or_(*conditions))
    if level:
        stmt = stmt.where(Area.level == level)
    # Shallow levels first, then by code: searching "渝中" shows the district before its grids.
    depth = func.length(Area.code)
    stmt = stmt.order_by(depth, Area.level != AreaLevel.DISTRICT, Area.id)
    return paginate(stmt, page=page, page_size=page_size)


# -- locating points -------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where a point falls: its grid and the grid's ancestors, plus how it got there."""

    lon: float
    lat: float
    grid_id: int
    snapped: bool
    distance_m: float
    names: dict[int, tuple[str, str]]

    def node(self, level: str) -> dict | None:
        code = str(self.grid_id)
        node_id = self.grid_id if level == "grid" else ancestry(code)[f"{level}_id"]
        name, kind = self.names.get(node_id, ("", ""))
        return {"code": str(node_id), "name": name, "kind": kind} if node_id else None


def locator() -> Locator:
    """This process's locator (one per app)."""
    ext = current_app.extensions
    if "wangge_locator" not in ext:
        ext["wangge_locator"] = Locator(current_app.config["GEO_INDEX_CHECK_SECONDS"])
    return ext["wangge_locator"]


def to_wgs84(lon: float, lat: float, system: str) -> tuple[float, float]:
    """Convert an input coordinate to WGS84, the only system we store."""
    if system == CRS_GCJ02:
        return crs.gcj02_to_wgs84(lon, lat)
    return lon, lat


def grid_in_scope(scope: Scope, grid_id: int) -> bool:
    """Whether a grid lies in the scope, from its code alone (no query)."""
    return values_in_scope(scope, ancestry(str(grid_id)).get)


def locate(
    *,
    lon: float,
    lat: float,
    system: str = CRS_WGS84,
    max_snap_m: float | None = None,
    scoped: bool = True,
) -> Location:
    """The grid containing a point, or the nearest within the snap distance, in scope.

    Reporting passes scoped=False: a worker may report what they see beyond their own grids.
    """
    snap = locator().snapshot()
    lon, lat = to_wgs84(lon, lat, system)
    limit = current_app.config["GEO_SNAP_MAX_M"] if max_snap_m is None else max_snap_m
    hit = snap.index.locate(lon, lat, max_snap_m=limit)
    if hit is None:
        raise ValidationFailed(
            f"该位置不在任何网格内，且距最近网格超过 {limit:.0f} 米",
            code="outside_grids",
            lon=lon,
            lat=lat,
            max_snap_m=limit,
        )
    if scoped and not grid_in_scope(current_scope(), hit.grid_id):
        raise Forbidden("该位置不在您的管辖范围内", code="out_of_scope")
    return Location(
        lon, lat, int(hit.grid_id), bool(hit.snapped), float(hit.distance_m), snap.names
    )


def locate_many(
    *, points: list[tuple[float, float]], system: str = CRS_WGS84
) -> list[Location | dict]:
    """Bulk form: one result per point, an error object where a point cannot be placed."""
    snap = locator().snapshot()
    lons = np.array([p[0] for p in points], dtype=float)
    lats = np.array([p[1] for p in points], dtype=float)
    if system == CRS_GCJ02:
        lons, lats = crs.gcj02_to_wgs84_many(lons, lats)
    limit = current_app.config["GEO_SNAP_MAX_M"]
    grid_ids, distances = snap.index.locate_many(lons, lats, max_snap_m=limit)
    scope = current_scope()
    out: list[Location | dict] = []
    for lon, lat, grid_id, distance in zip(lons, lats, grid_ids, distances, strict=True):
        if grid_id < 0:
            out.append(
                {
                    "code": "outside_grids",
                    "message": f"不在任何网格内，且距最近网格超过 {limit:.0f} 米",
                }
            )
        elif not grid_in_scope(scope, int(grid_id)):
            out.append({"code": "out_of_scope", "message": "该位置不在您的管辖范围内"})
        else:
            out.append(
                Location(
                    float(lon),
                    float(lat),
                    int(grid_id),
                    bool(distance > 0),
                    float(distance),
                    snap.names,
                )
            )
    return out


def locate_in_database(*, lon: float, lat: float) -> int | None:
    """The grid containing a WGS84 point, asked of the database itself (not the index).

    PostGIS answers with ST_Contains on the GiST index; SQLite narrows by the bounding-box
    columns and tests the candidates exactly with shapely. The index must agree with this.
    """
    inside_bbox = (
        (Area.level == AreaLevel.GRID)
        & (Area.min_lon <= lon)
        & (Area.max_lon >= lon)
        & (Area.min_lat <= lat)
        & (Area.max_lat >= lat)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
        stmt = select(Area.id).where(inside_bbox, Area.geom.ST_Contains(point)).order_by(Area.id)
        return db.session.scalars(stmt.limit(1)).first()
    candidates = db.session.execute(select(Area.id, Area.geom).where(inside_bbox).order_by(Area.id))
    return next((row.id for row in candidates if shapely.contains_xy(row.geom, lon, lat)), None)


# What the point index (grids' shapes) and the vector tiles (every level's shape, name and
# parent) are built from.
_WATCHED = ("geom", "name", "parent_id", "level")


@event.listens_for(Session, "before_flush")
def _geography_changed(session: Session, flush_context, instances) -> None:
    """A change to any area's shape, name or place bumps the version that every process's
    point index and tile cache watch."""
    changed = any(
        isinstance(obj, Area)
        and (
            obj in session.new
            or obj in session.deleted
            or any(attributes.get_history(obj, name).has_changes() for name in _WATCHED)
        )
        for obj in (*session.new, *session.dirty, *session.deleted)
    )
    if changed:
        # Core statement on the flush's connection: an ORM one would try to flush again.
        session.connection().execute(
            update(GeoState.__table__).where(GeoState.id == 1).values(version=GeoState.version + 1)
        )

"""How much of a grid lies within a distance of some lines (patrol tracks), and how long they
run inside it.

PostgreSQL answers with PostGIS: ST_Buffer on geography (a metric buffer in a best-fit
projection), ST_Intersection with the grid, ST_Area and ST_Length on geography (the
spheroid). SQLite answers with shapely in a local equirectangular frame centred on the grid
(metres per degree on the WGS84 ellipsoid, app.geo.index): for grids of a few hundred metres
the two agree to well under 1 %. Buffers use 8 segments per quarter circle on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA

from app.core.scope import unscoped
from app.extensions import db
from app.geo.index import metres_per_degree
from app.geo.models import Area, AreaLevel

# A metre in degrees of latitude is ~9.0e-6 and of longitude (at 30°N) ~1.04e-5; bounding-box
# prefilters pad by this many degrees per metre so they never miss (they are exact tests after).
DEGREES_PER_METRE = 1.2e-5


@dataclass(frozen=True)
class GridCover:
    """One grid against some lines: its area, the part within the radius, and per line whether
    it comes within the radius and how many metres of it run inside the grid."""

    grid_id: int
    area_m2: float
    covered_m2: float
    touching: list[bool]
    length_m: list[float]


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def grids_near(*, geom: BaseGeometry, radius_m: float) -> list[int]:
    """The grids whose area comes within radius_m of a WGS84 geometry, by id."""
    if geom is None or geom.is_empty:
        return []
    pad = radius_m * DEGREES_PER_METRE
    minx, miny, maxx, maxy = geom.bounds
    in_box = (
        (Area.level == AreaLevel.GRID)
        & (Area.min_lon <= maxx + pad)
        & (Area.max_lon >= minx - pad)
        & (Area.min_lat <= maxy + pad)
        & (Area.max_lat >= miny - pad)
    )
    with unscoped():
        if _postgres():
            rows = db.session.execute(
                text(
                    "SELECT a.id FROM areas a WHERE a.level = 'grid'"
                    " AND a.geom && ST_Expand(ST_GeomFromWKB(:wkb, 4326), :pad)"
                    " AND ST_DWithin(a.geom::geography, ST_GeomFromWKB(:wkb, 4326)::geography, :r)"
                    " ORDER BY a.id"
                ),
                {"wkb": shapely.to_wkb(geom), "pad": pad, "r": radius_m},
            ).scalars()
            return list(rows)
        found = []
        for grid_id, grid in db.session.execute(
            select(Area.id, Area.geom).where(in_box).order_by(Area.id)
        ):
            to_local = _local_frame(grid)
            if shapely.distance(to_local(grid), to_local(geom)) <= radius_m:
                found.append(grid_id)
        return found


def cover_grid(*, grid_id: int, lines: Sequence[BaseGeometry], radius_m: float) -> GridCover | None:
    """A grid's area, the part of it within radius_m of the union of lines, and per line its
    reach and length inside; None if the grid does not exist."""
    if _postgres():
        return cover_grid_postgis(grid_id=grid_id, lines=lines, radius_m=radius_m)
    return cover_grid_shapely(grid_id=grid_id, lines=lines, radius_m=radius_m)


def cover_grid_shapely(
    *, grid_id: int, lines: Sequence[BaseGeometry], radius_m: float
) -> GridCover | None:
    """cover_grid with shapely in the grid's local metric frame (any database)."""
    with unscoped():
        grid = db.session.scalar(select(Area.geom).where(Area.id == grid_id))
    if grid is None:
        return None
    to_local = _local_frame(grid)
    shape = to_local(grid)
    local = [to_local(line) for line in lines]
    zones = [line.buffer(radius_m, quad_segs=8) for line in local]
    union = shapely.union_all(zones) if zones else shapely.Polygon()
    return GridCover(
        grid_id=grid_id,
        area_m2=float(shape.area),
        covered_m2=float(shape.intersection(union).area),
        touching=[bool(zone.intersection(shape).area > 0) for zone in zones],
        length_m=[_walked_inside(line, shape) for line in local],
    )


def _walked_inside(line: BaseGeometry, shape: BaseGeometry) -> float:
    """Metres of a track inside a shape, segment by segment: an overlay of the whole line would
    dissolve a street walked there and back into one length."""
    coords = [np.asarray(part.coords) for part in getattr(line, "geoms", [line])]
    pairs = [np.stack([c[:-1], c[1:]], axis=1) for c in coords if len(c) >= 2]
    if not pairs:
        return 0.0
    segments = shapely.linestrings(np.concatenate(pairs))
    return float(shapely.length(shapely.intersection(segments, shape)).sum())


def _local_frame(grid: BaseGeometry):
    """A function taking WGS84 geometries to metres around the grid's centre."""
    centre = grid.centroid
    kx, ky = metres_per_degree(centre.y)
    origin = np.array([centre.x, centre.y])
    scale = np.array([kx, ky])
    return lambda geom: shapely.transform(geom, lambda c: (c - origin) * scale)


_COVER_SQL = text(
    """
    WITH grid AS (SELECT geom FROM areas WHERE id = :grid_id),
    line AS (
        SELECT ord, ST_GeomFromWKB(wkb, 4326) AS g
        FROM unnest(:wkbs) WITH ORDINALITY AS u(wkb, ord)
    ),
    zone AS (SELECT ord, g, ST_Buffer(g::geography, :r)::geometry AS z FROM line)
    -- Lengths segment by segment (ST_DumpSegments): an overlay of a whole track would dissolve
    -- a street walked there and back into one length.
    SELECT
        ST_Area(grid.geom::geography) AS area_m2,
        COALESCE(
            ST_Area(ST_Intersection(grid.geom, (SELECT ST_Union(z) FROM zone))::geography), 0
        ) AS covered_m2,
        COALESCE(
            (SELECT array_agg(ST_Area(ST_Intersection(grid.geom, z)) > 0 ORDER BY ord)
             FROM zone), '{}'
        ) AS touching,
        COALESCE(
            (SELECT array_agg(walked ORDER BY ord) FROM (
                SELECT zone.ord, (
                    SELECT COALESCE(
                        SUM(ST_Length(ST_Intersection(grid.geom, s.geom)::geography)), 0
                    )
                    FROM ST_DumpSegments(zone.g) AS s
                ) AS walked
                FROM zone
            ) AS per_line), '{}'
        ) AS length_m
    FROM grid
    """
).bindparams(bindparam("wkbs", type_=ARRAY(BYTEA)))


def cover_grid_postgis(
    *, grid_id: int, lines: Sequence[BaseGeometry], radius_m: float
) -> GridCover | None:
    """cover_grid with PostGIS (PostgreSQL only)."""
    with unscoped():
        row = db.session.execute(
            _COVER_SQL,
            {"grid_id": grid_id, "wkbs": [shapely.to_wkb(line) for line in lines], "r": radius_m},
        ).first()
    if row is None:
        return None
    return GridCover(
        grid_id=grid_id,
        area_m2=float(row.area_m2),
        covered_m2=float(row.covered_m2 or 0.0),
        touching=[bool(v) for v in row.touching],
        length_m=[float(v or 0.0) for v in row.length_m],
    )


def grid_areas(*, grid_ids: Sequence[int]) -> dict[int, float]:
    """Square metres of each grid (geography on PostGIS, the local frame on SQLite)."""
    ids = sorted(set(grid_ids))
    if not ids:
        return {}
    with unscoped():
        if _postgres():
            rows = db.session.execute(
                select(Area.id, func.ST_Area(func.geography(Area.geom))).where(Area.id.in_(ids))
            )
            return {grid_id: float(area or 0.0) for grid_id, area in rows}
        rows = db.session.execute(select(Area.id, Area.geom).where(Area.id.in_(ids)))
        return {
            grid_id: float(_local_frame(geom)(geom).area) if geom is not None else 0.0
            for grid_id, geom in rows
        }

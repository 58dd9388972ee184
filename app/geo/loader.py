"""Load the built geodata (geodata/build.py output) into SQLite or PostGIS, idempotently."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.core.db import utcnow
from app.extensions import db
from app.geo.codes import CITY_CODE, ancestry
from app.geo.models import Area, AreaLevel, GeoState

CITY_NAME = "重庆市"
LAYERS = (
    (AreaLevel.DISTRICT, "districts.geojson"),
    (AreaLevel.TOWNSHIP, "townships.geojson"),
    (AreaLevel.VILLAGE, "villages.geojson"),
    (AreaLevel.GRID, "grids.geojson"),
)
BATCH = 2_000

Progress = Callable[[str, int, int], None]


class GeodataMissing(RuntimeError):
    """The geodata directory has not been built yet."""


class GeodataConflict(RuntimeError):
    """The new build drops nodes that other rows still refer to."""


def manifest_sha256(geodata_dir: Path) -> str:
    """Fingerprint of a build: loading the same build twice is a no-op."""
    path = geodata_dir / "manifest.json"
    if not path.exists():
        raise GeodataMissing(f"{path} not found; run `flask geodata build` first")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(level: AreaLevel, path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    collection = json.loads(text)
    fictitious = bool(collection.get("metadata", {}).get("fictitious", level != AreaLevel.DISTRICT))
    features = collection["features"]
    # GEOS reads the whole collection at once, in feature order (far cheaper than per feature).
    geoms = _as_multipolygons(shapely.get_parts(shapely.from_geojson(text)))
    bounds = shapely.bounds(geoms)
    now = utcnow()
    return [
        _row(f["properties"], level, geom, box, fictitious, now)
        for f, geom, box in zip(features, geoms, bounds.tolist(), strict=True)
    ]


def _as_multipolygons(geoms):
    """Every area is stored as a MultiPolygon; promote plain Polygons, vectorised."""
    polygons = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    if polygons.any():
        geoms = geoms.copy()
        geoms[polygons] = shapely.multipolygons(geoms[polygons][:, None])
    return geoms


def _row(props: dict, level: AreaLevel, geom, box, fictitious: bool, now) -> dict:
    code, parent_code = props["code"], props.get("parent_code")
    return {
        "id": int(code),
        "code": code,
        "level": str(level),
        "kind": props["kind"],
        "name": props["name"],
        "parent_id": int(parent_code) if parent_code else None,
        "geom": geom,
        "min_lon": box[0],
        "min_lat": box[1],
        "max_lon": box[2],
        "max_lat": box[3],
        "fictitious": fictitious,
        "updated_at": now,
        **ancestry(code),
    }


def _upsert(rows: list[dict]) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Area.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={c: stmt.excluded[c] for c in rows[0] if c != "id"},
    )
    db.session.execute(stmt, rows)


def _city_row(geom) -> dict:
    props = {"code": CITY_CODE, "kind": "市", "name": CITY_NAME, "parent_code": None}
    return _row(props, AreaLevel.CITY, geom, shapely.bounds(geom).tolist(), False, utcnow())


def load(geodata_dir: Path, *, force: bool = False, progress: Progress | None = None) -> dict:
    """Upsert every layer, drop nodes no longer in the build, and bump the grid version."""
    sha = manifest_sha256(geodata_dir)
    state = db.session.get(GeoState, 1) or GeoState(id=1, version=0)
    if not force and state.manifest_sha256 == sha:
        return {"skipped": True, "manifest_sha256": sha}
    report = progress or (lambda stage, done, total: None)

    district_geoms = []
    seen: set[int] = {int(CITY_CODE)}
    counts: dict[str, int] = {}
    # Parents first, so foreign keys hold at every step; the city's shape comes at the end.
    _upsert([_city_row(shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]))])
    for level, filename in LAYERS:
        path = geodata_dir / filename
        rows = _rows(level, path)
        if level == AreaLevel.DISTRICT:
            district_geoms = [r["geom"] for r in rows]
            for r in rows:
                r["parent_id"] = int(CITY_CODE)
        for start in range(0, len(rows), BATCH):
            _upsert(rows[start : start + BATCH])
            report(f"load {level}", min(start + BATCH, len(rows)), len(rows))
        seen.update(r["id"] for r in rows)
        counts[str(level)] = len(rows)

    city = shapely.coverage_union_all(district_geoms)
    _upsert([_city_row(_as_multipolygons(np.array([city]))[0])])

    # Nodes that a rebuild dropped go, children before parents.
    for level in (AreaLevel.GRID, AreaLevel.VILLAGE, AreaLevel.TOWNSHIP, AreaLevel.DISTRICT):
        existing = set(db.session.scalars(select(Area.id).where(Area.level == str(level))))
        gone = sorted(existing - seen)
        for start in range(0, len(gone), BATCH):
            batch = gone[start : start + BATCH]
            try:
                with db.session.begin_nested():
                    db.session.execute(delete(Area).where(Area.id.in_(batch)))
            except IntegrityError:
                # Users (or later, events) still point at these nodes: the database refuses,
                # and the person loading must reassign them first rather than lose them.
                raise GeodataConflict(
                    f"{len(gone)} {level} node(s) missing from the new build are still in use "
                    f"(e.g. {', '.join(map(str, batch[:5]))}); reassign what refers to them, "
                    "then load again"
                ) from None

    state.manifest_sha256 = sha
    state.version = (state.version or 0) + 1
    state.loaded_at = utcnow()
    db.session.add(state)
    db.session.flush()
    return {"skipped": False, "manifest_sha256": sha, "counts": counts, "version": state.version}


def bump_version() -> int:
    """Tell every process that the grids changed (their point indexes rebuild)."""
    result = db.session.execute(
        update(GeoState).where(GeoState.id == 1).values(version=GeoState.version + 1)
    )
    if result.rowcount == 0:
        db.session.add(GeoState(id=1, version=1))
    db.session.flush()
    return db.session.scalar(select(GeoState.version).where(GeoState.id == 1))

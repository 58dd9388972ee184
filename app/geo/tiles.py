"""Vector tiles of the boundary layers, for the console's map (/tiles/{layer}/{z}/{x}/{y}.pbf).

PostgreSQL renders with PostGIS (ST_AsMVTGeom + ST_AsMVT); SQLite with app.geo.mvt over an
in-memory copy of the layer (EPSG:3857 geometries in an STRtree), built the same way. Either
way a tile is rendered once per geography version: the gzipped bytes go to files under
instance/tiles/<version key>/, and the version key also makes the HTTP ETag.

Tile content by zoom (figures from bench/bench_tiles.py on the full city):

* below a layer's detail zoom, features carry only their id (the MVT feature id is the
  statistical code), on a 512-unit grid: the densest city-level grid tile holds ~20,000
  grids, and names, codes and ancestors would triple its bytes for labels nobody can read;
* from the detail zoom, every feature carries code, name, level and its ancestors' codes;
* geometry is simplified to half a unit of the tile's grid: 1 pixel per unit for id-only
  tiles, 2 for detailed ones, 8 at the layer's max zoom, which map libraries overzoom; at
  the city's zooms (z ≤ CITY_MAX_ZOOM) the grid layer has 2 pixels per unit and the
  township and district layers 1, because there every grid is on screen at once and a
  software-rendered map pays for every vertex (bench/bench_console_map.py);
* an area smaller than 2 square units there (an urban grid at city level) is a point
  feature, its point on surface: every one of the city's 65,000 grids is on the map at every
  zoom of the layer, as a dot until it is big enough to draw;
* outside [min zoom, max zoom] and away from the layer's data, tiles are empty (204).

Up to app.geo.raster.MAX_ZOOM the grid, township and district tiles at one address are also
drawn as one PNG (`get_picture`), cached beside them: what the console shows at city zooms.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from flask import current_app
from sqlalchemy import LargeBinary, func, select, text, type_coerce

from app.core.errors import NotFound
from app.core.scope import unscoped
from app.extensions import db
from app.geo import mvt, raster
from app.geo.models import Area, AreaLevel, GeoState

log = logging.getLogger(__name__)

# Bump when what a tile holds changes (layers, attributes, zooms, simplification): every
# cached tile and every client's ETag lapses with it.
# 2: areas too small to draw come as dots. 3: coarser grids, townships and districts at city
# zooms; a dot snapped onto a tile's far edge belongs to the next tile.
FORMAT = 3
# Screen pixels per tile at its own zoom: MapLibre (and Mapbox GL) draw vector tiles at 512.
TILE_PX = 512
# Buffer around each tile in screen pixels: more than half the widest boundary line.
BUFFER_PX = 8
GZIP_LEVEL = 6
# Up to this zoom the whole city fits on a console's screen (about 6 tiles at z7, 14 at z8):
# all 65,000 grids are drawn at once, every frame of a pan.
CITY_MAX_ZOOM = 8

ANCESTOR_KEYS = ("district_code", "township_code", "village_code")


@dataclass(frozen=True)
class LayerSpec:
    """One boundary layer: the level it draws and the zooms it answers."""

    level: AreaLevel
    min_zoom: int
    detail_zoom: int  # from here on, features carry every attribute
    max_zoom: int  # clients overzoom this one: it has the finest grid
    city_extent: int | None = None  # units per tile up to CITY_MAX_ZOOM, when coarser

    @property
    def keys(self) -> tuple[str, ...]:
        """Property keys of a detailed feature, in tile order."""
        depth = ("district", "township", "village", "grid").index(self.level)
        return ("code", "name", "level", *ANCESTOR_KEYS[:depth])

    def serves(self, z: int) -> bool:
        return self.min_zoom <= z <= self.max_zoom

    def detailed(self, z: int) -> bool:
        return z >= self.detail_zoom

    def extent(self, z: int) -> int:
        """Units per tile side: 1 per pixel for id-only tiles, 2 for detailed ones, 8 at the
        max zoom (which is stretched over the zooms above it), city_extent at city zooms."""
        if z >= self.max_zoom:
            return 4096
        if self.city_extent is not None and z <= CITY_MAX_ZOOM:
            return self.city_extent
        return 1024 if self.detailed(z) else 512

    def buffer(self, z: int) -> int:
        return self.extent(z) * BUFFER_PX // TILE_PX


# Chongqing spans z8 tiles 202-206 × 103-107: the whole city is about 14 z8 tiles, 6 at z7.
# At z7 over the full city (bench/bench_console_map.py), 256-unit grid tiles draw about 12,600
# grids as polygons (50,000 vertices) and the rest as dots, against 33,700 polygons (142,000
# vertices) at 512 units, and the grid mesh still shows; 512-unit township and district tiles
# hold a third fewer vertices than 1024-unit ones, for lines 1.5 and 2.5 pixels wide.
LAYERS: dict[str, LayerSpec] = {
    "district": LayerSpec(
        AreaLevel.DISTRICT, min_zoom=0, detail_zoom=0, max_zoom=12, city_extent=512
    ),
    "township": LayerSpec(
        AreaLevel.TOWNSHIP, min_zoom=5, detail_zoom=5, max_zoom=14, city_extent=512
    ),
    "village": LayerSpec(AreaLevel.VILLAGE, min_zoom=7, detail_zoom=9, max_zoom=14),
    "grid": LayerSpec(AreaLevel.GRID, min_zoom=7, detail_zoom=11, max_zoom=14, city_extent=256),
}


def layer_spec(layer: str) -> LayerSpec:
    """The spec of a layer named in a URL."""
    spec = LAYERS.get(layer)
    if spec is None:
        raise NotFound("没有该图层", code="unknown_layer", layer=layer, layers=sorted(LAYERS))
    return spec


def check_tile(*, layer: str, z: int, x: int, y: int) -> LayerSpec:
    """Validate a tile address; zooms outside the layer's range are valid (and empty)."""
    spec = layer_spec(layer)
    if not (0 <= z <= mvt.MAX_ZOOM and 0 <= x < mvt.tile_range(z) and 0 <= y < mvt.tile_range(z)):
        raise NotFound(
            "瓦片坐标超出范围",
            code="tile_out_of_range",
            z=z,
            x=x,
            y=y,
            max_zoom=mvt.MAX_ZOOM,
        )
    return spec


# -- the geography version every tile is keyed by ---------------------------------------------


@dataclass(frozen=True)
class _Layer:
    """What one process knows of a layer at one version."""

    bounds: tuple[float, float, float, float] | None  # WGS84; None: no features at all
    source: _Source | None  # the in-memory copy the Python renderer reads (SQLite only)

    @classmethod
    def load(cls, level: AreaLevel) -> _Layer:
        if _python_renders():
            source = _Source.load(level)
            return cls(source.bounds, source)
        return cls(_layer_bounds(level), None)


@dataclass
class _State:
    key: str
    layers: dict[str, _Layer] = field(default_factory=dict)


class TileService:
    """Per-process tile state: the version key, layer extents and the SQLite sources."""

    def __init__(self, check_seconds: float, cache_dir: Path):
        self._check_seconds = check_seconds
        self.cache_dir = cache_dir
        self._state: _State | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._pruned: set[str] = set()

    def state(self) -> _State:
        """The current state, replaced when the geography version moved."""
        state = self._state
        if state is not None and time.monotonic() - self._checked_at < self._check_seconds:
            return state
        key = _version_key()
        with self._lock:
            if self._state is None or self._state.key != key:
                self._state = _State(key)
                self._prune_later(key)
            self._checked_at = time.monotonic()
            return self._state

    def layer(self, state: _State, name: str) -> _Layer:
        """A layer's extent (and, on SQLite, its in-memory source), loaded once per version."""
        known = state.layers.get(name)
        if known is None:
            with self._lock:
                known = state.layers.get(name)
                if known is None:
                    known = state.layers[name] = _Layer.load(LAYERS[name].level)
        return known

    def _prune_later(self, key: str) -> None:
        """Delete other versions' cached tiles in the background (there may be many files)."""
        if key in self._pruned:
            return
        self._pruned.add(key)
        root = self.cache_dir

        def prune() -> None:
            if not root.is_dir():
                return
            for stale in root.iterdir():
                # Only directories this module names: TILES_CACHE_DIR may be shared.
                if stale.name != key and _KEY_PATTERN.fullmatch(stale.name):
                    shutil.rmtree(stale, ignore_errors=True)

        threading.Thread(target=prune, name="prune-tile-cache", daemon=True).start()


def service() -> TileService:
    """This process's tile service (one per app)."""
    ext = current_app.extensions
    if "wangge_tiles" not in ext:
        cfg = current_app.config
        ext["wangge_tiles"] = TileService(
            cfg["GEO_INDEX_CHECK_SECONDS"], Path(cfg["TILES_CACHE_DIR"])
        )
    return ext["wangge_tiles"]


_KEY_PATTERN = re.compile(r"(lite|pg)-v\d+-[0-9a-z]+-f\d+")


def _version_key() -> str:
    """Names one state of the geography on one database: loads and edits both change it."""
    with unscoped():
        row = db.session.execute(
            select(GeoState.version, GeoState.manifest_sha256).where(GeoState.id == 1)
        ).first()
    version, sha = (row.version, row.manifest_sha256) if row else (0, None)
    dialect = "pg" if _dialect() == "postgresql" else "lite"
    return f"{dialect}-v{version}-{(sha or 'none')[:10]}-f{FORMAT}"


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _python_renders() -> bool:
    return _dialect() != "postgresql"


def _layer_bounds(level: AreaLevel) -> tuple[float, float, float, float] | None:
    with unscoped():
        row = db.session.execute(
            select(
                func.min(Area.min_lon),
                func.min(Area.min_lat),
                func.max(Area.max_lon),
                func.max(Area.max_lat),
            ).where(Area.level == level)
        ).one()
    return None if row[0] is None else tuple(float(v) for v in row)


# -- serving ----------------------------------------------------------------------------------


def etag(*, layer: str, z: int, x: int, y: int) -> str:
    """The tile's validator: the geography version key and the tile's address."""
    check_tile(layer=layer, z=z, x=x, y=y)
    return f"{service().state().key}-{layer}-{z}-{x}-{y}"


def picture_etag(*, z: int, x: int, y: int, scale: int = 1) -> str:
    """The boundary picture's validator, as `etag`."""
    check_tile(layer="grid", z=z, x=x, y=y)
    return f"{service().state().key}-boundaries-{z}-{x}-{y}@{scale}x"


def get_tile(*, layer: str, z: int, x: int, y: int) -> bytes:
    """The gzipped MVT bytes of a tile; b"" for an empty tile. Cached on disk per version."""
    spec = check_tile(layer=layer, z=z, x=x, y=y)
    svc = service()
    state = svc.state()
    if not spec.serves(z):
        return b""
    info = svc.layer(state, layer)
    if info.bounds is None or not _overlaps(mvt.tile_lonlat_bounds(z, x, y), info.bounds):
        # Answered without touching the disk: a crawl of the world leaves no files behind.
        return b""
    path = svc.cache_dir / state.key / layer / str(z) / str(x) / f"{y}.mvt.gz"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    raw = render(spec, z, x, y, source=info.source)
    data = gzip.compress(raw, GZIP_LEVEL, mtime=0) if raw else b""
    _write_atomically(path, data)
    return data


# The layers the boundary picture draws, bottom first (app.geo.raster).
PICTURE_LAYERS = ("grid", "township", "district")


def get_picture(*, z: int, x: int, y: int, scale: int = 1) -> bytes:
    """The boundary layers as one PNG (app.geo.raster), drawn from the vector tiles at the
    same address, `scale` × 512 pixels wide (2 for high-density screens); b"" where there is
    nothing to draw, and above raster.MAX_ZOOM, where the console draws vectors. Cached like
    the vector tiles, and lapses with them."""
    check_tile(layer="grid", z=z, x=x, y=y)
    if z > raster.MAX_ZOOM:
        return b""
    svc = service()
    name = f"{y}@{scale}x.png" if scale != 1 else f"{y}.png"
    path = svc.cache_dir / svc.state().key / "boundaries" / str(z) / str(x) / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    vectors = [(layer, get_tile(layer=layer, z=z, x=x, y=y)) for layer in PICTURE_LAYERS]
    if not any(data for _, data in vectors):
        return b""  # away from the city: no file left behind
    data = raster.render_png(
        [(raster.style(layer, z), tile) for layer, tile in vectors], size=TILE_PX * scale
    )
    _write_atomically(path, data)
    return data


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _write_atomically(path: Path, data: bytes) -> None:
    """Write then rename, so a concurrent reader never sees half a tile; a failure (disk full,
    the directory pruned under us) only costs the cache."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        log.warning("tile cache write failed for %s", path, exc_info=True)
        tmp.unlink(missing_ok=True)


def render(spec: LayerSpec, z: int, x: int, y: int, *, source: _Source | None) -> bytes:
    """Raw MVT bytes of one tile, b"" if it holds no feature: app.geo.mvt over the in-memory
    source where there is one (SQLite), else PostGIS."""
    if source is not None:
        return render_python(source, spec, z, x, y)
    return render_postgis(spec, z, x, y)


# -- PostGIS ----------------------------------------------------------------------------------

_ANCESTOR_COLUMNS = {
    "district_code": "a.district_id",
    "township_code": "a.township_id",
    "village_code": "a.village_id",
}


def _postgis_sql(spec: LayerSpec, z: int) -> str:
    columns = ["a.id"]
    names = ["id"]
    if spec.detailed(z):
        columns += ["a.code", "a.name", "a.level"]
        columns += [f"CAST({_ANCESTOR_COLUMNS[k]} AS text) AS {k}" for k in spec.keys[3:]]
        names += list(spec.keys)
    # PostGIS up to 3.3 simplifies to half a unit inside ST_AsMVTGeom; later versions only
    # snap. Asking for it keeps tiles small and equal to app.geo.mvt's on every version.
    geom = "ST_Simplify(ST_Transform(a.geom, 3857), :half_unit)"
    kept = ", ".join(names)
    # The bounding-box test runs on the GiST index in WGS84: the tile's envelope plus its
    # buffer, transformed (Web Mercator maps boxes to boxes, so this is exact). Areas whose
    # polygon is dust at this zoom come back as a dot in the one tile whose [0, extent)
    # square their snapped point lands in (app.geo.mvt.tile_points says why half-open): the
    # envelope test lets in points up to a unit outside, the snapped test decides.
    return f"""
        WITH c AS (
            SELECT {", ".join(columns)}, a.geom AS source,
                   ST_AsMVTGeom({geom}, ST_TileEnvelope(:z, :x, :y), :extent, :buffer, true)
                       AS geom
            FROM areas a
            WHERE a.level = :level
              AND a.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326)
        ), dots AS (
            SELECT {kept}, ST_Transform(ST_PointOnSurface(source), 3857) AS point
            FROM c WHERE geom IS NULL OR ST_Area(geom) < :min_area
        ), placed AS (
            SELECT {kept}, ST_AsMVTGeom(point, ST_TileEnvelope(:z, :x, :y), :extent, 1, true)
                AS geom
            FROM dots
            WHERE ST_Intersects(point, ST_TileEnvelope(:z, :x, :y, margin => 1.0 / :extent))
        )
        SELECT ST_AsMVT(t, :name, :extent, 'geom', 'id') FROM (
            SELECT {kept}, geom FROM c WHERE ST_Area(geom) >= :min_area
            UNION ALL
            SELECT {kept}, geom FROM placed
            WHERE ST_X(geom) >= 0 AND ST_X(geom) < :extent
              AND ST_Y(geom) >= 0 AND ST_Y(geom) < :extent
        ) t
    """


def render_postgis(spec: LayerSpec, z: int, x: int, y: int) -> bytes:
    """One tile from ST_AsMVT."""
    extent, buffer = spec.extent(z), spec.buffer(z)
    size = 2.0 * mvt.HALF_WORLD / (1 << z)
    params = {
        "name": spec.level.value,
        "level": spec.level.value,
        "z": z,
        "x": x,
        "y": y,
        "extent": extent,
        "buffer": buffer,
        "margin": buffer / extent,
        "half_unit": size / extent / 2.0,
        "min_area": mvt.MIN_AREA,
    }
    with unscoped():
        data = db.session.execute(text(_postgis_sql(spec, z)), params).scalar()
    return bytes(data or b"")


# -- Python (SQLite) --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One layer in memory: EPSG:3857 geometries in an STRtree, ids and property values."""

    ids: list[int]
    geoms: np.ndarray
    points: np.ndarray  # each area's point on surface (its dot when too small to draw)
    values: list[tuple[str | None, ...]]
    tree: shapely.STRtree
    bounds: tuple[float, float, float, float] | None

    @classmethod
    def load(cls, level: AreaLevel) -> _Source:
        """Read the layer from the database (any dialect: WKB out, parsed in one call)."""
        started = time.perf_counter()
        wkb = (
            func.ST_AsBinary(Area.geom)
            if _dialect() == "postgresql"
            else type_coerce(Area.geom, LargeBinary)
        )
        stmt = (
            select(
                Area.id,
                Area.name,
                Area.district_id,
                Area.township_id,
                Area.village_id,
                wkb.label("wkb"),
            )
            .where(Area.level == level, Area.geom.is_not(None))
            .order_by(Area.id)
        )
        with unscoped():
            rows = db.session.execute(stmt).all()
        geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.zeros(0, object)
        box = shapely.total_bounds(geoms) if len(geoms) else None
        geoms = np.asarray(geoms, dtype=object)
        # On the WGS84 shape, as PostGIS's ST_PointOnSurface(geom) is (the same GEOS routine).
        points = shapely.transform(shapely.point_on_surface(geoms), mvt.lonlat_to_mercator)
        geoms = shapely.transform(geoms, mvt.lonlat_to_mercator)
        depth = ("district", "township", "village", "grid").index(level)
        values = [
            (
                str(r.id),
                r.name,
                level.value,
                *(str(a) if a else None for a in (r.district_id, r.township_id, r.village_id)),
            )[: 3 + depth]
            for r in rows
        ]
        tree = shapely.STRtree(geoms)
        log.info(
            "tile source %s: %d areas in %.2f s", level, len(rows), time.perf_counter() - started
        )
        return cls(
            ids=[r.id for r in rows],
            geoms=geoms,
            points=points,
            values=values,
            tree=tree,
            bounds=tuple(float(v) for v in box) if box is not None else None,
        )


def render_python(source: _Source, spec: LayerSpec, z: int, x: int, y: int) -> bytes:
    """One tile the way render_postgis makes it, from the in-memory source."""
    extent, buffer = spec.extent(z), spec.buffer(z)
    bounds = mvt.tile_bounds(z, x, y)
    unit = (bounds[2] - bounds[0]) / extent
    margin = buffer * unit
    window = shapely.box(
        bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin
    )
    hits = np.sort(source.tree.query(window))
    kept, tiled = mvt.tile_geometries(source.geoms[hits], bounds, extent=extent, buffer=buffer)
    rows = hits[kept].tolist()
    # What is too small to draw becomes a dot in the tile its point falls in.
    dust = np.setdiff1d(hits, hits[kept], assume_unique=True)
    placed, dots = mvt.tile_points(source.points[dust], bounds, extent=extent)
    dot_rows = dust[placed].tolist()
    ids = [source.ids[i] for i in rows]
    dot_ids = [source.ids[i] for i in dot_rows]
    if not spec.detailed(z):
        return mvt.encode_layer(
            spec.level.value, extent, tiled, ids, points=dots, point_ids=dot_ids
        )
    return mvt.encode_layer(
        spec.level.value,
        extent,
        tiled,
        ids,
        [source.values[i] for i in rows],
        spec.keys,
        points=dots,
        point_ids=dot_ids,
        point_properties=[source.values[i] for i in dot_rows],
    )

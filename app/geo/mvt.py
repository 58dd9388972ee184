"""Mapbox Vector Tiles built in Python: the embedded (SQLite) twin of PostGIS's ST_AsMVT.

The steps mirror ST_AsMVTGeom (PostGIS 3.3) so that both databases put the same features in
the same tile: drop what is smaller than half a unit both ways, simplify to half a unit,
snap to the tile's integer grid (y down), clip to the tile plus its buffer, repair what
snapping broke, drop dust (MIN_AREA), and wind exterior rings the way the MVT 2.1 spec
requires. An area too small to draw as a polygon is drawn as a point instead (its point on
surface, `tile_points`), so every area is on the map at every zoom. Everything runs
vectorised over a tile's candidates (shapely/GEOS and numpy): only the final protobuf assembly
loops over features.

Geometry commands are encoded here with numpy rather than by mapbox_vector_tile's
per-coordinate encoder (~40x slower on a city-level tile); its generated protobuf classes
build the message, and its decoder reads tiles back in tests.

Pure module: numpy, shapely and mapbox_vector_tile's protobuf classes only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
from mapbox_vector_tile.Mapbox import vector_tile_pb2

__all__ = [
    "MAX_ZOOM",
    "encode_layer",
    "lonlat_to_mercator",
    "tile_bounds",
    "tile_geometries",
    "tile_points",
    "tile_range",
]

# Half the width of the Web Mercator square (EPSG:3857), in metres.
HALF_WORLD = 20037508.342789244
_R = 6378137.0
# Web Mercator's latitude limit: beyond it y is infinite.
_MAX_LAT = 85.0511287798066
# Deepest zoom we answer at all: a z22 tile is ~10 m wide, far below any boundary's detail.
MAX_ZOOM = 22
# Features covering less than this many square units of the tile's grid are dropped. They are
# dots, not boundaries, and it is where GEOS (here) and PostGIS's Wagyu (whose snap rounding
# collapses some 1-unit triangles and keeps others) disagree: with this floor both databases
# keep the same features, bar a handful per thousand at city-level zooms.
MIN_AREA = 2.0

_POINT = 1
_POLYGON = 3
_MOVE_TO_1 = (1 << 3) | 1
_CLOSE_PATH = (1 << 3) | 7

GeomArray = npt.NDArray[np.object_]


def lonlat_to_mercator(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """WGS84 (lon, lat) rows to EPSG:3857 metres; a `shapely.transform` callback."""
    lon = coords[:, 0]
    lat = np.clip(coords[:, 1], -_MAX_LAT, _MAX_LAT)
    x = np.radians(lon) * _R
    y = np.log(np.tan(np.pi / 4.0 + np.radians(lat) / 2.0)) * _R
    return np.column_stack([x, y])


def tile_range(z: int) -> int:
    """Tiles per axis at zoom z."""
    return 1 << z


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """EPSG:3857 bounds (minx, miny, maxx, maxy) of an XYZ tile, as ST_TileEnvelope gives."""
    size = 2.0 * HALF_WORLD / (1 << z)
    minx = -HALF_WORLD + x * size
    maxy = HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def tile_lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """WGS84 bounds of an XYZ tile (for quick rejects against a layer's extent)."""
    n = 1 << z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def tile_geometries(
    geoms: GeomArray,
    bounds: tuple[float, float, float, float],
    *,
    extent: int,
    buffer: int,
) -> tuple[npt.NDArray[np.intp], GeomArray]:
    """Project EPSG:3857 polygons into a tile's integer grid, as ST_AsMVTGeom(clip => true).

    Returns the positions of the input geometries that survive and their tile geometries
    (valid (Multi)Polygons, y down, exterior rings of positive area as the spec requires).
    """
    if len(geoms) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=object)
    minx, miny, maxx, maxy = bounds
    sx = extent / (maxx - minx)
    sy = extent / (maxy - miny)
    positions = np.arange(len(geoms))
    # ST_AsMVTGeom's shortcut: anything under half a unit in both directions is dropped.
    box = shapely.bounds(geoms)
    small = ((box[:, 2] - box[:, 0]) * sx < 0.5) & ((box[:, 3] - box[:, 1]) * sy < 0.5)
    geoms, positions = geoms[~small], positions[~small]

    def to_tile(c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.column_stack([(c[:, 0] - minx) * sx, (maxy - c[:, 1]) * sy])

    # Douglas-Peucker to half a unit first, as ST_AsMVTGeom does up to PostGIS 3.3 (and as
    # render_postgis asks of later versions): detail below the grid goes, and so do rings that
    # collapse. Then snap, and drop the repeated and straight-line vertices snapping leaves.
    tiled = shapely.transform(geoms, to_tile)
    tiled = shapely.simplify(tiled, 0.5, preserve_topology=False)
    tiled = shapely.transform(tiled, np.rint)
    tiled = shapely.simplify(tiled, 0.0, preserve_topology=False)
    lo, hi = -float(buffer), float(extent + buffer)
    tiled = shapely.clip_by_rect(tiled, lo, lo, hi, hi)
    # Clipping adds float vertices on the buffer edge only when a ring crosses it at an angle.
    tiled = shapely.transform(tiled, np.rint)
    tiled = _valid_polygons(tiled)
    keep = shapely.area(tiled) >= MIN_AREA
    tiled = shapely.orient_polygons(tiled[keep], exterior_cw=False)
    return positions[keep], tiled


def tile_points(
    points: GeomArray, bounds: tuple[float, float, float, float], *, extent: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Snap EPSG:3857 points to the tile's integer grid, y down, and keep those that land in
    [0, extent) both ways (app.geo.tiles does the same with ST_AsMVTGeom on PostGIS).

    A point belongs to exactly one tile, not to its neighbours' buffers (a dot drawn twice
    would be drawn in the same place, and would only cost bytes). The half-open square picks
    the tile for a point that snaps onto a shared edge: MapLibre draws a feature at x or
    y = extent but leaves it out of the index that queryRenderedFeatures and clicks read
    (FeatureIndex.insert), so there it would be on screen yet missing for the console.
    """
    if len(points) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros((0, 2), dtype=np.int64)
    minx, miny, maxx, maxy = bounds
    xy = shapely.get_coordinates(points)
    snapped = np.column_stack(
        [
            np.rint((xy[:, 0] - minx) * extent / (maxx - minx)),
            np.rint((maxy - xy[:, 1]) * extent / (maxy - miny)),
        ]
    ).astype(np.int64)
    inside = ((snapped >= 0) & (snapped < extent)).all(axis=1)
    return np.flatnonzero(inside), snapped[inside]


def _valid_polygons(geoms: GeomArray) -> GeomArray:
    """Repair snapped geometries and keep only their polygonal parts (collapsed rings go)."""
    geoms = geoms.copy()
    broken = ~shapely.is_empty(geoms) & ~shapely.is_valid(geoms)
    if broken.any():
        geoms[broken] = shapely.make_valid(geoms[broken])
    kind = shapely.get_type_id(geoms)
    mixed = ~np.isin(kind, (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON))
    mixed &= ~shapely.is_empty(geoms)
    if mixed.any():
        where = np.flatnonzero(mixed)
        parts, owner = shapely.get_parts(geoms[where], return_index=True)
        # A collection may hold a MultiPolygon: flatten twice.
        parts, sub = shapely.get_parts(parts, return_index=True)
        owner = owner[sub]
        polygonal = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
        polygonal &= shapely.area(parts) > 0
        rebuilt = np.full(len(where), shapely.MultiPolygon(), dtype=object)
        if polygonal.any():
            # Owners left without a polygon keep the empty MultiPolygon (and are dropped).
            shapely.multipolygons(parts[polygonal], indices=owner[polygonal], out=rebuilt)
        geoms[where] = rebuilt
    return geoms


def _polygon_commands(geoms: GeomArray) -> tuple[list[int], npt.NDArray[np.int64]]:
    """MVT command integers for every geometry at once, and each geometry's end offset.

    Per ring: MoveTo(1) dx dy, LineTo(n-1) pairs, ClosePath; the cursor carries over from
    ring to ring within a feature and starts at (0, 0) for each feature.
    """
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_owner = part_owner[ring_part]
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    # The closing vertex repeats the first: ClosePath replaces it.
    closing = np.append(coord_ring[1:] != coord_ring[:-1], True)
    xy = coords[~closing].astype(np.int64)
    coord_ring = coord_ring[~closing]
    owner = ring_owner[coord_ring]
    prev = np.roll(xy, 1, axis=0)
    prev[np.append(True, owner[1:] != owner[:-1])] = 0
    d = xy - prev
    zigzag = (d << 1) ^ (d >> 63)

    n = np.bincount(coord_ring, minlength=len(rings))
    ring_len = 2 * n + 3
    ring_end = np.cumsum(ring_len)
    ring_start = ring_end - ring_len
    out = np.empty(int(ring_end[-1]) if len(ring_end) else 0, dtype=np.int64)
    out[ring_start] = _MOVE_TO_1
    out[ring_start + 3] = ((n - 1) << 3) | 2
    out[ring_end - 1] = _CLOSE_PATH
    k = np.arange(len(coord_ring)) - (np.cumsum(n) - n)[coord_ring]
    pos = ring_start[coord_ring] + 1 + 2 * k + (k > 0)
    out[pos] = zigzag[:, 0]
    out[pos + 1] = zigzag[:, 1]

    feature_end = np.zeros(len(geoms), dtype=np.int64)
    np.maximum.at(feature_end, ring_owner, ring_end)
    return out.tolist(), feature_end


def encode_layer(
    name: str,
    extent: int,
    geoms: GeomArray,
    ids: Sequence[int],
    properties: Sequence[Sequence[str | None]] | None = None,
    keys: Sequence[str] = (),
    *,
    points: npt.NDArray[np.int64] | None = None,
    point_ids: Sequence[int] = (),
    point_properties: Sequence[Sequence[str | None]] | None = None,
) -> bytes:
    """One-layer MVT tile from tile geometries (see `tile_geometries`) and points (see
    `tile_points`); b"" if no features.

    `properties[i][j]` is the string value of `keys[j]` for feature i; None leaves the key out,
    as ST_AsMVT does for NULL columns. Values are shared through the layer's value table.
    """
    n_points = 0 if points is None else len(points)
    if len(geoms) == 0 and n_points == 0:
        return b""
    commands, ends = _polygon_commands(geoms) if len(geoms) else ([], np.zeros(0, np.int64))
    tile = vector_tile_pb2.tile()
    layer = tile.layers.add()
    layer.version = 2
    layer.name = name
    layer.extent = extent
    layer.keys.extend(keys)
    values: dict[str, int] = {}

    def tag(feature, row: Sequence[str | None]) -> None:
        tags = []
        for key_index, value in enumerate(row):
            if value is None:
                continue
            value_index = values.get(value)
            if value_index is None:
                value_index = values[value] = len(values)
                layer.values.add().string_value = value
            tags.append(key_index)
            tags.append(value_index)
        feature.tags.extend(tags)

    start = 0
    for i, end in enumerate(ends.tolist()):
        feature = layer.features.add()
        feature.id = ids[i]
        feature.type = _POLYGON
        feature.geometry.extend(commands[start:end])
        start = end
        if properties is not None:
            tag(feature, properties[i])
    if n_points:
        zigzag = ((points << 1) ^ (points >> 63)).tolist()
        for i, (zx, zy) in enumerate(zigzag):
            feature = layer.features.add()
            feature.id = point_ids[i]
            feature.type = _POINT
            feature.geometry.extend((_MOVE_TO_1, zx, zy))
            if point_properties is not None:
                tag(feature, point_properties[i])
    return tile.SerializeToString()

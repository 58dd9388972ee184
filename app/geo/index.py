"""In-memory point -> grid index: the hot path that turns a (lon, lat) into the grid it lies in.

Design (figures for the city's 65,000 grids, from bench/bench_locate.py on the 2-core box):

* A uniform raster over the grids' bounding box, cells of ``cell_m`` metres (default 100 m,
  square in metres at the box's middle latitude: 4730 x 4481 cells, 99 MB of arrays, ~140 MB
  resident with the geometry copies, built in ~2.4 s). Each cell holds one int32:
  ``>= 0`` is the single grid containing the whole cell, answered by integer arithmetic and
  one array read with no geometry test (82% of points in the city, ~0.6 us per call);
  ``-1`` means no grid touches the cell; ``<= -2`` is a boundary cell whose candidate grids
  sit in a CSR list (``_ptr``/``_cand``), ~2.1 of them on average.
* Boundary cells are answered with GEOS point-in-polygon tests, the grid containing the cell
  centre first (right 80% of the time), ~5 us per call. That is mostly cache misses: with
  65,000 polygons every test touches cold memory. For the same reason the geometries are not
  prepared: the prepared index costs more misses than it saves (measured slower from ~10 to
  2,000 vertices per grid). Halving the cell size only gains ~15% for 4x the memory.
* Classification is conservative: a cell is "interior" only if no ring of any grid comes
  within ``_EPS_CELLS`` of it, which also absorbs the rounding of the query's cell arithmetic,
  so answers equal a brute-force shapely containment test exactly.
* Points in no grid snap to the nearest grid within ``max_snap_m`` metres, measured in a local
  equirectangular frame on the WGS84 ellipsoid centred on the point (see `metres_per_degree`).

Ties: a point on an edge or vertex shared by several grids returns the smallest grid id among
the grids that touch it, whatever the cell size.

The index is immutable once built, so concurrent reads from many threads are safe; rebuild to
change it and swap the reference.

Pure module: standard library, numpy and shapely only.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import shapely
import shapely.lib

__all__ = ["GridIndex", "Hit", "IndexStats", "metres_per_degree"]

# The ufuncs themselves: the public wrappers add ~1.4 us per scalar call (a decorator that
# toggles array flags for thread safety, irrelevant for our private, never-mutated arrays).
_contains_xy = getattr(shapely.lib, "contains_xy", shapely.contains_xy)
_intersects_xy = getattr(shapely.lib, "intersects_xy", shapely.intersects_xy)

# WGS84 ellipsoid, for metric distances.
_WGS84_A = 6378137.0
_WGS84_E2 = 6.69437999014e-3

# Safety margin around every ring when classifying cells, in cell units (1e-6 of a 100 m cell is
# 0.1 mm): far above the ~1e-12 rounding of the cell arithmetic, far below any real geometry.
_EPS_CELLS = 1e-6
# Grids processed per vectorised build step: bounds the temporaries for very detailed polygons.
_BUILD_CHUNK = 8192
# Upper bound on raster cells (int32 each); a bigger box gets coarser cells instead of more RAM.
_MAX_CELLS = 60_000_000

DEFAULT_CELL_M = 100.0

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class Hit(NamedTuple):
    """One lookup answer: the grid, whether the point was outside it, and how far (metres)."""

    grid_id: int
    snapped: bool
    distance_m: float


@dataclass(frozen=True, slots=True)
class IndexStats:
    """Sizes of a built index, for benchmarks and health pages."""

    grids: int
    cell_m: float
    nx: int
    ny: int
    interior_cells: int
    boundary_cells: int
    empty_cells: int
    candidates: int
    nbytes: int


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Return metres per degree of longitude and latitude at `lat` on the WGS84 ellipsoid.

    Used as a local equirectangular projection around a point: against Vincenty geodesics the
    snap distances it gives are within 0.002% up to 1 km and 0.02% up to 10 km.
    """
    phi = math.radians(lat)
    w = math.sqrt(1.0 - _WGS84_E2 * math.sin(phi) ** 2)
    prime_vertical = _WGS84_A / w
    meridional = _WGS84_A * (1.0 - _WGS84_E2) / (w * w * w)
    k = math.pi / 180.0
    return prime_vertical * math.cos(phi) * k, meridional * k


_ORIGIN = shapely.Point(0.0, 0.0)


class GridIndex:
    """Immutable point -> grid index; build with `GridIndex.build`, query with `locate*`."""

    __slots__ = (
        "_cand",
        "_cand_arr",
        "_cell_m",
        "_cells",
        "_cells_arr",
        "_fnx",
        "_fny",
        "_geoms",
        "_geoms_arr",
        "_hits",
        "_ids",
        "_nx",
        "_ny",
        "_ptr",
        "_ptr_arr",
        "_sx",
        "_sy",
        "_tree",
        "_x0",
        "_y0",
    )

    def __init__(
        self,
        ids: IntArray,
        geoms: npt.NDArray[np.object_],
        raster: _Raster,
    ) -> None:
        """Wrap already validated, id-sorted inputs; use `build` instead."""
        self._ids = ids
        self._ids.flags.writeable = False
        self._geoms_arr = geoms
        self._geoms_arr.flags.writeable = False
        self._geoms = geoms.tolist()
        self._hits = [Hit(int(i), False, 0.0) for i in ids.tolist()]
        self._tree = None
        if len(geoms):
            # Touch every geometry and the tree once, single-threaded, so that no state GEOS
            # caches lazily is first built by concurrent readers.
            minx, miny, maxx, maxy = shapely.bounds(geoms).T
            shapely.intersects_xy(geoms, (minx + maxx) / 2.0, (miny + maxy) / 2.0)
            self._tree = shapely.STRtree(geoms)
            self._tree.query(shapely.box(minx[0], miny[0], maxx[0], maxy[0]))
        self._cell_m = raster.cell_m
        self._x0, self._y0 = raster.x0, raster.y0
        self._sx, self._sy = raster.sx, raster.sy
        self._nx, self._ny = raster.nx, raster.ny
        self._fnx, self._fny = float(raster.nx), float(raster.ny)
        self._cells_arr = raster.cells
        self._ptr_arr = raster.ptr
        self._cand_arr = raster.cand
        for arr in (raster.cells, raster.ptr, raster.cand):
            arr.flags.writeable = False
        # memoryview indexing returns plain ints about twice as fast as numpy scalar indexing.
        self._cells = memoryview(raster.cells)
        self._ptr = memoryview(raster.ptr)
        self._cand = memoryview(raster.cand)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        ids: npt.ArrayLike,
        geoms: npt.ArrayLike,
        *,
        cell_m: float = DEFAULT_CELL_M,
    ) -> GridIndex:
        """Build an index over polygonal grids; `ids` are the unique int64 grid codes."""
        id_arr = np.asarray(ids, dtype=np.int64).ravel()
        geom_arr = np.asarray(geoms, dtype=object).ravel()
        if id_arr.shape != geom_arr.shape:
            raise ValueError(f"{len(id_arr)} ids for {len(geom_arr)} geometries")
        if not cell_m > 0:
            raise ValueError(f"cell_m must be positive, got {cell_m!r}")
        order = np.argsort(id_arr, kind="stable")
        id_arr = id_arr[order]
        geom_arr = geom_arr[order]
        if len(id_arr) > 1 and bool((id_arr[1:] == id_arr[:-1]).any()):
            dup = id_arr[1:][id_arr[1:] == id_arr[:-1]][0]
            raise ValueError(f"duplicate grid id {dup}")
        _check_polygonal(id_arr, geom_arr)
        # Own unprepared copies: a caller's prepared geometries would be slower here (see the
        # module docstring) and carry GEOS state that is built lazily without locking.
        geom_arr = shapely.transform(geom_arr, lambda c: c) if len(geom_arr) else geom_arr
        raster = _Raster.build(geom_arr, cell_m)
        index = cls(id_arr, geom_arr, raster)
        _return_freed_memory()
        return index

    # -- queries ------------------------------------------------------------------------------

    def locate(self, lon: float, lat: float, *, max_snap_m: float) -> Hit | None:
        """Return the grid containing (lon, lat), else the nearest within max_snap_m, else None."""
        fx = (lon - self._x0) * self._sx
        fy = (lat - self._y0) * self._sy
        # NaN fails both comparisons and falls through to _snap, which rejects it.
        if 0.0 <= fx < self._fnx and 0.0 <= fy < self._fny:
            v = self._cells[int(fy) * self._nx + int(fx)]
            if v >= 0:
                return self._hits[v]
            if v != -1:
                hit = self._locate_in_boundary_cell(-2 - v, lon, lat)
                if hit is not None:
                    return hit
        return self._snap(lon, lat, max_snap_m)

    def _locate_in_boundary_cell(self, b: int, lon: float, lat: float) -> Hit | None:
        """Test a boundary cell's candidates; None if the point lies in none of them."""
        start = self._ptr[b]
        end = self._ptr[b + 1]
        cand = self._cand
        geoms = self._geoms
        # Interiors never overlap, so the first strict containment is the answer; the list
        # starts with the grid holding the cell centre, the likeliest one.
        for j in range(start, end):
            g = cand[j]
            if _contains_xy(geoms[g], lon, lat):
                return self._hits[g]
        # Rare: on an edge/vertex (or in no grid). Smallest touching grid id wins, and list
        # positions are id order.
        for g in sorted(cand[start:end]):
            if _intersects_xy(geoms[g], lon, lat):
                return self._hits[g]
        return None

    def _snap(self, lon: float, lat: float, max_snap_m: float) -> Hit | None:
        """Return the nearest grid within max_snap_m metres of a point that lies in none."""
        if self._tree is None or not max_snap_m > 0:
            return None
        if not (math.isfinite(lon) and abs(lat) < 89.0):
            return None
        kx, ky = metres_per_degree(lat)
        # 1% wider than the radius: the metric frame is only locally exact, the test below is.
        rx = max_snap_m * 1.01 / kx
        ry = max_snap_m * 1.01 / ky
        near = self._tree.query(shapely.box(lon - rx, lat - ry, lon + rx, lat + ry))
        if len(near) == 0:
            return None
        near.sort()
        local = shapely.transform(self._geoms_arr[near], lambda c: (c - (lon, lat)) * (kx, ky))
        dist = shapely.distance(_ORIGIN, local)
        best = int(np.argmin(dist))  # first minimum: the smallest id on ties
        d = float(dist[best])
        if d > max_snap_m:
            return None
        return Hit(int(self._ids[near[best]]), True, d)

    def locate_many(
        self, lons: npt.ArrayLike, lats: npt.ArrayLike, *, max_snap_m: float
    ) -> tuple[IntArray, FloatArray]:
        """Vectorised `locate`: (grid ids, -1 for none; distances in m, 0 inside, NaN for none)."""
        x = np.asarray(lons, dtype=np.float64)
        y = np.asarray(lats, dtype=np.float64)
        if x.shape != y.shape:
            raise ValueError(f"lons and lats differ in shape: {x.shape} vs {y.shape}")
        shape = x.shape
        x = x.ravel()
        y = y.ravel()
        n = len(x)
        found = np.full(n, -1, dtype=np.int64)  # grid positions, not ids, until the end
        dist = np.full(n, np.nan)
        with np.errstate(invalid="ignore"):
            fx = (x - self._x0) * self._sx
            fy = (y - self._y0) * self._sy
            inside = (fx >= 0.0) & (fx < self._fnx) & (fy >= 0.0) & (fy < self._fny)
        pts = np.flatnonzero(inside)
        v = self._cells_arr[fy[pts].astype(np.int64) * self._nx + fx[pts].astype(np.int64)]
        interior = v >= 0
        found[pts[interior]] = v[interior]
        dist[pts[interior]] = 0.0
        boundary = v <= -2
        if boundary.any():
            bpts = pts[boundary]
            g = self._locate_many_in_boundary_cells(-2 - v[boundary], x[bpts], y[bpts])
            found[bpts] = g
            dist[bpts[g >= 0]] = 0.0
        ids = np.full(n, -1, dtype=np.int64)
        ok = found >= 0
        ids[ok] = self._ids[found[ok]]
        for i in np.flatnonzero(found < 0).tolist():
            hit = self._snap(float(x[i]), float(y[i]), max_snap_m)
            if hit is not None:
                ids[i] = hit.grid_id
                dist[i] = hit.distance_m
        return ids.reshape(shape), dist.reshape(shape)

    def _locate_many_in_boundary_cells(
        self, cells: IntArray, x: FloatArray, y: FloatArray
    ) -> IntArray:
        """Vectorised `_locate_in_boundary_cell`: grid positions, -1 where none applies."""
        starts = self._ptr_arr[cells].astype(np.int64)
        counts = self._ptr_arr[cells + 1] - starts
        owner = np.repeat(np.arange(len(cells)), counts)
        offset = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        cand = self._cand_arr[np.repeat(starts, counts) + offset].astype(np.int64)
        out = np.full(len(cells), -1, dtype=np.int64)
        hit = shapely.contains_xy(self._geoms_arr[cand], x[owner], y[owner])
        # The first True per point in list order, as in the scalar path.
        first_pair = _first_per_owner(owner, hit)
        out[owner[first_pair]] = cand[first_pair]
        rest = out[owner] < 0
        if rest.any():
            owner, cand = owner[rest], cand[rest]
            order = np.lexsort((cand, owner))  # ids ascending within each point
            owner, cand = owner[order], cand[order]
            hit = shapely.intersects_xy(self._geoms_arr[cand], x[owner], y[owner])
            first_pair = _first_per_owner(owner, hit)
            out[owner[first_pair]] = cand[first_pair]
        return out

    # -- introspection ------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of grids."""
        return len(self._ids)

    @property
    def ids(self) -> IntArray:
        """The grid ids, ascending (read-only)."""
        return self._ids

    @property
    def stats(self) -> IndexStats:
        """Raster sizes and memory, for benchmarks and monitoring."""
        cells = self._cells_arr
        interior = int(np.count_nonzero(cells >= 0))
        empty = int(np.count_nonzero(cells == -1))
        arrays = (self._cells_arr, self._ptr_arr, self._cand_arr, self._ids)
        return IndexStats(
            grids=len(self._ids),
            cell_m=self._cell_m,
            nx=self._nx,
            ny=self._ny,
            interior_cells=interior,
            boundary_cells=len(cells) - interior - empty,
            empty_cells=empty,
            candidates=len(self._cand_arr),
            nbytes=sum(a.nbytes for a in arrays),
        )


def _return_freed_memory() -> None:
    """Hand the build's freed temporaries back to the OS, where the C library allows it.

    glibc raises its mmap threshold as big arrays are freed, so later build temporaries land on
    the heap and stay mapped after release: ~160 MB of resident memory per build for the city.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc
        return
    trim(0)


def _first_per_owner(owner: IntArray, hit: npt.NDArray[np.bool_]) -> IntArray:
    """Positions of the first True per owner in a pair list grouped by owner."""
    true_pos = np.flatnonzero(hit)
    o = owner[true_pos]
    return true_pos[np.concatenate(([True], o[1:] != o[:-1]))] if len(o) else true_pos


def _sorted_unique(a: IntArray) -> IntArray:
    """np.unique by sorting: numpy 2.4's default hash-based unique is ~10x slower here."""
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if len(a) else a


def _check_polygonal(ids: IntArray, geoms: npt.NDArray[np.object_]) -> None:
    """Reject anything but non-empty (Multi)Polygons, naming the first offending grid."""
    if len(geoms) == 0:
        return
    kind = shapely.get_type_id(geoms)
    polygonal = (kind == shapely.GeometryType.POLYGON) | (kind == shapely.GeometryType.MULTIPOLYGON)
    bad = ~polygonal | shapely.is_empty(geoms)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(f"grid {ids[first]} is not a non-empty (Multi)Polygon: {geoms[first]!r}")
    if not np.isfinite(shapely.bounds(geoms)).all():
        raise ValueError("grid coordinates must be finite")


@dataclass(frozen=True, slots=True)
class _Raster:
    """The cell raster and the boundary cells' candidate lists (CSR)."""

    cell_m: float
    x0: float
    y0: float
    sx: float  # cells per degree of longitude
    sy: float  # cells per degree of latitude
    nx: int
    ny: int
    cells: npt.NDArray[np.int32]
    ptr: npt.NDArray[np.int32]
    cand: npt.NDArray[np.int32]

    @classmethod
    def build(cls, geoms: npt.NDArray[np.object_], cell_m: float) -> _Raster:
        """Classify every cell as interior/empty/boundary and list boundary cells' grids."""
        empty = np.zeros(0, dtype=np.int32)
        if len(geoms) == 0:
            return cls(cell_m, 0.0, 0.0, 1.0, 1.0, 0, 0, empty, np.zeros(1, np.int32), empty)
        minx, miny, maxx, maxy = shapely.total_bounds(geoms).tolist()
        kx, ky = metres_per_degree((miny + maxy) / 2.0)
        while True:
            dx, dy = cell_m / kx, cell_m / ky
            # One spare cell on every side: every point touching a grid falls inside the raster.
            nx = int(math.ceil((maxx - minx) / dx)) + 2
            ny = int(math.ceil((maxy - miny) / dy)) + 2
            if nx * ny <= _MAX_CELLS:
                break
            cell_m *= math.sqrt(nx * ny / _MAX_CELLS) * 1.01
        x0, y0 = minx - dx, miny - dy
        sx, sy = 1.0 / dx, 1.0 / dy
        n_cells = nx * ny

        parts, part_owner = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_owner = part_owner[ring_part]

        labels = np.full(n_cells, -1, dtype=np.int32)  # grid holding each cell centre
        pair_chunks: list[IntArray] = []  # (cell * n_grids + grid) keys of touching pairs
        n_grids = len(geoms)
        ring_bounds = np.searchsorted(ring_owner, np.arange(0, n_grids, _BUILD_CHUNK))
        ring_bounds = np.append(ring_bounds, len(rings))
        for lo, hi in zip(ring_bounds[:-1].tolist(), ring_bounds[1:].tolist(), strict=True):
            coords, coord_ring = shapely.get_coordinates(rings[lo:hi], return_index=True)
            u = (coords[:, 0] - x0) * sx
            v = (coords[:, 1] - y0) * sy
            same = coord_ring[1:] == coord_ring[:-1]
            seg_owner = ring_owner[lo:hi][coord_ring[:-1][same]]
            u0, u1 = u[:-1][same], u[1:][same]
            v0, v1 = v[:-1][same], v[1:][same]
            pair_chunks.append(_touching_pairs(u0, v0, u1, v1, seg_owner, nx, ny, n_grids))
            pair_chunks.append(_fill_centres(u0, v0, u1, v1, seg_owner, nx, ny, labels, n_grids))

        keys = _sorted_unique(np.concatenate(pair_chunks))
        del pair_chunks
        pair_cell = keys // n_grids
        bcells = pair_cell[np.concatenate(([True], pair_cell[1:] != pair_cell[:-1]))]
        # The grid holding the centre is a candidate too: with overlapping or sliver-ridden
        # input, a ring may cross a cell lying wholly inside a grid whose own rings stay clear.
        centre = labels[bcells].astype(np.int64)
        centre_keys = (bcells * n_grids + centre)[centre >= 0]
        at = np.searchsorted(keys, centre_keys)
        missing = keys[np.minimum(at, len(keys) - 1)] != centre_keys
        keys = np.insert(keys, at[missing], centre_keys[missing])
        pair_cell = keys // n_grids
        pair_grid = keys % n_grids
        # Centre grid first within each cell (a stable sort keeps the rest in id order).
        not_centre = pair_grid != labels[pair_cell]
        order = np.argsort(pair_cell * 2 + not_centre, kind="stable")
        pair_cell = pair_cell[order]
        pair_grid = pair_grid[order]

        if len(pair_grid) >= 2**31 - 1:
            raise ValueError("too many boundary candidates: use a larger cell_m")
        cells = labels
        cells[bcells] = -2 - np.arange(len(bcells), dtype=np.int32)
        ptr = np.searchsorted(pair_cell, np.append(bcells, n_cells)).astype(np.int32)
        cand = pair_grid.astype(np.int32)
        return cls(cell_m, x0, y0, sx, sy, nx, ny, cells, ptr, cand)


def _touching_pairs(
    u0: FloatArray,
    v0: FloatArray,
    u1: FloatArray,
    v1: FloatArray,
    owner: IntArray,
    nx: int,
    ny: int,
    n_grids: int,
) -> IntArray:
    """Keys (cell * n_grids + grid) of every cell that a ring segment comes within eps of.

    Segments are cut into pieces at most one cell long; a piece can only touch the <= 3x3
    cells of its eps-widened bounding box, and a separating-axis test drops the box cells the
    piece's line passes clear of (those matter: every spare boundary cell costs GEOS calls).
    """
    du = u1 - u0
    dv = v1 - v0
    n_pieces = np.maximum(np.ceil(np.maximum(np.abs(du), np.abs(dv))), 1.0).astype(np.int64)
    seg = np.repeat(np.arange(len(u0)), n_pieces)
    j = np.arange(len(seg)) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    k = n_pieces[seg]
    pu0 = u0[seg] + du[seg] * (j / k)
    pv0 = v0[seg] + dv[seg] * (j / k)
    pu1 = u0[seg] + du[seg] * ((j + 1) / k)
    pv1 = v0[seg] + dv[seg] * ((j + 1) / k)
    p_owner = owner[seg]
    ix0 = np.floor(np.minimum(pu0, pu1) - _EPS_CELLS).astype(np.int64).clip(0, nx - 1)
    ix1 = np.floor(np.maximum(pu0, pu1) + _EPS_CELLS).astype(np.int64).clip(0, nx - 1)
    iy0 = np.floor(np.minimum(pv0, pv1) - _EPS_CELLS).astype(np.int64).clip(0, ny - 1)
    iy1 = np.floor(np.maximum(pv0, pv1) + _EPS_CELLS).astype(np.int64).clip(0, ny - 1)
    # A piece whose widened box lies in one cell touches just that cell (the common case for
    # detailed rings); only the others need the corner test.
    single = (ix0 == ix1) & (iy0 == iy1)
    out = [(iy0[single] * nx + ix0[single]) * n_grids + p_owner[single]]
    multi = ~single
    ix0, ix1, iy0, iy1 = ix0[multi], ix1[multi], iy0[multi], iy1[multi]
    pu0, pv0, p_owner = pu0[multi], pv0[multi], p_owner[multi]
    pdu = pu1[multi] - pu0
    pdv = pv1[multi] - pv0
    # The widened box reaches at most eps * sqrt(2) further along the normal; 2 * eps, scaled
    # to the cross product's units, covers that.
    tol = 2.0 * _EPS_CELLS * np.hypot(pdu, pdv)
    for a in range(3):
        for b in range(3):
            m = (ix0 + a <= ix1) & (iy0 + b <= iy1)
            cx = ix0[m] + a
            cy = iy0[m] + b
            # Cross products of the piece direction with the four cell corners: if all lie
            # beyond tol on one side, the line (hence the piece) misses the widened cell.
            ru = cx - pu0[m]
            rv = cy - pv0[m]
            su, sv, t = pdu[m], pdv[m], tol[m]
            c00 = su * rv - sv * ru
            c10 = c00 - sv  # corner (cx + 1, cy)
            c01 = c00 + su  # corner (cx, cy + 1)
            c11 = c00 + su - sv
            lo = np.minimum(np.minimum(c00, c10), np.minimum(c01, c11))
            hi = np.maximum(np.maximum(c00, c10), np.maximum(c01, c11))
            touch = (lo <= t) & (hi >= -t)
            out.append((cy[touch] * nx + cx[touch]) * n_grids + p_owner[m][touch])
    return _sorted_unique(np.concatenate(out))


def _fill_centres(
    u0: FloatArray,
    v0: FloatArray,
    u1: FloatArray,
    v1: FloatArray,
    owner: IntArray,
    nx: int,
    ny: int,
    labels: npt.NDArray[np.int32],
    n_grids: int,
) -> IntArray:
    """Scanline-fill `labels` with the grid containing each cell centre (even-odd rule).

    Returns extra touching-pair keys for cells whose centre two grids claim (overlapping input),
    so those cells become boundary cells resolved by exact tests instead of by write order.
    """
    vmin = np.minimum(v0, v1)
    vmax = np.maximum(v0, v1)
    # Rows whose centre (row + 0.5) lies in [vmin, vmax): the half-open rule counts a vertex
    # once, so every closed ring crosses every row an even number of times.
    r_lo = np.ceil(vmin - 0.5).astype(np.int64)
    r_hi = np.ceil(vmax - 0.5).astype(np.int64) - 1
    n_rows = np.maximum(r_hi - r_lo + 1, 0)
    seg = np.repeat(np.arange(len(u0)), n_rows)
    row = r_lo[seg] + np.arange(len(seg)) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    centre = row + 0.5
    cross = u0[seg] + (centre - v0[seg]) * ((u1[seg] - u0[seg]) / (v1[seg] - v0[seg]))
    grid = owner[seg]
    order = np.lexsort((cross, row, grid))
    cross, row, grid = cross[order], row[order], grid[order]
    # Closed rings cross each row an even number of times, so crossings pair up per grid/row.
    if len(cross) % 2 or not (
        np.array_equal(grid[0::2], grid[1::2]) and np.array_equal(row[0::2], row[1::2])
    ):
        raise RuntimeError("odd ring crossing count: corrupt geometry coordinates")
    enter, leave = cross[0::2], cross[1::2]
    row, grid = row[0::2], grid[0::2]
    c_lo = np.ceil(enter - 0.5).astype(np.int64)
    c_hi = np.ceil(leave - 0.5).astype(np.int64) - 1
    width = np.maximum(c_hi - c_lo + 1, 0)
    span = np.repeat(np.arange(len(width)), width)
    pos = row[span] * nx + c_lo[span] + np.arange(len(span))
    pos -= np.repeat(np.cumsum(width) - width, width)
    span_grid = grid[span].astype(np.int32)
    # Claims from earlier chunks, then duplicates inside this chunk (read-back after write).
    before = labels[pos]
    clash_old = before >= 0
    labels[pos] = span_grid
    clash_new = labels[pos] != span_grid
    if not (clash_old.any() or clash_new.any()):
        return np.zeros(0, dtype=np.int64)
    clash_cells = _sorted_unique(pos[clash_old | clash_new])
    in_clash = np.isin(pos, clash_cells, kind="sort")
    keys = [
        pos[in_clash] * n_grids + span_grid[in_clash],
        pos[clash_old] * n_grids + before[clash_old],
    ]
    return np.concatenate(keys)

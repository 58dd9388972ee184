"""GridIndex answers exactly what brute-force shapely containment answers, at any cell size."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import shapely

from app.geo.index import GridIndex, Hit, metres_per_degree

CENTRE = (106.55, 29.57)  # the main urban core of Chongqing
CELL_SIZES = [25.0, 100.0, 2500.0]  # finer than, about as, and much coarser than the grids


def _blob(rng: np.random.Generator, radius: float) -> shapely.Polygon:
    """An irregular, hole-free outline with a deep inlet (so clipping yields MultiPolygons)."""
    theta = np.linspace(0.0, 2.0 * math.pi, 400, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 7):
        r += rng.uniform(0.03, 0.1) * np.cos(k * theta + rng.uniform(0, 6.3))
    r *= radius
    r[(theta > 1.0) & (theta < 1.12)] *= 0.15  # the inlet
    lon = CENTRE[0] + r * np.cos(theta) / math.cos(math.radians(CENTRE[1]))
    lat = CENTRE[1] + r * np.sin(theta)
    blob = shapely.Polygon(np.column_stack([lon, lat]))
    assert blob.is_valid
    return blob


def _tiling(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi grids clipped to a blob, plus MultiPolygon grids and a grid with an enclave."""
    rng = np.random.default_rng(seed)
    blob = _blob(rng, 0.15)
    minx, miny, maxx, maxy = blob.bounds
    pts = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n, 2))
    # Denser in a core, as in the real city, so grid sizes vary by an order of magnitude.
    pts = np.concatenate([pts, rng.normal(CENTRE, 0.02, size=(n // 2, 2))])
    pts = pts[shapely.contains_xy(blob, pts[:, 0], pts[:, 1])][:n]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=blob))
    cells = shapely.intersection(cells, blob)
    cells = list(cells[~shapely.is_empty(cells)])
    tree = shapely.STRtree(cells)

    # An enclave: the neighbours of an inner cell merge into one grid with a hole.
    inner = int(tree.query(shapely.Point(CENTRE).buffer(0.05), predicate="contains")[0])
    ring = [int(i) for i in tree.query(cells[inner], predicate="touches")]
    donut = shapely.union_all([cells[i] for i in ring])
    assert isinstance(donut, shapely.Polygon) and len(donut.interiors) == 1
    # MultiPolygon grids: pairs of cells far apart become one grid.
    far = rng.choice([i for i in range(len(cells)) if i != inner and i not in ring], 40, False)
    pairs = [(int(a), int(b)) for a, b in far.reshape(-1, 2) if not cells[a].touches(cells[b])]
    drop = set(ring) | {b for _, b in pairs}
    for a, b in pairs:
        cells[a] = shapely.union(cells[a], cells[b])
    grids = [g for i, g in enumerate(cells) if i not in drop] + [donut]
    geoms = np.array(grids, dtype=object)
    ids = 500_103_001_001_000 + rng.permutation(len(geoms)).astype(np.int64) * 7
    return ids, geoms


@pytest.fixture(scope="module")
def tiling() -> tuple[np.ndarray, np.ndarray]:
    return _tiling(2500, seed=5)


@pytest.fixture(scope="module")
def brute(tiling):
    """Brute force: smallest id among the grids that intersect (contain or touch) each point."""
    ids, geoms = tiling
    tree = shapely.STRtree(geoms)

    def expected(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.full(len(x), np.iinfo(np.int64).max)
        pt, grid = tree.query(shapely.points(x, y), predicate="intersects")
        np.minimum.at(out, pt, ids[grid])
        out[out == np.iinfo(np.int64).max] = -1
        return out

    return expected


@pytest.fixture(scope="module", params=CELL_SIZES, ids=lambda c: f"cell{c:g}m")
def index(request, tiling) -> GridIndex:
    ids, geoms = tiling
    return GridIndex.build(ids, geoms, cell_m=request.param)


def _single(index: GridIndex, x: np.ndarray, y: np.ndarray, max_snap_m: float = 0.0):
    hits = [
        index.locate(a, b, max_snap_m=max_snap_m)
        for a, b in zip(x.tolist(), y.tolist(), strict=True)
    ]
    return hits, np.array([h.grid_id if h else -1 for h in hits], dtype=np.int64)


def _edge_points(geoms: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Vertices, edge midpoints, and both nudged by tiny amounts across the edges."""
    rings = shapely.get_rings(shapely.get_parts(geoms))
    coords, which = shapely.get_coordinates(rings, return_index=True)
    same = which[1:] == which[:-1]
    mids = ((coords[1:] + coords[:-1]) / 2)[same]
    vertices = np.unique(coords, axis=0)
    base = np.concatenate(
        [
            vertices[rng.choice(len(vertices), n, replace=False)],
            mids[rng.choice(len(mids), n, replace=False)],
        ]
    )
    nudged = [base + rng.choice([-1.0, 1.0], size=base.shape) * s for s in (1e-13, 1e-10, 1e-8)]
    return np.concatenate([base, *nudged])


def test_fixture_has_the_awkward_shapes(tiling):
    ids, geoms = tiling
    kinds = shapely.get_type_id(geoms)
    assert (kinds == shapely.GeometryType.MULTIPOLYGON).sum() >= 10
    assert (shapely.get_num_interior_rings(geoms) > 0).any()
    assert len(set(ids.tolist())) == len(ids) == len(geoms) > 2000
    # A tiling: no overlaps (areas add up to the union's).
    union = shapely.coverage_union_all(geoms)
    assert shapely.area(geoms).sum() == pytest.approx(union.area, rel=1e-9)


def test_random_points_match_brute_force(index, tiling, brute):
    ids, geoms = tiling
    rng = np.random.default_rng(1)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    pad = 0.01
    x = rng.uniform(minx - pad, maxx + pad, 20_000)
    y = rng.uniform(miny - pad, maxy + pad, 20_000)
    hits, found = _single(index, x, y)
    expected = brute(x, y)
    assert (expected >= 0).mean() > 0.4  # the sample really exercises containment
    np.testing.assert_array_equal(found, expected)
    assert all(h.snapped is False and h.distance_m == 0.0 for h in hits if h is not None)


def test_edges_and_vertices_return_the_smallest_touching_grid(index, tiling, brute):
    ids, geoms = tiling
    pts = _edge_points(geoms, np.random.default_rng(2), 3000)
    _, found = _single(index, pts[:, 0], pts[:, 1])
    np.testing.assert_array_equal(found, brute(pts[:, 0], pts[:, 1]))


def test_enclave_and_multipolygon_parts(index, tiling):
    ids, geoms = tiling
    donut = int(np.flatnonzero(shapely.get_num_interior_rings(geoms) > 0)[0])
    p = shapely.point_on_surface(shapely.Polygon(geoms[donut].interiors[0]))
    (enclave,) = np.flatnonzero(shapely.contains_xy(geoms, p.x, p.y))
    assert index.locate(p.x, p.y, max_snap_m=0).grid_id == ids[enclave] != ids[donut]
    p = shapely.point_on_surface(geoms[donut])
    assert index.locate(p.x, p.y, max_snap_m=0).grid_id == ids[donut]
    for i in np.flatnonzero(shapely.get_type_id(geoms) == shapely.GeometryType.MULTIPOLYGON):
        for part in geoms[i].geoms:
            p = shapely.point_on_surface(part)
            assert index.locate(p.x, p.y, max_snap_m=0) == Hit(int(ids[i]), False, 0.0)


def _vincenty(lon1: float, lat1: float, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Geodesic metres on the WGS84 ellipsoid (Vincenty's inverse formula), vectorised."""
    a, f = 6378137.0, 1 / 298.257223563
    b = a * (1 - f)
    u1 = np.arctan((1 - f) * np.tan(np.radians(lat1)))
    u2 = np.arctan((1 - f) * np.tan(np.radians(lat2)))
    big_l = np.radians(lon2 - lon1)
    lam = big_l
    for _ in range(50):
        sin_lam, cos_lam = np.sin(lam), np.cos(lam)
        sin_sigma = np.hypot(
            np.cos(u2) * sin_lam, np.cos(u1) * np.sin(u2) - np.sin(u1) * np.cos(u2) * cos_lam
        )
        cos_sigma = np.sin(u1) * np.sin(u2) + np.cos(u1) * np.cos(u2) * cos_lam
        sigma = np.arctan2(sin_sigma, cos_sigma)
        sin_alpha = np.cos(u1) * np.cos(u2) * sin_lam / sin_sigma
        cos2_alpha = 1 - sin_alpha**2
        cos_2sm = cos_sigma - 2 * np.sin(u1) * np.sin(u2) / cos2_alpha
        c = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
        lam = big_l + (1 - c) * f * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))
        )
    u_sq = cos2_alpha * (a**2 - b**2) / b**2
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    d_sigma = (
        big_b
        * sin_sigma
        * (
            cos_2sm
            + big_b
            / 4
            * (
                cos_sigma * (-1 + 2 * cos_2sm**2)
                - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
            )
        )
    )
    return b * big_a * (sigma - d_sigma)


def _geodesic_nearest(lon: float, lat: float, geoms: np.ndarray) -> np.ndarray:
    """Reference metres from a point to each polygon: Vincenty to densely sampled boundaries.

    A crude flat-earth pass first keeps only the polygons, and the stretch of their boundary,
    that can be nearest (the others get inf); sampling that stretch every ~1/500 of the reach
    overestimates by at most spacing^2 / 8d, well under 1e-4 relative.
    """
    out = np.full(len(geoms), np.inf)
    if len(geoms) == 0:
        return out
    k = math.cos(math.radians(lat))
    flat = shapely.transform(geoms, lambda c: (c - (lon, lat)) * (111_000.0 * k, 111_000.0))
    approx = shapely.distance(shapely.Point(0.0, 0.0), flat)
    reach = approx.min() * 1.05 + 10.0
    keep = np.flatnonzero(approx <= reach)
    r = reach * 1.2 / 111_000.0
    window = shapely.box(lon - r / k, lat - r, lon + r / k, lat + r)
    near_edges = shapely.intersection(shapely.boundary(geoms[keep]), window)
    near_edges = shapely.segmentize(near_edges, r / 600.0)
    coords, which = shapely.get_coordinates(near_edges, return_index=True)
    d = _vincenty(lon, lat, coords[:, 0], coords[:, 1])
    np.minimum.at(out, keep[which], d)
    return out


@pytest.fixture(scope="module")
def outside_points(tiling, brute):
    """Points in no grid, each with its geodesic distance to every grid (inf = not nearest)."""
    ids, geoms = tiling
    tree = shapely.STRtree(geoms)
    rng = np.random.default_rng(4)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    x = rng.uniform(minx - 0.03, maxx + 0.03, 3000)
    y = rng.uniform(miny - 0.03, maxy + 0.03, 3000)
    outside = brute(x, y) < 0
    cases = []
    for lon, lat in zip(x[outside][:150].tolist(), y[outside][:150].tolist(), strict=True):
        near = tree.query(shapely.box(lon - 0.03, lat - 0.03, lon + 0.03, lat + 0.03))
        cases.append((lon, lat, ids[near], _geodesic_nearest(lon, lat, geoms[near])))
    return cases


def test_outside_points_snap_to_the_nearest_grid(index, outside_points):
    max_snap_m = 1500.0
    checked_hits = checked_none = 0
    for lon, lat, near_ids, ref in outside_points:
        best = float(ref.min(initial=np.inf))
        hit = index.locate(lon, lat, max_snap_m=max_snap_m)
        if best > max_snap_m * 1.01:
            assert hit is None
            checked_none += 1
        elif best < max_snap_m * 0.99:
            assert hit is not None and hit.snapped
            # 1% is the requirement; the local frame does better than 0.1%, so hold it to that.
            assert hit.distance_m == pytest.approx(best, rel=1e-3)
            # The truly nearest grid, or one tied with it within that tolerance.
            assert ref[near_ids == hit.grid_id][0] <= best * 1.001
            checked_hits += 1
        assert index.locate(lon, lat, max_snap_m=0.0) is None
    assert checked_hits > 30 and checked_none > 10


def test_snap_limit_is_in_metres(tiling):
    ids, geoms = tiling
    index = GridIndex.build(ids, geoms)
    # 300 m due east of the easternmost vertex, on the vertex's latitude.
    coords = shapely.get_coordinates(geoms)
    lon, lat = coords[np.argmax(coords[:, 0])]
    kx, _ = metres_per_degree(lat)
    east = lon + 300.0 / kx
    hit = index.locate(east, lat, max_snap_m=310.0)
    assert hit is not None and hit.snapped
    assert hit.distance_m == pytest.approx(300.0, rel=1e-3)
    assert index.locate(east, lat, max_snap_m=290.0) is None
    assert index.locate(116.39, 39.91, max_snap_m=10_000.0) is None  # Beijing


def test_metres_per_degree_matches_known_values():
    kx, ky = metres_per_degree(0.0)
    assert kx == pytest.approx(111_319.49, abs=0.01)  # equator, WGS84
    assert ky == pytest.approx(110_574.27, abs=0.5)
    kx, ky = metres_per_degree(29.57)
    assert kx == pytest.approx(96_900, rel=2e-3)
    assert ky == pytest.approx(110_860, rel=1e-3)


def test_locate_many_equals_locate(index, tiling):
    ids, geoms = tiling
    rng = np.random.default_rng(6)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    edge = _edge_points(geoms, rng, 300)
    x = np.concatenate([rng.uniform(minx - 0.02, maxx + 0.02, 5000), edge[:, 0]])
    y = np.concatenate([rng.uniform(miny - 0.02, maxy + 0.02, 5000), edge[:, 1]])
    x = np.append(x, [np.nan, 106.5, 116.39, np.inf])
    y = np.append(y, [29.5, np.nan, 39.91, 29.5])
    found, dist = index.locate_many(x, y, max_snap_m=800.0)
    assert found.dtype == np.int64 and dist.dtype == np.float64
    for i, (lon, lat) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
        hit = index.locate(lon, lat, max_snap_m=800.0)
        if hit is None:
            assert found[i] == -1 and math.isnan(dist[i])
        else:
            assert found[i] == hit.grid_id
            assert dist[i] == pytest.approx(hit.distance_m, abs=1e-9)
    assert (found >= 0).sum() > 3000 and (dist > 0).sum() > 100
    shaped = index.locate_many(x[:6].reshape(2, 3), y[:6].reshape(2, 3), max_snap_m=0.0)
    assert shaped[0].shape == shaped[1].shape == (2, 3)


def test_axis_aligned_square_grids_on_round_coordinates():
    # Edges along rows/columns of the raster and on round numbers stress the cell arithmetic.
    step = 0.01
    xs, ys = np.meshgrid(np.arange(40), np.arange(30))
    x0, y0 = 106.0 + xs.ravel() * step, 29.0 + ys.ravel() * step
    geoms = shapely.box(x0, y0, x0 + step, y0 + step)
    ids = np.arange(len(geoms), dtype=np.int64) + 500_000_000_000_000
    tree = shapely.STRtree(geoms)
    lattice_x, lattice_y = np.meshgrid(
        np.arange(-1, 42) * step / 2 + 106.0, np.arange(-1, 32) * step / 2 + 29.0
    )
    rng = np.random.default_rng(8)
    x = np.concatenate([lattice_x.ravel(), rng.uniform(105.99, 106.41, 5000)])
    y = np.concatenate([lattice_y.ravel(), rng.uniform(28.99, 29.31, 5000)])
    pt, grid = tree.query(shapely.points(x, y), predicate="intersects")
    expected = np.full(len(x), np.iinfo(np.int64).max)
    np.minimum.at(expected, pt, ids[grid])
    expected[expected == np.iinfo(np.int64).max] = -1
    # The last size makes cells exactly 0.005 degree wide: vertical edges fall on cell borders.
    aligned = 0.005 * metres_per_degree(29.15)[0]
    for cell_m in (50.0, 1112.0, 3000.0, aligned):
        index = GridIndex.build(ids, geoms, cell_m=cell_m)
        _, found = _single(index, x, y)
        np.testing.assert_array_equal(found, expected)
        np.testing.assert_array_equal(index.locate_many(x, y, max_snap_m=0)[0], expected)


def test_overlapping_input_still_answers_a_containing_grid():
    # Not a valid tiling, but real data can have slivers: answers must stay correct.
    a = shapely.box(106.0, 29.0, 106.2, 29.2)
    b = shapely.box(106.1, 29.1, 106.3, 29.3)
    inner = shapely.box(106.05, 29.05, 106.06, 29.06)  # wholly inside a
    geoms = np.array([a, b, inner], dtype=object)
    ids = np.array([3, 1, 2], dtype=np.int64)
    index = GridIndex.build(ids, geoms, cell_m=200.0)
    rng = np.random.default_rng(9)
    x, y = rng.uniform(105.99, 106.31, 20_000), rng.uniform(28.99, 29.31, 20_000)
    _, found = _single(index, x, y)
    for lon, lat, got in zip(x.tolist(), y.tolist(), found.tolist(), strict=True):
        owners = [
            int(i) for i, g in zip(ids, geoms, strict=True) if g.intersects(shapely.Point(lon, lat))
        ]
        assert (got in owners) if owners else got == -1
    many, _ = index.locate_many(x, y, max_snap_m=0)
    np.testing.assert_array_equal(many, found)


def test_empty_index():
    index = GridIndex.build(np.array([], dtype=np.int64), np.array([], dtype=object))
    assert len(index) == 0
    assert index.locate(106.5, 29.5, max_snap_m=1000.0) is None
    found, dist = index.locate_many(np.array([106.5, 0.0]), np.array([29.5, 0.0]), max_snap_m=1e6)
    np.testing.assert_array_equal(found, [-1, -1])
    assert np.isnan(dist).all()
    assert index.stats.grids == 0


def test_rejects_bad_input():
    sq = shapely.box(106.0, 29.0, 106.1, 29.1)
    with pytest.raises(ValueError, match="duplicate"):
        GridIndex.build(np.array([1, 1]), np.array([sq, sq], dtype=object))
    with pytest.raises(ValueError, match="Polygon"):
        GridIndex.build(np.array([1]), np.array([shapely.Point(106, 29)], dtype=object))
    with pytest.raises(ValueError, match="Polygon"):
        GridIndex.build(np.array([1]), np.array([shapely.Polygon()], dtype=object))
    with pytest.raises(ValueError, match="ids for"):
        GridIndex.build(np.array([1, 2]), np.array([sq], dtype=object))
    with pytest.raises(ValueError, match="cell_m"):
        GridIndex.build(np.array([1]), np.array([sq], dtype=object), cell_m=0)


def test_build_does_not_touch_caller_geometries(tiling):
    ids, geoms = tiling
    before = geoms.copy()
    index = GridIndex.build(ids, geoms)
    assert not shapely.is_prepared(geoms).any()
    assert all(a is b for a, b in zip(before, geoms, strict=True))
    assert np.array_equal(index.ids, np.sort(ids))
    with pytest.raises(ValueError):
        index.ids[0] = 1  # read-only


def test_concurrent_readers_agree(tiling, brute):
    ids, geoms = tiling
    index = GridIndex.build(ids, geoms)
    rng = np.random.default_rng(10)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    x, y = rng.uniform(minx, maxx, 20_000), rng.uniform(miny, maxy, 20_000)
    expected = brute(x, y)
    errors: list[str] = []

    def worker(k: int) -> None:
        sl = slice(k, None, 4)
        _, found = _single(index, x[sl], y[sl])
        many, _ = index.locate_many(x[sl], y[sl], max_snap_m=0)
        if not (np.array_equal(found, expected[sl]) and np.array_equal(many, expected[sl])):
            errors.append(f"worker {k} disagreed")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_stats_describe_the_raster(tiling):
    ids, geoms = tiling
    stats = GridIndex.build(ids, geoms, cell_m=100.0).stats
    assert stats.grids == len(ids)
    assert stats.cell_m == 100.0
    assert stats.nx * stats.ny == stats.interior_cells + stats.boundary_cells + stats.empty_cells
    assert stats.candidates >= stats.boundary_cells > 0
    assert stats.nbytes >= stats.nx * stats.ny * 4

"""Benchmark point -> grid lookup: app.geo.index.GridIndex against PostGIS and a shapely STRtree.

Usage (from the repository root):

    .venv/bin/python bench/bench_locate.py [--grids instance/geodata/grids.geojson | --synthetic N]
        [--points 1000000] [--pg-points 20000] [--repeat 3] [--cell-m 100] [--json]
        [--dsn postgresql://postgres@127.0.0.1:5432/wangge_bench]

Grids come from a GeoJSON FeatureCollection (properties.code = 15-digit grid code); without
--grids the real file is used if present, else a synthetic Voronoi tiling of 65,000 grids over a
Chongqing-shaped blob, dense in the urban cores like the real city. Query points are uniform
over the union of the grids (rejection sampling over the bounding box), which is what the
>= 150,000 single lookups/s target is about; every answer is checked against brute force.

The floors: PostGIS ST_Contains, one prepared statement per point from one psycopg client, on a
GiST-indexed copy of the grids (table bench_grids, reloaded every run; the database is created
if missing), and shapely's STRtree.query(Point, predicate="intersects").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.geo.index import GridIndex  # noqa: E402

DEFAULT_GRIDS = ROOT / "instance" / "geodata" / "grids.geojson"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/wangge_bench"
TARGET_SINGLE_PER_S = 150_000
TARGET_PG_RATIO = 5.0
MAX_SNAP_M = 50.0

# Urban centres of Chongqing (lon, lat, share of the dense seeds, spread in degrees): the main
# city, then Wanzhou, Fuling, Yongchuan, Qianjiang, Hechuan.
_CENTRES = [
    (106.55, 29.57, 0.55, 0.12),
    (108.38, 30.81, 0.10, 0.05),
    (107.39, 29.70, 0.10, 0.05),
    (105.93, 29.36, 0.10, 0.05),
    (108.77, 29.53, 0.07, 0.04),
    (106.27, 29.99, 0.08, 0.05),
]


def city_blob(rng: np.random.Generator) -> shapely.Polygon:
    """A smooth irregular polygon about Chongqing's size (~82,000 km2) and SW-NE orientation."""
    theta = np.linspace(0.0, 2.0 * math.pi, 720, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 9):
        radius += rng.uniform(0.02, 0.09) / math.sqrt(k) * np.cos(k * theta + rng.uniform(0, 6.3))
    # An ellipse 2.6 x 1.05 degrees, tilted 35 degrees, around the box's middle.
    ex, ey = 2.6 * radius * np.cos(theta), 1.05 * radius * np.sin(theta)
    tilt = math.radians(35.0)
    lon = 107.55 + ex * math.cos(tilt) - ey * math.sin(tilt)
    lat = 30.05 + ex * math.sin(tilt) + ey * math.cos(tilt)
    blob = shapely.Polygon(np.column_stack([lon, lat]))
    box = shapely.box(105.2, 28.1, 110.2, 32.3)
    # Cover the urban centres in case the random outline missed one.
    cores = [shapely.Point(lon, lat).buffer(3 * spread) for lon, lat, _, spread in _CENTRES]
    return shapely.intersection(shapely.union_all([blob, *cores]), box).normalize()


def synthetic_grids(n: int, seed: int = 20240601) -> tuple[np.ndarray, np.ndarray]:
    """A Voronoi tiling of n grids clipped to the city blob: (ids int64, polygons)."""
    rng = np.random.default_rng(seed)
    blob = city_blob(rng)
    shapely.prepare(blob)
    minx, miny, maxx, maxy = blob.bounds
    seeds: list[np.ndarray] = []
    have = 0
    dense = int(n * 0.45)
    for lon, lat, share, spread in _CENTRES:
        want = int(dense * share)
        while want > 0:
            cand = rng.normal((lon, lat), spread, size=(want * 2 + 1000, 2))
            cand = cand[shapely.contains_xy(blob, cand[:, 0], cand[:, 1])][:want]
            seeds.append(cand)
            want -= len(cand)
            have += len(cand)
    while have < n:
        cand = rng.uniform((minx, miny), (maxx, maxy), size=(2 * (n - have), 2))
        cand = cand[shapely.contains_xy(blob, cand[:, 0], cand[:, 1])][: n - have]
        seeds.append(cand)
        have += len(cand)
    pts = np.concatenate(seeds)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=blob))
    inside = shapely.contains(blob, cells)
    cells[~inside] = shapely.intersection(cells[~inside], blob)
    cells = cells[~shapely.is_empty(cells)]
    cells = cells[np.isin(shapely.get_type_id(cells), (3, 6))]
    ids = 500_101_001_000_000 + rng.permutation(len(cells)).astype(np.int64) * 13
    return ids, cells


def load_geojson(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a FeatureCollection of grids: (ids from properties.code, geometries)."""
    with path.open(encoding="utf-8") as f:
        features = json.load(f)["features"]
    ids = np.array([int(feat["properties"]["code"]) for feat in features], dtype=np.int64)
    geoms = shapely.from_geojson([json.dumps(feat["geometry"]) for feat in features])
    return ids, np.asarray(geoms, dtype=object)


def brute_force(tree: shapely.STRtree, ids: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smallest id of the grids that intersect each point (-1 for none), by STRtree query."""
    out = np.full(len(x), np.iinfo(np.int64).max, dtype=np.int64)
    pt_idx, grid_idx = tree.query(shapely.points(x, y), predicate="intersects")
    np.minimum.at(out, pt_idx, ids[grid_idx])
    out[out == np.iinfo(np.int64).max] = -1
    return out


def sample_points(
    tree: shapely.STRtree, ids: np.ndarray, bounds: tuple[float, ...], n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n points uniform over the union of the grids (rejection sampling), with expected ids."""
    rng = np.random.default_rng(seed)
    xs, ys, exp = [], [], []
    have = 0
    while have < n:
        m = max(1000, int((n - have) * 1.2))
        x = rng.uniform(bounds[0], bounds[2], m)
        y = rng.uniform(bounds[1], bounds[3], m)
        e = brute_force(tree, ids, x, y)
        keep = e >= 0
        xs.append(x[keep])
        ys.append(y[keep])
        exp.append(e[keep])
        have += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n], np.concatenate(exp)[:n]


def bench_single(index: GridIndex, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Time one locate() call per point from a Python loop: (lookups/s, ids found)."""
    locate = index.locate
    xl, yl = x.tolist(), y.tolist()
    t0 = time.perf_counter()
    hits = [locate(a, b, max_snap_m=MAX_SNAP_M) for a, b in zip(xl, yl, strict=True)]
    elapsed = time.perf_counter() - t0
    found = np.array([h.grid_id if h is not None else -1 for h in hits], dtype=np.int64)
    return len(xl) / elapsed, found


def bench_many(index: GridIndex, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Time one locate_many() call over all points: (lookups/s, ids found)."""
    t0 = time.perf_counter()
    found, _ = index.locate_many(x, y, max_snap_m=MAX_SNAP_M)
    return len(x) / (time.perf_counter() - t0), found


def bench_strtree(tree: shapely.STRtree, x: np.ndarray, y: np.ndarray) -> float:
    """Time one STRtree.query(Point, predicate='intersects') per point: lookups/s."""
    query = tree.query
    point = shapely.Point
    xl, yl = x.tolist(), y.tolist()
    t0 = time.perf_counter()
    for a, b in zip(xl, yl, strict=True):
        query(point(a, b), predicate="intersects")
    return len(xl) / (time.perf_counter() - t0)


def bench_postgis(
    dsn: str, ids: np.ndarray, geoms: np.ndarray, x: np.ndarray, y: np.ndarray, expected: np.ndarray
) -> dict[str, Any]:
    """Load the grids into PostGIS (GiST) and time one prepared ST_Contains query per point."""
    try:
        import psycopg
        from psycopg import sql
        from psycopg.conninfo import conninfo_to_dict, make_conninfo
    except ImportError as exc:
        return {"available": False, "reason": f"psycopg missing: {exc}"}
    try:
        dbname = conninfo_to_dict(dsn).get("dbname") or "postgres"
        with psycopg.connect(make_conninfo(dsn, dbname="postgres"), autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if exists.fetchone() is None:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        return {"available": False, "reason": "cannot connect: " + " ".join(str(exc).split())}
    with conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            return {"available": False, "reason": "no PostGIS: " + " ".join(str(exc).split())}
        t0 = time.perf_counter()
        conn.execute("DROP TABLE IF EXISTS bench_grids")
        conn.execute(
            "CREATE TABLE bench_grids (code bigint PRIMARY KEY,"
            " geom geometry(Geometry, 4326) NOT NULL)"
        )
        ewkb = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)
        with conn.cursor().copy("COPY bench_grids (code, geom) FROM STDIN") as copy:
            for code, geom in zip(ids.tolist(), ewkb.tolist(), strict=True):
                copy.write_row((code, geom))
        conn.execute("CREATE INDEX bench_grids_geom ON bench_grids USING gist (geom)")
        conn.execute("ANALYZE bench_grids")
        load_s = time.perf_counter() - t0
        query = (
            "SELECT code FROM bench_grids"
            " WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) LIMIT 1"
        )
        cur = conn.cursor()
        xl, yl = x.tolist(), y.tolist()
        for a, b in zip(xl[:50], yl[:50], strict=True):  # warm caches and the prepared plan
            cur.execute(query, (a, b), prepare=True)
            cur.fetchone()
        found = np.full(len(xl), -1, dtype=np.int64)
        t0 = time.perf_counter()
        for i, (a, b) in enumerate(zip(xl, yl, strict=True)):
            cur.execute(query, (a, b), prepare=True)
            row = cur.fetchone()
            if row is not None:
                found[i] = row[0]
        rate = len(xl) / (time.perf_counter() - t0)
        version = conn.execute("SELECT postgis_lib_version()").fetchone()
    return {
        "available": True,
        "postgis": version[0] if version else None,
        "load_s": round(load_s, 2),
        "points": len(xl),
        "per_s": rate,
        "mismatches": int(np.count_nonzero(found != expected)),
    }


def _rss_mb() -> float:
    """Current resident set size of this process (Linux), in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rate(result: tuple[float, np.ndarray]) -> float:
    """Sort key: the rate of a (rate, found) pair."""
    return result[0]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grids", type=Path, help=f"GeoJSON of grids (default {DEFAULT_GRIDS})")
    ap.add_argument(
        "--synthetic",
        type=int,
        metavar="N",
        help="use a synthetic tiling of N grids (the fallback, with 65,000, when no file exists)",
    )
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--pg-points", type=int, default=20_000, help="0 skips PostGIS")
    ap.add_argument("--strtree-points", type=int, default=200_000)
    ap.add_argument("--dsn", default=DEFAULT_DSN)
    ap.add_argument("--cell-m", type=float, default=None, help="raster cell size in metres")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="best of N for the in-process rates")
    ap.add_argument("--json", action="store_true", help="print machine-readable results only")
    args = ap.parse_args(argv)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))

    t0 = time.perf_counter()
    path = args.grids or (DEFAULT_GRIDS if DEFAULT_GRIDS.exists() else None)
    if path is not None and not path.exists():
        ap.error(f"no such file: {path}")
    if path is None or args.synthetic:
        ids, geoms = synthetic_grids(args.synthetic or 65_000)
        source = "synthetic Voronoi tiling"
    else:
        ids, geoms = load_geojson(path)
        source = str(path)
    say(f"grids: {source}, loaded in {time.perf_counter() - t0:.1f}s")

    build_kw = {} if args.cell_m is None else {"cell_m": args.cell_m}
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    index = GridIndex.build(ids, geoms, **build_kw)
    build_s = time.perf_counter() - t0
    rss_index = _rss_mb() - rss_before
    peak_build = _peak_rss_mb() - rss_before
    stats = index.stats
    say(f"index built in {build_s:.2f}s: {stats}")

    tree = shapely.STRtree(geoms)
    bounds = tuple(shapely.total_bounds(geoms).tolist())
    say(f"sampling {args.points} points uniform over the union of the grids ...")
    x, y, expected = sample_points(tree, ids, bounds, args.points, args.seed)

    say("timing locate(), locate_many() and STRtree.query ...")
    repeat = max(1, args.repeat)
    single_rate, single_found = max((bench_single(index, x, y) for _ in range(repeat)), key=_rate)
    many_rate, many_found = max((bench_many(index, x, y) for _ in range(repeat)), key=_rate)
    k = min(args.strtree_points, len(x))
    strtree_rate = max(bench_strtree(tree, x[:k], y[:k]) for _ in range(repeat))
    results: dict[str, Any] = {
        "grids": len(ids),
        "source": source,
        "points": len(x),
        "points_domain": "uniform over the union of the grids",
        "build_s": build_s,
        "index": {
            "cell_m": stats.cell_m,
            "raster": [stats.nx, stats.ny],
            "interior_cells": stats.interior_cells,
            "boundary_cells": stats.boundary_cells,
            "empty_cells": stats.empty_cells,
            "candidates": stats.candidates,
            "mbytes": stats.nbytes / 2**20,
            "rss_mb": rss_index,
            "build_peak_extra_mb": peak_build,
        },
        "single_per_s": single_rate,
        "single_mismatches": int(np.count_nonzero(single_found != expected)),
        "many_per_s": many_rate,
        "many_mismatches": int(np.count_nonzero(many_found != expected)),
        "strtree_points": k,
        "strtree_per_s": strtree_rate,
    }
    if args.pg_points > 0:
        m = min(args.pg_points, len(x))
        say(f"PostGIS: loading {len(ids)} grids and querying {m} points ...")
        results["postgis"] = bench_postgis(args.dsn, ids, geoms, x[:m], y[:m], expected[:m])
    else:
        results["postgis"] = {"available": False, "reason": "skipped (--pg-points 0)"}
    pg = results["postgis"]
    results["ratio_single_vs_postgis"] = single_rate / pg["per_s"] if pg["available"] else None
    results["ratio_single_vs_target"] = single_rate / TARGET_SINGLE_PER_S

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
    return 0


def print_table(r: dict[str, Any]) -> None:
    """Human-readable summary of a results dict."""
    idx = r["index"]
    rows = [
        ("grids", f"{r['grids']:,} ({r['source']})"),
        ("query points", f"{r['points']:,}, {r['points_domain']}"),
        ("index build", f"{r['build_s']:.2f} s"),
        (
            "index raster",
            f"{idx['cell_m']:.0f} m cells, {idx['raster'][0]}x{idx['raster'][1]}, "
            f"{idx['boundary_cells']:,} boundary / {idx['interior_cells']:,} interior, "
            f"arrays {idx['mbytes']:.0f} MB, process RSS +{idx['rss_mb']:.0f} MB "
            f"(peak +{idx['build_peak_extra_mb']:.0f} MB while building)",
        ),
        (
            "locate() single",
            f"{r['single_per_s']:>12,.0f} /s  ({1e6 / r['single_per_s']:.2f} us, "
            f"{r['single_mismatches']} mismatches vs brute force)",
        ),
        (
            "locate_many() bulk",
            f"{r['many_per_s']:>12,.0f} /s  ({r['many_mismatches']} mismatches)",
        ),
        (
            "STRtree.query single",
            f"{r['strtree_per_s']:>12,.0f} /s  (over {r['strtree_points']:,} points)",
        ),
    ]
    pg = r["postgis"]
    if pg["available"]:
        rows.append(
            (
                "PostGIS ST_Contains",
                f"{pg['per_s']:>12,.0f} /s  (PostGIS {pg['postgis']}, {pg['points']:,} points, "
                f"{pg['mismatches']} mismatches, load {pg['load_s']} s)",
            )
        )
    else:
        rows.append(("PostGIS ST_Contains", f"not measured: {pg['reason']}"))
    width = max(len(k) for k, _ in rows)
    for key, val in rows:
        print(f"{key:<{width}}  {val}")
    if r["ratio_single_vs_postgis"] is not None:
        ok = "ok" if r["ratio_single_vs_postgis"] >= TARGET_PG_RATIO else "BELOW TARGET"
        print(
            f"index single / PostGIS: {r['ratio_single_vs_postgis']:.1f}x "
            f"(target >= {TARGET_PG_RATIO:.0f}x: {ok})"
        )
    ok = "ok" if r["ratio_single_vs_target"] >= 1.0 else "BELOW TARGET"
    print(
        f"index single vs {TARGET_SINGLE_PER_S:,}/s target: "
        f"{r['ratio_single_vs_target']:.1f}x ({ok})"
    )


if __name__ == "__main__":
    raise SystemExit(main())

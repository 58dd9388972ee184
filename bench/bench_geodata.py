"""Full-city geodata: build time, and load time into SQLite and PostGIS.

Floors, measured in the same run: for the build, writing the same features as GeoJSON
(the I/O any generator must do); for each load, a bare INSERT of the same (id, WKB) rows
into a table of the same shape through the database driver (the cost of the data itself).

    .venv/bin/python bench/bench_geodata.py [--pg URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time

from common import DEFAULT_PG, fresh_postgres, make_app, report, temp_dir, timed  # noqa: I001

LIMIT_S = 60.0


def build(results: dict, out) -> None:
    from geodata.build import build as build_city

    with timed(results, "build_s"):
        build_city(out)
    # Floor: re-serialise the same four layers (parse excluded).
    layers = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.geojson")}
    started = time.perf_counter()
    for name, collection in layers.items():
        (out / f"floor-{name}").write_text(
            json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )
    results["build_floor_s"] = round(time.perf_counter() - started, 3)
    for path in out.glob("floor-*"):
        path.unlink()


def _rows(out):
    import shapely

    rows = []
    for name in ("districts", "townships", "villages", "grids"):
        collection = json.loads((out / f"{name}.geojson").read_text(encoding="utf-8"))
        geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in collection["features"]])
        for feature, geom in zip(collection["features"], geoms, strict=True):
            rows.append((int(feature["properties"]["code"]), feature["properties"]["name"], geom))
    return rows


def load(results: dict, out, database_url: str, key: str, instance) -> None:
    from app.extensions import db
    from app.geo.loader import load as load_city

    app = make_app(database_url, instance)
    with app.app_context():
        with timed(results, f"load_{key}_s"):
            load_city(out, force=True)
            db.session.commit()
        db.engine.dispose()


def floor_sqlite(results: dict, rows, path) -> None:
    import shapely

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, geom BLOB)")
    started = time.perf_counter()
    conn.executemany(
        "INSERT INTO t VALUES (?, ?, ?)", ((i, n, shapely.to_wkb(g)) for i, n, g in rows)
    )
    conn.commit()
    results["load_sqlite_floor_s"] = round(time.perf_counter() - started, 3)
    conn.close()


def floor_postgres(results: dict, rows, url: str) -> None:
    import psycopg
    import shapely

    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE floor_t "
            "(id bigint PRIMARY KEY, name text, geom geometry(MultiPolygon, 4326))"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY floor_t (id, name, geom) FROM STDIN") as copy:
            for i, n, g in rows:
                if g.geom_type == "Polygon":
                    g = shapely.MultiPolygon([g])
                g = shapely.set_srid(g, 4326)
                copy.write_row((i, n, shapely.to_wkb(g, hex=True, include_srid=True)))
        conn.commit()
        results["load_postgres_floor_s"] = round(time.perf_counter() - started, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: dict = {}
    work = temp_dir("wangge-bench-geodata-")
    out = work / "geodata"
    out.mkdir()
    build(results, out)
    rows = _rows(out)
    results["features"] = len(rows)

    load(results, out, f"sqlite:///{work / 'bench.db'}", "sqlite", work / "instance-sqlite")
    floor_sqlite(results, rows, work / "floor.db")
    pg = fresh_postgres(args.pg)
    if pg:
        load(results, out, pg, "postgres", work / "instance-pg")
        floor_postgres(results, rows, pg)

    lines = [
        ("features", f"{results['features']:,}"),
        (
            "build",
            f"{results['build_s']:.1f} s (limit {LIMIT_S:.0f} s); GeoJSON-writing floor "
            f"{results['build_floor_s']:.1f} s → "
            f"{results['build_s'] / results['build_floor_s']:.1f}× floor",
        ),
        (
            "load SQLite",
            f"{results['load_sqlite_s']:.1f} s (limit {LIMIT_S:.0f} s); bare INSERT floor "
            f"{results['load_sqlite_floor_s']:.1f} s → "
            f"{results['load_sqlite_s'] / results['load_sqlite_floor_s']:.1f}× floor",
        ),
    ]
    if pg:
        lines.append(
            (
                "load PostGIS",
                f"{results['load_postgres_s']:.1f} s (limit {LIMIT_S:.0f} s); bare COPY floor "
                f"{results['load_postgres_floor_s']:.1f} s → "
                f"{results['load_postgres_s'] / results['load_postgres_floor_s']:.1f}× floor",
            )
        )
    else:
        lines.append(("load PostGIS", "not measured: PostgreSQL + PostGIS unavailable"))
    report("Geodata build and load (full city)", lines, results, args.json)


if __name__ == "__main__":
    main()

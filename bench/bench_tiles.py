"""Vector tiles of the full city: time and bytes per tile at z8/z10/z12/z14, cold and cached,
on SQLite (app.geo.mvt) and PostGIS (ST_AsMVT), against floors measured in the same run.

    .venv/bin/python bench/bench_tiles.py [--geodata DIR] [--layer grid] [--tiles 12]
        [--pg postgresql://postgres@127.0.0.1:5432/wangge_bench_tiles] [--no-pg] [--json]

Geodata: DIR (default instance/geodata, what `flask geodata build` makes); if it has not been
built, the full city is built into a temporary directory first (~10 s). Each database is
loaded with it, as `flask geodata load` does.

Tiles: at each zoom, the --tiles tiles of the layer with the most areas (where time and bytes
peak; at z8 that is the whole city). Every request goes through the app's test client: token
auth, ETag, gzip and the file cache. Cold: the tile cache is empty (on SQLite the layer's
in-memory copy is already loaded; its load time is reported once). Cached: the same request
again, served from the file.

Floors, same tiles, same run:
  SQLite cold   the bare shapely work any Python renderer must do: the STRtree query and
                clip_by_rect of the candidates (already in EPSG:3857, in memory);
  PostGIS cold  a bare SELECT ST_AsMVT(ST_AsMVTGeom(...)) of the same tile: ids only, default
                extent and buffer, no simplification, through the same SQLAlchemy session;
  cached        a bare Flask route returning the same gzipped bytes read from a file.
Also reported: how many features the two databases disagree on in the measured tiles, the
bytes the console downloads for the whole city at z8 (every layer, gzipped), and the boundary
pictures (/tiles/boundaries/{z}/{x}/{y}.png: the city at z7, the same tiles at z8 and z10),
drawn with their vector tiles cached, against rendering those three vector tiles cold.
"""

from __future__ import annotations

import argparse
import gzip
import math
import shutil
import statistics
import sys
import time
from pathlib import Path

from common import DEFAULT_PG, city_geodata, fresh_postgres, make_app, report, temp_dir  # noqa: I001

ZOOMS = (8, 10, 12, 14)
PASSWORD = "Bench@2026-tiles"
DEFAULT_PG_TILES = DEFAULT_PG.rsplit("/", 1)[0] + "/wangge_bench_tiles"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _centroids(geodata: Path, layer: str) -> list[tuple[float, float]]:
    import shapely

    text = (geodata / f"{layer}s.geojson").read_text(encoding="utf-8")
    centres = shapely.centroid(shapely.get_parts(shapely.from_geojson(text)))
    return list(zip(shapely.get_x(centres).tolist(), shapely.get_y(centres).tolist(), strict=True))


def densest_tiles(geodata: Path, layer: str, per_zoom: int) -> dict[int, list[tuple[int, int]]]:
    """Per zoom, the tiles holding the most area centroids of the layer."""
    from collections import Counter

    points = _centroids(geodata, layer)
    out = {}
    for z in ZOOMS:
        counts = Counter(tile_of(lon, lat, z) for lon, lat in points)
        out[z] = [t for t, _ in counts.most_common(per_zoom)]
    return out


def city_tiles(geodata: Path, z: int) -> list[tuple[int, int]]:
    """Every tile at zoom z under the city's bounding box."""
    import shapely

    text = (geodata / "districts.geojson").read_text(encoding="utf-8")
    west, south, east, north = shapely.total_bounds(shapely.from_geojson(text)).tolist()
    x0, y0 = tile_of(west, north, z)
    x1, y1 = tile_of(east, south, z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def login(client, app) -> dict:
    from app.accounts import service as accounts
    from app.accounts.roles import Role
    from app.extensions import db
    from app.geo.codes import CITY_CODE

    with app.app_context():
        accounts.create_user(
            username="bench_tiles", role=Role.SUPERVISOR, node=CITY_CODE, password=PASSWORD
        )
        db.session.commit()
    response = client.post(
        "/api/v1/auth/login", json={"username": "bench_tiles", "password": PASSWORD}
    )
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}", "Accept-Encoding": "gzip"}


def floor_app(folder: Path):
    """The cached floor: a bare Flask route sending a gzipped file's bytes."""
    from flask import Flask, Response

    app = Flask("floor")

    @app.get("/f/<name>")
    def serve(name: str):
        return Response(
            (folder / name).read_bytes(),
            mimetype="application/vnd.mapbox-vector-tile",
            headers={"Content-Encoding": "gzip"},
        )

    return app.test_client()


def timed_ms(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return (time.perf_counter() - started) * 1000.0, value


def run_backend(
    key: str, url: str, instance: Path, geodata: Path, layer: str, tiles_by_zoom: dict
) -> dict:
    """Load the city, then time cold and cached tiles and the floor for this database."""
    import shapely
    from sqlalchemy import text

    app = make_app(url, instance, GEO_INDEX_CHECK_SECONDS=3600.0)
    client = app.test_client()
    out: dict = {"tiles": {}}
    with app.app_context():
        from app.extensions import db
        from app.geo import tiles
        from app.geo.loader import load

        started = time.perf_counter()
        load(geodata, force=True)
        db.session.commit()
        out["load_s"] = round(time.perf_counter() - started, 1)
    headers = login(client, app)
    spec_dialect = "postgresql" if url.startswith("postgres") else "sqlite"
    cache_dir = Path(app.config["TILES_CACHE_DIR"])
    floor_dir = instance / "floor"
    floor_dir.mkdir(parents=True, exist_ok=True)
    floor = floor_app(floor_dir)

    # Warm: the version check, the layer's extent and (SQLite) the in-memory source.
    with app.test_request_context():
        svc = tiles.service()
        started = time.perf_counter()
        info = svc.layer(svc.state(), layer)
        out["source_load_s"] = round(time.perf_counter() - started, 2)
        source = info.source or tiles._Source.load(tiles.LAYERS[layer].level)
    client.get(f"/tiles/{layer}/0/0/0.pbf", headers=headers)

    for z, coords in tiles_by_zoom.items():
        rows = []
        for x, y in coords:
            path = f"/tiles/{layer}/{z}/{x}/{y}.pbf"
            shutil.rmtree(cache_dir, ignore_errors=True)
            cold_ms, cold = timed_ms(lambda p=path: client.get(p, headers=headers))
            cached_ms, cached = timed_ms(lambda p=path: client.get(p, headers=headers))
            assert cold.status_code in (200, 204) and cached.get_data() == cold.get_data()
            packed = cold.get_data()
            raw = gzip.decompress(packed) if packed else b""
            # Floors.
            with app.test_request_context():
                if spec_dialect == "postgresql":
                    floor_ms, _ = timed_ms(
                        lambda z=z, x=x, y=y: db.session.execute(
                            text(
                                "SELECT ST_AsMVT(q, :name, 4096, 'geom', 'id') FROM ("
                                " SELECT id, ST_AsMVTGeom(ST_Transform(geom, 3857),"
                                "  ST_TileEnvelope(:z, :x, :y)) AS geom FROM areas"
                                " WHERE level = :name AND geom &&"
                                "  ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)) q"
                            ),
                            {"name": layer, "z": z, "x": x, "y": y},
                        ).scalar()
                    )
                else:
                    from app.geo import mvt

                    def bare_clip(z=z, x=x, y=y):
                        b = mvt.tile_bounds(z, x, y)
                        hits = source.tree.query(shapely.box(*b))
                        return shapely.clip_by_rect(source.geoms[hits], *b)

                    floor_ms, _ = timed_ms(bare_clip)
            (floor_dir / "t").write_bytes(packed or gzip.compress(b""))
            cached_floor_ms, _ = timed_ms(lambda: floor.get("/f/t"))
            rows.append(
                {
                    "x": x,
                    "y": y,
                    "features": count_features(raw, layer),
                    "ids": feature_ids(raw, layer),
                    "raw_bytes": len(raw),
                    "gz_bytes": len(packed),
                    "cold_ms": cold_ms,
                    "cached_ms": cached_ms,
                    "floor_ms": floor_ms,
                    "cached_floor_ms": cached_floor_ms,
                }
            )
        out["tiles"][z] = rows
        print(f"  {key} z{z}: {len(rows)} tiles done", file=sys.stderr, flush=True)

    # The boundary pictures the console shows up to z10 (/tiles/boundaries/...png): drawn from
    # the grid, township and district tiles at the same address. Timed with those already
    # cached (the drawing alone), against rendering the three vector tiles cold.
    pictures = {}
    for z, coords in ((7, city_tiles(geodata, 7)), *((z, tiles_by_zoom[z]) for z in (8, 10))):
        rows = []
        for x, y in coords:
            shutil.rmtree(cache_dir, ignore_errors=True)
            urls = [f"/tiles/{n}/{z}/{x}/{y}.pbf" for n in tiles.PICTURE_LAYERS]
            vectors_ms = sum(timed_ms(lambda u=u: client.get(u, headers=headers))[0] for u in urls)
            path = f"/tiles/boundaries/{z}/{x}/{y}.png"
            drawn_ms, drawn = timed_ms(lambda p=path: client.get(p, headers=headers))
            cached_ms, _ = timed_ms(lambda p=path: client.get(p, headers=headers))
            if drawn.status_code == 200:
                rows.append((drawn_ms, vectors_ms, cached_ms, len(drawn.get_data())))
        pictures[z] = rows
    out["pictures"] = pictures

    # What the console downloads for the whole city at z8: every layer, gzipped.
    shutil.rmtree(cache_dir, ignore_errors=True)
    city = {}
    for name in tiles.LAYERS:
        sizes = [
            len(client.get(f"/tiles/{name}/8/{x}/{y}.pbf", headers=headers).get_data())
            for x, y in city_tiles(geodata, 8)
        ]
        city[name] = sum(sizes)
    out["city_z8_gz_bytes"] = city
    with app.app_context():
        db.engine.dispose()
    return out


def count_features(raw: bytes, layer: str) -> int:
    return len(feature_ids(raw, layer))


def feature_ids(raw: bytes, layer: str) -> set[int]:
    import mapbox_vector_tile

    if not raw:
        return set()
    decoded = mapbox_vector_tile.decode(raw)
    return {f["id"] for f in decoded.get(layer, {"features": []})["features"]}


def summarise(results: dict, key: str) -> list[tuple[str, str]]:
    lines = []
    backend = results[key]
    lines.append(
        (f"{key} setup", f"load {backend['load_s']} s, layer source {backend['source_load_s']} s")
    )
    for z, rows in backend["tiles"].items():
        mean = statistics.fmean
        cold = [r["cold_ms"] for r in rows]
        cached = [r["cached_ms"] for r in rows]
        floor = [r["floor_ms"] for r in rows]
        cfloor = [r["cached_floor_ms"] for r in rows]
        raw = [r["raw_bytes"] for r in rows]
        gz = [r["gz_bytes"] for r in rows]
        feats = [r["features"] for r in rows]
        lines.append(
            (
                f"{key} z{z} ({len(rows)} tiles)",
                f"features {mean(feats):.0f} avg / {max(feats)} max; "
                f"bytes {mean(raw) / 1024:.0f} KB avg / {max(raw) / 1024:.0f} KB max raw, "
                f"{mean(gz) / 1024:.0f} / {max(gz) / 1024:.0f} KB gzip",
            )
        )
        lines.append(
            (
                "",
                f"cold {mean(cold):.1f} ms avg / {max(cold):.1f} max, floor {mean(floor):.1f} ms "
                f"→ {sum(cold) / max(sum(floor), 1e-9):.1f}× floor; cached {mean(cached):.2f} ms, "
                f"floor {mean(cfloor):.2f} ms → {sum(cached) / max(sum(cfloor), 1e-9):.1f}× floor",
            )
        )
    for z, rows in backend["pictures"].items():
        drawn, vectors, cached, size = (list(col) for col in zip(*rows, strict=True))
        lines.append(
            (
                f"{key} picture z{z} ({len(rows)} tiles)",
                f"drawn {statistics.fmean(drawn):.0f} ms avg / {max(drawn):.0f} max "
                f"({sum(drawn) / sum(vectors):.1f}× its three vector tiles cold: "
                f"{statistics.fmean(vectors):.0f} ms); cached {statistics.fmean(cached):.1f} ms; "
                f"PNG {statistics.fmean(size) / 1024:.0f} KB avg / {max(size) / 1024:.0f} max",
            )
        )
    city = backend["city_z8_gz_bytes"]
    lines.append(
        (
            f"{key} city at z8",
            ", ".join(f"{name} {size / 1024:.0f} KB" for name, size in city.items())
            + f" (gzip; total {sum(city.values()) / 1024 / 1024:.2f} MB)",
        )
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--geodata", type=Path)
    parser.add_argument("--layer", default="grid")
    parser.add_argument("--tiles", type=int, default=12)
    parser.add_argument("--pg", default=DEFAULT_PG_TILES)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    geodata, _ = city_geodata(args.geodata, "wangge-bench-tiles-geodata-")
    tiles_by_zoom = densest_tiles(geodata, args.layer, args.tiles)
    work = temp_dir("wangge-bench-tiles-")
    results: dict = {"layer": args.layer, "geodata": str(geodata)}
    results["sqlite"] = run_backend(
        "sqlite",
        f"sqlite:///{work / 'bench.db'}",
        work / "instance-sqlite",
        geodata,
        args.layer,
        tiles_by_zoom,
    )
    pg = None if args.no_pg else fresh_postgres(args.pg)
    if pg:
        results["postgres"] = run_backend(
            "postgres", pg, work / "instance-pg", geodata, args.layer, tiles_by_zoom
        )
        # Agreement: the features of the same tiles from both databases.
        differ = total = 0
        for z, rows in results["postgres"]["tiles"].items():
            for pg_row, lite_row in zip(rows, results["sqlite"]["tiles"][z], strict=True):
                differ += len(pg_row["ids"] ^ lite_row["ids"])
                total += len(pg_row["ids"] | lite_row["ids"])
        results["agreement"] = {"features": total, "differ": differ}

    lines = summarise(results, "sqlite")
    if pg:
        lines += summarise(results, "postgres")
        a = results["agreement"]
        lines.append(
            (
                "SQLite vs PostGIS",
                f"{a['differ']} of {a['features']} features in one tile but not the other "
                f"({100 * a['differ'] / max(a['features'], 1):.2f}%)",
            )
        )
    else:
        lines.append(("postgres", "not measured: PostgreSQL + PostGIS unavailable"))
    for backend in ("sqlite", "postgres"):
        for rows in results.get(backend, {}).get("tiles", {}).values():
            for row in rows:
                row.pop("ids", None)
    report(f"Vector tiles, {args.layer} layer (full city)", lines, results, args.json)


if __name__ == "__main__":
    main()

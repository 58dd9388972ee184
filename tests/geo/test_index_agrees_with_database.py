"""The in-memory index gives the database's own answer (PostGIS ST_Contains on PostgreSQL)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from app.geo import service
from app.geo.models import Area


def test_index_and_database_agree_on_random_points(app, session):
    district = session.scalar(select(Area).where(Area.id == 500103000000))
    minx, miny, maxx, maxy = district.geom.bounds
    rng = np.random.default_rng(7)
    index = service.locator().snapshot().index
    inside = 0
    for lon, lat in zip(rng.uniform(minx, maxx, 400), rng.uniform(miny, maxy, 400), strict=True):
        hit = index.locate(float(lon), float(lat), max_snap_m=0)
        expected = service.locate_in_database(lon=float(lon), lat=float(lat))
        assert (hit.grid_id if hit else None) == expected, (lon, lat)
        inside += expected is not None
    assert inside > 100  # the sample really exercised containment, not just misses


def test_geodata_check_command(runner):
    result = runner.invoke(args=["geodata", "check", "--points", "300"])
    assert result.exit_code == 0, result.output
    assert "300 points checked, 0 mismatches" in result.output

"""Coverage per grid per day, kept in patrol_coverage and recomputed from the day's tracks.

A cell (grid, day) is recomputed from every track of that day near the grid, whoever walked
it, so the order patrols arrive in does not matter and recomputing twice changes nothing.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.core.db import utcnow
from app.core.scope import unscoped
from app.extensions import db
from app.geo import coverage as geo_coverage
from app.geo.codes import ancestry
from app.geo.models import Area
from app.patrols.models import PatrolCoverage, PatrolTrack


def recompute(patrol_id: int) -> int:
    """Recompute every grid-day a patrol's tracks touch or touched; returns the cells done."""
    radius = current_app.config["PATROL_COVER_RADIUS_M"]
    done = 0
    with unscoped():
        tracks = db.session.scalars(
            select(PatrolTrack).where(PatrolTrack.patrol_id == patrol_id).order_by(PatrolTrack.day)
        ).all()
        for track in tracks:
            near = (
                geo_coverage.grids_near(geom=track.geom, radius_m=radius)
                if track.geom is not None
                else []
            )
            for grid_id in sorted(set(near) | {int(g) for g in track.grids or []}):
                recompute_cell(grid_id=grid_id, day=track.day, radius_m=radius)
                done += 1
            if track.geom is None:
                db.session.delete(track)
            else:
                track.grids = [str(g) for g in near]
        db.session.flush()
    return done


def recompute_cell(*, grid_id: int, day: date, radius_m: float) -> None:
    """One grid's figures for one day from the tracks of that day near it."""
    with unscoped():
        box = db.session.execute(
            select(Area.min_lon, Area.min_lat, Area.max_lon, Area.max_lat).where(Area.id == grid_id)
        ).first()
        if box is None or box.min_lon is None:
            return
        pad = radius_m * geo_coverage.DEGREES_PER_METRE
        tracks = db.session.scalars(
            select(PatrolTrack)
            .where(
                PatrolTrack.day == day,
                PatrolTrack.geom.is_not(None),
                PatrolTrack.min_lon <= box.max_lon + pad,
                PatrolTrack.max_lon >= box.min_lon - pad,
                PatrolTrack.min_lat <= box.max_lat + pad,
                PatrolTrack.max_lat >= box.min_lat - pad,
            )
            .order_by(PatrolTrack.id)
        ).all()
        cover = (
            geo_coverage.cover_grid(
                grid_id=grid_id, lines=[t.geom for t in tracks], radius_m=radius_m
            )
            if tracks
            else None
        )
        key = str(grid_id)
        seconds = sum(t.grid_seconds.get(key, 0.0) for t in tracks)
        near = [
            t for t, touch in zip(tracks, cover.touching if cover else [], strict=False) if touch
        ]
        if cover is None or not (near or seconds):
            db.session.execute(
                delete(PatrolCoverage).where(
                    PatrolCoverage.grid_id == grid_id, PatrolCoverage.day == day
                )
            )
            return
        counted = [t for t in tracks if t in near or t.grid_seconds.get(key)]
        values = {
            "day": day,
            **ancestry(key),
            "area_m2": cover.area_m2,
            "covered_m2": cover.covered_m2,
            "ratio": min(cover.covered_m2 / cover.area_m2, 1.0) if cover.area_m2 else 0.0,
            "distance_m": sum(cover.length_m),
            "walked_s": seconds,
            "radius_m": radius_m,
            "patrol_ids": sorted({t.patrol_id for t in counted}),
            "user_ids": sorted({t.user_id for t in counted}),
            "computed_at": utcnow(),
        }
        insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(PatrolCoverage).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["grid_id", "day"],
            set_={k: stmt.excluded[k] for k in values if k not in ("day", "grid_id")},
        )
        db.session.execute(stmt)

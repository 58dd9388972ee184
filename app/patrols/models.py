"""Patrols, the GPS fixes they record, their tracks per day, and coverage per grid per day."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.scope import AreaScoped
from app.core.types import GeometryType, UTCDateTime
from app.extensions import db

STATUSES = ("active", "stopped")
# Who ended a patrol: its person, the person starting another one, or the abandonment sweep.
STOPPED_BY = ("user", "restart", "auto")
_BIG_ID = BigInteger().with_variant(Integer, "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Patrol(AreaScoped, db.Model):
    """One walk of one person; it belongs to the grid (or, lacking one, the node) it is in.

    The phone chooses the uuid, so a start sent again after a lost answer is the same patrol.
    The figures (distance, points) are derived from the fixes on every upload.
    """

    __tablename__ = "patrols"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="active")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_by: Mapped[str | None] = mapped_column(String(8))
    last_point_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    point_count: Mapped[int] = mapped_column(Integer, default=0)
    counted_points: Mapped[int] = mapped_column(Integer, default=0)
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    # Time spent walking: the sum of the track's segments, gaps left out.
    walked_s: Mapped[float] = mapped_column(Float, default=0.0)
    interval_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(f"stopped_by IS NULL OR {_one_of('stopped_by', STOPPED_BY)}", name="by"),
        CheckConstraint("(status = 'stopped') = (ended_at IS NOT NULL)", name="ended"),
        # "Is anyone still out?" and the abandonment sweep read the active ones.
        Index("ix_patrols_status_started", "status", "started_at"),
    )


class PatrolPoint(db.Model):
    """One GPS fix; (patrol, at) is stored once however often the phone resends it. Read only
    through its patrol, which the scope filter covers."""

    __tablename__ = "patrol_points"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    # Accurate enough to draw the track and count coverage; poor fixes are kept for the record.
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    # The grid the fix lies in (none outside every grid): time spent is credited to it.
    grid_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The idempotency key, and the order every track is rebuilt in.
    __table_args__ = (UniqueConstraint("patrol_id", "at"),)


class PatrolTrack(db.Model):
    """A patrol's walked segments on one local day (Asia/Shanghai), as a MultiLineString.

    Coverage reads these, never the fixes: a grid's figures for a day come from the tracks of
    that day whose bounding box comes near it. `grids` are the grids the track touched when
    coverage was last computed, so a track that shrank still clears the grids it left.
    """

    __tablename__ = "patrol_tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    geom = mapped_column(GeometryType("MULTILINESTRING"), nullable=True)
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    walked_s: Mapped[float] = mapped_column(Float, default=0.0)
    # {grid code: seconds}: each segment's time goes to the grid of the fix it starts from.
    grid_seconds: Mapped[dict] = mapped_column(JSON, default=dict)
    grids: Mapped[list] = mapped_column(JSON, default=list)

    __table_args__ = (
        UniqueConstraint("patrol_id", "day"),
        Index("ix_patrol_tracks_day_bbox", "day", "min_lon", "max_lon", "min_lat", "max_lat"),
    )


class PatrolCoverage(AreaScoped, db.Model):
    """How much of one grid the patrols of one day covered, kept so the console reads are cheap.

    Recomputed whenever a track near the grid changes (docs/patrols.md defines each figure).
    """

    __tablename__ = "patrol_coverage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    area_m2: Mapped[float] = mapped_column(Float)
    covered_m2: Mapped[float] = mapped_column(Float)
    ratio: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)
    walked_s: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    patrol_ids: Mapped[list] = mapped_column(JSON, default=list)
    user_ids: Mapped[list] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("grid_id", "day"),
        CheckConstraint("ratio >= 0 AND ratio <= 1", name="ratio"),
        Index("ix_patrol_coverage_day_township", "day", "township_id"),
    )

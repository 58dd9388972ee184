"""The administrative hierarchy city → district → township → village → grid, one table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.scope import AreaScoped, Scope
from app.core.types import GeometryType, UTCDateTime
from app.extensions import db


class AreaLevel(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    TOWNSHIP = "township"
    VILLAGE = "village"
    GRID = "grid"


class Area(AreaScoped, db.Model):
    """One node of the hierarchy; its id is its national statistical code (grids: 15 digits).

    Using the code as the key keeps ids stable across reloads of the geodata and lets users,
    events and imports name places the way the government's own tables do.
    """

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    level: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(8))  # 区/县/街道/镇/乡/社区/村/网格
    name: Mapped[str] = mapped_column(String(80), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("areas.id", ondelete="RESTRICT"), index=True
    )
    geom = mapped_column(GeometryType("MULTIPOLYGON"), nullable=True)
    # Bounding boxes serve window queries on SQLite, which has no spatial index of its own.
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    # Synthetic polygons (everything below the district) are not real boundaries.
    fictitious: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "level IN ('city', 'district', 'township', 'village', 'grid')", name="level"
        ),
        Index("ix_areas_level_parent", "level", "parent_id"),
        Index("ix_areas_bbox", "min_lon", "max_lon", "min_lat", "max_lat"),
        Index("ix_areas_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope):
        """A scope sees its subtree, plus its ancestors' own rows for breadcrumbs; writes keep
        the generic subtree rule, so ancestors are visible but never writable."""
        base = super().scope_criteria(scope)
        if scope.everything or not scope.ancestors:
            return base
        return or_(base, cls.id.in_(sorted(scope.ancestors)))

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the district down to the parent, derived from the ancestry columns."""
        ids = [self.district_id, self.township_id, self.village_id, self.grid_id]
        return [i for i in ids if i is not None and i != self.id]


class GeoState(db.Model):
    """One row: bumped whenever grids change, so every process rebuilds its point index."""

    __tablename__ = "geo_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    loaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

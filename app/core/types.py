"""A geometry column that is PostGIS geometry on PostgreSQL and WKB bytes elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime

import shapely
from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.types import TypeDecorator


class GeometryType(TypeDecorator):
    """shapely geometries in and out; PostGIS where available, plain WKB on SQLite.

    GeoAlchemy2's own variant support breaks create_all on SQLite without SpatiaLite, and
    SpatiaLite cannot be pip-installed, so the embedded default stores WKB and does its
    spatial work in memory (geo.index) or through bounding-box columns.
    """

    impl = LargeBinary
    cache_ok = True
    # col.ST_Contains(...) and friends keep working on PostgreSQL.
    comparator_factory = Geometry.comparator_factory
    # Read by GeoAlchemy2's create hooks; the GiST index is declared on the model instead.
    spatial_index = False

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = 4326):
        super().__init__()
        self.geometry_type = geometry_type
        self.srid = srid

    def load_dialect_impl(self, dialect):
        # GeoAlchemy2's DDL hooks probe with dialect=None; answering "not spatial" keeps them
        # from managing the column, so we declare the GiST index ourselves (PostgreSQL only).
        if dialect is None:
            return LargeBinary()
        if dialect.name == "postgresql":
            return dialect.type_descriptor(
                Geometry(self.geometry_type, srid=self.srid, spatial_index=False)
            )
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            return WKBElement(shapely.to_wkb(value, hex=True), srid=self.srid, extended=False)
        return shapely.to_wkb(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, WKBElement):
            value = value.data
        if isinstance(value, memoryview):
            value = bytes(value)
        return shapely.from_wkb(value)

    def __repr__(self) -> str:
        return f"GeometryType({self.geometry_type!r}, srid={self.srid})"


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database.

    PostgreSQL keeps the zone; SQLite stores text and hands back naive values, which would
    compare wrongly with aware ones and serialise without a zone, so they are tagged UTC here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use app.core.db.utcnow() or attach a timezone")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

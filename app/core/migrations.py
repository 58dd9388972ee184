"""Alembic hooks shared by migrations/env.py and the drift test."""

from __future__ import annotations

from app.core.types import GeometryType, UTCDateTime

# PostGIS ships tables of its own; they are not ours to migrate.
FOREIGN_TABLES = frozenset({"spatial_ref_sys", "layer", "topology"})


def render_item(type_, obj, autogen_context):
    """Render the dual-dialect geometry type so one migration serves SQLite and PostGIS."""
    if type_ == "type" and isinstance(obj, GeometryType):
        autogen_context.imports.add("from app.core.types import GeometryType")
        return f"GeometryType({obj.geometry_type!r}, srid={obj.srid})"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        # Stored as a plain timezone-aware DateTime; the decorator only acts in Python.
        return "sa.DateTime(timezone=True)"
    return False


def include_object_for(dialect_name: str):
    """An include_object hook for one dialect."""

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table" and name in FOREIGN_TABLES:
            return False
        # Indexes declared for one dialect only (the PostGIS GiST index) are not drift elsewhere.
        ddl_if = getattr(obj, "_ddl_if", None)
        if type_ == "index" and ddl_if is not None and ddl_if.dialect:
            return ddl_if.dialect == dialect_name
        return True

    return include_object

"""The one migration history matches the models on the database under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core.migrations import include_object_for
from app.extensions import db


def test_migrations_match_the_models(session):
    connection = session.connection()
    context = MigrationContext.configure(
        connection,
        opts={"include_object": include_object_for(connection.dialect.name), "compare_type": True},
    )
    assert compare_metadata(context, db.metadata) == []

"""patrols: GPS tracks and coverage per grid per day

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from app.core.types import GeometryType

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ANCESTRY = ("district_id", "township_id", "village_id", "grid_id")


def _ancestry():
    return [sa.Column(column, sa.BigInteger(), nullable=True) for column in _ANCESTRY]


def _ancestry_indexes(batch_op, table: str) -> None:
    for column in _ANCESTRY:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade():
    op.create_table(
        "patrols",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_by", sa.String(length=8), nullable=True),
        sa.Column("last_point_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("point_count", sa.Integer(), nullable=False),
        sa.Column("counted_points", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("walked_s", sa.Float(), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_ancestry(),
        sa.CheckConstraint("status IN ('active', 'stopped')", name=op.f("ck_patrols_status")),
        sa.CheckConstraint(
            "stopped_by IS NULL OR stopped_by IN ('user', 'restart', 'auto')",
            name=op.f("ck_patrols_by"),
        ),
        sa.CheckConstraint(
            "(status = 'stopped') = (ended_at IS NOT NULL)", name=op.f("ck_patrols_ended")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_patrols_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrols")),
        sa.UniqueConstraint("uuid", name=op.f("uq_patrols_uuid")),
    )
    with op.batch_alter_table("patrols", schema=None) as batch_op:
        _ancestry_indexes(batch_op, "patrols")
        batch_op.create_index(batch_op.f("ix_patrols_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patrols_started_at"), ["started_at"], unique=False)
        batch_op.create_index("ix_patrols_status_started", ["status", "started_at"], unique=False)

    op.create_table(
        "patrol_points",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            name=op.f("fk_patrol_points_patrol_id_patrols"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_points")),
        sa.UniqueConstraint("patrol_id", "at", name=op.f("uq_patrol_points_patrol_id")),
    )

    op.create_table(
        "patrol_tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("geom", GeometryType("MULTILINESTRING", srid=4326), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("walked_s", sa.Float(), nullable=False),
        sa.Column("grid_seconds", sa.JSON(), nullable=False),
        sa.Column("grids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            name=op.f("fk_patrol_tracks_patrol_id_patrols"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_tracks")),
        sa.UniqueConstraint("patrol_id", "day", name=op.f("uq_patrol_tracks_patrol_id")),
    )
    with op.batch_alter_table("patrol_tracks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_patrol_tracks_day_bbox",
            ["day", "min_lon", "max_lon", "min_lat", "max_lat"],
            unique=False,
        )

    op.create_table(
        "patrol_coverage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("covered_m2", sa.Float(), nullable=False),
        sa.Column("ratio", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("walked_s", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("patrol_ids", sa.JSON(), nullable=False),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        *_ancestry(),
        sa.CheckConstraint("ratio >= 0 AND ratio <= 1", name=op.f("ck_patrol_coverage_ratio")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_coverage")),
        sa.UniqueConstraint("grid_id", "day", name=op.f("uq_patrol_coverage_grid_id")),
    )
    with op.batch_alter_table("patrol_coverage", schema=None) as batch_op:
        _ancestry_indexes(batch_op, "patrol_coverage")
        batch_op.create_index(
            "ix_patrol_coverage_day_township", ["day", "township_id"], unique=False
        )


def downgrade():
    op.drop_table("patrol_coverage")
    op.drop_table("patrol_tracks")
    op.drop_table("patrol_points")
    op.drop_table("patrols")

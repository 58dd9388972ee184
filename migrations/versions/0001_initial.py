"""areas, accounts and tokens

Revision ID: 0001
Revises:
Create Date: 2026-11-21 14:40:58.089917

"""

import sqlalchemy as sa
from alembic import op

from app.core.types import GeometryType

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "areas",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("geom", GeometryType("MULTIPOLYGON", srid=4326), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("fictitious", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("district_id", sa.BigInteger(), nullable=True),
        sa.Column("township_id", sa.BigInteger(), nullable=True),
        sa.Column("village_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "level IN ('city', 'district', 'township', 'village', 'grid')",
            name=op.f("ck_areas_level"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["areas.id"], name=op.f("fk_areas_parent_id_areas"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
        sa.UniqueConstraint("code", name=op.f("uq_areas_code")),
    )
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.create_index(
            "ix_areas_bbox", ["min_lon", "max_lon", "min_lat", "max_lat"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_areas_district_id"), ["district_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_areas_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index("ix_areas_level_parent", ["level", "parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_areas_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_areas_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_areas_township_id"), ["township_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_areas_village_id"), ["village_id"], unique=False)
    if postgres:  # SQLite has no GiST; the embedded side uses the bbox columns and geo.index
        op.create_index("ix_areas_geom", "areas", ["geom"], postgresql_using="gist")

    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("short_name", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("district_id", sa.BigInteger(), nullable=True),
        sa.Column("township_id", sa.BigInteger(), nullable=True),
        sa.Column("village_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_departments_district_id"), ["district_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_departments_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_departments_township_id"), ["township_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_departments_village_id"), ["village_id"], unique=False)

    op.create_table(
        "geo_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geo_state")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("board", sa.String(length=16), nullable=True),
        sa.Column("area_id", sa.BigInteger(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("activation_hash", sa.String(length=64), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("district_id", sa.BigInteger(), nullable=True),
        sa.Column("township_id", sa.BigInteger(), nullable=True),
        sa.Column("village_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "role <> 'township_board_handler' OR board IS NOT NULL",
            name=op.f("ck_users_board_handler_board"),
        ),
        sa.CheckConstraint(
            "(area_id IS NULL) <> (department_id IS NULL)", name=op.f("ck_users_one_home")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_users_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_users_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_area_id"), ["area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_district_id"), ["district_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_role"), ["role"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_township_id"), ["township_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_village_id"), ["village_id"], unique=False)

    op.create_table(
        "grid_bindings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["areas.id"],
            name=op.f("fk_grid_bindings_grid_id_areas"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_grid_bindings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "grid_id", name=op.f("pk_grid_bindings")),
    )
    with op.batch_alter_table("grid_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_bindings_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_user_id"), ["user_id"], unique=False)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_areas_geom", table_name="areas", postgresql_using="gist")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokens_user_id"))

    op.drop_table("tokens")
    with op.batch_alter_table("grid_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_bindings_grid_id"))

    op.drop_table("grid_bindings")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_village_id"))
        batch_op.drop_index(batch_op.f("ix_users_township_id"))
        batch_op.drop_index(batch_op.f("ix_users_role"))
        batch_op.drop_index(batch_op.f("ix_users_grid_id"))
        batch_op.drop_index(batch_op.f("ix_users_district_id"))
        batch_op.drop_index(batch_op.f("ix_users_department_id"))
        batch_op.drop_index(batch_op.f("ix_users_area_id"))

    op.drop_table("users")
    op.drop_table("geo_state")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_village_id"))
        batch_op.drop_index(batch_op.f("ix_departments_township_id"))
        batch_op.drop_index(batch_op.f("ix_departments_grid_id"))
        batch_op.drop_index(batch_op.f("ix_departments_district_id"))

    op.drop_table("departments")
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_areas_village_id"))
        batch_op.drop_index(batch_op.f("ix_areas_township_id"))
        batch_op.drop_index(batch_op.f("ix_areas_parent_id"))
        batch_op.drop_index(batch_op.f("ix_areas_name"))
        batch_op.drop_index("ix_areas_level_parent")
        batch_op.drop_index(batch_op.f("ix_areas_grid_id"))
        batch_op.drop_index(batch_op.f("ix_areas_district_id"))
        batch_op.drop_index("ix_areas_bbox")

    op.drop_table("areas")

"""key_registry

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 19:11:07.045208

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.core.types import GeometryType

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


# Columns key persons and places share (app.keys.models.Registered).
def _registered_columns():
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind_code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("risk_level", sa.String(length=8), nullable=False),
        sa.Column("responsible_user_id", sa.Integer(), nullable=True),
        sa.Column("visit_interval_days", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.Integer(), nullable=True),
        sa.Column("last_visited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_visit_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visit_overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deactivation_reason", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("district_id", sa.BigInteger(), nullable=True),
        sa.Column("township_id", sa.BigInteger(), nullable=True),
        sa.Column("village_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
    ]


def _registered_constraints(table: str):
    return [
        sa.CheckConstraint(
            "risk_level IN ('low', 'medium', 'high')", name=op.f(f"ck_{table}_risk_level")
        ),
        sa.CheckConstraint(
            "visit_interval_days BETWEEN 1 AND 365", name=op.f(f"ck_{table}_interval")
        ),
        sa.ForeignKeyConstraint(
            ["kind_code"], ["key_kinds.code"], name=op.f(f"fk_{table}_kind_code_key_kinds")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by"], ["users.id"], name=op.f(f"fk_{table}_registered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["responsible_user_id"],
            ["users.id"],
            name=op.f(f"fk_{table}_responsible_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


_REGISTERED_INDEXED = (
    "district_id",
    "grid_id",
    "kind_code",
    "next_visit_due_at",
    "responsible_user_id",
    "township_id",
    "village_id",
)
# events.key_person_id / key_place_id existed as plain integers; now they reference the registry.
_EVENT_LINKS = (("key_person_id", "key_persons"), ("key_place_id", "key_places"))


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "key_kinds",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=8), nullable=False),
        sa.Column("name_zh", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("visit_interval_days", sa.Integer(), nullable=False),
        sa.Column("priority_bump", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("subject IN ('person', 'place')", name=op.f("ck_key_kinds_subject")),
        sa.CheckConstraint("priority_bump BETWEEN 0 AND 3", name=op.f("ck_key_kinds_bump")),
        sa.CheckConstraint(
            "visit_interval_days BETWEEN 1 AND 365", name=op.f("ck_key_kinds_interval")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_key_kinds")),
    )

    op.create_table(
        "key_persons",
        *_registered_columns(),
        sa.Column("gender", sa.String(length=8), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("id_card_no", sa.String(length=18), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("guardian_name", sa.String(length=40), nullable=True),
        sa.Column("guardian_phone", sa.String(length=20), nullable=True),
        sa.Column("case_notes", sa.Text(), nullable=False),
        *_registered_constraints("key_persons"),
        sa.CheckConstraint(
            "gender IS NULL OR gender IN ('male', 'female')", name=op.f("ck_key_persons_gender")
        ),
        sa.CheckConstraint(
            "birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100",
            name=op.f("ck_key_persons_birth"),
        ),
    )
    with op.batch_alter_table("key_persons", schema=None) as batch_op:
        for column in _REGISTERED_INDEXED:
            batch_op.create_index(batch_op.f(f"ix_key_persons_{column}"), [column], unique=False)
        batch_op.create_index(
            "uq_key_persons_kind_id_card",
            ["kind_code", "id_card_no"],
            unique=True,
            postgresql_where=sa.text("active"),
            sqlite_where=sa.text("active"),
        )

    op.create_table(
        "key_places",
        *_registered_columns(),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("point", GeometryType("POINT", srid=4326), nullable=True),
        sa.Column("location_snapped", sa.Boolean(), nullable=False),
        sa.Column("contact_name", sa.String(length=40), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        *_registered_constraints("key_places"),
    )
    with op.batch_alter_table("key_places", schema=None) as batch_op:
        for column in _REGISTERED_INDEXED:
            batch_op.create_index(batch_op.f(f"ix_key_places_{column}"), [column], unique=False)
        batch_op.create_index("ix_key_places_lonlat", ["lon", "lat"], unique=False)
    if postgres:
        op.create_index("ix_key_places_point", "key_places", ["point"], postgresql_using="gist")

    op.create_table(
        "key_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_uuid", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("place_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "attachment_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "(person_id IS NULL) <> (place_id IS NULL)", name=op.f("ck_key_visits_one_subject")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["key_persons.id"], name=op.f("fk_key_visits_person_id_key_persons")
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["key_places.id"], name=op.f("fk_key_visits_place_id_key_places")
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"], ["users.id"], name=op.f("fk_key_visits_visitor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_visits")),
        sa.UniqueConstraint("client_uuid", name=op.f("uq_key_visits_client_uuid")),
    )
    with op.batch_alter_table("key_visits", schema=None) as batch_op:
        for column in ("person_id", "place_id", "visitor_id"):
            batch_op.create_index(batch_op.f(f"ix_key_visits_{column}"), [column], unique=False)

    # No registry existed before this revision, so any id in these columns points nowhere.
    if postgres:
        op.execute("UPDATE events SET key_person_id = NULL, key_place_id = NULL")
        for column, target in _EVENT_LINKS:
            op.create_foreign_key(
                op.f(f"fk_events_{column}_{target}"), "events", target, [column], ["id"]
            )
    else:
        # SQLite adds a foreign key only by rebuilding the table, and rebuilding `events` (which
        # other tables reference) fails under foreign_keys=ON once it has rows. A column added
        # with REFERENCES needs no rebuild, so the two columns are dropped and added again.
        for column, target in _EVENT_LINKS:
            op.execute(f"ALTER TABLE events DROP COLUMN {column}")
            op.execute(f"ALTER TABLE events ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    for column, _ in _EVENT_LINKS:
        op.create_index(op.f(f"ix_events_{column}"), "events", [column], unique=False)


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for column, target in _EVENT_LINKS:
        op.drop_index(op.f(f"ix_events_{column}"), table_name="events")
        if postgres:
            op.drop_constraint(op.f(f"fk_events_{column}_{target}"), "events", type_="foreignkey")
        else:
            op.execute(f"ALTER TABLE events DROP COLUMN {column}")
            op.execute(f"ALTER TABLE events ADD COLUMN {column} INTEGER")

    op.drop_table("key_visits")
    if postgres:
        op.drop_index("ix_key_places_point", table_name="key_places", postgresql_using="gist")
    op.drop_table("key_places")
    op.drop_table("key_persons")
    op.drop_table("key_kinds")

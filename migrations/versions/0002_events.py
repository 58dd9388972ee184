"""events, audit, categories, dispatch rules, calendar overrides

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 15:32:22.012612

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.core.types import GeometryType

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


# The audit trail is append-only in the database itself, not only in the application.
_PG_AUDIT_GUARD = """
CREATE FUNCTION event_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER event_audit_no_update BEFORE UPDATE OR DELETE ON event_audit
    FOR EACH ROW EXECUTE FUNCTION event_audit_append_only();
CREATE TRIGGER event_audit_no_truncate BEFORE TRUNCATE ON event_audit
    FOR EACH STATEMENT EXECUTE FUNCTION event_audit_append_only();
"""
_SQLITE_AUDIT_GUARD = (
    "CREATE TRIGGER event_audit_no_update BEFORE UPDATE ON event_audit "
    "BEGIN SELECT RAISE(ABORT, 'event_audit is append-only: UPDATE refused'); END",
    "CREATE TRIGGER event_audit_no_delete BEFORE DELETE ON event_audit "
    "BEGIN SELECT RAISE(ABORT, 'event_audit is append-only: DELETE refused'); END",
)


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_overrides")),
    )
    op.create_table(
        "categories",
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("name_zh", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_categories")),
    )
    op.create_table(
        "dispatch_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=24), nullable=True),
        sa.Column("subcategory_code", sa.String(length=64), nullable=True),
        sa.Column("max_priority", sa.Integer(), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=True),
        sa.Column("area_id", sa.BigInteger(), nullable=True),
        sa.Column("handling_level", sa.String(length=12), nullable=False),
        sa.Column("board", sa.String(length=16), nullable=True),
        sa.Column("department_kind", sa.String(length=8), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "handling_level IN ('grid', 'village', 'board', 'department')",
            name=op.f("ck_dispatch_rules_handling_level"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_rules")),
    )
    op.create_table(
        "subcategories",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("category_code", sa.String(length=24), nullable=False),
        sa.Column("name_zh", sa.String(length=60), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("filing_criteria", sa.Text(), nullable=False),
        sa.Column("closing_criteria", sa.Text(), nullable=False),
        sa.Column("handling_level", sa.String(length=12), nullable=False),
        sa.Column("board", sa.String(length=16), nullable=True),
        sa.Column("department_kind", sa.String(length=8), nullable=True),
        sa.Column("accept_amount", sa.Float(), nullable=False),
        sa.Column("accept_unit", sa.String(length=16), nullable=False),
        sa.Column("handle_amount", sa.Float(), nullable=False),
        sa.Column("handle_unit", sa.String(length=16), nullable=False),
        sa.Column("verify_amount", sa.Float(), nullable=False),
        sa.Column("verify_unit", sa.String(length=16), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("dedup_radius_m", sa.Float(), nullable=False),
        sa.Column("dedup_window_hours", sa.Float(), nullable=False),
        sa.Column("gbt_ref", sa.String(length=40), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("edited_by_admin", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "accept_unit IN ('working_hours', 'working_days', 'hours')",
            name=op.f("ck_subcategories_accept_unit"),
        ),
        sa.CheckConstraint(
            "handle_unit IN ('working_hours', 'working_days', 'hours')",
            name=op.f("ck_subcategories_handle_unit"),
        ),
        sa.CheckConstraint(
            "handling_level IN ('grid', 'village', 'board', 'department')",
            name=op.f("ck_subcategories_handling_level"),
        ),
        sa.CheckConstraint(
            "verify_unit IN ('working_hours', 'working_days', 'hours')",
            name=op.f("ck_subcategories_verify_unit"),
        ),
        sa.CheckConstraint(
            "accept_amount > 0 AND handle_amount > 0 AND verify_amount > 0",
            name=op.f("ck_subcategories_limits"),
        ),
        sa.CheckConstraint("priority BETWEEN 1 AND 4", name=op.f("ck_subcategories_priority")),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name=op.f("fk_subcategories_category_code_categories"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_subcategories")),
    )
    with op.batch_alter_table("subcategories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subcategories_category_code"), ["category_code"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_uuid", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("point", GeometryType("POINT", srid=4326), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("location_snapped", sa.Boolean(), nullable=False),
        sa.Column("location_distance_m", sa.Float(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_person_id", sa.Integer(), nullable=True),
        sa.Column("key_place_id", sa.Integer(), nullable=True),
        sa.Column("category_code", sa.String(length=24), nullable=False),
        sa.Column("subcategory_code", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("classifier_version", sa.String(length=32), nullable=True),
        sa.Column("category_source", sa.String(length=12), nullable=False),
        sa.Column(
            "classification",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("handling_level", sa.String(length=12), nullable=True),
        sa.Column("assigned_board", sa.String(length=16), nullable=True),
        sa.Column("assigned_department_id", sa.Integer(), nullable=True),
        sa.Column("assigned_area_id", sa.BigInteger(), nullable=True),
        sa.Column("assigned_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "dispatch_reason",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "duplicate_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "likely_duplicate_of_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("stage", sa.String(length=8), nullable=True),
        sa.Column("stage_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_extension", sa.Float(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("extension_count", sa.Integer(), nullable=False),
        sa.Column("supervision_count", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("audit_head", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("district_id", sa.BigInteger(), nullable=True),
        sa.Column("township_id", sa.BigInteger(), nullable=True),
        sa.Column("village_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "source IN ('app', 'console', 'hotline', 'sensor', 'open311')",
            name=op.f("ck_events_source"),
        ),
        sa.CheckConstraint(
            "state IN ('reported', 'filed', 'rejected', 'merged', 'dispatched', 'in_progress', 'extension_requested', 'returned', 'escalated', 'handled', 'verified', 'closed')",
            name=op.f("ck_events_state"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_department_id"],
            ["departments.id"],
            name=op.f("fk_events_assigned_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_user_id"], ["users.id"], name=op.f("fk_events_assigned_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["category_code"], ["categories.code"], name=op.f("fk_events_category_code_categories")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["events.id"], name=op.f("fk_events_duplicate_of_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["likely_duplicate_of_id"],
            ["events.id"],
            name=op.f("fk_events_likely_duplicate_of_id_events"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name=op.f("fk_events_reporter_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["subcategory_code"],
            ["subcategories.code"],
            name=op.f("fk_events_subcategory_code_subcategories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("client_uuid", name=op.f("uq_events_client_uuid")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_assigned_department_id"), ["assigned_department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_events_assigned_user_id"), ["assigned_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_events_district_id"), ["district_id"], unique=False)
        batch_op.create_index("ix_events_district_state", ["district_id", "state"], unique=False)
        batch_op.create_index(
            "ix_events_due", ["due_at"], unique=False, postgresql_where="breached_at IS NULL"
        )
        batch_op.create_index(
            batch_op.f("ix_events_duplicate_of_id"), ["duplicate_of_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_events_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index("ix_events_lonlat", ["lon", "lat"], unique=False)
        batch_op.create_index(
            "ix_events_queue", ["township_id", "state", "received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_events_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_township_id"), ["township_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_village_id"), ["village_id"], unique=False)
        batch_op.create_index(
            "ix_events_warn", ["warn_at"], unique=False, postgresql_where="warned_at IS NULL"
        )

    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_attachments_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.id"], name=op.f("fk_attachments_uploader_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint(
            "uploader_id", "original_sha256", name=op.f("uq_attachments_uploader_id")
        ),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_attachments_uploader_id"), ["uploader_id"], unique=False
        )

    op.create_table(
        "event_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_event_audit_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_audit_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_audit")),
        sa.UniqueConstraint("event_id", "seq", name=op.f("uq_event_audit_event_id")),
    )
    with op.batch_alter_table("event_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_audit_event_id"), ["event_id"], unique=False)

    if postgres:
        op.create_index("ix_events_point", "events", ["point"], postgresql_using="gist")
        op.execute(_PG_AUDIT_GUARD)
    else:
        for statement in _SQLITE_AUDIT_GUARD:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER event_audit_no_update ON event_audit")
        op.execute("DROP TRIGGER event_audit_no_truncate ON event_audit")
        op.execute("DROP FUNCTION event_audit_append_only()")
        op.drop_index("ix_events_point", table_name="events", postgresql_using="gist")
    with op.batch_alter_table("event_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_audit_event_id"))

    op.drop_table("event_audit")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_uploader_id"))
        batch_op.drop_index(batch_op.f("ix_attachments_event_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_warn", postgresql_where="warned_at IS NULL")
        batch_op.drop_index(batch_op.f("ix_events_village_id"))
        batch_op.drop_index(batch_op.f("ix_events_township_id"))
        batch_op.drop_index(batch_op.f("ix_events_reporter_id"))
        batch_op.drop_index("ix_events_queue")
        batch_op.drop_index("ix_events_lonlat")
        batch_op.drop_index(batch_op.f("ix_events_grid_id"))
        batch_op.drop_index(batch_op.f("ix_events_duplicate_of_id"))
        batch_op.drop_index("ix_events_due", postgresql_where="breached_at IS NULL")
        batch_op.drop_index("ix_events_district_state")
        batch_op.drop_index(batch_op.f("ix_events_district_id"))
        batch_op.drop_index(batch_op.f("ix_events_assigned_user_id"))
        batch_op.drop_index(batch_op.f("ix_events_assigned_department_id"))

    op.drop_table("events")
    with op.batch_alter_table("subcategories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subcategories_category_code"))

    op.drop_table("subcategories")
    op.drop_table("dispatch_rules")
    op.drop_table("categories")
    op.drop_table("calendar_overrides")

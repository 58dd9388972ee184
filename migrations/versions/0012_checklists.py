"""checklists: checklist dispatch 清单派发 (checklists, items, assignments, answers), and the
event source 'checklist'

Revision ID: 0012
Revises: 0011
"""

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ancestry():
    return [
        sa.Column("district_id", sa.BigInteger(), nullable=True),
        sa.Column("township_id", sa.BigInteger(), nullable=True),
        sa.Column("village_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
    ]


def _ancestry_indexes(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in ("district_id", "township_id", "village_id", "grid_id"):
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def _event_sources(change) -> None:
    """Rewrite the events.source check with one value added or removed, keeping whatever
    values other revisions added: the list is read from the database, not assumed."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        definition = bind.execute(
            sa.text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conname = 'ck_events_source'"
            )
        ).scalar_one()
        values = change(re.findall(r"'([a-z0-9_]+)'", definition))
        op.drop_constraint(op.f("ck_events_source"), "events", type_="check")
        op.create_check_constraint(
            op.f("ck_events_source"), "events", f"source IN ({', '.join(repr(v) for v in values)})"
        )
        return
    # SQLite cannot alter a constraint, and rebuilding the events table would trip the foreign
    # keys of every row that refers to it. Widening an IN list changes nothing stored, which is
    # the case SQLite documents for editing the schema text in place (lang_altertable.html,
    # "simpler procedure"); schema_version is bumped so every connection re-reads it.
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'")
    ).scalar_one()
    found = re.search(r"source IN \(([^)]*)\)", sql)
    values = change(re.findall(r"'([a-z0-9_]+)'", found.group(1)))
    new = sql[: found.start()] + f"source IN ({', '.join(repr(v) for v in values)})"
    new += sql[found.end() :]
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'events'"),
        {"sql": new},
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    _event_sources(lambda values: values + ["checklist"] if "checklist" not in values else values)

    op.create_table(
        "checklists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("centre_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("targets", _JSON, nullable=False),
        *_ancestry(),
        sa.CheckConstraint("due_at > created_at", name=op.f("ck_checklists_due_after_creation")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_checklists_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklists")),
    )
    _ancestry_indexes("checklists")
    with op.batch_alter_table("checklists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checklists_centre_id"), ["centre_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checklists_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            "ix_checklists_warn_at",
            ["warn_at"],
            unique=False,
            postgresql_where=sa.text("warned_at IS NULL"),
        )
        batch_op.create_index(
            "ix_checklists_due_at",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text("overdue_at IS NULL"),
        )

    op.create_table(
        "checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("hint", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("fail_on", sa.Boolean(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("max_distance_m", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('photo', 'gps', 'yes_no', 'value')", name=op.f("ck_checklist_items_kind")
        ),
        sa.CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value",
            name=op.f("ck_checklist_items_range"),
        ),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklists.id"],
            name=op.f("fk_checklist_items_checklist_id_checklists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_items")),
        sa.UniqueConstraint("checklist_id", "key", name=op.f("uq_checklist_items_checklist_id")),
    )
    with op.batch_alter_table("checklist_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_items_checklist_id"), ["checklist_id"], unique=False
        )

    op.create_table(
        "checklist_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=24), nullable=False),
        sa.Column("key_place_id", sa.Integer(), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("required_count", sa.Integer(), nullable=False),
        sa.Column("answered_count", sa.Integer(), nullable=False),
        sa.Column("required_answered", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.Integer(), nullable=True),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *_ancestry(),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklists.id"],
            name=op.f("fk_checklist_assignments_checklist_id_checklists"),
        ),
        sa.ForeignKeyConstraint(
            ["completed_by"],
            ["users.id"],
            name=op.f("fk_checklist_assignments_completed_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["key_place_id"],
            ["key_places.id"],
            name=op.f("fk_checklist_assignments_key_place_id_key_places"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_assignments")),
        sa.UniqueConstraint(
            "checklist_id", "target", name=op.f("uq_checklist_assignments_checklist_id")
        ),
    )
    _ancestry_indexes("checklist_assignments")
    with op.batch_alter_table("checklist_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_assignments_checklist_id"), ["checklist_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_checklist_assignments_key_place_id"), ["key_place_id"], unique=False
        )
        batch_op.create_index(
            "ix_checklist_assignments_warn_at",
            ["warn_at"],
            unique=False,
            postgresql_where=sa.text("warned_at IS NULL"),
        )
        batch_op.create_index(
            "ix_checklist_assignments_due_at",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text("overdue_at IS NULL"),
        )

    op.create_table(
        "checklist_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=32), nullable=False),
        sa.Column("yes", sa.Boolean(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("attachment_ids", _JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("fail_reason", sa.String(length=200), nullable=False),
        sa.Column("answered_by", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", _EVENT_ID, nullable=True),
        sa.Column("event_client_uuid", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["users.id"], name=op.f("fk_checklist_answers_answered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["checklist_assignments.id"],
            name=op.f("fk_checklist_answers_assignment_id_checklist_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_checklist_answers_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["checklist_items.id"],
            name=op.f("fk_checklist_answers_item_id_checklist_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_answers")),
        sa.UniqueConstraint(
            "assignment_id", "item_key", name=op.f("uq_checklist_answers_assignment_id")
        ),
        sa.UniqueConstraint(
            "event_client_uuid", name=op.f("uq_checklist_answers_event_client_uuid")
        ),
    )
    with op.batch_alter_table("checklist_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_answers_event_id"), ["event_id"], unique=False
        )


def downgrade():
    op.drop_table("checklist_answers")
    op.drop_table("checklist_assignments")
    op.drop_table("checklist_items")
    op.drop_table("checklists")
    _event_sources(lambda values: [v for v in values if v != "checklist"])

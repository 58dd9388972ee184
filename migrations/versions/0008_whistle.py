"""whistle

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 19:09:50.569950

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "event_units",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("board", sa.String(length=16), nullable=True),
        sa.Column("area_id", sa.BigInteger(), nullable=True),
        sa.Column("unit_key", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "level IN ('department', 'board', 'village')", name=op.f("ck_event_units_level")
        ),
        sa.CheckConstraint("role IN ('co_handler', 'summoned')", name=op.f("ck_event_units_role")),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=op.f("fk_event_units_added_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_event_units_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_units_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_units")),
        sa.UniqueConstraint("event_id", "unit_key", name=op.f("uq_event_units_event_id")),
    )
    with op.batch_alter_table("event_units", schema=None) as batch_op:
        batch_op.create_index("ix_event_units_area_event", ["area_id", "event_id"], unique=False)
        batch_op.create_index(
            "ix_event_units_department_event", ["department_id", "event_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_event_units_event_id"), ["event_id"], unique=False)

    op.create_table(
        "whistles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("lead_department_id", sa.Integer(), nullable=False),
        sa.Column("report_in_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("limit_unit", sa.String(length=16), nullable=False),
        sa.Column("limit_amount", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_whistles_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_whistles_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["lead_department_id"],
            ["departments.id"],
            name=op.f("fk_whistles_lead_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistles")),
    )
    with op.batch_alter_table("whistles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_whistles_event_id"), ["event_id"], unique=False)

    op.create_table(
        "whistle_summons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("whistle_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("report_in_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=True),
        sa.Column("late_by_seconds", sa.Integer(), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'overdue', 'on_time', 'late')",
            name=op.f("ck_whistle_summons_state"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_whistle_summons_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_whistle_summons_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["reported_by"], ["users.id"], name=op.f("fk_whistle_summons_reported_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["whistle_id"], ["whistles.id"], name=op.f("fk_whistle_summons_whistle_id_whistles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistle_summons")),
        sa.UniqueConstraint(
            "whistle_id", "department_id", name=op.f("uq_whistle_summons_whistle_id")
        ),
    )
    with op.batch_alter_table("whistle_summons", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whistle_summons_department_due", ["department_id", "report_in_due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_whistle_summons_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            "ix_whistle_summons_pending_due",
            ["report_in_due_at"],
            unique=False,
            postgresql_where="state = 'pending'",
        )
        batch_op.create_index(
            batch_op.f("ix_whistle_summons_whistle_id"), ["whistle_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("whistle_summons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whistle_summons_whistle_id"))
        batch_op.drop_index("ix_whistle_summons_pending_due", postgresql_where="state = 'pending'")
        batch_op.drop_index(batch_op.f("ix_whistle_summons_event_id"))
        batch_op.drop_index("ix_whistle_summons_department_due")

    op.drop_table("whistle_summons")
    with op.batch_alter_table("whistles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whistles_event_id"))

    op.drop_table("whistles")
    with op.batch_alter_table("event_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_units_event_id"))
        batch_op.drop_index("ix_event_units_department_event")
        batch_op.drop_index("ix_event_units_area_event")

    op.drop_table("event_units")

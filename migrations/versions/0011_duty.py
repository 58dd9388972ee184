"""duty roster: shifts and handovers

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


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


def upgrade():
    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("post", sa.String(length=12), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_ancestry(),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_duty_shifts_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_duty_shifts_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_duty_shifts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shifts")),
    )
    _ancestry_indexes("duty_shifts")
    with op.batch_alter_table("duty_shifts", schema=None) as batch_op:
        batch_op.create_index("ix_duty_shifts_centre_ends", ["centre_id", "ends_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_shifts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "duty_handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.BigInteger(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=True),
        sa.Column("from_user_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.Integer(), nullable=True),
        *_ancestry(),
        sa.ForeignKeyConstraint(
            ["from_user_id"], ["users.id"], name=op.f("fk_duty_handovers_from_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["received_by"], ["users.id"], name=op.f("fk_duty_handovers_received_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_handovers_shift_id_duty_shifts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_handovers")),
    )
    _ancestry_indexes("duty_handovers")
    with op.batch_alter_table("duty_handovers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duty_handovers_centre_id"), ["centre_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_duty_handovers_created_at"), ["created_at"], unique=False
        )


def downgrade():
    op.drop_table("duty_handovers")
    op.drop_table("duty_shifts")

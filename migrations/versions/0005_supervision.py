"""supervision

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 16:38:20.890258

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "supervision_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("reply_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_supervision_notices_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_notices")),
    )
    with op.batch_alter_table("supervision_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supervision_notices_created_by"), ["created_by"], unique=False
        )

    op.create_table(
        "supervision_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reply_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_by", sa.Integer(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_supervision_targets_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["supervision_notices.id"],
            name=op.f("fk_supervision_targets_notice_id_supervision_notices"),
        ),
        sa.ForeignKeyConstraint(
            ["replied_by"], ["users.id"], name=op.f("fk_supervision_targets_replied_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_targets")),
        sa.UniqueConstraint("notice_id", "event_id", name=op.f("uq_supervision_targets_notice_id")),
    )
    with op.batch_alter_table("supervision_targets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supervision_targets_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supervision_targets_notice_id"), ["notice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supervision_targets_reply_due_at"), ["reply_due_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("supervision_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_targets_reply_due_at"))
        batch_op.drop_index(batch_op.f("ix_supervision_targets_notice_id"))
        batch_op.drop_index(batch_op.f("ix_supervision_targets_event_id"))

    op.drop_table("supervision_targets")
    with op.batch_alter_table("supervision_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_notices_created_by"))

    op.drop_table("supervision_notices")

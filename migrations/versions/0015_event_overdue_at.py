"""events.overdue_at: the first deadline an event ran past, never cleared

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True))
    # What is still known: an event flagged overdue now ran late at its running (or last)
    # stage. Breaches of earlier stages were cleared before this column existed.
    op.execute("UPDATE events SET overdue_at = due_at WHERE breached_at IS NOT NULL")
    op.execute(
        "UPDATE events SET overdue_at = breached_at WHERE breached_at IS NOT NULL"
        " AND overdue_at IS NULL"
    )


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("overdue_at")

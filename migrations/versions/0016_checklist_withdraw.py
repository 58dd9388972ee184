"""checklists: edited after sending (title, instructions, deadline) and withdrawn 撤回

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BY = ("edited_by", "withdrawn_by")


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("checklists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("withdraw_reason", sa.String(length=200), nullable=True))
    for column in _BY:
        if postgres:
            op.add_column("checklists", sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(
                op.f(f"fk_checklists_{column}_users"), "checklists", "users", [column], ["id"]
            )
        else:
            # SQLite adds a foreign key only by rebuilding the table, and rebuilding
            # `checklists` (items and assignments refer to it) fails under foreign_keys=ON
            # once it has rows; a column added with REFERENCES needs no rebuild (as in 0007).
            op.execute(f"ALTER TABLE checklists ADD COLUMN {column} INTEGER REFERENCES users (id)")
    with op.batch_alter_table("checklist_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for column in _BY:
            op.drop_constraint(op.f(f"fk_checklists_{column}_users"), "checklists", "foreignkey")
    # Plain ALTER TABLE … DROP COLUMN on SQLite as well: a batch rebuild of either table (other
    # tables refer to both) fails under foreign_keys=ON once they have rows.
    columns = {
        "checklist_assignments": ("withdrawn_at",),
        "checklists": ("withdraw_reason", "withdrawn_at", "edited_at", *_BY),
    }
    for table, names in columns.items():
        for column in names:
            if postgres:
                op.drop_column(table, column)
            else:
                op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")

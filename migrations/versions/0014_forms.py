""" "一表通" smart reports: forms, filings and the filings' history

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


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
        "report_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fill_level", sa.String(length=10), nullable=False),
        sa.Column("fields", _json(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("owner_area_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        *_ancestry(),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'closed')", name=op.f("ck_report_forms_status")
        ),
        sa.CheckConstraint(
            "fill_level IN ('grid', 'village', 'township')",
            name=op.f("ck_report_forms_fill_level"),
        ),
        sa.CheckConstraint(
            "period_kind IN ('month', 'quarter', 'year', 'adhoc')",
            name=op.f("ck_report_forms_period_kind"),
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_report_forms_period_order")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_report_forms_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_area_id"],
            ["areas.id"],
            name=op.f("fk_report_forms_owner_area_id_areas"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_forms")),
    )
    _ancestry_indexes("report_forms")
    with op.batch_alter_table("report_forms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_forms_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_report_forms_owner_area_id"), ["owner_area_id"], unique=False
        )

    op.create_table(
        "report_filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("values", _json(), nullable=False),
        sa.Column("system", _json(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_by", sa.Integer(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        *_ancestry(),
        sa.CheckConstraint(
            "status IN ('pending', 'draft', 'submitted', 'returned')",
            name=op.f("ck_report_filings_status"),
        ),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["areas.id"],
            name=op.f("fk_report_filings_area_id_areas"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["report_forms.id"],
            name=op.f("fk_report_filings_form_id_report_forms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["returned_by"], ["users.id"], name=op.f("fk_report_filings_returned_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["users.id"], name=op.f("fk_report_filings_submitted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_report_filings_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_filings")),
        sa.UniqueConstraint("form_id", "area_id", name=op.f("uq_report_filings_form_id")),
    )
    _ancestry_indexes("report_filings")
    with op.batch_alter_table("report_filings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_filings_area_id"), ["area_id"], unique=False)
        batch_op.create_index("ix_report_filings_form_status", ["form_id", "status"], unique=False)

    op.create_table(
        "report_filing_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        *_ancestry(),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_report_filing_log_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["report_filings.id"],
            name=op.f("fk_report_filing_log_filing_id_report_filings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_filing_log")),
    )
    _ancestry_indexes("report_filing_log")
    with op.batch_alter_table("report_filing_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_filing_log_filing_id"), ["filing_id"], unique=False
        )


def downgrade():
    op.drop_table("report_filing_log")
    op.drop_table("report_filings")
    op.drop_table("report_forms")

"""open311: partners' API keys (hashed, bound to an account) and posted service requests

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "open311_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.BigInteger(), nullable=True),
        sa.Column("township_id", sa.BigInteger(), nullable=True),
        sa.Column("village_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_open311_api_keys_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["users.id"], name=op.f("fk_open311_api_keys_revoked_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_open311_api_keys_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_api_keys_key_hash")),
    )
    with op.batch_alter_table("open311_api_keys", schema=None) as batch_op:
        for column in ("user_id", "district_id", "township_id", "village_id", "grid_id"):
            batch_op.create_index(
                batch_op.f(f"ix_open311_api_keys_{column}"), [column], unique=False
            )

    op.create_table(
        "open311_requests",
        sa.Column("event_id", EVENT_ID, autoincrement=False, nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("address_string", sa.String(length=255), nullable=True),
        sa.Column("media_url", sa.String(length=1024), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("contact", JSON, nullable=True),
        sa.Column("attributes", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["open311_api_keys.id"],
            name=op.f("fk_open311_requests_api_key_id_open311_api_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_open311_requests_event_id_events")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_open311_requests")),
    )
    with op.batch_alter_table("open311_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open311_requests_api_key_id"), ["api_key_id"], unique=False
        )


def downgrade():
    op.drop_table("open311_requests")
    op.drop_table("open311_api_keys")

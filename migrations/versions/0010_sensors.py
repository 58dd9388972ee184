"""sensors: monitoring and early warning 监测预警 (sensors, readings, threshold rules)

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from app.core.types import GeometryType

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TYPES = "'rain_gauge', 'crack_meter', 'inclinometer', 'water_level', 'smoke', 'combustible_gas'"
_LEVELS = "'blue', 'yellow', 'orange', 'red'"
_EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "sensors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("point", GeometryType("POINT", srid=4326), nullable=True),
        sa.Column("location_snapped", sa.Boolean(), nullable=False),
        sa.Column("key_place_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.Integer(), nullable=True),
        sa.Column("last_reading_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("level_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quiet_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warning_event_id", _EVENT_ID, nullable=True),
        sa.Column("warning_alarm_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.BigInteger(), nullable=True),
        sa.Column("township_id", sa.BigInteger(), nullable=True),
        sa.Column("village_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(f"type IN ({_TYPES})", name=op.f("ck_sensors_type")),
        sa.CheckConstraint(f"level IS NULL OR level IN ({_LEVELS})", name=op.f("ck_sensors_level")),
        sa.ForeignKeyConstraint(
            ["key_place_id"], ["key_places.id"], name=op.f("fk_sensors_key_place_id_key_places")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by"], ["users.id"], name=op.f("fk_sensors_registered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["warning_alarm_id"], ["alarms.id"], name=op.f("fk_sensors_warning_alarm_id_alarms")
        ),
        sa.ForeignKeyConstraint(
            ["warning_event_id"], ["events.id"], name=op.f("fk_sensors_warning_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensors")),
        sa.UniqueConstraint("code", name=op.f("uq_sensors_code")),
    )
    with op.batch_alter_table("sensors", schema=None) as batch_op:
        for column in ("type", "key_place_id", "district_id", "township_id", "village_id"):
            batch_op.create_index(batch_op.f(f"ix_sensors_{column}"), [column], unique=False)
        batch_op.create_index(batch_op.f("ix_sensors_grid_id"), ["grid_id"], unique=False)
    if postgres:
        op.create_index("ix_sensors_point", "sensors", ["point"], postgresql_using="gist")

    op.create_table(
        "sensor_readings",
        sa.Column("id", _EVENT_ID, nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sensor_id"], ["sensors.id"], name=op.f("fk_sensor_readings_sensor_id_sensors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_readings")),
        sa.UniqueConstraint("sensor_id", "at", name=op.f("uq_sensor_readings_sensor_id")),
    )

    op.create_table(
        "sensor_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("window_hours", sa.Float(), nullable=True),
        sa.Column("blue", sa.Float(), nullable=False),
        sa.Column("yellow", sa.Float(), nullable=False),
        sa.Column("orange", sa.Float(), nullable=False),
        sa.Column("red", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"type IN ({_TYPES})", name=op.f("ck_sensor_rules_type")),
        sa.CheckConstraint("kind IN ('level', 'rate')", name=op.f("ck_sensor_rules_kind")),
        sa.CheckConstraint(
            "blue < yellow AND yellow < orange AND orange < red",
            name=op.f("ck_sensor_rules_ordered"),
        ),
        sa.CheckConstraint(
            "(kind = 'rate') = (window_hours IS NOT NULL AND window_hours > 0)",
            name=op.f("ck_sensor_rules_window"),
        ),
        sa.ForeignKeyConstraint(
            ["sensor_id"], ["sensors.id"], name=op.f("fk_sensor_rules_sensor_id_sensors")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_sensor_rules_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_rules")),
    )
    with op.batch_alter_table("sensor_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sensor_rules_sensor_id"), ["sensor_id"], unique=False)
        batch_op.create_index("ix_sensor_rules_type_kind", ["type", "kind"], unique=False)


def downgrade():
    with op.batch_alter_table("sensor_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_sensor_rules_type_kind")
        batch_op.drop_index(batch_op.f("ix_sensor_rules_sensor_id"))
    op.drop_table("sensor_rules")
    op.drop_table("sensor_readings")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_sensors_point", table_name="sensors", postgresql_using="gist")
    with op.batch_alter_table("sensors", schema=None) as batch_op:
        for column in ("grid_id", "village_id", "township_id", "district_id", "key_place_id"):
            batch_op.drop_index(batch_op.f(f"ix_sensors_{column}"))
        batch_op.drop_index(batch_op.f("ix_sensors_type"))
    op.drop_table("sensors")

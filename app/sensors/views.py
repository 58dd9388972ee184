"""/api/v1/sensors: register and list sensors, their readings and rules; devices ingest."""

from __future__ import annotations

from flask import request

from app.core.api import Blueprint
from app.core.auth import current_principal, public, require_roles
from app.core.pagination import page_schema
from app.extensions import db
from app.sensors import service
from app.sensors.schemas import (
    SensorCreatedSchema,
    SensorCreateSchema,
    SensorDetailSchema,
    SensorIngestResultSchema,
    SensorQuerySchema,
    SensorReadingBatchSchema,
    SensorReadingSeriesSchema,
    SensorReadingsQuerySchema,
    SensorRuleCreateSchema,
    SensorRuleListSchema,
    SensorRuleQuerySchema,
    SensorRuleSchema,
    SensorRuleUpdateSchema,
    SensorSchema,
    SensorUpdateSchema,
)

bp = Blueprint("sensors", __name__, url_prefix="/api/v1/sensors", description="监测预警")

WRITERS = tuple(sorted(service.WRITERS))


@bp.route("/readings", methods=["POST"])
@public
@bp.doc(
    security=[],
    description="设备认证：请求头 `Authorization: Device <设备编号>:<设备密钥>`（不是用户令牌）。",
)
@bp.arguments(SensorReadingBatchSchema)
@bp.response(200, SensorIngestResultSchema)
def ingest_readings(args):
    """A device's batch of readings, stored once per (device, time); rules judged at once."""
    sensor = service.authenticate_device(request.headers.get("Authorization"))
    result = service.ingest(sensor=sensor, **args)
    db.session.commit()
    return result


@bp.route("", methods=["GET"])
@bp.arguments(SensorQuerySchema, location="query")
@bp.response(200, page_schema(SensorSchema))
def list_sensors(args):
    """Sensors in my scope, those warning first (red first), then by name."""
    return service.list_sensors(filters=args)


@bp.route("", methods=["POST"])
@require_roles(*WRITERS)
@bp.arguments(SensorCreateSchema)
@bp.response(201, SensorCreatedSchema)
def register_sensor(args):
    """Register a device at a point in my scope; its secret is returned this once only."""
    sensor, secret = service.register(principal=current_principal(), fields=args)
    db.session.commit()
    sensor.secret = secret  # dumped this once; only its hash is stored
    return sensor


@bp.route("/<id:sensor_id>", methods=["GET"])
@bp.response(200, SensorDetailSchema)
def get_sensor(sensor_id: int):
    """One sensor, its warning, and the rules in force for it."""
    return service.get_detail(sensor_id=sensor_id)


@bp.route("/<id:sensor_id>", methods=["PATCH"])
@require_roles(*WRITERS)
@bp.arguments(SensorUpdateSchema)
@bp.response(200, SensorSchema)
def update_sensor(args, sensor_id: int):
    """Rename, move (its grid follows), link to a key place, or switch off a sensor."""
    sensor = service.update(principal=current_principal(), sensor_id=sensor_id, changes=args)
    db.session.commit()
    return sensor


@bp.route("/<id:sensor_id>/readings", methods=["GET"])
@bp.arguments(SensorReadingsQuerySchema, location="query")
@bp.response(200, SensorReadingSeriesSchema)
def list_readings(args, sensor_id: int):
    """Readings over a period (default the last 24 h), thinned to peaks when long."""
    return service.readings(sensor_id=sensor_id, **args)


@bp.route("/rules", methods=["GET"])
@bp.arguments(SensorRuleQuerySchema, location="query")
@bp.response(200, SensorRuleListSchema)
def list_rules(args):
    """Threshold rules: the types' defaults and the site rules of sensors I can see."""
    return {"items": service.list_rules(**args)}


@bp.route("/rules", methods=["POST"])
@require_roles(*WRITERS)
@bp.arguments(SensorRuleCreateSchema)
@bp.response(201, SensorRuleSchema)
def create_rule(args):
    """A site's own rule (replaces its type's rule of that kind), or a type's (city admins)."""
    rule = service.create_rule(principal=current_principal(), fields=args)
    db.session.commit()
    return rule


@bp.route("/rules/<id:rule_id>", methods=["PATCH"])
@require_roles(*WRITERS)
@bp.arguments(SensorRuleUpdateSchema)
@bp.response(200, SensorRuleSchema)
def update_rule(args, rule_id: int):
    """Change a rule's thresholds or window, or switch it off."""
    rule = service.update_rule(principal=current_principal(), rule_id=rule_id, changes=args)
    db.session.commit()
    return rule

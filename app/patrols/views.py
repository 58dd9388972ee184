"""/api/v1/patrols: the phone starts, uploads fixes and stops; consoles list tracks and coverage."""

from __future__ import annotations

from flask import jsonify

from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.extensions import db
from app.patrols import service
from app.patrols.schemas import (
    CoverageQuerySchema,
    CoverageSchema,
    PatrolDetailSchema,
    PatrolPointBatchSchema,
    PatrolPointsResultSchema,
    PatrolQuerySchema,
    PatrolSchema,
    PatrolStartSchema,
    PatrolStopSchema,
)

blp = Blueprint(
    "patrols", __name__, url_prefix="/api/v1/patrols", description="巡查：轨迹与网格覆盖率"
)

PATROLLERS = tuple(sorted(service.PATROLLERS))
_patrol_schema = PatrolSchema()
_points_schema = PatrolPointsResultSchema()


@blp.route("", methods=["POST"])
@require_roles(*PATROLLERS)
@blp.arguments(PatrolStartSchema)
@blp.response(201, PatrolSchema)
@blp.alt_response(200, schema=PatrolSchema, description="重试：返回同一编号已开始的巡查")
def start_patrol(args):
    """Start a patrol with a phone-chosen uuid; the same uuid again returns the same patrol."""
    patrol, created = service.start(principal=current_principal(), **args)
    payload = _patrol_schema.dump(patrol)
    db.session.commit()
    response = jsonify(payload)
    response.status_code = 201 if created else 200
    return response


@blp.route("/<uuid:patrol_uuid>/points", methods=["POST"])
@require_roles(*PATROLLERS)
@blp.arguments(PatrolPointBatchSchema)
@blp.response(200, PatrolPointsResultSchema)
def add_points(args, patrol_uuid):
    """A batch of GPS fixes, stored once per (patrol, time); bad fixes are listed, good kept."""
    result = service.add_points(principal=current_principal(), patrol_uuid=patrol_uuid, **args)
    payload = _points_schema.dump(result)
    db.session.commit()
    return jsonify(payload)


@blp.route("/<uuid:patrol_uuid>/stop", methods=["POST"])
@require_roles(*PATROLLERS)
@blp.arguments(PatrolStopSchema)
@blp.response(200, PatrolSchema)
def stop_patrol(args, patrol_uuid):
    """End a patrol; sending the stop again changes nothing."""
    patrol = service.stop(principal=current_principal(), patrol_uuid=patrol_uuid, **args)
    # Dumped before the commit, which would expire the patrol and cost a SELECT to reload it.
    payload = _patrol_schema.dump(patrol)
    db.session.commit()
    return jsonify(payload)


@blp.route("", methods=["GET"])
@blp.arguments(PatrolQuerySchema, location="query")
@blp.response(200, page_schema(PatrolSchema))
def list_patrols(args):
    """Patrols in my scope (filter by day, person, area, status), latest first."""
    return service.list_patrols(principal=current_principal(), filters=args)


@blp.route("/<id:patrol_id>", methods=["GET"])
@blp.response(200, PatrolDetailSchema)
def get_patrol(patrol_id: int):
    """One patrol with its track as a GeoJSON LineString."""
    return service.get_detail(patrol_id=patrol_id)


@blp.route("/coverage", methods=["GET"])
@blp.arguments(CoverageQuerySchema, location="query")
@blp.response(200, CoverageSchema)
def get_coverage(args):
    """Coverage of each grid of a township, village or grid on a day, with totals."""
    return service.coverage_report(principal=current_principal(), **args)

"""/api/v1/duty: the roster of a command centre, who is on duty now, handovers 交接班."""

from __future__ import annotations

from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.duty import service
from app.duty.schemas import (
    CentreQuerySchema,
    DutyNowSchema,
    HandoverCreateSchema,
    HandoverQuerySchema,
    HandoverSchema,
    ShiftCreateSchema,
    ShiftQuerySchema,
    ShiftSchema,
    StaffListSchema,
)
from app.extensions import db

blp = Blueprint("duty", __name__, url_prefix="/api/v1", description="24小时值班：排班与交接班")


@blp.route("/duty/now", methods=["GET"])
@blp.arguments(CentreQuerySchema, location="query")
@blp.response(200, DutyNowSchema)
def duty_now(args):
    """Who is on duty at a centre now, who comes next, and the latest handover."""
    return service.current(principal=current_principal(), **args)


@blp.route("/duty/staff", methods=["GET"])
@blp.arguments(CentreQuerySchema, location="query")
@blp.response(200, StaffListSchema)
def list_staff(args):
    """The people who can be put on a centre's roster."""
    return {"items": service.staff(principal=current_principal(), **args)}


@blp.route("/duty/shifts", methods=["GET"])
@blp.arguments(ShiftQuerySchema, location="query")
@blp.response(200, page_schema(ShiftSchema))
def list_shifts(args):
    """A centre's shifts overlapping a period (from now on by default), earliest first."""
    return service.list_shifts(principal=current_principal(), **args)


@blp.route("/duty/shifts", methods=["POST"])
@require_roles(*service.ROSTER_ROLES)
@blp.arguments(ShiftCreateSchema)
@blp.response(201, ShiftSchema)
def create_shift(args):
    """Put a person on duty at a centre for a time (at most 24 hours)."""
    shift = service.create_shift(principal=current_principal(), **args)
    db.session.commit()
    return shift


@blp.route("/duty/shifts/<id:shift_id>", methods=["DELETE"])
@require_roles(*service.ROSTER_ROLES)
@blp.response(204)
def delete_shift(shift_id: int):
    """Take back a shift that has not started."""
    service.delete_shift(principal=current_principal(), shift_id=shift_id)
    db.session.commit()


@blp.route("/duty/handovers", methods=["GET"])
@blp.arguments(HandoverQuerySchema, location="query")
@blp.response(200, page_schema(HandoverSchema))
def list_handovers(args):
    """A centre's handover notes, newest first."""
    return service.list_handovers(principal=current_principal(), **args)


@blp.route("/duty/handovers", methods=["POST"])
@require_roles(*service.ROSTER_ROLES)
@blp.arguments(HandoverCreateSchema)
@blp.response(201, HandoverSchema)
def write_handover(args):
    """Hand over 交班: the note, with what is still open, goes to the next shift."""
    item = service.write_handover(principal=current_principal(), **args)
    db.session.commit()
    return item


@blp.route("/duty/handovers/<id:handover_id>/receive", methods=["POST"])
@require_roles(*service.ROSTER_ROLES)
@blp.response(200, HandoverSchema)
def receive_handover(handover_id: int):
    """Take over 接班: the handover is marked read by the next shift."""
    item = service.receive_handover(principal=current_principal(), handover_id=handover_id)
    db.session.commit()
    return item

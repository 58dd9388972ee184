"""/api/v1/calendar: the working calendar as deadlines see it, and its override table."""

from __future__ import annotations

from app.accounts.roles import Role
from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.extensions import db
from app.sla import service
from app.sla.schemas import (
    DaysQuerySchema,
    DaysSchema,
    OverridePutSchema,
    OverrideQuerySchema,
    OverrideSchema,
)

bp = Blueprint("calendar", __name__, url_prefix="/api/v1", description="工作日历")


@bp.route("/calendar/days", methods=["GET"])
@bp.arguments(DaysQuerySchema, location="query")
@bp.response(200, DaysSchema)
def list_days(args):
    """Working day or not for each day of a range (at most 366), and which layer decided."""
    return {"items": service.calendar_days(first=args["first"], last=args["last"])}


@bp.route("/calendar/overrides", methods=["GET"])
@require_roles(Role.ADMIN)
@bp.arguments(OverrideQuerySchema, location="query")
@bp.response(200, page_schema(OverrideSchema))
def list_overrides(args):
    """The admin-declared working days and days off, by date."""
    return service.list_overrides(**args)


@bp.route("/calendar/overrides/<day>", methods=["PUT"])
@require_roles(Role.ADMIN)
@bp.arguments(OverridePutSchema)
@bp.response(200, OverrideSchema)
def put_override(args, day: str):
    """Declare a day a working day or a day off (city administrators)."""
    row = service.put_override(actor=current_principal(), day=service.parse_day(day), **args)
    db.session.commit()
    return row


@bp.route("/calendar/overrides/<day>", methods=["DELETE"])
@require_roles(Role.ADMIN)
@bp.response(204)
def delete_override(day: str):
    """Remove an override; the libraries decide that day again (city administrators)."""
    service.delete_override(actor=current_principal(), day=service.parse_day(day))
    db.session.commit()

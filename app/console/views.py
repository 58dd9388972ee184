"""/api/v1/alarms and /api/v1/pins: what stays on a console until someone acknowledges it."""

from __future__ import annotations

from app.console import service
from app.console.schemas import (
    AcknowledgeSchema,
    ActiveQuerySchema,
    AlarmSchema,
    PinCreateSchema,
    PinSchema,
)
from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.extensions import db

blp = Blueprint("console", __name__, url_prefix="/api/v1", description="指挥中心：告警与置顶")


@blp.route("/alarms", methods=["GET"])
@blp.arguments(ActiveQuerySchema, location="query")
@blp.response(200, page_schema(AlarmSchema))
def list_alarms(args):
    """Alarms in my scope (unacknowledged by default)."""
    return service.list_alarms(**args)


@blp.route("/alarms/<id:alarm_id>/acknowledge", methods=["POST"])
@require_roles(*service.CONSOLE_ROLES)
@blp.arguments(AcknowledgeSchema)
@blp.response(200, AlarmSchema)
def acknowledge_alarm(args, alarm_id: int):
    """Acknowledge an alarm: it stops flashing on every console and stops climbing."""
    alarm = service.acknowledge_alarm(principal=current_principal(), alarm_id=alarm_id, **args)
    db.session.commit()
    return alarm


@blp.route("/pins", methods=["GET"])
@blp.arguments(ActiveQuerySchema, location="query")
@blp.response(200, page_schema(PinSchema))
def list_pins(args):
    """Pinned items in my scope (unacknowledged by default)."""
    return service.list_pins(**args)


@blp.route("/pins", methods=["POST"])
@require_roles(*service.CONSOLE_ROLES)
@blp.arguments(PinCreateSchema)
@blp.response(201, PinSchema)
def create_pin(args):
    """Pin an event, or a notice, to the top of the consoles that see it."""
    item = service.pin(
        principal=current_principal(),
        event_id=args.get("event_id"),
        title=args.get("title"),
        note=args["note"],
    )
    db.session.commit()
    return item


@blp.route("/pins/<id:pin_id>/acknowledge", methods=["POST"])
@require_roles(*service.CONSOLE_ROLES)
@blp.response(200, PinSchema)
def acknowledge_pin(pin_id: int):
    """Acknowledge a pin: it leaves the top of the consoles."""
    item = service.acknowledge_pin(principal=current_principal(), pin_id=pin_id)
    db.session.commit()
    return item

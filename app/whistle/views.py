"""/api/v1: whistle 吹哨 an event, summons and report-in 报到, counts, co-handlers 协同, notes."""

from __future__ import annotations

from app.accounts.roles import Role
from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.events.schemas import AuditSchema
from app.extensions import db
from app.whistle import service
from app.whistle.schemas import (
    CoHandlerListSchema,
    CoHandlersCreateSchema,
    EventNoteSchema,
    ReportInCountListSchema,
    ReportInCountsQuerySchema,
    ReportInSchema,
    SummonsQuerySchema,
    SummonsSchema,
    WhistleCreateSchema,
    WhistleListSchema,
    WhistleSchema,
)

bp = Blueprint("whistle", __name__, url_prefix="/api/v1", description="吹哨报到与协同处置")
SummonsPage = page_schema(SummonsSchema)


@bp.route("/events/<id:event_id>/whistle", methods=["POST"])
@require_roles(*service.SUMMONERS)
@bp.arguments(WhistleCreateSchema)
@bp.response(201, WhistleSchema)
def whistle_event(args, event_id: int):
    """Whistle 吹哨: summon district departments in one action; each must report in."""
    record = service.whistle(principal=current_principal(), event_id=event_id, **args)
    db.session.commit()
    return record


@bp.route("/events/<id:event_id>/whistles", methods=["GET"])
@bp.response(200, WhistleListSchema)
def list_event_whistles(event_id: int):
    """The whistles on an event, with each department's report-in."""
    return {"items": service.whistles_of(event_id=event_id)}


@bp.route("/whistles/summons", methods=["GET"])
@bp.arguments(SummonsQuerySchema, location="query")
@bp.response(200, SummonsPage)
def list_summons(args):
    """Summons on events I can see, earliest deadline first: pending, late, my department's."""
    return service.list_summons(principal=current_principal(), filters=args)


@bp.route("/whistles/summons/<id:summons_id>/report-in", methods=["POST"])
@require_roles(Role.DEPARTMENT_HANDLER)
@bp.arguments(ReportInSchema)
@bp.response(200, SummonsSchema)
def report_in(args, summons_id: int):
    """Report in 报到 for my department; after the deadline it is recorded (and counted) late."""
    summons = service.report_in(
        principal=current_principal(), summons_id=summons_id, note=args["note"]
    )
    db.session.commit()
    return summons


@bp.route("/whistles/counts", methods=["GET"])
@bp.arguments(ReportInCountsQuerySchema, location="query")
@bp.response(200, ReportInCountListSchema)
def report_in_counts(args):
    """Per department: summoned, on time, late, overdue and pending report-ins (evaluation)."""
    return {"items": service.report_in_counts(**args)}


@bp.route("/events/<id:event_id>/co-handlers", methods=["GET"])
@bp.response(200, CoHandlerListSchema)
def list_co_handlers(event_id: int):
    """Units involved beside the lead: co-handlers 协同单位 and departments yet to report in."""
    return {"items": service.units_of(event_id=event_id)}


@bp.route("/events/<id:event_id>/co-handlers", methods=["POST"])
@require_roles(*service.SUMMONERS)
@bp.arguments(CoHandlersCreateSchema)
@bp.response(200, CoHandlerListSchema)
def add_co_handlers(args, event_id: int):
    """Name co-handling departments, boards or villages 协同 (idempotent)."""
    units = service.add_co_handlers(principal=current_principal(), event_id=event_id, **args)
    db.session.commit()
    return {"items": units}


@bp.route("/events/<id:event_id>/notes", methods=["POST"])
@bp.arguments(EventNoteSchema)
@bp.response(201, AuditSchema)
def add_note(args, event_id: int):
    """A progress note on the timeline from the lead unit, a co-handler or the command centre."""
    row = service.add_note(principal=current_principal(), event_id=event_id, note=args["note"])
    db.session.commit()
    return row

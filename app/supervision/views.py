"""/api/v1/supervisions: one-click supervision and replies."""

from __future__ import annotations

from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.extensions import db
from app.supervision import service
from app.supervision.schemas import (
    NoticeSchema,
    ReplySchema,
    SuperviseSchema,
    TargetQuerySchema,
    TargetSchema,
)

bp = Blueprint("supervision", __name__, url_prefix="/api/v1", description="一键督办")


@bp.route("/supervisions", methods=["POST"])
@require_roles(*service.SUPERVISORS)
@bp.arguments(SuperviseSchema)
@bp.response(201, NoticeSchema)
def supervise(args):
    """Supervise chosen events, or every overdue event in my scope, in one action."""
    notice = service.supervise(principal=current_principal(), **args)
    db.session.commit()
    return notice


@bp.route("/supervisions/targets", methods=["GET"])
@bp.arguments(TargetQuerySchema, location="query")
@bp.response(200, page_schema(TargetSchema))
def list_targets(args):
    """Supervision on events I can see (pending replies by default), oldest due first."""
    only_pending = args.pop("pending")
    return service.pending_targets(principal=current_principal(), only_pending=only_pending, **args)


@bp.route("/supervisions/targets/<id:target_id>/reply", methods=["POST"])
@bp.arguments(ReplySchema)
@bp.response(200, TargetSchema)
def reply(args, target_id: int):
    """The handler's answer to a supervision notice."""
    target = service.reply(principal=current_principal(), target_id=target_id, text_=args["reply"])
    db.session.commit()
    return target

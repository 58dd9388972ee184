"""/api/v1/checklists (build, send, read, progress, edit, withdraw) and
/api/v1/checklist-assignments (each grid's copy: list, answer item by item, raise an event
from a failed item, photos)."""

from __future__ import annotations

from flask import jsonify

from app.checklists import service
from app.checklists.schemas import (
    ChecklistAnswerInSchema,
    ChecklistAssignmentQuerySchema,
    ChecklistAssignmentSchema,
    ChecklistCreatedSchema,
    ChecklistCreateSchema,
    ChecklistEventSchema,
    ChecklistProgressSchema,
    ChecklistQuerySchema,
    ChecklistSchema,
    ChecklistTargetCountSchema,
    ChecklistTargetsSchema,
    ChecklistUpdateSchema,
    ChecklistWithdrawSchema,
)
from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.events import attachments
from app.events.schemas import EventSchema
from app.extensions import db

bp = Blueprint("checklists", __name__, url_prefix="/api/v1/checklists", description="清单派发")
assignments_bp = Blueprint(
    "checklist_assignments",
    __name__,
    url_prefix="/api/v1/checklist-assignments",
    description="清单任务：网格员逐项填报",
)
CREATORS = tuple(sorted(service.CREATORS))
ANSWERERS = tuple(sorted(service.ANSWERERS))
_event_schema = EventSchema()


@bp.route("", methods=["GET"])
@bp.arguments(ChecklistQuerySchema, location="query")
@bp.response(200, page_schema(ChecklistSchema))
def list_checklists(args):
    """Checklists sent in my scope or assigned to my grids, newest first, with figures."""
    return service.list_checklists(principal=current_principal(), **args)


@bp.route("", methods=["POST"])
@require_roles(*CREATORS)
@bp.arguments(ChecklistCreateSchema)
@bp.response(201, ChecklistCreatedSchema)
def create_checklist(args):
    """Build a checklist and send it to grids, villages, townships or key places of a kind."""
    checklist = service.create(principal=current_principal(), **args)
    payload = ChecklistCreatedSchema().dump(checklist)
    db.session.commit()
    response = jsonify(payload)
    response.status_code = 201
    return response


@bp.route("/targets", methods=["POST"])
@require_roles(*CREATORS)
@bp.arguments(ChecklistTargetsSchema)
@bp.response(200, ChecklistTargetCountSchema)
def count_targets(args):
    """How many grids, key places and workers a checklist would reach (nothing is sent)."""
    return service.preview(principal=current_principal(), **args)


@bp.route("/<id:checklist_id>", methods=["GET"])
@bp.response(200, ChecklistSchema)
def get_checklist(checklist_id: int):
    """One checklist: items, targets and figures over the assignments I can see."""
    return service.detail(principal=current_principal(), checklist_id=checklist_id)


@bp.route("/<id:checklist_id>", methods=["PATCH"])
@require_roles(*CREATORS)
@bp.arguments(ChecklistUpdateSchema)
@bp.response(200, ChecklistSchema)
def edit_checklist(args, checklist_id: int):
    """Change a sent checklist's title, instructions or deadline; its items stay as sent."""
    checklist = service.edit(principal=current_principal(), checklist_id=checklist_id, **args)
    payload = ChecklistSchema().dump(checklist)
    db.session.commit()
    return jsonify(payload)


@bp.route("/<id:checklist_id>/withdraw", methods=["POST"])
@require_roles(*CREATORS)
@bp.arguments(ChecklistWithdrawSchema)
@bp.response(200, ChecklistSchema)
def withdraw_checklist(args, checklist_id: int):
    """Withdraw 撤回 a checklist: answers stay, open work is no longer due, phones drop it."""
    checklist = service.withdraw(principal=current_principal(), checklist_id=checklist_id, **args)
    payload = ChecklistSchema().dump(checklist)
    db.session.commit()
    return jsonify(payload)


@bp.route("/<id:checklist_id>/progress", methods=["GET"])
@bp.response(200, ChecklistProgressSchema)
def get_progress(checklist_id: int):
    """Progress per grid, rolled up to village, township (and district), with totals."""
    return service.progress(checklist_id=checklist_id)


@assignments_bp.route("", methods=["GET"])
@assignments_bp.arguments(ChecklistAssignmentQuerySchema, location="query")
@assignments_bp.response(200, page_schema(ChecklistAssignmentSchema))
def list_assignments(args):
    """Assignments in my scope (a worker: my grids'), open first, with items and answers."""
    return service.list_assignments(filters=args)


@assignments_bp.route("/<id:assignment_id>", methods=["GET"])
@assignments_bp.response(200, ChecklistAssignmentSchema)
def get_assignment(assignment_id: int):
    """One assignment with its checklist's items and the answers so far."""
    assignment = service.get_assignment(assignment_id=assignment_id)
    return service.decorate_assignments([assignment])[0]


@assignments_bp.route("/<id:assignment_id>/answers/<item_key>", methods=["PUT"])
@require_roles(*ANSWERERS)
@assignments_bp.arguments(ChecklistAnswerInSchema)
@assignments_bp.response(200, ChecklistAssignmentSchema)
def answer_item(args, assignment_id: int, item_key: str):
    """Answer one item (sending it again changes nothing); the server judges pass/fail."""
    assignment = service.answer(
        principal=current_principal(), assignment_id=assignment_id, item_key=item_key, data=args
    )
    # Dumped before the commit, which would expire the rows and cost a SELECT each to reload.
    payload = ChecklistAssignmentSchema().dump(assignment)
    db.session.commit()
    return jsonify(payload)


@assignments_bp.route("/<id:assignment_id>/answers/<item_key>/event", methods=["POST"])
@require_roles(*ANSWERERS)
@assignments_bp.arguments(ChecklistEventSchema)
@assignments_bp.response(201, EventSchema)
@assignments_bp.alt_response(200, schema=EventSchema, description="已上报过：返回同一事件")
def raise_event(args, assignment_id: int, item_key: str):
    """Report a failed item as an event in one tap; again returns the same event."""
    event, created = service.raise_event(
        principal=current_principal(),
        assignment_id=assignment_id,
        item_key=item_key,
        client_uuid=args["client_uuid"],
    )
    payload = _event_schema.dump(event)
    db.session.commit()
    response = jsonify(payload)
    response.status_code = 201 if created else 200
    return response


@assignments_bp.route("/<id:assignment_id>/photos/<id:attachment_id>", methods=["GET"])
@assignments_bp.response(200, description="照片文件（已清除元数据）")
def get_photo(assignment_id: int, attachment_id: int):
    """A photo answering an assignment I can see (staff see the workers' photos here)."""
    attachment = service.photo(assignment_id=assignment_id, attachment_id=attachment_id)
    return attachments.send(attachment)

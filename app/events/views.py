"""/api/v1/events: report, the queue, one event, its timeline, actions, nearby; /classify."""

from __future__ import annotations

from flask import jsonify

from app.accounts.roles import Role
from app.classify import service as classify
from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.events import attachments, service
from app.events.lifecycle import Action
from app.events.schemas import (
    ActionSchema,
    AttachmentSchema,
    ClassifyRequestSchema,
    ClassifyResponseSchema,
    EventCreateSchema,
    EventDetailSchema,
    EventQuerySchema,
    EventSchema,
    NearbyQuerySchema,
    NearbySchema,
    RecategorizeSchema,
    TimelineSchema,
    UploadSchema,
)
from app.extensions import db

bp = Blueprint("events", __name__, url_prefix="/api/v1", description="事件上报与闭环处置")

REPORTER_ROLES = (
    Role.GRID_WORKER,
    Role.GRID_LEADER,
    Role.VILLAGE_STAFF,
    Role.TOWNSHIP_DISPATCHER,
    Role.ADMIN,
)
EventPage = page_schema(EventSchema)
_event_schema = EventSchema()
_detail_schema = EventDetailSchema()


@bp.route("/events", methods=["POST"])
@require_roles(*REPORTER_ROLES)
@bp.arguments(EventCreateSchema)
@bp.response(201, EventSchema)
@bp.alt_response(200, schema=EventSchema, description="重试：返回最初受理的同一事件")
def create_event(args):
    """Report an incident; sending the same client_uuid again returns the original event."""
    lon, lat = args["location"]["coordinates"]
    report = service.Report(
        client_uuid=args["client_uuid"],
        description=args["description"],
        lon=lon,
        lat=lat,
        crs=args["location"]["crs"],
        accuracy_m=args.get("accuracy_m"),
        occurred_at=args.get("occurred_at"),
        category=args.get("category"),
        subcategory=args.get("subcategory"),
        key_person_id=args.get("key_person_id"),
        key_place_id=args.get("key_place_id"),
        attachment_ids=tuple(args["photos"]),
        source=args["source"],
    )
    event, created = service.report(principal=current_principal(), data=report)
    # Dumped before the commit, which would expire the event and cost a SELECT to reload it.
    payload = _event_schema.dump(event)
    db.session.commit()
    response = jsonify(payload)
    response.status_code = 201 if created else 200
    return response


@bp.route("/events", methods=["GET"])
@bp.arguments(EventQuerySchema, location="query")
@bp.response(200, EventPage)
def list_events(args):
    """The event queue in my scope: filter by state, category, area, period, near-due/overdue."""
    return service.list_events(principal=current_principal(), filters=args)


@bp.route("/events/nearby", methods=["GET"])
@bp.arguments(NearbyQuerySchema, location="query")
@bp.response(200, NearbySchema)
def nearby_events(args):
    """Open events near a point, nearest first: add to one instead of reporting it again."""
    found = service.nearby(
        lon=args["lon"], lat=args["lat"], crs=args["crs"], radius_m=args["radius_m"]
    )
    return {"items": [{"event": e, "distance_m": round(d, 1)} for e, d in found]}


@bp.route("/events/<id:event_id>", methods=["GET"])
@bp.response(200, EventDetailSchema)
def get_event(event_id: int):
    """One event with its classification, dispatch reason, photos and the actions open to me."""
    event = service.get_event(event_id=event_id)
    event.allowed_actions = service.allowed_actions(current_principal(), event)
    event.attachments = attachments.of_event(event_id=event.id)
    return event


@bp.route("/events/<id:event_id>/timeline", methods=["GET"])
@bp.response(200, TimelineSchema)
def get_timeline(event_id: int):
    """Every step of the event: who, when, from which state to which, and why."""
    return {"items": service.timeline(event_id=event_id)}


@bp.route("/events/<id:event_id>/actions", methods=["POST"])
@bp.arguments(ActionSchema)
@bp.response(200, EventDetailSchema)
def act_on_event(args, event_id: int):
    """File, dispatch, accept, return, escalate, extend, handle, verify, rework, close, …"""
    action = Action(args.pop("action"))
    reason = args.pop("reason", None)
    principal = current_principal()
    event = service.act(
        principal=principal, event_id=event_id, action=action, reason=reason, params=args
    )
    db.session.commit()
    event.allowed_actions = service.allowed_actions(principal, event)
    return event


@bp.route("/events/<id:event_id>/category", methods=["POST"])
@require_roles(*service.TRIAGE_ROLES)
@bp.arguments(RecategorizeSchema)
@bp.response(200, EventDetailSchema)
def recategorize_event(args, event_id: int):
    """Correct the category at triage (kept to retrain the classifier)."""
    principal = current_principal()
    event = service.recategorize(principal=principal, event_id=event_id, **args)
    db.session.commit()
    event.allowed_actions = service.allowed_actions(principal, event)
    return event


@bp.route("/classify", methods=["POST"])
@bp.arguments(ClassifyRequestSchema)
@bp.response(200, ClassifyResponseSchema)
def classify_text(args):
    """Suggest a category while the worker types."""
    return classify.predict(args["text"]).as_dict()


_attachment_schema = AttachmentSchema()


@bp.route("/attachments", methods=["POST"])
@bp.arguments(UploadSchema, location="files")
@bp.response(201, AttachmentSchema)
@bp.alt_response(200, schema=AttachmentSchema, description="同一张照片重复上传：返回已有附件")
def upload_attachment(files):
    """Upload a photo (checked by content, re-encoded, metadata stripped) before reporting."""
    data = files["file"].read()
    attachment, created = attachments.upload(principal=current_principal(), data=data)
    db.session.commit()
    response = jsonify(_attachment_schema.dump(attachment))
    response.status_code = 201 if created else 200
    return response


@bp.route("/attachments/<id:attachment_id>", methods=["GET"])
@bp.response(200, AttachmentSchema)
def get_attachment(attachment_id: int):
    """An attachment's metadata."""
    return attachments.get_attachment(attachment_id=attachment_id)


@bp.route("/attachments/<id:attachment_id>/content", methods=["GET"])
@bp.response(200, description="照片文件（已清除元数据）")
def get_attachment_content(attachment_id: int):
    """The cleaned photo file."""
    attachment = attachments.get_attachment(attachment_id=attachment_id)
    return attachments.send(attachment)

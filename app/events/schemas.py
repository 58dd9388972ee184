"""Request and response shapes for reports, the queue, actions and timelines."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, Instant
from app.events.lifecycle import STATE_NAMES_ZH, Action, State
from app.events.models import SOURCES
from app.geo.schemas import CRS_CHOICES, GeoPointSchema
from app.keys.schemas import KeyPersonBriefSchema, KeyPlaceBriefSchema

STATES = [s.value for s in State]
ACTIONS = [a.value for a in Action]


class EventCreateSchema(BaseSchema):
    client_uuid = ma.fields.UUID(
        required=True, metadata={"description": "客户端生成，重试时保持不变"}
    )
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=2, max=2000))
    location = ma.fields.Nested(GeoPointSchema, required=True)
    accuracy_m = ma.fields.Float(validate=ma.validate.Range(min=0, max=100_000), allow_nan=False)
    occurred_at = Instant(metadata={"description": "发现时间（含时区）"})
    category = ma.fields.String(validate=ma.validate.Length(max=24))
    subcategory = ma.fields.String(validate=ma.validate.Length(max=64))
    key_person_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    key_place_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    photos = ma.fields.List(
        ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1)),
        load_default=list,
        validate=ma.validate.Length(max=9),
        metadata={"description": "先上传到 /api/v1/attachments 得到的附件 id"},
    )
    source = ma.fields.String(load_default="app", validate=ma.validate.OneOf(SOURCES))


class UnitSchema(BaseSchema):
    level = ma.fields.String(allow_none=True)
    name = ma.fields.String(allow_none=True)
    board = ma.fields.String(allow_none=True)
    department_id = ma.fields.Integer(allow_none=True)
    area = ma.fields.String(allow_none=True)
    user_id = ma.fields.Integer(allow_none=True)


def _unit(event) -> dict | None:
    if event.handling_level is None:
        return None
    unit = (event.dispatch_reason or {}).get("unit") or {}
    return {
        "level": event.handling_level,
        "name": unit.get("name"),
        "board": event.assigned_board,
        "department_id": event.assigned_department_id,
        "area": str(event.assigned_area_id) if event.assigned_area_id else None,
        "user_id": event.assigned_user_id,
    }


def _code(value) -> str | None:
    return str(value) if value is not None else None


class EventSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    client_uuid = ma.fields.UUID(required=True)
    source = ma.fields.String(required=True)
    state = ma.fields.String(required=True, metadata={"enum": STATES})
    state_name = ma.fields.Function(lambda e: STATE_NAMES_ZH[State(e.state)])
    description = ma.fields.String(required=True)
    location = ma.fields.Function(
        lambda e: {
            "type": "Point",
            "coordinates": [e.lon, e.lat],
            "accuracy_m": e.accuracy_m,
            "snapped": e.location_snapped,
            "distance_m": e.location_distance_m,
        }
    )
    grid_code = ma.fields.Function(lambda e: _code(e.grid_id))
    village_code = ma.fields.Function(lambda e: _code(e.village_id))
    township_code = ma.fields.Function(lambda e: _code(e.township_id))
    district_code = ma.fields.Function(lambda e: _code(e.district_id))
    category = ma.fields.String(attribute="category_code", required=True)
    subcategory = ma.fields.String(attribute="subcategory_code", required=True)
    confidence = ma.fields.Float(allow_none=True)
    category_source = ma.fields.String()
    classification = ma.fields.Dict(allow_none=True)
    priority = ma.fields.Integer(required=True)
    emergency = ma.fields.Boolean(required=True)
    assigned_unit = ma.fields.Function(_unit, allow_none=True)
    dispatch_reason = ma.fields.Dict(allow_none=True)
    stage = ma.fields.String(allow_none=True)
    deadline = Instant(attribute="due_at", allow_none=True)
    warn_at = Instant(allow_none=True)
    near_due = ma.fields.Function(lambda e: e.warned_at is not None and e.breached_at is None)
    overdue = ma.fields.Function(lambda e: e.breached_at is not None)
    likely_duplicate_of = ma.fields.Integer(attribute="likely_duplicate_of_id", allow_none=True)
    duplicate_of = ma.fields.Integer(attribute="duplicate_of_id", allow_none=True)
    reporter_id = ma.fields.Integer(allow_none=True)
    key_person_id = ma.fields.Integer(allow_none=True)
    key_place_id = ma.fields.Integer(allow_none=True)
    occurred_at = Instant(required=True)
    received_at = Instant(required=True)
    closed_at = Instant(allow_none=True)
    rework_count = ma.fields.Integer()
    return_count = ma.fields.Integer()
    extension_count = ma.fields.Integer()
    supervision_count = ma.fields.Integer()


class AttachmentBriefSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    purpose = ma.fields.String(required=True, metadata={"enum": ["report", "handle", "verify"]})
    mime = ma.fields.String(required=True)


class EventDetailSchema(EventSchema):
    allowed_actions = ma.fields.List(
        ma.fields.String(), metadata={"description": "当前用户可执行的操作"}
    )
    attachments = ma.fields.List(
        ma.fields.Nested(AttachmentBriefSchema),
        metadata={
            "description": "事件的照片（上报、处置、核查），内容见 /attachments/{id}/content"
        },
    )
    key_person = ma.fields.Nested(
        KeyPersonBriefSchema,
        allow_none=True,
        metadata={"description": "关联的重点人员（不含敏感信息）"},
    )
    key_place = ma.fields.Nested(KeyPlaceBriefSchema, allow_none=True)


class EventQuerySchema(PageArgsSchema):
    state = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(STATES)))
    category = ma.fields.String(validate=ma.validate.Length(max=24))
    subcategory = ma.fields.String(validate=ma.validate.Length(max=64))
    area = ma.fields.String(
        validate=ma.validate.Length(max=15), metadata={"description": "区域代码"}
    )
    source = ma.fields.String(validate=ma.validate.OneOf(SOURCES))
    received_from = Instant()
    received_to = Instant()
    near_due = ma.fields.Boolean()
    overdue = ma.fields.Boolean()
    emergency = ma.fields.Boolean()
    assigned_to_me = ma.fields.Boolean()
    co_handling = ma.fields.Boolean(
        metadata={"description": "true：只看本单位协同或被吹哨的事件；false：排除这些事件"}
    )
    sort = ma.fields.String(
        load_default="-received_at",
        validate=ma.validate.OneOf(
            ["-received_at", "received_at", "due_at", "-due_at", "priority"]
        ),
    )


class ActionSchema(BaseSchema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(ACTIONS))
    reason = ma.fields.String(validate=ma.validate.Length(max=1000))
    # Action-specific, all optional here; the service says which it needs.
    level = ma.fields.String(validate=ma.validate.OneOf(["grid", "village", "board", "department"]))
    board = ma.fields.String(
        validate=ma.validate.OneOf(["party", "economy", "livelihood", "safety"])
    )
    department_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    user_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    original_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1))
    amount = ma.fields.Float(validate=ma.validate.Range(min=0.01, max=1000), allow_nan=False)
    result = ma.fields.String(validate=ma.validate.Length(max=2000))
    attachment_ids = ma.fields.List(
        ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1)),
        validate=ma.validate.Length(max=9),
    )


class AuditSchema(BaseSchema):
    seq = ma.fields.Integer(required=True)
    at = Instant(required=True)
    actor_id = ma.fields.Integer(allow_none=True)
    actor_name = ma.fields.String(required=True)
    actor_role = ma.fields.String(allow_none=True)
    action = ma.fields.String(required=True)
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String(required=True)
    reason = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(allow_none=True)
    hash = ma.fields.String(required=True)


class TimelineSchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(AuditSchema), required=True)


class NearbyQuerySchema(BaseSchema):
    lon = ma.fields.Float(
        required=True, validate=ma.validate.Range(min=-180, max=180), allow_nan=False
    )
    lat = ma.fields.Float(
        required=True, validate=ma.validate.Range(min=-90, max=90), allow_nan=False
    )
    crs = ma.fields.String(load_default="WGS84", validate=ma.validate.OneOf(CRS_CHOICES))
    radius_m = ma.fields.Float(load_default=200, validate=ma.validate.Range(min=1, max=2000))


class NearbyItemSchema(BaseSchema):
    event = ma.fields.Nested(EventSchema, required=True)
    distance_m = ma.fields.Float(required=True)


class NearbySchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(NearbyItemSchema), required=True)


class ClassifyRequestSchema(BaseSchema):
    text = ma.fields.String(required=True, validate=ma.validate.Length(max=2000))


class ClassifyResponseSchema(BaseSchema):
    subcategory = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    confidence = ma.fields.Float(required=True)
    alternatives = ma.fields.List(ma.fields.Dict(), required=True)
    model_version = ma.fields.String(required=True)


class UploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "JPEG、PNG 或 WebP 照片"})


class AttachmentSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    event_id = ma.fields.Integer(allow_none=True)
    purpose = ma.fields.String(required=True)
    mime = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    width = ma.fields.Integer(required=True)
    height = ma.fields.Integer(required=True)
    sha256 = ma.fields.String(required=True)
    taken_at = Instant(allow_none=True)
    gps = ma.fields.Function(
        lambda a: {"lon": a.gps_lon, "lat": a.gps_lat} if a.gps_lat is not None else None,
        allow_none=True,
    )
    created_at = Instant(required=True)


class RecategorizeSchema(BaseSchema):
    subcategory = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    reason = ma.fields.String(validate=ma.validate.Length(max=1000))

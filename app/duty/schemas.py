"""Shapes for shifts, the roster now, and handovers."""

from __future__ import annotations

import marshmallow as ma

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, Instant
from app.duty.models import POSTS

CENTRE_ID = ma.fields.Integer(
    load_default=None,
    validate=ma.validate.Range(min=0, max=999_999_999_999),
    metadata={"description": "指挥中心（市、区县或镇街的区划代码）；缺省为本人所在中心"},
)


class CentreQuerySchema(BaseSchema):
    centre_id = CENTRE_ID


class ShiftQuerySchema(PageArgsSchema):
    centre_id = CENTRE_ID
    start = Instant(load_default=None, metadata={"description": "缺省为现在"})
    end = Instant(load_default=None)


class HandoverQuerySchema(PageArgsSchema):
    centre_id = CENTRE_ID


class ShiftCreateSchema(BaseSchema):
    centre_id = CENTRE_ID
    user_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
    post = ma.fields.String(
        load_default="officer",
        validate=ma.validate.OneOf(POSTS),
        metadata={"description": "leader 带班领导 | officer 值班员"},
    )
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class ShiftSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    centre_id = ma.fields.Integer(required=True)
    user_id = ma.fields.Integer(required=True)
    user_name = ma.fields.String(required=True)
    post = ma.fields.String(required=True)
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    note = ma.fields.String(required=True)
    created_by = ma.fields.Integer(allow_none=True)


class StaffSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    role = ma.fields.String(required=True)


class StaffListSchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(StaffSchema), required=True)


class SummarySchema(BaseSchema):
    unacknowledged_alarms = ma.fields.Integer(required=True)
    alarm_ids = ma.fields.List(ma.fields.Integer(), required=True)
    open_pins = ma.fields.Integer(required=True)
    overdue = ma.fields.Integer(required=True)
    near_due = ma.fields.Integer(required=True)
    open_emergencies = ma.fields.Integer(required=True)


class HandoverCreateSchema(BaseSchema):
    centre_id = CENTRE_ID
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))


class HandoverSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    centre_id = ma.fields.Integer(required=True)
    shift_id = ma.fields.Integer(allow_none=True)
    from_user_id = ma.fields.Integer(required=True)
    from_name = ma.fields.String(required=True)
    note = ma.fields.String(required=True)
    summary = ma.fields.Nested(SummarySchema, required=True)
    created_at = Instant(required=True)
    received_at = Instant(allow_none=True)
    received_by = ma.fields.Integer(allow_none=True)


class DutyNowSchema(BaseSchema):
    centre_id = ma.fields.Integer(required=True)
    on_duty = ma.fields.List(ma.fields.Nested(ShiftSchema), required=True)
    upcoming = ma.fields.List(ma.fields.Nested(ShiftSchema), required=True)
    latest_handover = ma.fields.Nested(HandoverSchema, allow_none=True)
    unstaffed = ma.fields.Boolean(required=True)

"""Shapes for alarms and pins."""

from __future__ import annotations

import marshmallow as ma

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, Instant


class AlarmSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    event_id = ma.fields.Integer(allow_none=True)
    source = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    level = ma.fields.String(required=True, metadata={"description": "township | city"})
    raised_at = Instant(required=True)
    escalate_at = Instant(allow_none=True)
    escalations = ma.fields.Integer(required=True)
    acknowledged_at = Instant(allow_none=True)
    acknowledged_by = ma.fields.Integer(allow_none=True)
    acknowledge_note = ma.fields.String(allow_none=True)
    township_id = ma.fields.Integer(allow_none=True)
    district_id = ma.fields.Integer(allow_none=True)


class ActiveQuerySchema(PageArgsSchema):
    active = ma.fields.Boolean(
        load_default=True, allow_none=True, metadata={"description": "true 未确认; false 已确认"}
    )


class AcknowledgeSchema(BaseSchema):
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=1000))


class PinSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    event_id = ma.fields.Integer(allow_none=True)
    title = ma.fields.String(required=True)
    note = ma.fields.String(required=True)
    pinned_by = ma.fields.Integer(required=True)
    pinned_at = Instant(required=True)
    acknowledged_at = Instant(allow_none=True)
    acknowledged_by = ma.fields.Integer(allow_none=True)


class PinCreateSchema(BaseSchema):
    event_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    title = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))

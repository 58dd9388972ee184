"""Shapes for supervision."""

from __future__ import annotations

import marshmallow as ma

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, Instant


class SuperviseSchema(BaseSchema):
    event_ids = ma.fields.List(
        ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1)),
        validate=ma.validate.Length(max=1000),
    )
    all_overdue = ma.fields.Boolean(
        load_default=False, metadata={"description": "督办我范围内全部超期事件"}
    )
    message = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))
    reply_within_hours = ma.fields.Float(
        load_default=24, allow_nan=False, validate=ma.validate.Range(min=0.1, max=720)
    )


class TargetSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    notice_id = ma.fields.Integer(required=True)
    event_id = ma.fields.Integer(required=True)
    message = ma.fields.String(
        attribute="notice.message", metadata={"description": "督办要求（来自督办通知）"}
    )
    state = ma.fields.String(required=True)
    reply_due_at = Instant(required=True)
    replied_at = Instant(allow_none=True)
    reply = ma.fields.String(allow_none=True)
    escalated_at = Instant(allow_none=True)


class NoticeSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    created_by = ma.fields.Integer(required=True)
    created_at = Instant(required=True)
    message = ma.fields.String(required=True)
    reply_due_at = Instant(required=True)
    targets = ma.fields.List(ma.fields.Nested(TargetSchema), required=True)


class TargetQuerySchema(PageArgsSchema):
    pending = ma.fields.Boolean(load_default=True, metadata={"description": "只看未回复的"})
    state = ma.fields.String(validate=ma.validate.OneOf(["pending", "replied", "escalated"]))
    notice_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    event_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1))
    overdue = ma.fields.Boolean(metadata={"description": "回复已超期（未回复且过了回复期限）"})


class ReplySchema(BaseSchema):
    reply = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))

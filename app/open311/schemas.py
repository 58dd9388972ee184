"""Shapes of the admin API for Open311 keys (the GeoReport side is rendered in render.py)."""

from __future__ import annotations

import marshmallow as ma

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, Instant

_ID = ma.validate.Range(min=1, max=2**31 - 1)


class ApiKeyCreateSchema(BaseSchema):
    user_id = ma.fields.Integer(
        required=True,
        validate=_ID,
        metadata={
            "description": "密钥代表的账号（如 12345 热线、合作方对接账号），上报在其管辖范围内"
        },
    )
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=80),
        metadata={"description": "用途说明，如“12345 热线”"},
    )


class ApiKeyQuerySchema(PageArgsSchema):
    user_id = ma.fields.Integer(validate=_ID)
    revoked = ma.fields.Boolean(metadata={"description": "true：已吊销；false：有效"})


class ApiKeySchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True, metadata={"description": "密钥开头，便于辨认"})
    user_id = ma.fields.Integer(required=True)
    username = ma.fields.String(attribute="user.username", required=True)
    created_by = ma.fields.Integer(allow_none=True)
    created_at = Instant(required=True)
    last_used_at = Instant(allow_none=True)
    revoked_at = Instant(allow_none=True)
    revoked_by = ma.fields.Integer(allow_none=True)


class ApiKeyIssuedSchema(ApiKeySchema):
    key = ma.fields.String(
        attribute="plain",
        required=True,
        metadata={"description": "完整密钥，仅此一次返回；系统只保存其哈希"},
    )

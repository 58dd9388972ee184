"""Request and response shapes for login, tokens and users."""

from __future__ import annotations

import marshmallow as ma

from app.accounts.roles import Board, Role
from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema

ROLES = [r.value for r in Role]
BOARDS = [b.value for b in Board]


class LoginSchema(BaseSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class ActivateSchema(BaseSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    activation_code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class PasswordChangeSchema(BaseSchema):
    current_password = ma.fields.String(required=True, validate=ma.validate.Length(max=256))
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class UserSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    phone = ma.fields.String(allow_none=True)
    role = ma.fields.String(required=True, metadata={"enum": ROLES})
    board = ma.fields.String(allow_none=True, metadata={"enum": BOARDS})
    node = ma.fields.Function(
        lambda u: str(u.area_id) if u.area_id else None,
        allow_none=True,
        metadata={"description": "区域代码（部门人员为空）"},
    )
    department_id = ma.fields.Integer(allow_none=True)
    grids = ma.fields.Function(lambda u: [str(b.grid_id) for b in u.grids])
    is_active = ma.fields.Boolean(required=True)
    locked = ma.fields.Function(lambda u: u.locked_until is not None)
    locked_until = ma.fields.DateTime(allow_none=True)
    activated = ma.fields.Function(lambda u: u.password_hash is not None)
    created_at = ma.fields.DateTime(required=True)


class ScopeSchema(BaseSchema):
    everything = ma.fields.Boolean(required=True)
    level = ma.fields.String(allow_none=True)
    area = ma.fields.Function(lambda s: str(s.area_id) if s.area_id else None, allow_none=True)
    grids = ma.fields.Function(lambda s: sorted(str(g) for g in s.grid_ids))
    department_id = ma.fields.Integer(allow_none=True)


class TokenSchema(BaseSchema):
    token = ma.fields.String(
        required=True, metadata={"description": "Authorization: Bearer <token>"}
    )
    expires_at = ma.fields.DateTime(required=True)
    user = ma.fields.Nested(UserSchema, required=True)


class MeSchema(BaseSchema):
    user = ma.fields.Nested(UserSchema, required=True)
    scope = ma.fields.Nested(ScopeSchema, required=True)


class UserCreateSchema(BaseSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(validate=ma.validate.Length(min=1, max=256))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    node = ma.fields.String(required=True, metadata={"description": "区域代码或部门代码"})
    board = ma.fields.String(validate=ma.validate.OneOf(BOARDS))
    grids = ma.fields.List(ma.fields.String(), load_default=list)
    display_name = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))
    phone = ma.fields.String(validate=ma.validate.Length(max=20))


class UserQuerySchema(PageArgsSchema):
    q = ma.fields.String()
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))


class DepartmentSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    short_name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    district = ma.fields.Function(lambda d: str(d.district_id))


class CountSchema(BaseSchema):
    count = ma.fields.Integer(required=True)

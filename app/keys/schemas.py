"""Request and response shapes for the key persons and places registry.

Sensitive fields are dumped through app.keys.sensitive.reveal: in full for roles that need
them, masked otherwise (the service stamps each row with what its reader may see).
"""

from __future__ import annotations

import re

import marshmallow as ma

from app.core.db import utcnow
from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, Instant
from app.geo.schemas import GeoPointSchema
from app.keys import idcard, sensitive
from app.keys.models import GENDERS, RISK_LEVELS, SUBJECTS

# Mobile numbers, or landlines with an area code (023-63891234).
_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_ID = ma.validate.Range(min=1, max=2**31 - 1)


class IdCardField(ma.fields.String):
    """A resident identity number; a lowercase x is accepted for the check character."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if not idcard.is_valid(value):
            raise ma.ValidationError("身份证号码无效（18 位，校验位不符）")
        return value


class PhoneField(ma.fields.String):
    """A mobile number or a landline with its area code."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip().replace(" ", "")
        if not _PHONE_RE.match(value):
            raise ma.ValidationError("电话号码无效（手机号或带区号的固定电话）")
        return value


def _text(maximum: int, **kwargs) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.Length(max=maximum), **kwargs)


# -- requests -------------------------------------------------------------------------------


class _RegisteredFields(BaseSchema):
    """Fields persons and places share; every one optional (the update shape)."""

    kind = ma.fields.String(validate=ma.validate.Length(min=1, max=32))
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    address = _text(200)
    risk_level = ma.fields.String(
        validate=ma.validate.OneOf(RISK_LEVELS),
        metadata={"description": "low 低 | medium 中 | high 高"},
    )
    responsible_user_id = ma.fields.Integer(
        validate=_ID, allow_none=True, metadata={"description": "负责走访的网格员（默认自动指定）"}
    )
    visit_interval_days = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=365),
        metadata={"description": "走访周期（天），默认取类别的周期"},
    )


class PersonUpdateSchema(_RegisteredFields):
    grid = ma.fields.String(
        validate=ma.validate.Length(equal=15), metadata={"description": "所在网格代码（15 位）"}
    )
    gender = ma.fields.String(validate=ma.validate.OneOf(GENDERS), allow_none=True)
    birth_year = ma.fields.Integer(validate=ma.validate.Range(min=1900, max=2100), allow_none=True)
    id_card_no = IdCardField(allow_none=True, metadata={"description": "身份证号（敏感）"})
    phone = PhoneField(allow_none=True, metadata={"description": "联系电话（敏感）"})
    guardian_name = _text(40, allow_none=True, metadata={"description": "监护人/联系人（敏感）"})
    guardian_phone = PhoneField(allow_none=True, metadata={"description": "监护人电话（敏感）"})
    case_notes = _text(5000, metadata={"description": "情况说明（敏感）"})


class PersonCreateSchema(PersonUpdateSchema):
    kind = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    grid = ma.fields.String(
        required=True,
        validate=ma.validate.Length(equal=15),
        metadata={"description": "所在网格代码（15 位）"},
    )
    risk_level = ma.fields.String(load_default="low", validate=ma.validate.OneOf(RISK_LEVELS))


class PlaceUpdateSchema(_RegisteredFields):
    location = ma.fields.Nested(GeoPointSchema, metadata={"description": "位置；据此确定网格"})
    contact_name = _text(40, allow_none=True, metadata={"description": "联系人（敏感）"})
    contact_phone = PhoneField(allow_none=True, metadata={"description": "联系电话（敏感）"})
    notes = _text(5000)


class PlaceCreateSchema(PlaceUpdateSchema):
    kind = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    location = ma.fields.Nested(GeoPointSchema, required=True)
    risk_level = ma.fields.String(load_default="low", validate=ma.validate.OneOf(RISK_LEVELS))


class DeactivateSchema(BaseSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class VisitCreateSchema(BaseSchema):
    client_uuid = ma.fields.UUID(metadata={"description": "客户端生成，离线重试时保持不变"})
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    visited_at = Instant(metadata={"description": "走访时间（含时区），默认现在"})
    attachment_ids = ma.fields.List(
        ma.fields.Integer(validate=_ID),
        load_default=list,
        validate=ma.validate.Length(max=9),
        metadata={"description": "先上传到 /api/v1/attachments 得到的附件 id"},
    )
    location = ma.fields.Nested(GeoPointSchema)


class KindQuerySchema(BaseSchema):
    subject = ma.fields.String(validate=ma.validate.OneOf(SUBJECTS))


class SubjectQuerySchema(PageArgsSchema):
    kind = ma.fields.String(validate=ma.validate.Length(max=32))
    area = ma.fields.String(
        validate=ma.validate.Length(max=15), metadata={"description": "区域代码"}
    )
    risk_level = ma.fields.String(validate=ma.validate.OneOf(RISK_LEVELS))
    overdue = ma.fields.Boolean(metadata={"description": "走访已超期"})
    active = ma.fields.Boolean(load_default=True, metadata={"description": "false：已注销的"})
    q = ma.fields.String(validate=ma.validate.Length(max=50), metadata={"description": "姓名/名称"})
    responsible_user_id = ma.fields.Integer(validate=_ID)
    mine = ma.fields.Boolean(metadata={"description": "只看由我负责走访的"})
    sort = ma.fields.String(
        load_default="next_visit_due_at",
        validate=ma.validate.OneOf(["next_visit_due_at", "-registered_at", "name"]),
    )


class DueQuerySchema(PageArgsSchema):
    subject = ma.fields.String(validate=ma.validate.OneOf(SUBJECTS))
    kind = ma.fields.String(validate=ma.validate.Length(max=32))
    area = ma.fields.String(validate=ma.validate.Length(max=15))
    overdue = ma.fields.Boolean()
    mine = ma.fields.Boolean()
    within_days = ma.fields.Integer(
        validate=ma.validate.Range(min=0, max=365),
        metadata={"description": "只看此天数内到期（含已超期）的"},
    )


# -- responses ------------------------------------------------------------------------------


def _code(value) -> str | None:
    return str(value) if value is not None else None


def _overdue_days(row) -> int:
    late = utcnow() - row.next_visit_due_at
    return max(0, late.days) if late.total_seconds() > 0 else 0


class KindSchema(BaseSchema):
    code = ma.fields.String(required=True)
    subject = ma.fields.String(required=True, metadata={"enum": list(SUBJECTS)})
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    visit_interval_days = ma.fields.Integer(required=True)
    priority_bump = ma.fields.Integer(required=True)


class KindListSchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(KindSchema), required=True)


class _BriefSchema(BaseSchema):
    """What anyone who can see the row may read: no sensitive field."""

    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(attribute="kind_code", required=True)
    kind_name = ma.fields.Function(lambda r: r.kind.name_zh)
    name = ma.fields.String(required=True)
    risk_level = ma.fields.String(required=True)
    grid_code = ma.fields.Function(lambda r: _code(r.grid_id))
    active = ma.fields.Boolean(required=True)


def _location(place) -> dict:
    return {"type": "Point", "coordinates": [place.lon, place.lat]}


class KeyPersonBriefSchema(_BriefSchema):
    pass


class KeyPlaceBriefSchema(_BriefSchema):
    location = ma.fields.Function(_location)


class _RegisteredSchema(_BriefSchema):
    address = ma.fields.String()
    village_code = ma.fields.Function(lambda r: _code(r.village_id))
    township_code = ma.fields.Function(lambda r: _code(r.township_id))
    district_code = ma.fields.Function(lambda r: _code(r.district_id))
    responsible_user_id = ma.fields.Integer(allow_none=True)
    visit_interval_days = ma.fields.Integer(required=True)
    registered_at = Instant(required=True)
    last_visited_at = Instant(allow_none=True)
    next_visit_due_at = Instant(required=True)
    visit_overdue = ma.fields.Function(
        lambda r: r.active and r.next_visit_due_at <= utcnow(),
        metadata={"description": "走访已超期"},
    )
    visit_overdue_at = Instant(allow_none=True, metadata={"description": "超期提醒发出的时间"})
    deactivated_at = Instant(allow_none=True)
    deactivation_reason = ma.fields.String(allow_none=True)


def _sensitive(field: str, **kwargs) -> ma.fields.Function:
    return ma.fields.Function(lambda r: sensitive.reveal(r, field), allow_none=True, **kwargs)


_PERSON_SENSITIVE = ("id_card_no", "phone", "guardian_name", "guardian_phone", "case_notes")
_PLACE_SENSITIVE = ("contact_name", "contact_phone")


class KeyPersonSchema(_RegisteredSchema):
    gender = ma.fields.String(allow_none=True)
    birth_year = ma.fields.Integer(allow_none=True)
    id_card_no = _sensitive("id_card_no")
    phone = _sensitive("phone")
    guardian_name = _sensitive("guardian_name")
    guardian_phone = _sensitive("guardian_phone")
    case_notes = _sensitive("case_notes", metadata={"description": "无权查看时为 null"})
    masked = ma.fields.Function(
        lambda r: sensitive.masked_fields(r, _PERSON_SENSITIVE),
        metadata={"description": "对当前用户脱敏或隐去的字段"},
    )


class KeyPlaceSchema(_RegisteredSchema):
    location = ma.fields.Function(
        lambda p: {**_location(p), "snapped": p.location_snapped}, required=True
    )
    contact_name = _sensitive("contact_name")
    contact_phone = _sensitive("contact_phone")
    notes = ma.fields.String()
    masked = ma.fields.Function(lambda r: sensitive.masked_fields(r, _PLACE_SENSITIVE))


class DueItemSchema(BaseSchema):
    subject = ma.fields.String(required=True, metadata={"enum": list(SUBJECTS)})
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(attribute="kind_code", required=True)
    kind_name = ma.fields.Function(lambda r: r.kind.name_zh)
    name = ma.fields.String(required=True)
    address = ma.fields.String()
    risk_level = ma.fields.String(required=True)
    grid_code = ma.fields.Function(lambda r: _code(r.grid_id))
    responsible_user_id = ma.fields.Integer(allow_none=True)
    last_visited_at = Instant(allow_none=True)
    next_visit_due_at = Instant(required=True)
    overdue = ma.fields.Function(lambda r: r.next_visit_due_at <= utcnow())
    overdue_days = ma.fields.Function(_overdue_days, metadata={"description": "超期天数"})


class VisitSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    subject = ma.fields.String(required=True)
    person_id = ma.fields.Integer(allow_none=True)
    place_id = ma.fields.Integer(allow_none=True)
    visitor_id = ma.fields.Integer(required=True)
    visited_at = Instant(required=True)
    recorded_at = Instant(required=True)
    note = ma.fields.Function(
        sensitive.visit_note, allow_none=True, metadata={"description": "无权查看时为 null"}
    )
    attachment_ids = ma.fields.List(ma.fields.Integer(), required=True)
    location = ma.fields.Function(
        lambda v: {"type": "Point", "coordinates": [v.lon, v.lat]} if v.lon is not None else None,
        allow_none=True,
    )

"""Shapes for the dispatch-rule API: the rules, and a preview of what they would decide."""

from __future__ import annotations

import marshmallow as ma

from app.accounts.roles import Board
from app.categories.models import HANDLING_LEVELS
from app.classify.taxonomy import DEPARTMENTS
from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema
from app.geo.schemas import GeoPointSchema

BOARDS = tuple(b.value for b in Board)
MAX_POSITION = 1_000_000
_AREA_HELP = "区县或镇街代码（12 位）；null 表示全市通用"


def _rule_fields(*, create: bool) -> dict[str, ma.fields.Field]:
    """The editable fields; creating fills defaults and requires the handling level."""
    defaults = (lambda value: {"load_default": value}) if create else (lambda value: {})
    return {
        "position": ma.fields.Integer(
            validate=ma.validate.Range(min=0, max=MAX_POSITION),
            metadata={"description": "越小越先比较；第一条全部条件满足的启用规则生效"},
            **defaults(100),
        ),
        "category": ma.fields.String(
            allow_none=True, validate=ma.validate.Length(max=24), **defaults(None)
        ),
        "subcategory": ma.fields.String(
            allow_none=True, validate=ma.validate.Length(max=64), **defaults(None)
        ),
        "max_priority": ma.fields.Integer(
            allow_none=True,
            validate=ma.validate.Range(min=1, max=4),
            metadata={"description": "匹配优先级不低于此值的事件（1 最高）"},
            **defaults(None),
        ),
        "emergency": ma.fields.Boolean(allow_none=True, **defaults(None)),
        "area": ma.fields.String(
            allow_none=True,
            validate=ma.validate.Length(max=15),
            metadata={"description": _AREA_HELP},
            **defaults(None),
        ),
        "handling_level": ma.fields.String(
            validate=ma.validate.OneOf(HANDLING_LEVELS), required=create
        ),
        "board": ma.fields.String(
            allow_none=True, validate=ma.validate.OneOf(BOARDS), **defaults(None)
        ),
        "department_kind": ma.fields.String(
            allow_none=True, validate=ma.validate.OneOf(list(DEPARTMENTS)), **defaults(None)
        ),
        "note": ma.fields.String(validate=ma.validate.Length(max=500), **defaults("")),
        "active": ma.fields.Boolean(**defaults(True)),
    }


RuleCreateSchema = BaseSchema.from_dict(_rule_fields(create=True), name="RuleCreateSchema")
RuleUpdateSchema = BaseSchema.from_dict(_rule_fields(create=False), name="RuleUpdateSchema")


class RuleSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    position = ma.fields.Integer(required=True)
    category = ma.fields.String(attribute="category_code", allow_none=True)
    subcategory = ma.fields.String(attribute="subcategory_code", allow_none=True)
    max_priority = ma.fields.Integer(allow_none=True)
    emergency = ma.fields.Boolean(allow_none=True)
    area = ma.fields.Function(
        lambda r: None if r.area_id is None else str(r.area_id),
        metadata={"description": _AREA_HELP},
    )
    handling_level = ma.fields.String(required=True)
    board = ma.fields.String(allow_none=True)
    department_kind = ma.fields.String(allow_none=True)
    note = ma.fields.String(required=True)
    active = ma.fields.Boolean(required=True)


class RuleQuerySchema(PageArgsSchema):
    active = ma.fields.Boolean()
    category = ma.fields.String(validate=ma.validate.Length(max=24))
    subcategory = ma.fields.String(validate=ma.validate.Length(max=64))
    handling_level = ma.fields.String(validate=ma.validate.OneOf(HANDLING_LEVELS))
    area = ma.fields.String(
        validate=ma.validate.Length(max=15), metadata={"description": "只看该区域的规则"}
    )
    citywide = ma.fields.Boolean(metadata={"description": "true 只看全市通用规则"})


class PreviewSchema(BaseSchema):
    subcategory = ma.fields.String(required=True, validate=ma.validate.Length(max=64))
    priority = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=4), metadata={"description": "默认取小类的优先级"}
    )
    emergency = ma.fields.Boolean(metadata={"description": "默认取小类的紧急标志"})
    location = ma.fields.Nested(GeoPointSchema)
    area = ma.fields.String(
        validate=ma.validate.Length(max=15), metadata={"description": "区县、镇街、村社或网格代码"}
    )

    @ma.validates_schema
    def _one_place(self, data, **kwargs):
        if ("location" in data) == ("area" in data):
            raise ma.ValidationError("须提供 location 或 area 之一", "location")


class _ConsideredSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    position = ma.fields.Integer(required=True)
    note = ma.fields.String(required=True)
    matched = ma.fields.Boolean(required=True)
    mismatched = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "不满足的条件（category、subcategory、max_priority…）"},
    )


class _CandidateSchema(BaseSchema):
    user_id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    open = ma.fields.Integer(required=True)


class _ProblemSchema(BaseSchema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    details = ma.fields.Dict()


class PreviewResultSchema(BaseSchema):
    subcategory = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    priority = ma.fields.Integer(required=True)
    emergency = ma.fields.Boolean(required=True)
    place = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(allow_none=True),
        required=True,
        metadata={"description": "district / township / village / grid 代码"},
    )
    rule = ma.fields.Dict(
        required=True, metadata={"description": "生效的规则，或小类默认（与派遣记录相同）"}
    )
    handling_level = ma.fields.String(required=True)
    board = ma.fields.String(allow_none=True)
    department_kind = ma.fields.String(allow_none=True)
    unit = ma.fields.Dict(allow_none=True, metadata={"description": "选定的处置单位"})
    user_id = ma.fields.Integer(allow_none=True)
    chosen = ma.fields.Dict(allow_none=True, metadata={"description": "选定处置人及原因"})
    candidates = ma.fields.List(ma.fields.Nested(_CandidateSchema), required=True)
    problem = ma.fields.Nested(
        _ProblemSchema, allow_none=True, metadata={"description": "按此派遣会失败的原因"}
    )
    considered = ma.fields.List(
        ma.fields.Nested(_ConsideredSchema),
        required=True,
        metadata={"description": "按顺序比较过的启用规则，直到第一条满足的为止"},
    )

"""Shapes for form definitions, filings, rollups and prefill sources."""

from __future__ import annotations

from datetime import date

import marshmallow as ma

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, Instant
from app.forms.fields import AGGREGATES, LIMIT, MAX_FIELDS, TYPES
from app.forms.models import FILL_LEVELS, PERIOD_KINDS, FilingStatus, FormStatus

_DAYS = ma.validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31))
_BOUND = ma.validate.Range(min=-LIMIT, max=LIMIT)
_ID = ma.validate.Range(min=1, max=2**31 - 1)
AREA_CODE = ma.validate.Length(min=12, max=15)


class FormFieldDefSchema(BaseSchema):
    key = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "字段标识：小写字母开头，小写字母、数字、下划线"},
    )
    label = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    type = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(TYPES),
        metadata={
            "description": "integer 整数 | decimal 小数 | text 文本 | choice 单选 | yesno 是/否"
        },
    )
    unit = ma.fields.String(load_default="", validate=ma.validate.Length(max=12))
    required = ma.fields.Boolean(load_default=False)
    aggregate = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.OneOf(AGGREGATES),
        metadata={
            "description": "向上汇总方式；缺省按类型"
            "（数字求和、是/否计“是”、单选分项计数、文本列出）"
        },
    )
    choices = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=30)),
        load_default=list,
        validate=ma.validate.Length(max=20),
    )
    source = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=80),
        metadata={"description": "系统预填来源（GET /forms/sources）"},
    )
    min = ma.fields.Float(load_default=None, allow_none=True, validate=_BOUND)
    max = ma.fields.Float(load_default=None, allow_none=True, validate=_BOUND)
    decimals = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(min=0, max=4)
    )
    hint = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


class FormDefinitionSchema(BaseSchema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    period_kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(PERIOD_KINDS),
        metadata={"description": "month 月报 | quarter 季报 | year 年报 | adhoc 自定义起止"},
    )
    period_start = ma.fields.Date(
        required=True,
        validate=_DAYS,
        metadata={
            "description": "周期内任一天（月、季、年报取其所在的自然周期）或自定义周期的开始"
        },
    )
    period_end = ma.fields.Date(
        load_default=None, allow_none=True, validate=_DAYS, metadata={"description": "仅自定义周期"}
    )
    due_on = ma.fields.Date(
        required=True, validate=_DAYS, metadata={"description": "截止日期（北京时间，含当日）"}
    )
    fill_level = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(FILL_LEVELS),
        metadata={"description": "填报层级：grid 网格 | village 村社 | township 镇街"},
    )
    area = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=AREA_CODE,
        metadata={"description": "发布范围（市、区县或镇街代码），缺省为本人所在单位"},
    )
    field_defs = ma.fields.List(
        ma.fields.Nested(FormFieldDefSchema),
        required=True,
        data_key="fields",
        validate=ma.validate.Length(max=MAX_FIELDS),
    )


class FormQuerySchema(PageArgsSchema):
    status = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf([s.value for s in FormStatus])
    )


class FilingQuerySchema(PageArgsSchema):
    form_id = ma.fields.Integer(load_default=None, validate=_ID)
    area = ma.fields.String(
        load_default=None, validate=AREA_CODE, metadata={"description": "只列该区域内的填报"}
    )
    status = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf([s.value for s in FilingStatus])
    )
    mine = ma.fields.Boolean(load_default=False, metadata={"description": "只列本人须填报的"})
    open_only = ma.fields.Boolean(
        load_default=False, data_key="open", metadata={"description": "只列尚未上报的"}
    )


class FilingSaveSchema(BaseSchema):
    values = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(min=1, max=32)),
        values=ma.fields.Raw(allow_none=True),
        required=True,
        validate=ma.validate.Length(max=MAX_FIELDS),
        metadata={"description": "整张表的填报值（字段标识 → 值）；缺少的预填字段取系统值"},
    )
    submit = ma.fields.Boolean(load_default=False, metadata={"description": "true 为上报"})


class FilingReturnSchema(BaseSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class FormRollupQuerySchema(BaseSchema):
    area = ma.fields.String(
        validate=AREA_CODE, metadata={"description": "汇总到的区域代码，缺省为本人所在单位"}
    )


# -- out ---------------------------------------------------------------------------------------


class FormAreaSchema(BaseSchema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    level = ma.fields.String(required=True)


class FormFieldSchema(BaseSchema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    type = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    required = ma.fields.Boolean(required=True)
    aggregate = ma.fields.String(required=True)
    choices = ma.fields.List(ma.fields.String(), required=True)
    source = ma.fields.String(allow_none=True)
    min = ma.fields.Float(allow_none=True)
    max = ma.fields.Float(allow_none=True)
    decimals = ma.fields.Integer(allow_none=True)
    hint = ma.fields.String(required=True)


class FormProgressSchema(BaseSchema):
    expected = ma.fields.Integer(required=True, metadata={"description": "应报"})
    submitted = ma.fields.Integer(required=True, metadata={"description": "已报"})
    outstanding = ma.fields.Integer(required=True, metadata={"description": "未报"})
    returned = ma.fields.Integer(required=True, metadata={"description": "退回待改"})
    late = ma.fields.Integer(required=True, metadata={"description": "逾期上报"})
    overdue = ma.fields.Integer(required=True, metadata={"description": "逾期未报"})


class FormSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    period_kind = ma.fields.String(required=True)
    period_start = ma.fields.Date(required=True)
    period_end = ma.fields.Date(required=True)
    due_on = ma.fields.Date(required=True)
    due_at = Instant(required=True)
    fill_level = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    owner = ma.fields.Nested(FormAreaSchema, required=True)
    field_defs = ma.fields.List(
        ma.fields.Nested(FormFieldSchema), required=True, attribute="fields", data_key="fields"
    )
    progress = ma.fields.Nested(FormProgressSchema, required=True)
    can_manage = ma.fields.Boolean(required=True)
    created_at = Instant(required=True)
    published_at = Instant(allow_none=True)
    closed_at = Instant(allow_none=True)


class FilingLogSchema(BaseSchema):
    at = Instant(required=True)
    actor_name = ma.fields.String(required=True)
    action = ma.fields.String(
        required=True, metadata={"description": "save | submit | resubmit | return"}
    )
    reason = ma.fields.String(allow_none=True)


class FilingSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    form_id = ma.fields.Integer(required=True)
    form_title = ma.fields.String(required=True)
    fill_level = ma.fields.String(required=True)
    due_on = ma.fields.Date(required=True)
    area = ma.fields.Nested(FormAreaSchema, required=True)
    status = ma.fields.String(required=True)
    values = ma.fields.Dict(required=True, metadata={"description": "填报值"})
    system = ma.fields.Dict(required=True, metadata={"description": "保存时的系统值"})
    corrected = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "填报值与系统值不同的字段"}
    )
    updated_at = Instant(allow_none=True)
    submitted_at = Instant(allow_none=True)
    submitted_by_name = ma.fields.String(required=True)
    returned_at = Instant(allow_none=True)
    return_reason = ma.fields.String(allow_none=True)
    late = ma.fields.Boolean(required=True, metadata={"description": "逾期上报"})
    overdue = ma.fields.Boolean(required=True, metadata={"description": "逾期未报"})
    can_fill = ma.fields.Boolean(required=True)
    can_return = ma.fields.Boolean(required=True)


class FilingDetailSchema(FilingSchema):
    form = ma.fields.Nested(FormSchema, required=True)
    system_now = ma.fields.Dict(
        required=True, metadata={"description": "系统预填值（未上报时为当前值）"}
    )
    log = ma.fields.List(ma.fields.Nested(FilingLogSchema), required=True)


class FormRollupRowSchema(BaseSchema):
    area = ma.fields.Nested(FormAreaSchema, required=True)
    expected = ma.fields.Integer(required=True)
    submitted = ma.fields.Integer(required=True)
    outstanding = ma.fields.Integer(required=True)
    returned = ma.fields.Integer(required=True)
    late = ma.fields.Integer(required=True)
    overdue = ma.fields.Integer(required=True)
    values = ma.fields.Dict(required=True, metadata={"description": "各字段的汇总值"})


class FormRollupSchema(BaseSchema):
    form = ma.fields.Nested(FormSchema, required=True)
    area = ma.fields.Nested(FormAreaSchema, required=True)
    child_level = ma.fields.String(required=True)
    rows = ma.fields.List(ma.fields.Nested(FormRollupRowSchema), required=True)
    total = ma.fields.Nested(FormRollupRowSchema, required=True)
    generated_at = Instant(required=True)


class FormSourceSchema(BaseSchema):
    key = ma.fields.String(required=True)
    name = ma.fields.String(required=True, attribute="name_zh")
    name_en = ma.fields.String(required=True)
    group = ma.fields.String(required=True)
    in_period = ma.fields.Boolean(required=True)
    description = ma.fields.String(required=True)


class FormSourceListSchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(FormSourceSchema), required=True)

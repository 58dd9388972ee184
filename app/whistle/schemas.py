"""Shapes for whistles, summons and report-ins, counts, co-handlers and notes."""

from __future__ import annotations

import marshmallow as ma

from app.accounts.roles import Board
from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, Instant
from app.events.models import UNIT_LEVELS, UNIT_ROLES
from app.whistle.models import SUMMONS_STATES

_ID = ma.validate.Range(min=1, max=2**31 - 1)


class WhistleCreateSchema(BaseSchema):
    department_ids = ma.fields.List(
        ma.fields.Integer(validate=_ID),
        required=True,
        validate=ma.validate.Length(min=1, max=20),
        metadata={"description": "被吹哨的区县部门（须属事件所在区县）"},
    )
    lead_department_id = ma.fields.Integer(
        validate=_ID, metadata={"description": "牵头部门；默认为第一个部门"}
    )
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))
    report_in_minutes = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=7 * 24 * 60),
        metadata={
            "description": "报到时限（分钟）：一般事件按工作时间计，紧急事件按自然时间计；"
            "默认取配置（2 个工作小时 / 紧急 30 分钟）"
        },
    )


class SummonsSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    whistle_id = ma.fields.Integer(required=True)
    event_id = ma.fields.Integer(required=True)
    department_id = ma.fields.Integer(required=True)
    department_name = ma.fields.Function(
        lambda s: s.department.name if s.department else None, allow_none=True
    )
    state = ma.fields.String(required=True, metadata={"enum": list(SUMMONS_STATES)})
    report_in_due_at = Instant(required=True)
    reported_at = Instant(allow_none=True)
    reported_by = ma.fields.Integer(allow_none=True)
    note = ma.fields.String(allow_none=True)
    late = ma.fields.Boolean(allow_none=True)
    late_by_seconds = ma.fields.Integer(allow_none=True)
    overdue_at = Instant(allow_none=True)


class WhistleSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    event_id = ma.fields.Integer(required=True)
    created_by = ma.fields.Integer(required=True)
    created_at = Instant(required=True)
    reason = ma.fields.String(required=True)
    lead_department_id = ma.fields.Integer(required=True)
    report_in_due_at = Instant(required=True)
    limit_unit = ma.fields.String(
        required=True, metadata={"description": "working_hours（工作时间）或 minutes（紧急）"}
    )
    limit_amount = ma.fields.Float(required=True)
    summons = ma.fields.List(ma.fields.Nested(SummonsSchema), required=True)


class WhistleListSchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(WhistleSchema), required=True)


class SummonsQuerySchema(PageArgsSchema):
    state = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(SUMMONS_STATES)))
    pending = ma.fields.Boolean(metadata={"description": "true：尚未报到；false：已报到"})
    late = ma.fields.Boolean(metadata={"description": "true：迟报到或超时未报到"})
    mine = ma.fields.Boolean(metadata={"description": "只看本部门的"})
    event_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1))
    department_id = ma.fields.Integer(validate=_ID)


class ReportInSchema(BaseSchema):
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class ReportInCountsQuerySchema(BaseSchema):
    department_id = ma.fields.Integer(validate=_ID)
    area = ma.fields.String(
        validate=ma.validate.Length(max=15), metadata={"description": "事件所在区域代码"}
    )
    due_from = Instant(metadata={"description": "报到时限不早于"})
    due_to = Instant(metadata={"description": "报到时限早于"})


class ReportInCountSchema(BaseSchema):
    department_id = ma.fields.Integer(required=True)
    department_name = ma.fields.String(allow_none=True)
    summoned = ma.fields.Integer(required=True)
    on_time = ma.fields.Integer(required=True)
    late = ma.fields.Integer(required=True, metadata={"description": "超时后才报到"})
    overdue = ma.fields.Integer(required=True, metadata={"description": "已超时仍未报到"})
    pending = ma.fields.Integer(required=True)


class ReportInCountListSchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(ReportInCountSchema), required=True)


class CoHandlerInSchema(BaseSchema):
    level = ma.fields.String(required=True, validate=ma.validate.OneOf(UNIT_LEVELS))
    department_id = ma.fields.Integer(validate=_ID)
    board = ma.fields.String(validate=ma.validate.OneOf([b.value for b in Board]))
    area = ma.fields.String(
        validate=ma.validate.Length(max=15), metadata={"description": "村社代码"}
    )

    @ma.validates_schema
    def _names_the_unit(self, data, **kwargs):
        needed = {"department": "department_id", "board": "board", "village": "area"}
        field = needed[data["level"]]
        if data.get(field) is None:
            raise ma.ValidationError("请指定协同单位", field)


class CoHandlersCreateSchema(BaseSchema):
    units = ma.fields.List(
        ma.fields.Nested(CoHandlerInSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=20),
    )
    reason = ma.fields.String(validate=ma.validate.Length(max=1000))


class CoHandlerSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    event_id = ma.fields.Integer(required=True)
    role = ma.fields.String(
        required=True,
        metadata={
            "enum": list(UNIT_ROLES),
            "description": "co_handler 协同；summoned 已吹哨待报到",
        },
    )
    level = ma.fields.String(required=True)
    department_id = ma.fields.Integer(allow_none=True)
    board = ma.fields.String(allow_none=True)
    area = ma.fields.Function(lambda u: str(u.area_id) if u.area_id else None, allow_none=True)
    name = ma.fields.String(required=True)
    added_by = ma.fields.Integer(allow_none=True)
    added_at = Instant(required=True)


class CoHandlerListSchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(CoHandlerSchema), required=True)


class EventNoteSchema(BaseSchema):
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))

"""Shapes for the working-calendar API."""

from __future__ import annotations

from datetime import timedelta

import marshmallow as ma

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema
from app.sla.calendar import (
    SOURCE_CHINESECALENDAR,
    SOURCE_HOLIDAYS,
    SOURCE_OVERRIDE,
    SOURCE_WEEKENDS,
)

MAX_DAYS = 366
SOURCES = (SOURCE_OVERRIDE, SOURCE_CHINESECALENDAR, SOURCE_HOLIDAYS, SOURCE_WEEKENDS)
_SOURCE_HELP = (
    "override 管理员调整 · chinesecalendar 国务院安排（含调休）· "
    "holidays 法定节假日规则（无调休）· weekends 仅按周末"
)


class DaysQuerySchema(BaseSchema):
    first = ma.fields.Date(required=True, data_key="from", metadata={"description": "起始日（含）"})
    last = ma.fields.Date(required=True, data_key="to", metadata={"description": "结束日（含）"})

    @ma.validates_schema
    def _span(self, data, **kwargs):
        if data["last"] < data["first"]:
            raise ma.ValidationError("结束日不能早于起始日", "to")
        if data["last"] - data["first"] >= timedelta(days=MAX_DAYS):
            raise ma.ValidationError(f"一次最多查询 {MAX_DAYS} 天", "to")


class DaySchema(BaseSchema):
    date = ma.fields.Date(required=True)
    weekday = ma.fields.Integer(required=True, metadata={"description": "1 = 周一 … 7 = 周日"})
    workday = ma.fields.Boolean(required=True)
    source = ma.fields.String(
        required=True, validate=ma.validate.OneOf(SOURCES), metadata={"description": _SOURCE_HELP}
    )
    note = ma.fields.String(allow_none=True)


class DaysSchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(DaySchema), required=True)


class OverrideQuerySchema(PageArgsSchema):
    year = ma.fields.Integer(validate=ma.validate.Range(min=2000, max=2100))


class OverridePutSchema(BaseSchema):
    workday = ma.fields.Boolean(required=True, metadata={"description": "true 上班，false 休息"})
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=80))


class OverrideSchema(BaseSchema):
    date = ma.fields.Date(attribute="day", required=True)
    workday = ma.fields.Boolean(required=True)
    note = ma.fields.String(required=True)
    library_workday = ma.fields.Boolean(
        required=True, metadata={"description": "不调整时的答案（用于核对是否多余）"}
    )
    library_source = ma.fields.String(required=True, validate=ma.validate.OneOf(SOURCES))

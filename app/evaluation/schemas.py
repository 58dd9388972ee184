"""Evaluation and export: query arguments in, score rows out."""

from __future__ import annotations

from datetime import date

import marshmallow as ma

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema
from app.evaluation.service import SORTS, UNIT_LEVELS

# No period reaches outside these days (and nothing absurd reaches the database).
_DAYS = ma.validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31))


class ExportQuerySchema(BaseSchema):
    first = ma.fields.Date(
        data_key="from", validate=_DAYS, metadata={"description": "开始日期（含），北京时间"}
    )
    last = ma.fields.Date(
        data_key="to", validate=_DAYS, metadata={"description": "结束日期（含），北京时间"}
    )
    area = ma.fields.String(
        validate=ma.validate.Length(min=12, max=15),
        metadata={"description": "区域节点代码（12 或 15 位），默认为本人管辖范围"},
    )


class ScoreQuerySchema(ExportQuerySchema, PageArgsSchema):
    level = ma.fields.String(
        validate=ma.validate.OneOf(UNIT_LEVELS),
        metadata={"description": "单位层级：grid 网格、village 村社、board 板块、department"},
    )
    sort = ma.fields.String(
        load_default="-received",
        validate=ma.validate.OneOf(SORTS),
        metadata={"description": "排序指标，前加 - 为降序（排名）"},
    )


class _Measures(BaseSchema):
    received = ma.fields.Integer(required=True, metadata={"description": "受理数"})
    filed = ma.fields.Integer(required=True, metadata={"description": "立案数"})
    due = ma.fields.Integer(required=True, metadata={"description": "应办结数"})
    closed = ma.fields.Integer(required=True, metadata={"description": "结案数"})
    closed_on_time = ma.fields.Integer(required=True, metadata={"description": "按期结案数"})
    closure_rate = ma.fields.Float(allow_none=True, metadata={"description": "结案率"})
    on_time_rate = ma.fields.Float(allow_none=True, metadata={"description": "按期结案率"})
    rework_rate = ma.fields.Float(allow_none=True, metadata={"description": "返工率"})
    extension_rate = ma.fields.Float(allow_none=True, metadata={"description": "延期率"})
    returns = ma.fields.Integer(required=True, metadata={"description": "退回数"})
    return_rate = ma.fields.Float(allow_none=True, metadata={"description": "退回率"})
    supervisions = ma.fields.Integer(required=True, metadata={"description": "督办次数"})
    avg_handling_hours = ma.fields.Float(
        allow_none=True, metadata={"description": "平均办理时长（小时）"}
    )
    self_handled = ma.fields.Integer(required=True, metadata={"description": "自处置数"})


class UnitScoreSchema(_Measures):
    key = ma.fields.String(
        required=True, metadata={"description": "单位键，如 village:500103003013"}
    )
    level = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    area = ma.fields.String(allow_none=True, metadata={"description": "网格/村社/镇街代码"})
    department_id = ma.fields.Integer(allow_none=True)
    board = ma.fields.String(allow_none=True)


class PersonScoreSchema(_Measures):
    user_id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    role_name = ma.fields.String(required=True)

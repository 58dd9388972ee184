"""Request and response shapes for patrols, their fixes and coverage."""

from __future__ import annotations

from datetime import date

import marshmallow as ma

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, BatchSchema, EachJudged, Instant
from app.geo.schemas import GeoPointSchema
from app.patrols.models import STATUSES, STOPPED_BY

# A phone sends at most this many fixes per request (two hours at the default 15 s).
MAX_BATCH = 500
_ID = ma.validate.Range(min=1, max=2**31 - 1)
_ACCURACY = ma.fields.Float(
    load_default=None,
    allow_none=True,
    allow_nan=False,
    validate=ma.validate.Range(min=0, max=100_000),
    metadata={"description": "定位精度（米）；劣于阈值的点保留但不计入覆盖"},
)
# Days a person could mean: far-off years are typing errors (and overflow date arithmetic).
_DAY = ma.validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31), error="日期超出范围")


class PatrolStartSchema(BaseSchema):
    uuid = ma.fields.UUID(
        required=True, metadata={"description": "手机生成的巡查编号；重发同一编号返回同一巡查"}
    )
    started_at = Instant(required=True, metadata={"description": "开始时间（手机时钟）"})
    location = ma.fields.Nested(
        GeoPointSchema, load_default=None, allow_none=True, metadata={"description": "起点"}
    )
    accuracy_m = _ACCURACY
    interval_s = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(min=1, max=3600),
        metadata={"description": "手机的记录间隔（秒）"},
    )


class PatrolPointInSchema(BaseSchema):
    at = Instant(required=True, metadata={"description": "定位时间（含时区）"})
    lon = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(-180, 180))
    lat = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(-90, 90))
    accuracy_m = _ACCURACY


class PatrolPointBatchSchema(BatchSchema):
    ITEMS = "points"
    MAX_ITEMS = MAX_BATCH
    TOO_MANY = f"每批定位点应为 1 到 {MAX_BATCH} 个"

    points = EachJudged(
        PatrolPointInSchema,
        code="invalid_point",
        message="定位点格式无效",
        required=True,
        metadata={
            "description": f"一批定位点（至多 {MAX_BATCH} 个），按巡查+时间去重",
            "minItems": 1,
            "maxItems": MAX_BATCH,
        },
    )


class PatrolStopSchema(BaseSchema):
    ended_at = Instant(required=True, metadata={"description": "结束时间（手机时钟）"})


class PatrolQuerySchema(PageArgsSchema):
    day = ma.fields.Date(
        validate=_DAY, metadata={"description": "北京时间的日期：当天进行过的巡查"}
    )
    user_id = ma.fields.Integer(validate=_ID)
    area = ma.fields.String(
        validate=ma.validate.Length(max=15), metadata={"description": "区域代码"}
    )
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    mine = ma.fields.Boolean(metadata={"description": "true：只看本人的巡查"})


class CoverageQuerySchema(BaseSchema):
    area = ma.fields.String(
        validate=ma.validate.Length(max=15),
        metadata={"description": "镇街、村社或网格代码；缺省为本人所在镇街/村社"},
    )
    day = ma.fields.Date(validate=_DAY, metadata={"description": "北京时间的日期；缺省为今天"})


class PatrolSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    uuid = ma.fields.UUID(required=True)
    user_id = ma.fields.Integer(required=True)
    user_name = ma.fields.String(required=True)
    grid = ma.fields.Function(lambda p: str(p.grid_id) if p.grid_id else None, allow_none=True)
    area = ma.fields.Function(
        lambda p: str(p.grid_id or p.village_id or p.township_id or p.district_id or ""),
        metadata={"description": "巡查所属的网格（无网格时为所属村社/镇街）"},
    )
    area_name = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": list(STATUSES)})
    started_at = Instant(required=True)
    ended_at = Instant(allow_none=True)
    stopped_by = ma.fields.String(allow_none=True, metadata={"enum": list(STOPPED_BY)})
    last_point_at = Instant(allow_none=True)
    duration_s = ma.fields.Function(
        lambda p: int(
            ((p.ended_at or p.last_point_at or p.started_at) - p.started_at).total_seconds()
        ),
        metadata={"description": "开始到结束（进行中为到最新定位）的秒数"},
    )
    walked_s = ma.fields.Float(
        required=True, metadata={"description": "轨迹的行走秒数（不含断点）"}
    )
    distance_m = ma.fields.Float(required=True, metadata={"description": "行走距离（米）"})
    point_count = ma.fields.Integer(required=True)
    counted_points = ma.fields.Integer(required=True, metadata={"description": "精度合格的点数"})
    interval_s = ma.fields.Integer(allow_none=True)


class PatrolDetailSchema(PatrolSchema):
    track = ma.fields.Dict(
        allow_none=True,
        metadata={"description": "GeoJSON LineString：精度合格的定位点按时间连线（WGS84）"},
    )
    gaps = ma.fields.Integer(required=True, metadata={"description": "轨迹中断处（不计距离）"})


class PatrolRejectedSchema(BaseSchema):
    index = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict()


class PatrolPointsResultSchema(BaseSchema):
    patrol = ma.fields.Nested(PatrolSchema, required=True)
    accepted = ma.fields.Integer(required=True, metadata={"description": "新存入的点数"})
    duplicates = ma.fields.Integer(required=True, metadata={"description": "已存在（重发）"})
    duplicate_indexes = ma.fields.List(ma.fields.Integer(), required=True)
    rejected = ma.fields.List(ma.fields.Nested(PatrolRejectedSchema), required=True)


class GridCoverageSchema(BaseSchema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    village_code = ma.fields.String(allow_none=True)
    area_m2 = ma.fields.Float(required=True)
    covered_m2 = ma.fields.Float(required=True)
    ratio = ma.fields.Float(required=True, metadata={"description": "覆盖率 0–1"})
    distance_m = ma.fields.Float(required=True)
    walked_s = ma.fields.Float(required=True)
    patrols = ma.fields.Integer(required=True)
    people = ma.fields.Integer(required=True)
    patrol_ids = ma.fields.List(ma.fields.Integer(), required=True)
    computed_at = Instant(allow_none=True)


class CoverageTotalsSchema(BaseSchema):
    grids = ma.fields.Integer(required=True)
    patrolled_grids = ma.fields.Integer(required=True)
    area_m2 = ma.fields.Float(required=True)
    covered_m2 = ma.fields.Float(required=True)
    ratio = ma.fields.Float(required=True)
    distance_m = ma.fields.Float(required=True)
    walked_s = ma.fields.Float(required=True)
    patrols = ma.fields.Integer(required=True)
    people = ma.fields.Integer(required=True)


class CoverageAreaSchema(BaseSchema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    level = ma.fields.String(required=True)


class CoverageSchema(BaseSchema):
    area = ma.fields.Nested(CoverageAreaSchema, required=True)
    day = ma.fields.Date(required=True)
    radius_m = ma.fields.Float(required=True)
    items = ma.fields.List(ma.fields.Nested(GridCoverageSchema), required=True)
    totals = ma.fields.Nested(CoverageTotalsSchema, required=True)

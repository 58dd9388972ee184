"""Request and response shapes for sensors, their readings and their threshold rules."""

from __future__ import annotations

import marshmallow as ma

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, BatchSchema, EachJudged, Instant
from app.geo.schemas import GeoPointSchema
from app.sensors.models import LEVELS, RULE_KINDS, TYPES
from app.sensors.types import SPECS

_ID = ma.validate.Range(min=1, max=2**31 - 1)
# A device sends at most this many readings per request (a day of 3-minute readings).
MAX_BATCH = 500
_VALUE = ma.validate.Range(min=-1e9, max=1e9)
_THRESHOLD = {"validate": ma.validate.Range(min=-1e9, max=1e9), "allow_nan": False}


# -- sensors --------------------------------------------------------------------------------


class SensorUpdateSchema(BaseSchema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    location = ma.fields.Nested(GeoPointSchema, metadata={"description": "位置；据此确定网格"})
    key_place_id = ma.fields.Integer(
        validate=_ID, allow_none=True, metadata={"description": "所在重点场所（如危岩点）"}
    )
    active = ma.fields.Boolean(metadata={"description": "false：停用，设备凭据随之失效"})


class SensorCreateSchema(SensorUpdateSchema):
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(TYPES))
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    location = ma.fields.Nested(GeoPointSchema, required=True)
    code = ma.fields.String(
        validate=[
            ma.validate.Length(min=3, max=40),
            ma.validate.Regexp(r"^[A-Za-z0-9_.-]+$", error="只能包含字母、数字和 _ . -"),
        ],
        metadata={"description": "设备编号；默认自动生成"},
    )


class SensorQuerySchema(PageArgsSchema):
    type = ma.fields.String(validate=ma.validate.OneOf(TYPES))
    warning = ma.fields.Boolean(metadata={"description": "true：只看正在预警的"})
    active = ma.fields.Boolean()
    key_place_id = ma.fields.Integer(validate=_ID)
    area = ma.fields.String(
        validate=ma.validate.Length(max=15), metadata={"description": "区域代码"}
    )


class SensorThresholdsSchema(BaseSchema):
    kind = ma.fields.String(required=True)
    window_hours = ma.fields.Float(allow_none=True)
    blue = ma.fields.Float(required=True)
    yellow = ma.fields.Float(required=True)
    orange = ma.fields.Float(required=True)
    red = ma.fields.Float(required=True)


class SensorSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    type = ma.fields.String(required=True, metadata={"enum": list(TYPES)})
    name = ma.fields.String(required=True)
    unit = ma.fields.Function(lambda s: SPECS[s.type].unit, required=True)
    location = ma.fields.Function(
        lambda s: {"type": "Point", "coordinates": [s.lon, s.lat]}, required=True
    )
    grid = ma.fields.Function(lambda s: str(s.grid_id) if s.grid_id else None, allow_none=True)
    key_place_id = ma.fields.Integer(allow_none=True)
    active = ma.fields.Boolean(required=True)
    registered_at = Instant(required=True)
    last_reading_at = Instant(allow_none=True)
    last_value = ma.fields.Float(allow_none=True)
    level = ma.fields.String(
        allow_none=True,
        metadata={"enum": list(LEVELS), "description": "当前预警等级；空为正常"},
    )
    level_since = Instant(allow_none=True)
    warning_event_id = ma.fields.Integer(allow_none=True)
    warning_alarm_id = ma.fields.Integer(allow_none=True)


class SensorDetailSchema(SensorSchema):
    rules = ma.fields.List(
        ma.fields.Nested(SensorThresholdsSchema),
        attribute="rules_in_force",
        metadata={"description": "当前生效的预警规则（站点规则优先于类型规则）"},
    )


class SensorCreatedSchema(SensorSchema):
    secret = ma.fields.String(
        required=True, metadata={"description": "设备密钥，仅在登记时返回一次；服务器只存其摘要"}
    )


# -- readings -------------------------------------------------------------------------------


class SensorReadingInSchema(BaseSchema):
    at = Instant(required=True, metadata={"description": "测量时间（含时区）"})
    value = ma.fields.Float(required=True, validate=_VALUE, allow_nan=False)


class SensorReadingBatchSchema(BatchSchema):
    ITEMS = "readings"
    MAX_ITEMS = MAX_BATCH
    TOO_MANY = f"每批读数应为 1 到 {MAX_BATCH} 条"

    readings = EachJudged(
        SensorReadingInSchema,
        code="invalid_reading",
        message="读数格式无效",
        required=True,
        metadata={
            "description": f"一批读数（至多 {MAX_BATCH} 条），按设备+时间去重",
            "minItems": 1,
            "maxItems": MAX_BATCH,
        },
    )


class SensorRejectedSchema(BaseSchema):
    index = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict()


class SensorWarningSchema(BaseSchema):
    level = ma.fields.String(allow_none=True, metadata={"enum": list(LEVELS)})
    since = Instant(allow_none=True)
    event_id = ma.fields.Integer(allow_none=True)
    alarm_id = ma.fields.Integer(allow_none=True)


class SensorIngestResultSchema(BaseSchema):
    sensor_id = ma.fields.Integer(required=True)
    accepted = ma.fields.Integer(required=True, metadata={"description": "新存入的条数"})
    duplicates = ma.fields.Integer(required=True, metadata={"description": "已存在（重发）"})
    duplicate_indexes = ma.fields.List(ma.fields.Integer(), required=True)
    rejected = ma.fields.List(ma.fields.Nested(SensorRejectedSchema), required=True)
    warning = ma.fields.Nested(SensorWarningSchema, required=True)


class SensorReadingsQuerySchema(BaseSchema):
    start = Instant(data_key="from", metadata={"description": "默认 24 小时前"})
    end = Instant(data_key="to", metadata={"description": "默认现在"})
    max_points = ma.fields.Integer(
        load_default=500,
        validate=ma.validate.Range(min=10, max=2000),
        metadata={"description": "点数上限；超过则按时间分桶取峰值"},
    )


class SensorReadingSchema(BaseSchema):
    at = Instant(required=True)
    value = ma.fields.Float(required=True, metadata={"description": "读数（分桶时为桶内最大值）"})
    min = ma.fields.Float(required=True, metadata={"description": "桶内最小值"})


class SensorReadingSeriesSchema(BaseSchema):
    sensor_id = ma.fields.Integer(required=True)
    start = Instant(required=True, data_key="from")
    end = Instant(required=True, data_key="to")
    total = ma.fields.Integer(required=True)
    downsampled = ma.fields.Boolean(required=True)
    items = ma.fields.List(ma.fields.Nested(SensorReadingSchema), required=True)


# -- rules ----------------------------------------------------------------------------------


class SensorRuleUpdateSchema(BaseSchema):
    window_hours = ma.fields.Float(
        validate=ma.validate.Range(min=0.1, max=24 * 30), allow_nan=False, allow_none=True
    )
    blue = ma.fields.Float(**_THRESHOLD)
    yellow = ma.fields.Float(**_THRESHOLD)
    orange = ma.fields.Float(**_THRESHOLD)
    red = ma.fields.Float(**_THRESHOLD)
    active = ma.fields.Boolean()


class SensorRuleCreateSchema(SensorRuleUpdateSchema):
    sensor_id = ma.fields.Integer(validate=_ID, metadata={"description": "站点规则：所属设备"})
    type = ma.fields.String(
        validate=ma.validate.OneOf(TYPES), metadata={"description": "类型规则：设备类型"}
    )
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(RULE_KINDS),
        metadata={"description": "level：读数达到阈值；rate：时间窗口内上升量达到阈值"},
    )
    blue = ma.fields.Float(required=True, **_THRESHOLD)
    yellow = ma.fields.Float(required=True, **_THRESHOLD)
    orange = ma.fields.Float(required=True, **_THRESHOLD)
    red = ma.fields.Float(required=True, **_THRESHOLD)


class SensorRuleQuerySchema(BaseSchema):
    sensor_id = ma.fields.Integer(validate=_ID)
    type = ma.fields.String(validate=ma.validate.OneOf(TYPES))


class SensorRuleSchema(SensorThresholdsSchema):
    id = ma.fields.Integer(required=True)
    type = ma.fields.String(required=True)
    sensor_id = ma.fields.Integer(allow_none=True)
    active = ma.fields.Boolean(required=True)
    updated_at = Instant(required=True)


class SensorRuleListSchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(SensorRuleSchema), required=True)

"""Request and response shapes for checklists, their targets, assignments, answers and progress."""

from __future__ import annotations

import marshmallow as ma

from app.checklists.models import KINDS
from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema, Instant
from app.geo.schemas import GeoPointSchema

_ID = ma.validate.Range(min=1, max=2**31 - 1)
_NUMBER = {"validate": ma.validate.Range(min=-1e9, max=1e9), "allow_nan": False}
MAX_ITEMS = 50
MAX_AREAS = 2000
MAX_PHOTOS = 9
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


# -- building and sending -------------------------------------------------------------------


class ChecklistItemInSchema(BaseSchema):
    key = ma.fields.String(
        validate=ma.validate.Regexp(
            KEY_PATTERN, error="只能包含小写字母、数字和下划线，以字母开头"
        ),
        metadata={"description": "清单内唯一的项目标识；缺省按顺序生成 item1、item2…"},
    )
    label = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    hint = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(KINDS),
        metadata={"description": "photo 拍照 | gps 定位 | yes_no 是/否 | value 数值"},
    )
    required = ma.fields.Boolean(load_default=True)
    fail_on = ma.fields.Boolean(
        allow_none=True,
        load_default=None,
        metadata={"description": "是/否项：哪个回答判为不合格（true=是，false=否）；空为都合格"},
    )
    unit = ma.fields.String(load_default="", validate=ma.validate.Length(max=16))
    min_value = ma.fields.Float(allow_none=True, load_default=None, **_NUMBER)
    max_value = ma.fields.Float(allow_none=True, load_default=None, **_NUMBER)
    max_distance_m = ma.fields.Float(
        allow_none=True,
        load_default=None,
        validate=ma.validate.Range(min=10, max=5000),
        allow_nan=False,
        metadata={"description": "定位项：距重点场所的最大距离（米），缺省 200"},
    )

    @ma.validates_schema
    def _consistent(self, data, **kwargs):
        kind = data.get("kind")
        if kind != "yes_no" and data.get("fail_on") is not None:
            raise ma.ValidationError("只有是/否项可以设置不合格答案", "fail_on")
        if kind != "value" and (
            data.get("min_value") is not None or data.get("max_value") is not None
        ):
            raise ma.ValidationError("只有数值项可以设置允许范围", "min_value")
        low, high = data.get("min_value"), data.get("max_value")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError("最小值不能大于最大值", "min_value")
        if kind != "gps" and data.get("max_distance_m") is not None:
            raise ma.ValidationError("只有定位项可以设置距离", "max_distance_m")


class ChecklistTargetsSchema(BaseSchema):
    areas = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=12, max=15)),
        load_default=list,
        validate=ma.validate.Length(max=MAX_AREAS),
        metadata={"description": "网格、村社、镇街或区县代码：其下每个网格一份"},
    )
    key_place_kind = ma.fields.String(
        allow_none=True,
        load_default=None,
        validate=ma.validate.Length(min=1, max=32),
        metadata={
            "description": "重点场所类型（如 hazardous_rock 危岩）：所选区域（缺省为本人辖区）"
            "内每个此类场所一份"
        },
    )


class ChecklistCreateSchema(BaseSchema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    instructions = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    due_at = Instant(required=True, metadata={"description": "完成期限（含时区）"})
    items = ma.fields.List(
        ma.fields.Nested(ChecklistItemInSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_ITEMS),
    )
    targets = ma.fields.Nested(ChecklistTargetsSchema, required=True)


class ChecklistUpdateSchema(BaseSchema):
    """What may change after sending; items and targets stay as sent (answers refer to them)."""

    title = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    instructions = ma.fields.String(validate=ma.validate.Length(max=2000))
    due_at = Instant(
        metadata={
            "description": "新的完成期限（含时区），至少在 10 分钟之后；未完成任务的临期、超期提醒"
            "按新期限重新计算"
        }
    )

    @ma.pre_load
    def _items_stay(self, data, **kwargs):
        fixed = [k for k in ("items", "targets") if isinstance(data, dict) and k in data]
        if fixed:
            message = "清单派发后检查项和派发范围不能修改；如需修改请撤回后重新派发"
            raise ma.ValidationError(dict.fromkeys(fixed, [message]))
        return data

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("请至少修改标题、说明或完成期限中的一项")


class ChecklistWithdrawSchema(BaseSchema):
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "撤回原因：网格员手机上显示，控制台留档"},
    )


class ChecklistQuerySchema(PageArgsSchema):
    open = ma.fields.Boolean(
        metadata={"description": "true：还有待完成的（已撤回的不算）；false：没有待完成的"}
    )


class ChecklistTargetCountSchema(BaseSchema):
    grids = ma.fields.Integer(required=True, metadata={"description": "涉及的网格数"})
    key_places = ma.fields.Integer(required=True, metadata={"description": "重点场所数"})
    assignments = ma.fields.Integer(required=True, metadata={"description": "将生成的任务数"})
    workers = ma.fields.Integer(required=True, metadata={"description": "将收到的网格员人数"})
    unstaffed_grids = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "没有网格员的网格"}
    )


# -- reading --------------------------------------------------------------------------------


class ChecklistItemSchema(BaseSchema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    hint = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"enum": list(KINDS)})
    required = ma.fields.Boolean(required=True)
    fail_on = ma.fields.Boolean(allow_none=True)
    unit = ma.fields.String(required=True)
    min_value = ma.fields.Float(allow_none=True)
    max_value = ma.fields.Float(allow_none=True)
    max_distance_m = ma.fields.Float(allow_none=True)


class ChecklistFiguresSchema(BaseSchema):
    assignments = ma.fields.Integer(required=True, metadata={"description": "任务数"})
    completed = ma.fields.Integer(required=True, metadata={"description": "已完成任务数"})
    items_total = ma.fields.Integer(required=True, metadata={"description": "检查项总数"})
    items_answered = ma.fields.Integer(required=True, metadata={"description": "已填检查项"})
    failed_items = ma.fields.Integer(required=True, metadata={"description": "不合格检查项"})
    near_due = ma.fields.Integer(required=True, metadata={"description": "未完成且临期"})
    overdue = ma.fields.Integer(required=True, metadata={"description": "未完成且超期"})
    late = ma.fields.Integer(required=True, metadata={"description": "超期后才完成"})
    events = ma.fields.Integer(required=True, metadata={"description": "由不合格项上报的事件"})


class ChecklistBriefSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    instructions = ma.fields.String(required=True)
    centre_code = ma.fields.Function(lambda c: str(c.centre_id), required=True)
    centre_name = ma.fields.String(required=True)
    created_at = Instant(required=True)
    due_at = Instant(required=True)
    withdrawn_at = Instant(allow_none=True, metadata={"description": "撤回时间；空为未撤回"})
    withdraw_reason = ma.fields.String(allow_none=True, metadata={"description": "撤回原因"})
    items = ma.fields.List(ma.fields.Nested(ChecklistItemSchema), required=True)


class ChecklistSchema(ChecklistBriefSchema):
    created_by = ma.fields.Integer(allow_none=True)
    created_by_name = ma.fields.String(required=True)
    warn_at = Instant(required=True)
    targets = ma.fields.Dict(required=True, metadata={"description": "发送时所选的区域和场所类型"})
    figures = ma.fields.Nested(ChecklistFiguresSchema, required=True)
    edited_at = Instant(allow_none=True, metadata={"description": "派发后最近一次修改的时间"})
    edited_by_name = ma.fields.String(required=True)
    withdrawn_by = ma.fields.Integer(allow_none=True)
    withdrawn_by_name = ma.fields.String(required=True)
    can_manage = ma.fields.Boolean(
        required=True, metadata={"description": "我能否修改或撤回（派发单位及其上级，未撤回）"}
    )


class ChecklistCreatedSchema(ChecklistSchema):
    workers = ma.fields.Integer(required=True, metadata={"description": "收到任务的网格员人数"})
    unstaffed_grids = ma.fields.List(ma.fields.String(), required=True)


class ChecklistProgressNodeSchema(ChecklistFiguresSchema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    level = ma.fields.String(required=True)
    parent_code = ma.fields.String(allow_none=True)


class ChecklistProgressSchema(BaseSchema):
    checklist_id = ma.fields.Integer(required=True)
    due_at = Instant(required=True)
    totals = ma.fields.Nested(ChecklistFiguresSchema, required=True)
    nodes = ma.fields.List(
        ma.fields.Nested(ChecklistProgressNodeSchema),
        required=True,
        metadata={"description": "区县、镇街、村社、网格各级汇总（按 parent_code 组成树）"},
    )


class ChecklistAnswerSchema(BaseSchema):
    item_key = ma.fields.String(required=True)
    yes = ma.fields.Boolean(allow_none=True)
    value = ma.fields.Float(allow_none=True)
    location = ma.fields.Function(
        lambda a: (
            None
            if a.lon is None
            else {"type": "Point", "coordinates": [a.lon, a.lat], "accuracy_m": a.accuracy_m}
        ),
        allow_none=True,
    )
    photos = ma.fields.List(ma.fields.Integer(), attribute="attachment_ids", required=True)
    note = ma.fields.String(required=True)
    failed = ma.fields.Boolean(required=True)
    fail_reason = ma.fields.String(required=True)
    answered_by = ma.fields.Integer(required=True)
    answered_by_name = ma.fields.String(required=True)
    answered_at = Instant(required=True)
    received_at = Instant(required=True)
    event_id = ma.fields.Integer(allow_none=True)


class ChecklistKeyPlaceSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, attribute="kind_code")
    kind_name = ma.fields.Function(lambda p: p.kind.name_zh, required=True)
    address = ma.fields.String(required=True)
    location = ma.fields.Function(
        lambda p: {"type": "Point", "coordinates": [p.lon, p.lat]}, required=True
    )


class ChecklistAssignmentSchema(BaseSchema):
    id = ma.fields.Integer(required=True)
    checklist = ma.fields.Nested(ChecklistBriefSchema, required=True, attribute="checklist_")
    grid_code = ma.fields.Function(lambda a: str(a.grid_id), required=True)
    grid_name = ma.fields.String(required=True)
    village_name = ma.fields.String(required=True)
    key_place = ma.fields.Nested(ChecklistKeyPlaceSchema, allow_none=True)
    item_count = ma.fields.Integer(required=True)
    required_count = ma.fields.Integer(required=True)
    answered_count = ma.fields.Integer(required=True)
    failed_count = ma.fields.Integer(required=True)
    due_at = Instant(required=True)
    completed_at = Instant(allow_none=True)
    near_due = ma.fields.Boolean(required=True)
    overdue = ma.fields.Boolean(required=True)
    late = ma.fields.Boolean(required=True, metadata={"description": "超过期限才完成"})
    answers = ma.fields.List(ma.fields.Nested(ChecklistAnswerSchema), required=True)


class ChecklistAssignmentQuerySchema(PageArgsSchema):
    checklist_id = ma.fields.Integer(validate=_ID)
    open = ma.fields.Boolean(metadata={"description": "true：未完成；false：已完成"})
    current = ma.fields.Boolean(
        metadata={"description": "true：未完成的，以及期限在 7 天内的（手机端的清单）"}
    )
    failed = ma.fields.Boolean(metadata={"description": "true：有不合格项的"})
    noted = ma.fields.Boolean(metadata={"description": "true：有填写备注的"})
    area = ma.fields.String(
        validate=ma.validate.Length(min=12, max=15), metadata={"description": "区域代码"}
    )


# -- answering ------------------------------------------------------------------------------


class ChecklistAnswerInSchema(BaseSchema):
    answered_at = Instant(metadata={"description": "在手机上作答的时间；缺省为收到时"})
    yes = ma.fields.Boolean(allow_none=True, metadata={"description": "是/否项的回答"})
    value = ma.fields.Float(allow_none=True, metadata={"description": "数值项的读数"}, **_NUMBER)
    location = ma.fields.Nested(GeoPointSchema, allow_none=True, metadata={"description": "定位"})
    accuracy_m = ma.fields.Float(
        allow_none=True, validate=ma.validate.Range(min=0, max=100_000), allow_nan=False
    )
    photos = ma.fields.List(
        ma.fields.Integer(validate=_ID),
        load_default=list,
        validate=ma.validate.Length(max=MAX_PHOTOS),
        metadata={"description": "已上传照片的附件 id"},
    )
    note = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=500),
        metadata={"description": "网格员备注（选填），随答案保存，控制台可见"},
    )


class ChecklistEventSchema(BaseSchema):
    client_uuid = ma.fields.UUID(
        required=True, metadata={"description": "手机生成；重发返回同一事件"}
    )

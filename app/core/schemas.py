"""The base schema, and Chinese wording for marshmallow's field and validator messages.

Users read Chinese, and field-level messages reach them through error details; marshmallow
has no locale support, so its default messages are replaced once, here, for the process.
"""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from marshmallow import fields, validate

_FIELD_MESSAGES: dict[type, dict[str, str]] = {
    fields.Field: {
        "required": "缺少必填字段",
        "null": "该字段不能为空",
        "validator_failed": "取值无效",
    },
    fields.String: {"invalid": "应为字符串", "invalid_utf8": "不是有效的 UTF-8 文本"},
    fields.Number: {"invalid": "应为数字", "too_large": "数值过大"},
    fields.Integer: {"invalid": "应为整数"},
    fields.Float: {"special": "不允许 NaN 或无穷大"},
    fields.Boolean: {"invalid": "应为布尔值"},
    fields.DateTime: {
        "invalid": "日期时间格式无效",
        "invalid_awareness": "日期时间缺少或多余时区",
        "format": "无法格式化日期时间",
    },
    fields.List: {"invalid": "应为列表"},
    fields.Nested: {"type": "数据类型无效"},
    fields.Dict: {"invalid": "应为对象"},
    fields.UUID: {"invalid_uuid": "不是有效的 UUID"},
    fields.Email: {"invalid": "邮箱地址无效"},
}

for _cls, _messages in _FIELD_MESSAGES.items():
    _cls.default_error_messages = {**_cls.default_error_messages, **_messages}

validate.Length.message_min = "长度不能少于 {min}"
validate.Length.message_max = "长度不能超过 {max}"
validate.Length.message_all = "长度应在 {min} 到 {max} 之间"
validate.Length.message_equal = "长度应为 {equal}"
# Range fills {min_op}/{max_op} first, then {min}/{max} at validation time.
validate.Range.message_min = "应{min_op} {{min}}"
validate.Range.message_max = "应{max_op} {{max}}"
validate.Range.message_all = "应{min_op} {{min}} 且{max_op} {{max}}"
validate.Range.message_gte = "大于或等于"
validate.Range.message_gt = "大于"
validate.Range.message_lte = "小于或等于"
validate.Range.message_lt = "小于"
validate.OneOf.default_message = "应为以下之一：{choices}"


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Instant(fields.AwareDateTime):
    """A moment with its zone; one that cannot be expressed in UTC (0001-01-01T00:00+01:00,
    9999-12-31T23:00-02:00) is refused as invalid rather than overflowing in the database."""

    default_error_messages = {"out_of_range": "日期时间超出范围"}

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise self.make_error("out_of_range") from None
        return moment


class BaseSchema(ma.Schema):
    """Every request/response schema: unknown fields are refused, so typos surface as 422."""

    error_messages = {"unknown": "未知字段", "type": "数据格式无效，应为 JSON 对象"}

    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.pre_load
    def _refuse_nul(self, data, **kwargs):
        # PostgreSQL text cannot hold NUL; refusing it here keeps SQLite and PostgreSQL alike.
        if _has_nul(data if isinstance(data, dict | list) else dict(data)):
            raise ma.ValidationError("文本中不能包含空字符（NUL）")
        return data


class EachJudged(fields.List):
    """A batch whose items are judged one by one: good ones are kept with their index, bad ones
    set aside with theirs and a reason (one bad item must not cost the sender the rest)."""

    def __init__(self, schema: type[ma.Schema], *, code: str, message: str, **kwargs):
        super().__init__(fields.Nested(schema), **kwargs)
        self._item = schema()
        self._code = code
        self._message = message

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        good, bad = [], []
        for index, item in enumerate(value):
            try:
                good.append({**self._item.load(item), "index": index})
            except ma.ValidationError as error:
                bad.append(
                    {
                        "index": index,
                        "code": self._code,
                        "message": self._message,
                        "errors": error.messages,
                    }
                )
        return {"good": good, "bad": bad}


class BatchSchema(BaseSchema):
    """A body holding one EachJudged list named ITEMS, of 1 to MAX_ITEMS items (TOO_MANY says
    so); it loads as {ITEMS: the good items, "rejected": the bad ones}."""

    ITEMS = "items"
    MAX_ITEMS = 500
    TOO_MANY = "每批应为 1 到 500 项"

    @ma.pre_load
    def _bounded(self, data, **kwargs):
        # Length is checked on the raw list: the field's result is the split, not the list.
        items = data.get(self.ITEMS) if isinstance(data, dict) else None
        if isinstance(items, list) and not 1 <= len(items) <= self.MAX_ITEMS:
            raise ma.ValidationError(self.TOO_MANY, self.ITEMS)
        return data

    @ma.post_load
    def _split(self, data, **kwargs):
        return {self.ITEMS: data[self.ITEMS]["good"], "rejected": data[self.ITEMS]["bad"]}

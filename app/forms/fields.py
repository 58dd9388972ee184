"""Field types, how each aggregates up the hierarchy, and checking of definitions and values.

Pure functions over plain dicts (the JSON stored on a form and a filing): no database, so the
rules in docs/forms.md are tested and read in one place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from app.core.errors import ValidationFailed

TYPES = ("integer", "decimal", "text", "choice", "yesno")
TYPE_NAMES_ZH = {
    "integer": "整数",
    "decimal": "小数",
    "text": "文本",
    "choice": "单选",
    "yesno": "是/否",
}
AGGREGATES = ("sum", "avg", "min", "max", "count_yes", "count_filled", "count_each", "list", "none")
AGGREGATE_NAMES_ZH = {
    "sum": "求和",
    "avg": "平均",
    "min": "最小值",
    "max": "最大值",
    "count_yes": "“是”的个数",
    "count_filled": "已填个数",
    "count_each": "各选项个数",
    "list": "逐条列出",
    "none": "不汇总",
}
# Which aggregations make sense for which type; the first is the default.
ALLOWED = {
    "integer": ("sum", "avg", "min", "max", "count_filled", "none"),
    "decimal": ("sum", "avg", "min", "max", "count_filled", "none"),
    "yesno": ("count_yes", "count_filled", "none"),
    "choice": ("count_each", "count_filled", "none"),
    "text": ("list", "count_filled", "none"),
}
NUMERIC = frozenset({"integer", "decimal"})
MAX_FIELDS = 60
MAX_TEXT = 2000
# Beyond any real count or amount, and inside what every database and spreadsheet holds exactly.
LIMIT = 10**12
KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
AVG_DECIMALS = 2
# A `list` shows at most this many answers per cell, then how many more there are: a city-wide
# grid form has ~60,000 of them, which no table cell or reader can take (docs/forms.md, Rollup).
LIST_MAX = 50
LIST_MORE = "……另有 {n} 条未列出（逐条见填报明细）"


def _fail(message: str, code: str, **details) -> None:
    raise ValidationFailed(message, code=code, **details)


def normalise_fields(raw: list[dict], *, sources: Iterable[str]) -> list[dict]:
    """Check a form's field definitions and fill in defaults; raise ValidationFailed with the
    first problem found (its position and key in the details)."""
    known_sources = set(sources)
    if not raw:
        _fail("报表至少需要一个字段", "form_no_fields")
    if len(raw) > MAX_FIELDS:
        _fail(f"一张报表最多 {MAX_FIELDS} 个字段", "form_too_many_fields")
    out, seen = [], set()
    for n, field in enumerate(raw, 1):
        where = {"position": n, "key": field.get("key")}
        key = field["key"]
        if not KEY.match(key):
            _fail(
                f"第 {n} 个字段的标识“{key}”无效：须以小写字母开头，只含小写字母、数字和下划线",
                "field_key_invalid",
                **where,
            )
        if key in seen:
            _fail(f"字段标识“{key}”重复", "field_key_duplicate", **where)
        seen.add(key)
        kind = field["type"]
        aggregate = field.get("aggregate") or ALLOWED[kind][0]
        if aggregate not in ALLOWED[kind]:
            allowed = "、".join(AGGREGATE_NAMES_ZH[a] for a in ALLOWED[kind])
            _fail(
                f"字段“{field['label']}”是{TYPE_NAMES_ZH[kind]}，汇总方式只能是：{allowed}",
                "field_aggregate_invalid",
                **where,
            )
        choices = [c.strip() for c in field.get("choices") or []]
        if kind == "choice":
            if len(choices) < 2 or any(not c for c in choices):
                _fail(
                    f"单选字段“{field['label']}”至少需要两个非空选项",
                    "field_choices_invalid",
                    **where,
                )
            if len(set(choices)) != len(choices):
                _fail(f"单选字段“{field['label']}”的选项重复", "field_choices_invalid", **where)
        elif choices:
            _fail(
                f"只有单选字段可以设置选项（“{field['label']}”）", "field_choices_invalid", **where
            )
        source = field.get("source") or None
        if source is not None:
            if kind not in NUMERIC:
                _fail(
                    f"只有数字字段可以由系统预填（“{field['label']}”）",
                    "field_source_invalid",
                    **where,
                )
            if source not in known_sources:
                _fail(f"没有名为“{source}”的系统数据来源", "field_source_unknown", **where)
        low, high = field.get("min"), field.get("max")
        if (low is not None or high is not None) and kind not in NUMERIC:
            _fail(
                f"只有数字字段可以设置上下限（“{field['label']}”）", "field_bounds_invalid", **where
            )
        if low is not None and high is not None and low > high:
            _fail(f"字段“{field['label']}”的下限大于上限", "field_bounds_invalid", **where)
        decimals = field.get("decimals")
        if kind != "decimal":
            decimals = 0 if kind == "integer" else None
        elif decimals is None:
            decimals = 2
        out.append(
            {
                "key": key,
                "label": field["label"].strip(),
                "type": kind,
                "unit": (field.get("unit") or "").strip(),
                "required": bool(field.get("required", False)),
                "aggregate": aggregate,
                "choices": choices if kind == "choice" else [],
                "source": source,
                "min": low,
                "max": high,
                "decimals": decimals,
                "hint": (field.get("hint") or "").strip(),
            }
        )
        if not out[-1]["label"]:
            _fail(f"第 {n} 个字段缺少名称", "field_label_missing", **where)
    return out


# -- values ------------------------------------------------------------------------------------


def _number(field: dict, value) -> tuple[object, str | None]:
    """A number for a numeric field, or the reason it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, "应填数字"
    if isinstance(value, float) and not math.isfinite(value):
        return None, "应填数字"
    if abs(value) >= LIMIT:
        return None, "数值过大"
    if field["type"] == "integer":
        if isinstance(value, float) and not value.is_integer():
            return None, "应填整数"
        value = int(value)
    else:
        value = quantize(value, field["decimals"])
    if field["min"] is not None and value < field["min"]:
        return None, f"不能小于 {_show(field['min'])}"
    if field["max"] is not None and value > field["max"]:
        return None, f"不能大于 {_show(field['max'])}"
    return value, None


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def quantize(value, decimals: int) -> float:
    """Round half up to a field's decimals (banker's rounding surprises people filling forms)."""
    exponent = Decimal(1).scaleb(-decimals)
    return float(Decimal(str(value)).quantize(exponent, rounding=ROUND_HALF_UP))


def clean_value(field: dict, value) -> tuple[object, str | None]:
    """The stored form of one entered value (None for empty), or why it is refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    kind = field["type"]
    if kind in NUMERIC:
        return _number(field, value)
    if kind == "yesno":
        return (value, None) if isinstance(value, bool) else (None, "应选择是或否")
    if not isinstance(value, str):
        return None, "应填文本"
    text = value.strip()
    if kind == "choice":
        return (text, None) if text in field["choices"] else (None, "不是可选的选项")
    if len(text) > MAX_TEXT:
        return None, f"不能超过 {MAX_TEXT} 字"
    return text, None


def clean_values(fields: list[dict], values: dict, *, complete: bool) -> dict:
    """Check a filing's values against its form: every key known, every value of its type, and
    (when submitting) every required field filled. Returns the values to store."""
    by_key = {f["key"]: f for f in fields}
    unknown = sorted(set(values) - set(by_key))
    if unknown:
        _fail(f"报表中没有这些字段：{'、'.join(unknown[:5])}", "filing_unknown_field", keys=unknown)
    out, errors = {}, {}
    for field in fields:
        value, error = clean_value(field, values.get(field["key"]))
        if error:
            errors[field["key"]] = f"{field['label']}：{error}"
        out[field["key"]] = value
    if errors:
        first = next(iter(errors.values()))
        _fail(f"有 {len(errors)} 项填写有误（{first}）", "filing_invalid", fields=errors)
    if complete:
        missing = [f for f in fields if f["required"] and out[f["key"]] is None]
        if missing:
            names = "、".join(f["label"] for f in missing[:5])
            _fail(
                f"还有 {len(missing)} 个必填项未填：{names}",
                "filing_incomplete",
                fields={f["key"]: f"{f['label']}：必填" for f in missing},
            )
    return out


# -- aggregation -------------------------------------------------------------------------------
#
# A field's rollup is worked out in three steps so that the database can do the first
# (app/forms/tally.py): a partial per child area, over its submitted filings; partials merged
# into the total row (exactly: the sum of sums, never an average of averages); the finished
# value. Partials by aggregation, over the answers that are not empty:
#   sum, avg            {"total": Decimal sum of the numbers, "n": how many numbers}
#   min, max            {"best": the smallest / largest as Decimal, or None}
#   count_yes           {"n": how many are true}      count_filled  {"n": how many}
#   count_each          {"counts": {choice: how many}} for every choice
#   list                {"items": the first LIST_MAX (area name, text) in area order, "n": how many}
#   none                {}


def merge(field: dict, parts: Iterable[dict]) -> dict:
    """The partial of several areas together, from theirs (given in area order)."""
    how = field["aggregate"]
    parts = list(parts)
    if how == "none":
        return {}
    if how in ("count_filled", "count_yes"):
        return {"n": sum(p["n"] for p in parts)}
    if how == "count_each":
        return {"counts": {c: sum(p["counts"][c] for p in parts) for c in field["choices"]}}
    if how == "list":
        items = [item for p in parts for item in p["items"]][:LIST_MAX]
        return {"items": items, "n": sum(p["n"] for p in parts)}
    if how in ("sum", "avg"):
        return {
            "total": sum((p["total"] for p in parts), Decimal(0)),
            "n": sum(p["n"] for p in parts),
        }
    found = [p["best"] for p in parts if p["best"] is not None]
    return {"best": (min if how == "min" else max)(found, default=None)}


def finish(field: dict, part: dict):
    """The value a rollup shows for a field, from its partial."""
    how = field["aggregate"]
    if how == "none":
        return None
    if how in ("count_filled", "count_yes"):
        return part["n"]
    if how == "count_each":
        return dict(part["counts"])
    if how == "list":
        shown = [f"{name}：{v}" for name, v in part["items"]]
        left = part["n"] - len(shown)
        return shown + [LIST_MORE.format(n=left)] if left > 0 else shown
    if how in ("sum", "avg"):
        if not part["n"]:
            return None
        total = part["total"]
        if how == "avg":
            return quantize(total / part["n"], max(AVG_DECIMALS, field["decimals"] or 0))
        return int(total) if field["type"] == "integer" else quantize(total, field["decimals"])
    chosen = part["best"]
    if chosen is None:
        return None
    return int(chosen) if field["type"] == "integer" else float(chosen)

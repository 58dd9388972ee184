"""The rollup as an Excel workbook: a summary sheet (one row per child area and a total row), the
individual filings, and the form's definitions. Numbers are numbers; text never becomes a
formula (a cell starting with = + - @ is what a spreadsheet runs: see app/evaluation/export.py).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from app.forms.fields import AGGREGATE_NAMES_ZH, TYPE_NAMES_ZH
from app.forms.sources import SHANGHAI
from app.geo.codes import LEVEL_NAMES_ZH

STATUS_NAMES_ZH = {
    "pending": "未填报",
    "draft": "已暂存",
    "submitted": "已上报",
    "returned": "已退回",
}
PERIOD_NAMES_ZH = {"month": "月报", "quarter": "季报", "year": "年报", "adhoc": "专项"}
# Excel holds at most 32,767 characters in a cell.
CELL_MAX = 32_000
_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDE7F7")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")


def safe_text(value: str) -> str:
    """Text that stays text: a leading = + - @ (or tab/CR) is quoted, as in the CSV export."""
    text = value if len(value) <= CELL_MAX else value[: CELL_MAX - 1] + "…"
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _local(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def _columns(fields: list[dict]) -> list[tuple[str, dict, str | None]]:
    """(header, field, choice) per summary column: a choice counted per option gets one each."""
    out = []
    for field in fields:
        if field["aggregate"] == "none":
            continue
        unit = f"（{field['unit']}）" if field["unit"] else ""
        if field["aggregate"] == "count_each":
            out += [(f"{field['label']}·{c}", field, c) for c in field["choices"]]
        elif field["aggregate"] in ("count_yes", "count_filled"):
            out.append(
                (f"{field['label']}（{AGGREGATE_NAMES_ZH[field['aggregate']]}）", field, None)
            )
        elif field["aggregate"] == "list":
            out.append((field["label"], field, None))
        else:
            name = AGGREGATE_NAMES_ZH[field["aggregate"]]
            suffix = "" if field["aggregate"] == "sum" else f"（{name}）"
            out.append((f"{field['label']}{unit}{suffix}", field, None))
    return out


def _summary_value(value, field: dict, choice: str | None):
    if choice is not None:
        return (value or {}).get(choice, 0)
    if field["aggregate"] == "list":
        return "；".join(value or [])
    return value


def _filled_value(value, field: dict):
    if value is None:
        return None
    if field["type"] == "yesno":
        return "是" if value else "否"
    return value


class _Sheet:
    """A write-only sheet with a little styling: headers bold and shaded, a total row shaded."""

    def __init__(self, book: Workbook, title: str, widths: list[int]):
        self.ws = book.create_sheet(title)
        for n, width in enumerate(widths, 1):
            self.ws.column_dimensions[get_column_letter(n)].width = width

    def row(self, values: list, *, font=None, fill=None, wrap=False) -> None:
        cells = []
        for value in values:
            if isinstance(value, str):
                value = safe_text(value)
            cell = WriteOnlyCell(self.ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever it starts with
            if font:
                cell.font = font
            if fill:
                cell.fill = fill
            if wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(cell)
        self.ws.append(cells)

    def plain(self, values: list) -> None:
        """An unstyled row, for the thousands of filings: plain values let openpyxl reuse one
        cell object instead of building one per value. Text stays text all the same: safe_text
        leaves none starting with "=", and the few that openpyxl would take for an error value
        ("#N/A") get a cell of their own typed as a string."""
        cells = []
        for value in values:
            if isinstance(value, str):
                value = safe_text(value)
                if value in ERROR_CODES:
                    value = WriteOnlyCell(self.ws, value=value)
                    value.data_type = "s"
            cells.append(value)
        self.ws.append(cells)


def workbook(result: dict, filings: Iterable, source_names: dict[str, str]) -> bytes:
    """The .xlsx bytes for a rollup (app.forms.service.rollup) and its filings
    (service.filing_lines, consumed once)."""
    form, node, total = result["form"], result["area"], result["total"]
    columns = _columns(form.fields)
    book = Workbook(write_only=True)

    counts = ["应报数", "已报数", "未报数", "逾期未报", "逾期上报"]
    summary = _Sheet(book, "汇总", [18, 22, *([9] * len(counts)), *([16] * len(columns))])
    summary.row([f"{form.title}（{node['name']}汇总）"], font=Font(bold=True, size=14))
    summary.row(
        [
            f"{PERIOD_NAMES_ZH[form.period_kind]} · 周期 {form.period_start} 至 {form.period_end}"
            f" · 截止 {form.due_on} · 填报层级 {LEVEL_NAMES_ZH[form.fill_level]}"
            f" · 发布 {form.owner['name']} · 导出 {_local(result['generated_at'])}"
        ]
    )
    child = LEVEL_NAMES_ZH.get(result["child_level"], "区域")
    summary.row(
        [f"{child}代码", f"{child}名称", *counts, *(h for h, _, _ in columns)],
        font=_BOLD,
        fill=_HEAD_FILL,
        wrap=True,
    )

    def line(item: dict, code, name, **style) -> None:
        head = [
            item["expected"],
            item["submitted"],
            item["outstanding"],
            item["overdue"],
            item["late"],
        ]
        values = [_summary_value(item["values"].get(f["key"]), f, c) for _, f, c in columns]
        summary.row([code, name, *head, *values], **style)

    for item in result["rows"]:
        line(item, item["area"]["code"], item["area"]["name"])
    line(total, "合计", node["name"], font=_BOLD, fill=_TOTAL_FILL)

    fields = form.fields
    sourced = [f for f in fields if f.get("source")]
    detail = _Sheet(
        book, "填报明细", [18, 22, 10, 18, 12, 8, *([14] * (len(fields) + len(sourced))), 30]
    )
    detail.row(
        [
            "区域代码",
            "区域名称",
            "状态",
            "上报时间",
            "上报人",
            "逾期",
            *(f["label"] + (f"（{f['unit']}）" if f["unit"] else "") for f in fields),
            *(f"{f['label']}（系统值）" for f in sourced),
            "退回原因",
        ],
        font=_BOLD,
        fill=_HEAD_FILL,
        wrap=True,
    )
    for filing in filings:
        values, system = filing.values, filing.system
        detail.plain(
            [
                filing.code,
                filing.name,
                STATUS_NAMES_ZH[filing.status],
                _local(filing.submitted_at),
                filing.submitted_by_name,
                "是" if filing.late else "否",
                *(_filled_value(values.get(f["key"]), f) for f in fields),
                *(system.get(f["key"]) for f in sourced),
                filing.return_reason or "",
            ]
        )

    about = _Sheet(book, "字段说明", [16, 22, 10, 10, 14, 28, 8])
    about.row(
        ["字段标识", "字段名称", "类型", "单位", "汇总方式", "系统预填来源", "必填"],
        font=_BOLD,
        fill=_HEAD_FILL,
    )
    for f in fields:
        about.row(
            [
                f["key"],
                f["label"],
                TYPE_NAMES_ZH[f["type"]],
                f["unit"],
                AGGREGATE_NAMES_ZH[f["aggregate"]],
                source_names.get(f.get("source") or "", f.get("source") or ""),
                "是" if f["required"] else "否",
            ]
        )
    if form.description:
        about.row([])
        about.row(["填报说明", form.description], wrap=True)

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

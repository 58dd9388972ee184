"""Event export 导出: the events of a scope and period as CSV (Excel-ready) or GeoJSON, streamed.

It lives beside evaluation rather than in app/events: it is a reporting read over events (the
same period and area filters as the rankings), it depends on events and never the other way,
and it keeps the hot event module free of file formats.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime

from sqlalchemy import select, tuple_

from app.categories.models import Category, Subcategory
from app.core.scope import acting_as, current_scope
from app.evaluation.service import SHANGHAI, area_criterion, cohort, period
from app.events.lifecycle import STATE_NAMES_ZH, State
from app.events.models import Event
from app.extensions import db

BATCH = 1_000
BOM = "\ufeff"  # Excel reads a BOM-less CSV as the local code page and garbles Chinese

# (header, field): what leaves the system. Deliberately absent: the key person (id, name, ID
# number) and the reporter's identity; see docs/evaluation.md.
COLUMNS = (
    ("事件编号", "id"),
    ("上报时间", "received_at"),
    ("发生时间", "occurred_at"),
    ("来源", "source"),
    ("状态", "state_name"),
    ("事件大类", "category_name"),
    ("事件小类", "subcategory_name"),
    ("事件描述", "description"),
    ("紧急", "emergency"),
    ("优先级", "priority"),
    ("区县代码", "district_id"),
    ("镇街代码", "township_id"),
    ("村社代码", "village_id"),
    ("网格代码", "grid_id"),
    ("经度", "lon"),
    ("纬度", "lat"),
    ("处置层级", "handling_level"),
    ("当前时限", "due_at"),
    ("是否超期", "overdue"),
    ("曾超期", "ever_overdue"),
    ("结案时间", "closed_at"),
    ("退回次数", "return_count"),
    ("返工次数", "rework_count"),
    ("延期次数", "extension_count"),
    ("督办次数", "supervision_count"),
)
_EVENT_FIELDS = (
    "id",
    "received_at",
    "occurred_at",
    "source",
    "state",
    "description",
    "emergency",
    "priority",
    "district_id",
    "township_id",
    "village_id",
    "grid_id",
    "lon",
    "lat",
    "handling_level",
    "due_at",
    "breached_at",
    "overdue_at",
    "closed_at",
    "return_count",
    "rework_count",
    "extension_count",
    "supervision_count",
)


def rows(
    *, first: date | None = None, last: date | None = None, area: str | None = None
) -> Iterator[dict]:
    """The period's events in the caller's scope, oldest first, fetched a batch at a time.

    The response is written after the view has returned and the request's session is gone
    (a server-side cursor does not survive that), so each batch is its own keyset query, run
    under the scope captured here: memory stays at one batch, on both databases.
    """
    p = period(first=first, last=last)
    scope = current_scope()
    base = (
        select(
            *(getattr(Event, f) for f in _EVENT_FIELDS),
            Category.name_zh.label("category_name"),
            Subcategory.name_zh.label("subcategory_name"),
        )
        .join(Category, Category.code == Event.category_code)
        .join(Subcategory, Subcategory.code == Event.subcategory_code)
        .where(*cohort(p, area_criterion(area)))
        .order_by(Event.received_at, Event.id)
        .limit(BATCH)
    )

    def batches() -> Iterator[dict]:
        after = None
        while True:
            stmt = (
                base if after is None else base.where(tuple_(Event.received_at, Event.id) > after)
            )
            with acting_as(scope):
                found = db.session.execute(stmt).all()
            for row in found:
                yield _record(row._mapping)
            if len(found) < BATCH:
                return
            last_row = found[-1]._mapping
            after = (last_row["received_at"], last_row["id"])

    return batches()


def _record(row) -> dict:
    out = dict(row)
    out["state_name"] = STATE_NAMES_ZH.get(State(row["state"]), row["state"])
    out["overdue"] = row["breached_at"] is not None
    out["ever_overdue"] = row["overdue_at"] is not None
    return out


def _local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return _local(value)
    text = str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet (CSV injection): quote it.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_chunks(records: Iterator[dict]) -> Iterator[str]:
    """The BOM and header, then one chunk per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for header, _ in COLUMNS])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for n, record in enumerate(records, 1):
        writer.writerow([_cell(record[field]) for _, field in COLUMNS])
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def geojson_chunks(records: Iterator[dict]) -> Iterator[str]:
    """A FeatureCollection written feature by feature (WGS84 points)."""
    yield '{"type":"FeatureCollection","features":['
    for n, r in enumerate(records):
        properties = {
            field: (_iso(r[field]) if isinstance(r[field], datetime) else r[field])
            for _, field in COLUMNS
            if field not in ("lon", "lat")
        }
        for key in ("district_id", "township_id", "village_id", "grid_id"):
            properties[key] = str(r[key]) if r[key] else None  # codes, not numbers
        feature = {
            "type": "Feature",
            "id": r["id"],
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
            "properties": properties,
        }
        yield ("," if n else "") + json.dumps(feature, ensure_ascii=False)
    yield "]}"

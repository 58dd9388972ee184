"""The rollup's counting, done by the database: a form's filings under a node grouped by child
area, with every field's partial aggregate (shapes: app/forms/fields.py) worked out in SQL
from the JSON values. A city-wide grid form is 65,000 filings; loading them as ORM objects to
add them up in Python took seconds and hundreds of megabytes (bench/bench_forms_rollup.py).

The JSON is read with PostgreSQL's jsonb operators or SQLite's json_type/json_extract. Sums are
exact: PostgreSQL's jsonb numbers are `numeric`; SQLite sums integers exactly but decimals only
as binary floats, so there the decimal sums and averages are added up in Python (as Decimal, as
the rollup always did) from one narrow column each.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement, Numeric, and_, case, cast, func, select

from app.extensions import db
from app.forms import fields as field_rules
from app.forms.models import Filing, FilingStatus, Form

_SUBMITTED = Filing.status == FilingStatus.SUBMITTED


@dataclass
class Bucket:
    """One child area's filings: how many, by state, and each field's partial aggregate."""

    expected: int = 0
    submitted: int = 0
    returned: int = 0
    late: int = 0
    parts: dict[str, dict] = field(default_factory=dict)


class _Json:
    """Reading one key of a filing's values, per database."""

    def __init__(self, postgres: bool):
        self.postgres = postgres

    def _path(self, key: str) -> str:
        return f'$."{key}"'

    def kind(self, key: str) -> ColumnElement:
        """The JSON type of the value ('null' when absent): PostgreSQL's jsonb_typeof names
        (number, string, boolean) or SQLite's json_type names (integer, real, text, true)."""
        if self.postgres:
            return func.coalesce(func.jsonb_typeof(Filing.values[key]), "null")
        return func.coalesce(func.json_type(Filing.values, self._path(key)), "null")

    def present(self, key: str) -> ColumnElement[bool]:
        return self.kind(key) != "null"

    def text(self, key: str) -> ColumnElement:
        if self.postgres:
            return Filing.values[key].as_string()
        return func.json_extract(Filing.values, self._path(key))

    def number(self, key: str) -> ColumnElement:
        """The value when it is a JSON number, else NULL: numeric on PostgreSQL; SQLite's own
        integer or float (typeless here, so no result processing rounds it)."""
        if self.postgres:
            return case((self.kind(key) == "number", cast(self.text(key), Numeric)))
        return case(
            (
                self.kind(key).in_(("integer", "real")),
                func.json_extract(Filing.values, self._path(key)),
            )
        )

    def is_yes(self, key: str) -> ColumnElement[bool]:
        if self.postgres:
            return and_(self.kind(key) == "boolean", self.text(key) == "true")
        return self.kind(key) == "true"

    def is_choice(self, key: str, choice: str) -> ColumnElement[bool]:
        return and_(
            self.kind(key) == ("string" if self.postgres else "text"), self.text(key) == choice
        )


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def tally(*, form: Form, where: ColumnElement[bool], bucket: ColumnElement) -> dict[int, Bucket]:
    """Per bucket (the child area's id), the filings of `form` matching `where` counted by state,
    and each field's partial aggregate over the submitted ones."""
    js = _Json(db.session.get_bind().dialect.name == "postgresql")
    late = and_(_SUBMITTED, Filing.submitted_at > form.due_at)
    columns: list[ColumnElement] = [
        func.count(),
        func.count().filter(_SUBMITTED),
        func.count().filter(Filing.status == FilingStatus.RETURNED),
        func.count().filter(late),
    ]
    # How each field's partial is read back from its slice of the result row.
    readers: list[tuple[dict, int, int]] = []
    in_python: list[dict] = []
    lists: list[dict] = []
    for f in form.fields:
        how, key, start = f["aggregate"], f["key"], len(columns)
        if how in ("sum", "avg"):
            if not js.postgres and f["type"] == "decimal":
                in_python.append(f)
                continue
            number = js.number(key)
            columns += [func.sum(number).filter(_SUBMITTED), func.count(number).filter(_SUBMITTED)]
        elif how in ("min", "max"):
            columns.append(getattr(func, how)(js.number(key)).filter(_SUBMITTED))
        elif how == "count_yes":
            columns.append(func.count().filter(_SUBMITTED, js.is_yes(key)))
        elif how in ("count_filled", "list"):
            columns.append(func.count().filter(_SUBMITTED, js.present(key)))
            if how == "list":
                lists.append(f)
        elif how == "count_each":
            columns += [func.count().filter(_SUBMITTED, js.is_choice(key, c)) for c in f["choices"]]
        readers.append((f, start, len(columns)))

    out: dict[int, Bucket] = {}
    stmt = select(bucket.label("bucket"), *columns).where(where).group_by(bucket)
    for row in db.session.execute(stmt):
        b = out[row[0]] = Bucket(*row[1:5])
        for f, start, end in readers:
            b.parts[f["key"]] = _read(f, row[start + 1 : end + 1])
    for f in in_python:
        _add_up(f, js, where, bucket, out)
    for f in lists:
        for bucket_id, items in _first_answers(f, js, where, bucket).items():
            out[bucket_id].parts[f["key"]]["items"] = items
    return out


def _read(f: dict, values) -> dict:
    """A field's partial from its columns of one result row."""
    how = f["aggregate"]
    if how == "none":
        return {}
    if how in ("sum", "avg"):
        total, n = values
        return {"total": _decimal(total) or Decimal(0), "n": n}
    if how in ("min", "max"):
        return {"best": _decimal(values[0])}
    if how == "count_each":
        return {"counts": dict(zip(f["choices"], values, strict=True))}
    if how == "list":
        return {"items": [], "n": values[0]}
    return {"n": values[0]}


def _add_up(f: dict, js: _Json, where, bucket, out: dict[int, Bucket]) -> None:
    """A decimal field's sum and count, added up exactly in Python (SQLite only)."""
    number = js.number(f["key"])
    stmt = select(bucket, number).where(where, _SUBMITTED, number.is_not(None))
    totals: dict[int, list] = defaultdict(lambda: [Decimal(0), 0])
    for bucket_id, value in db.session.execute(stmt):
        t = totals[bucket_id]
        t[0] += Decimal(str(value))
        t[1] += 1
    for bucket_id, b in out.items():
        total, n = totals.get(bucket_id, (Decimal(0), 0))
        b.parts[f["key"]] = {"total": total, "n": n}


def _first_answers(f: dict, js: _Json, where, bucket) -> dict[int, list[tuple[int, str]]]:
    """Per bucket, the first LIST_MAX answers of a `list` field in area order, as (area id,
    text); names are put in by the caller."""
    key = f["key"]
    rank = func.row_number().over(partition_by=bucket, order_by=Filing.area_id)
    inner = (
        select(
            bucket.label("bucket"),
            Filing.area_id.label("area_id"),
            js.text(key).label("text"),
            rank.label("rank"),
        )
        .where(where, _SUBMITTED, js.present(key))
        .subquery()
    )
    stmt = (
        select(inner.c.bucket, inner.c.area_id, inner.c.text)
        .where(inner.c.rank <= field_rules.LIST_MAX)
        .order_by(inner.c.area_id)
    )
    out: dict[int, list] = defaultdict(list)
    for bucket_id, area_id, text in db.session.execute(stmt):
        out[bucket_id].append((area_id, text))
    return out

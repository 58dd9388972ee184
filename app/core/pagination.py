"""Offset pagination for lists: one argument schema, one page shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from sqlalchemy import Select, func, select

from app.core.schemas import BaseSchema
from app.extensions import db

MAX_PAGE_SIZE = 500
# Deep offsets are never useful to a person and overflow SQLite's integers when absurd.
MAX_PAGE = 100_000


class PageArgsSchema(BaseSchema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE))
    page_size = ma.fields.Integer(
        load_default=50, validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE)
    )


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    page_size: int


def paginate(stmt: Select, *, page: int, page_size: int) -> Page:
    """Run one page of a statement and count the whole (both under the scope filter)."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)))
    return Page(items=items, total=total or 0, page=page, page_size=page_size)


_page_schemas: dict[type, type] = {}


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """A response schema {items, total, page, page_size} for a given item schema."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(
            name,
            (BaseSchema,),
            {
                "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
                "total": ma.fields.Integer(required=True),
                "page": ma.fields.Integer(required=True),
                "page_size": ma.fields.Integer(required=True),
            },
        )
    return _page_schemas[item_schema]

"""Shapes for the taxonomy API."""

from __future__ import annotations

import marshmallow as ma

from app.categories.models import HANDLING_LEVELS, UNITS
from app.core.schemas import BaseSchema

BOARDS = ("party", "economy", "livelihood", "safety")


class SubcategorySchema(BaseSchema):
    code = ma.fields.String(required=True)
    category = ma.fields.String(attribute="category_code", required=True)
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    filing_criteria = ma.fields.String()
    closing_criteria = ma.fields.String()
    handling_level = ma.fields.String(required=True)
    board = ma.fields.String(allow_none=True)
    department_kind = ma.fields.String(allow_none=True)
    limits = ma.fields.Function(
        lambda s: {
            stage: {"amount": getattr(s, f"{stage}_amount"), "unit": getattr(s, f"{stage}_unit")}
            for stage in ("accept", "handle", "verify")
        }
    )
    emergency = ma.fields.Boolean(required=True)
    priority = ma.fields.Integer(required=True)
    active = ma.fields.Boolean(required=True)
    edited_by_admin = ma.fields.Boolean()


class CategorySchema(BaseSchema):
    code = ma.fields.String(required=True)
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    subcategories = ma.fields.List(ma.fields.Nested(SubcategorySchema), required=True)


class TaxonomySchema(BaseSchema):
    items = ma.fields.List(ma.fields.Nested(CategorySchema), required=True)


class SubcategoryUpdateSchema(BaseSchema):
    name_zh = ma.fields.String(validate=ma.validate.Length(min=1, max=60))
    name_en = ma.fields.String(validate=ma.validate.Length(min=1, max=120))
    filing_criteria = ma.fields.String(validate=ma.validate.Length(max=2000))
    closing_criteria = ma.fields.String(validate=ma.validate.Length(max=2000))
    handling_level = ma.fields.String(validate=ma.validate.OneOf(HANDLING_LEVELS))
    board = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(BOARDS))
    department_kind = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=8))
    emergency = ma.fields.Boolean()
    priority = ma.fields.Integer(validate=ma.validate.Range(min=1, max=4))
    active = ma.fields.Boolean()
    dedup_radius_m = ma.fields.Float(validate=ma.validate.Range(min=1, max=5000), allow_nan=False)
    dedup_window_hours = ma.fields.Float(
        validate=ma.validate.Range(min=0.1, max=720), allow_nan=False
    )
    accept_amount = ma.fields.Float(validate=ma.validate.Range(min=0.01, max=1000), allow_nan=False)
    handle_amount = ma.fields.Float(validate=ma.validate.Range(min=0.01, max=1000), allow_nan=False)
    verify_amount = ma.fields.Float(validate=ma.validate.Range(min=0.01, max=1000), allow_nan=False)
    accept_unit = ma.fields.String(validate=ma.validate.OneOf(UNITS))
    handle_unit = ma.fields.String(validate=ma.validate.OneOf(UNITS))
    verify_unit = ma.fields.String(validate=ma.validate.OneOf(UNITS))

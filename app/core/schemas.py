"""The base schema: unknown fields are refused, so typos in requests surface as 422."""

from __future__ import annotations

import marshmallow as ma


class BaseSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True

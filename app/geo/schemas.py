"""Request and response shapes for the hierarchy and point location."""

from __future__ import annotations

import marshmallow as ma
import shapely

from app.core.pagination import PageArgsSchema
from app.core.schemas import BaseSchema
from app.geo.models import AreaLevel
from app.geo.service import CRS_GCJ02, CRS_WGS84

CRS_CHOICES = (CRS_WGS84, CRS_GCJ02)
LEVELS = [str(level) for level in AreaLevel]


class GeoJSONGeometry(ma.fields.Field):
    """A shapely geometry dumped as a GeoJSON geometry object."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else shapely.geometry.mapping(value)


class AreaRefSchema(BaseSchema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    level = ma.fields.String(required=True, metadata={"enum": LEVELS})
    kind = ma.fields.String(
        required=True, metadata={"description": "区/县/街道/镇/乡/社区/村/网格"}
    )


class AreaSchema(AreaRefSchema):
    parent_code = ma.fields.Function(
        lambda a: str(a.parent_id) if a.parent_id else None, allow_none=True
    )
    bbox = ma.fields.Function(
        lambda a: [a.min_lon, a.min_lat, a.max_lon, a.max_lat],
        metadata={"description": "[min_lon, min_lat, max_lon, max_lat] WGS84"},
    )
    fictitious = ma.fields.Boolean(
        metadata={"description": "边界为生成的虚构数据，不代表真实行政边界"}
    )
    geometry = GeoJSONGeometry(
        attribute="geom", metadata={"description": "GeoJSON MultiPolygon, WGS84; 仅在请求时返回"}
    )


class AreaDetailSchema(AreaSchema):
    ancestors = ma.fields.List(ma.fields.Nested(AreaRefSchema), required=True)


class AreaQuerySchema(PageArgsSchema):
    q = ma.fields.String(metadata={"description": "名称包含或代码前缀"})
    level = ma.fields.String(validate=ma.validate.OneOf(LEVELS))
    geometry = ma.fields.Boolean(load_default=False)


class ChildrenQuerySchema(PageArgsSchema):
    geometry = ma.fields.Boolean(load_default=False)


class DetailQuerySchema(BaseSchema):
    geometry = ma.fields.Boolean(load_default=True)


class _Lon(ma.fields.Float):
    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Range(min=-180, max=180), allow_nan=False, **kwargs)


class _Lat(ma.fields.Float):
    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Range(min=-90, max=90), allow_nan=False, **kwargs)


class LocateQuerySchema(BaseSchema):
    lon = _Lon(required=True)
    lat = _Lat(required=True)
    crs = ma.fields.String(load_default=CRS_WGS84, validate=ma.validate.OneOf(CRS_CHOICES))


class PointSchema(BaseSchema):
    lon = _Lon(required=True)
    lat = _Lat(required=True)


class GeoPointSchema(BaseSchema):
    """A GeoJSON Point from a phone or console, in WGS84 unless `crs` says GCJ-02."""

    type = ma.fields.String(required=True, validate=ma.validate.Equal("Point"))
    coordinates = ma.fields.List(
        ma.fields.Float(allow_nan=False), required=True, validate=ma.validate.Length(equal=2)
    )
    crs = ma.fields.String(
        load_default=CRS_WGS84,
        validate=ma.validate.OneOf(CRS_CHOICES),
        metadata={"description": "WGS84（默认）或 GCJ-02（高德/腾讯坐标）"},
    )

    @ma.validates_schema
    def _in_range(self, data, **kwargs):
        lon, lat = data["coordinates"]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ma.ValidationError("经纬度超出范围", "coordinates")


class LocateBulkSchema(BaseSchema):
    crs = ma.fields.String(load_default=CRS_WGS84, validate=ma.validate.OneOf(CRS_CHOICES))
    points = ma.fields.List(
        ma.fields.Nested(PointSchema), required=True, validate=ma.validate.Length(min=1)
    )


class NodeSchema(BaseSchema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)


class LocationSchema(BaseSchema):
    lon = ma.fields.Float(required=True, metadata={"description": "WGS84"})
    lat = ma.fields.Float(required=True, metadata={"description": "WGS84"})
    grid = ma.fields.Function(lambda loc: loc.node("grid"), required=True)
    village = ma.fields.Function(lambda loc: loc.node("village"))
    township = ma.fields.Function(lambda loc: loc.node("township"))
    district = ma.fields.Function(lambda loc: loc.node("district"))
    snapped = ma.fields.Boolean(
        required=True, metadata={"description": "点不在任何网格内，已归入最近的网格"}
    )
    distance_m = ma.fields.Float(required=True)


class LocateErrorSchema(BaseSchema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)


class LocateBulkItemSchema(BaseSchema):
    result = ma.fields.Nested(LocationSchema, allow_none=True)
    error = ma.fields.Nested(LocateErrorSchema, allow_none=True)


class LocateBulkResultSchema(BaseSchema):
    results = ma.fields.List(ma.fields.Nested(LocateBulkItemSchema), required=True)


area_schema = AreaSchema()
area_detail_schema = AreaDetailSchema()

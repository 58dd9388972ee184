"""/api/v1/areas (browse, search), /api/v1/geo/locate (point → grid), and the boundary
layers' vector tiles under /tiles."""

from __future__ import annotations

import gzip

import flask
from flask import current_app, jsonify, request

from app.core.api import Blueprint
from app.core.auth import authenticate, bearer_token
from app.core.errors import ValidationFailed
from app.core.pagination import page_schema
from app.geo import service, tiles
from app.geo.schemas import (
    AreaDetailSchema,
    AreaQuerySchema,
    AreaSchema,
    ChildrenQuerySchema,
    DetailQuerySchema,
    LocateBulkResultSchema,
    LocateBulkSchema,
    LocateQuerySchema,
    LocationSchema,
)

bp = Blueprint("geo", __name__, url_prefix="/api/v1", description="行政区划与网格")
# Binary tiles, outside the JSON API and its OpenAPI document.
tiles_bp = flask.Blueprint("tiles", __name__)
MVT_MIMETYPE = "application/vnd.mapbox-vector-tile"

AreaPage = page_schema(AreaSchema)
_page_with_geometry = AreaPage()
_page_without_geometry = AreaPage(exclude=("items.geometry",))
_detail_with_geometry = AreaDetailSchema()
_detail_without_geometry = AreaDetailSchema(exclude=("geometry",))


def _page(page, with_geometry: bool):
    # Geometry is heavy (a village has up to 999 grids): sent only when asked for. A Response
    # passes flask-smorest's dumping untouched, so the documented schema stays the full one.
    return jsonify((_page_with_geometry if with_geometry else _page_without_geometry).dump(page))


@bp.route("/areas", methods=["GET"])
@bp.arguments(AreaQuerySchema, location="query")
@bp.response(200, AreaPage)
def search_areas(args):
    """Search areas by name or code prefix; without q, list everything visible by level."""
    page = service.search(
        q=args.get("q"), level=args.get("level"), page=args["page"], page_size=args["page_size"]
    )
    return _page(page, args["geometry"])


@bp.route("/areas/<code>", methods=["GET"])
@bp.arguments(DetailQuerySchema, location="query")
@bp.response(200, AreaDetailSchema)
def get_area(args, code: str):
    """One area with its ancestors and (by default) its GeoJSON geometry."""
    area = service.area_detail(code=code)
    schema = _detail_with_geometry if args["geometry"] else _detail_without_geometry
    return jsonify(schema.dump(area))


@bp.route("/areas/<code>/children", methods=["GET"])
@bp.arguments(ChildrenQuerySchema, location="query")
@bp.response(200, AreaPage)
def list_children(args, code: str):
    """The next level down: district → townships → villages → grids."""
    page = service.children(code=code, page=args["page"], page_size=args["page_size"])
    return _page(page, args["geometry"])


@bp.route("/geo/locate", methods=["GET"])
@bp.arguments(LocateQuerySchema, location="query")
@bp.response(200, LocationSchema)
def locate_point(args):
    """The grid containing a point (WGS84 or GCJ-02) and its village, township, district."""
    return service.locate(lon=args["lon"], lat=args["lat"], system=args["crs"])


@bp.route("/geo/locate", methods=["POST"])
@bp.arguments(LocateBulkSchema)
@bp.response(200, LocateBulkResultSchema)
def locate_points(args):
    """Bulk form of locate: one result or error per point, in order."""
    limit = current_app.config["GEO_LOCATE_BULK_MAX"]
    if len(args["points"]) > limit:
        raise ValidationFailed(f"一次最多定位 {limit} 个点", code="too_many_points", max=limit)
    results = service.locate_many(
        points=[(p["lon"], p["lat"]) for p in args["points"]], system=args["crs"]
    )
    return {"results": [{"error": r} if isinstance(r, dict) else {"result": r} for r in results]}


@tiles_bp.get("/tiles/<layer>/<int:z>/<int:x>/<int:y>.pbf")
def get_tile(layer: str, z: int, x: int, y: int):
    """One Mapbox Vector Tile of a boundary layer (district, township, village, grid)."""
    # Map libraries fetch tiles themselves and not all can send headers: ?token= also works.
    authenticate(bearer_token() or request.args.get("token", "").strip() or None)
    tag = tiles.etag(layer=layer, z=z, x=x, y=y)
    if request.if_none_match.contains_weak(tag):
        return _tile_response(b"", tag, status=304)
    return _tile_response(tiles.get_tile(layer=layer, z=z, x=x, y=y), tag)


@tiles_bp.get("/tiles/boundaries/<int:z>/<int:x>/<int:y>.png", defaults={"scale": 1})
@tiles_bp.get("/tiles/boundaries/<int:z>/<int:x>/<int:y>@2x.png", defaults={"scale": 2})
def get_boundaries_picture(z: int, x: int, y: int, scale: int):
    """Districts, townships and grids drawn as one picture, for the console's city zooms;
    @2x: twice as many pixels each way, for high-density screens."""
    authenticate(bearer_token() or request.args.get("token", "").strip() or None)
    tag = tiles.picture_etag(z=z, x=x, y=y, scale=scale)
    if request.if_none_match.contains_weak(tag):
        return _tile_response(b"", tag, status=304)
    return _tile_response(tiles.get_picture(z=z, x=x, y=y, scale=scale), tag, image=True)


def _tile_response(
    data: bytes, tag: str, status: int | None = None, *, image: bool = False
) -> flask.Response:
    """200 with the tile (gzipped when the client takes it), 204 when empty, or 304."""
    status = status or (200 if data else 204)
    response = current_app.response_class(status=status)
    if status == 200 and image:
        response.set_data(data)  # PNG is compressed already
        response.mimetype = "image/png"
    elif status == 200:
        if request.accept_encodings["gzip"] > 0:
            response.content_encoding = "gzip"
        else:
            data = gzip.decompress(data)
        response.set_data(data)
        response.mimetype = MVT_MIMETYPE
    else:
        del response.headers["Content-Type"]
    response.set_etag(tag, weak=True)
    response.cache_control.private = True
    response.cache_control.max_age = current_app.config["TILES_MAX_AGE"]
    response.vary.add("Accept-Encoding")
    return response

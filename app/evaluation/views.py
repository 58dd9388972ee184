"""/api/v1: evaluation rankings 综合评价 per unit and person, and event export 导出."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, stream_with_context

from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.evaluation import export, service
from app.evaluation.schemas import (
    ExportQuerySchema,
    PersonScoreSchema,
    ScoreQuerySchema,
    UnitScoreSchema,
)

bp = Blueprint("evaluation", __name__, url_prefix="/api/v1", description="综合评价与事件导出")


@bp.route("/evaluation/units", methods=["GET"])
@require_roles(*service.EVALUATORS)
@bp.arguments(ScoreQuerySchema, location="query")
@bp.response(200, page_schema(UnitScoreSchema))
def rank_units(args):
    """Per unit for a period: received, filed, due, closed (on time), rates; sortable ranking."""
    return service.unit_scores(principal=current_principal(), **args)


@bp.route("/evaluation/people", methods=["GET"])
@require_roles(*service.EVALUATORS)
@bp.arguments(ScoreQuerySchema, location="query")
@bp.response(200, page_schema(PersonScoreSchema))
def rank_people(args):
    """Per handler for a period: the same measures as units, sortable ranking."""
    return service.person_scores(principal=current_principal(), **args)


@bp.route("/events/export.csv", methods=["GET"])
@require_roles(*service.EVALUATORS)
@bp.arguments(ExportQuerySchema, location="query")
@bp.response(200, content_type="text/csv", description="UTF-8（带 BOM）CSV，中文表头")
def export_events_csv(args):
    """The events of a period in my scope as CSV for Excel, streamed."""
    chunks = export.csv_chunks(export.rows(**args))
    return _download(chunks, "text/csv; charset=utf-8", "事件导出.csv")


@bp.route("/events/export.geojson", methods=["GET"])
@require_roles(*service.EVALUATORS)
@bp.arguments(ExportQuerySchema, location="query")
@bp.response(200, content_type="application/geo+json", description="GeoJSON FeatureCollection")
def export_events_geojson(args):
    """The events of a period in my scope as GeoJSON points, streamed."""
    chunks = export.geojson_chunks(export.rows(**args))
    return _download(chunks, "application/geo+json", "事件导出.geojson")


def _download(chunks, mimetype: str, filename: str) -> Response:
    # RFC 5987: a Chinese file name survives in every current browser.
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return Response(
        stream_with_context(chunks), mimetype=mimetype, headers={"Content-Disposition": disposition}
    )

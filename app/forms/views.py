"""/api/v1/forms and /api/v1/filings: "一表通" definitions, filling, rollup and Excel export."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.extensions import db
from app.forms import export, service
from app.forms.schemas import (
    FilingDetailSchema,
    FilingQuerySchema,
    FilingReturnSchema,
    FilingSaveSchema,
    FilingSchema,
    FormDefinitionSchema,
    FormQuerySchema,
    FormRollupQuerySchema,
    FormRollupSchema,
    FormSchema,
    FormSourceListSchema,
)

bp = Blueprint(
    "forms", __name__, url_prefix="/api/v1", description="一表通：报表定义、填报、汇总与导出"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/forms/sources", methods=["GET"])
@bp.response(200, FormSourceListSchema)
def list_sources():
    """The figures the system can prefill (events, key persons and places, staff, grids)."""
    return {"items": service.source_catalogue()}


@bp.route("/forms", methods=["GET"])
@bp.arguments(FormQuerySchema, location="query")
@bp.response(200, page_schema(FormSchema))
def list_forms(args):
    """Forms of my level and those published above me, with progress in my scope."""
    return service.list_forms(principal=current_principal(), **args)


@bp.route("/forms", methods=["POST"])
@require_roles(*service.AUTHORS)
@bp.arguments(FormDefinitionSchema)
@bp.response(201, FormSchema)
def create_form(args):
    """Define a form (a draft until published)."""
    form = service.create_form(principal=current_principal(), **args)
    db.session.commit()
    return form


@bp.route("/forms/<id:form_id>", methods=["GET"])
@bp.response(200, FormSchema)
def get_form(form_id: int):
    """One form's definition and progress."""
    return service.get_form(principal=current_principal(), form_id=form_id)


@bp.route("/forms/<id:form_id>", methods=["PUT"])
@require_roles(*service.AUTHORS)
@bp.arguments(FormDefinitionSchema)
@bp.response(200, FormSchema)
def update_form(args, form_id: int):
    """Replace a draft's definition."""
    form = service.update_form(principal=current_principal(), form_id=form_id, **args)
    db.session.commit()
    return form


@bp.route("/forms/<id:form_id>", methods=["DELETE"])
@require_roles(*service.AUTHORS)
@bp.response(204)
def delete_form(form_id: int):
    """Throw away a draft."""
    service.delete_form(principal=current_principal(), form_id=form_id)
    db.session.commit()


@bp.route("/forms/<id:form_id>/publish", methods=["POST"])
@require_roles(*service.AUTHORS)
@bp.response(200, FormSchema)
def publish_form(form_id: int):
    """Publish: one filing per area at the filling level; those areas are told."""
    form = service.publish_form(principal=current_principal(), form_id=form_id)
    db.session.commit()
    return form


@bp.route("/forms/<id:form_id>/close", methods=["POST"])
@require_roles(*service.AUTHORS)
@bp.response(200, FormSchema)
def close_form(form_id: int):
    """End filling 结束填报; submitted filings still roll up."""
    form = service.close_form(principal=current_principal(), form_id=form_id)
    db.session.commit()
    return form


@bp.route("/forms/<id:form_id>/rollup", methods=["GET"])
@bp.arguments(FormRollupQuerySchema, location="query")
@bp.response(200, FormRollupSchema)
def rollup(args, form_id: int):
    """Submitted filings under an area aggregated per child area, with a total row."""
    return service.rollup(principal=current_principal(), form_id=form_id, area=args.get("area"))


@bp.route("/forms/<id:form_id>/export.xlsx", methods=["GET"])
@bp.arguments(FormRollupQuerySchema, location="query")
@bp.response(200, content_type=XLSX, description="Excel 工作簿：汇总、填报明细、字段说明")
def export_xlsx(args, form_id: int):
    """The rollup at any level as an Excel workbook."""
    principal = current_principal()
    result = service.rollup(principal=principal, form_id=form_id, area=args.get("area"))
    names = {s.key: s.name_zh for s in service.source_catalogue()}
    body = export.workbook(result, service.filing_lines(result=result), names)
    filename = f"{result['form'].title}-{result['area']['name']}.xlsx"
    # RFC 5987: a Chinese file name survives in every current browser.
    disposition = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(body, mimetype=XLSX, headers={"Content-Disposition": disposition})


@bp.route("/filings", methods=["GET"])
@bp.arguments(FilingQuerySchema, location="query")
@bp.response(200, page_schema(FilingSchema))
def list_filings(args):
    """Filings in my scope, or (mine=true) those I must fill, earliest due first."""
    return service.list_filings(principal=current_principal(), **args)


@bp.route("/filings/<id:filing_id>", methods=["GET"])
@bp.response(200, FilingDetailSchema)
def get_filing(filing_id: int):
    """One filing with its form, the system's prefilled figures and its history."""
    return service.get_filing(principal=current_principal(), filing_id=filing_id)


@bp.route("/filings/<id:filing_id>", methods=["PUT"])
@require_roles(*service.FILLER_ROLES)
@bp.arguments(FilingSaveSchema)
@bp.response(200, FilingDetailSchema)
def save_filing(args, filing_id: int):
    """Save the whole filing as a draft, or submit it 上报 (idempotent)."""
    filing = service.save_filing(principal=current_principal(), filing_id=filing_id, **args)
    db.session.commit()
    return filing


@bp.route("/filings/<id:filing_id>/return", methods=["POST"])
@require_roles(*service.REVIEWERS)
@bp.arguments(FilingReturnSchema)
@bp.response(200, FilingDetailSchema)
def return_filing(args, filing_id: int):
    """Send a submitted filing back for correction 退回, with the reason."""
    filing = service.return_filing(principal=current_principal(), filing_id=filing_id, **args)
    db.session.commit()
    return filing

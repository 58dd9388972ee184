"""/api/v1/keys: key persons and places, their visits, and my visit schedule."""

from __future__ import annotations

from flask import jsonify

from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import PageArgsSchema, page_schema
from app.extensions import db
from app.keys import service
from app.keys.schemas import (
    DeactivateSchema,
    DueItemSchema,
    DueQuerySchema,
    KeyPersonSchema,
    KeyPlaceSchema,
    KindListSchema,
    KindQuerySchema,
    PersonCreateSchema,
    PersonUpdateSchema,
    PlaceCreateSchema,
    PlaceUpdateSchema,
    SubjectQuerySchema,
    VisitCreateSchema,
    VisitSchema,
)

bp = Blueprint("keys", __name__, url_prefix="/api/v1/keys", description="重点人员与重点场所")

WRITERS = tuple(sorted(service.WRITERS))
VisitPage = page_schema(VisitSchema)
_visit_schema = VisitSchema()


@bp.route("/kinds", methods=["GET"])
@bp.arguments(KindQuerySchema, location="query")
@bp.response(200, KindListSchema)
def list_kinds(args):
    """Kinds of key persons and places, with their visit intervals and priority bumps."""
    return {"items": service.list_kinds(subject=args.get("subject"))}


@bp.route("/visits/due", methods=["GET"])
@bp.arguments(DueQuerySchema, location="query")
@bp.response(200, page_schema(DueItemSchema))
def list_due(args):
    """My visit schedule: persons and places in my scope by next due date, most overdue first."""
    return service.due(principal=current_principal(), filters=args)


def _doc(text: str):
    """Set a generated view's docstring (the OpenAPI summary) before the route reads it."""

    def decorate(view):
        view.__doc__ = text
        return view

    return decorate


def _register(subject: str, schema, create_schema, update_schema) -> None:
    """The same seven endpoints for persons and for places."""
    plural = f"{subject}s"

    @bp.route(f"/{plural}", methods=["GET"], endpoint=f"list_{plural}")
    @bp.arguments(SubjectQuerySchema, location="query")
    @bp.response(200, page_schema(schema))
    @_doc(f"Key {plural} in my scope: filter by kind, area, risk, overdue visits, name.")
    def list_(args):
        return service.list_subjects(principal=current_principal(), subject=subject, filters=args)

    @bp.route(f"/{plural}", methods=["POST"], endpoint=f"create_{subject}")
    @require_roles(*WRITERS)
    @bp.arguments(create_schema)
    @bp.response(201, schema)
    @_doc(f"Register a key {subject} in my grids; sensitive fields are masked by role.")
    def create(args):
        row = service.create(principal=current_principal(), subject=subject, fields=args)
        db.session.commit()
        return row

    @bp.route(f"/{plural}/<id:row_id>", methods=["GET"], endpoint=f"get_{subject}")
    @bp.response(200, schema)
    @_doc(f"One key {subject}; sensitive fields in full only for the roles that need them.")
    def get(row_id: int):
        return service.get_subject(
            principal=current_principal(), subject=subject, subject_id=row_id
        )

    @bp.route(f"/{plural}/<id:row_id>", methods=["PATCH"], endpoint=f"update_{subject}")
    @require_roles(*WRITERS)
    @bp.arguments(update_schema)
    @bp.response(200, schema)
    @_doc(f"Change a key {subject}; moving it re-derives its grid and its visitor.")
    def update(args, row_id: int):
        row = service.update(
            principal=current_principal(), subject=subject, subject_id=row_id, changes=args
        )
        db.session.commit()
        return row

    @bp.route(
        f"/{plural}/<id:row_id>/deactivate", methods=["POST"], endpoint=f"deactivate_{subject}"
    )
    @require_roles(*WRITERS)
    @bp.arguments(DeactivateSchema)
    @bp.response(200, schema)
    @_doc(f"Take a key {subject} off the registry (kept with its visits and events).")
    def deactivate(args, row_id: int):
        row = service.deactivate(
            principal=current_principal(), subject=subject, subject_id=row_id, **args
        )
        db.session.commit()
        return row

    @bp.route(
        f"/{plural}/<id:row_id>/reactivate", methods=["POST"], endpoint=f"reactivate_{subject}"
    )
    @require_roles(*WRITERS)
    @bp.response(200, schema)
    @_doc(f"Put a deactivated key {subject} back on the registry.")
    def reactivate(row_id: int):
        row = service.reactivate(principal=current_principal(), subject=subject, subject_id=row_id)
        db.session.commit()
        return row

    @bp.route(f"/{plural}/<id:row_id>/visits", methods=["GET"], endpoint=f"list_{subject}_visits")
    @bp.arguments(PageArgsSchema, location="query")
    @bp.response(200, VisitPage)
    @_doc(f"Visits to a key {subject}, newest first.")
    def list_visits(args, row_id: int):
        return service.list_visits(
            principal=current_principal(), subject=subject, subject_id=row_id, **args
        )

    @bp.route(f"/{plural}/<id:row_id>/visits", methods=["POST"], endpoint=f"visit_{subject}")
    @require_roles(*WRITERS)
    @bp.arguments(VisitCreateSchema)
    @bp.response(201, VisitSchema)
    @bp.alt_response(200, schema=VisitSchema, description="重试：返回最初登记的同一走访")
    @_doc(f"Record a visit to a key {subject} (once per client_uuid); the schedule moves on.")
    def visit(args, row_id: int):
        visit_, created = service.record_visit(
            principal=current_principal(), subject=subject, subject_id=row_id, **args
        )
        db.session.commit()
        response = jsonify(_visit_schema.dump(visit_))
        response.status_code = 201 if created else 200
        return response


_register("person", KeyPersonSchema, PersonCreateSchema, PersonUpdateSchema)
_register("place", KeyPlaceSchema, PlaceCreateSchema, PlaceUpdateSchema)

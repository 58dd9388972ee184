"""Open311 GeoReport v2 at /open311/v2 (the spec's paths, JSON or XML by suffix, its error
list), and /api/v1 endpoints for admins to issue, list and revoke partners' API keys."""

from __future__ import annotations

import logging

from flask import Blueprint as FlaskBlueprint
from flask import current_app, request, url_for
from werkzeug.exceptions import HTTPException

from app.accounts.roles import Role
from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.errors import DomainError, NotFound
from app.core.pagination import page_schema
from app.extensions import db
from app.open311 import catalogue, render, service
from app.open311.models import ApiKey
from app.open311.schemas import (
    ApiKeyCreateSchema,
    ApiKeyIssuedSchema,
    ApiKeyQuerySchema,
    ApiKeySchema,
)

log = logging.getLogger(__name__)

# -- admin: keys -----------------------------------------------------------------------------

admin_bp = Blueprint(
    "open311_keys", __name__, url_prefix="/api/v1", description="Open311 合作方 API 密钥"
)
ApiKeyPage = page_schema(ApiKeySchema)
_COLUMNS = ApiKey.__table__.columns


@admin_bp.route("/open311/keys", methods=["POST"])
@require_roles(Role.ADMIN)
@admin_bp.arguments(ApiKeyCreateSchema)
@admin_bp.response(201, ApiKeyIssuedSchema)
def issue_api_key(args):
    """Issue a key bound to one account; the full key is shown in this answer only."""
    key, plain = service.issue_key(principal=current_principal(), **args)
    db.session.commit()
    return {"plain": plain, "user": key.user, **{c.key: getattr(key, c.key) for c in _COLUMNS}}


@admin_bp.route("/open311/keys", methods=["GET"])
@require_roles(Role.ADMIN)
@admin_bp.arguments(ApiKeyQuerySchema, location="query")
@admin_bp.response(200, ApiKeyPage)
def list_api_keys(args):
    """Keys of accounts in my scope, newest first (never the keys themselves)."""
    return service.list_keys(filters=args)


@admin_bp.route("/open311/keys/<id:key_id>/revoke", methods=["POST"])
@require_roles(Role.ADMIN)
@admin_bp.response(200, ApiKeySchema)
def revoke_api_key(key_id: int):
    """Revoke a key: its next request is refused with 403."""
    key = service.revoke_key(principal=current_principal(), key_id=key_id)
    db.session.commit()
    return key


# -- GeoReport v2 ----------------------------------------------------------------------------

georeport_bp = FlaskBlueprint("open311", __name__, url_prefix="/open311/v2")
FORMAT = "<any(json, xml):fmt>"


def _format() -> str:
    return "xml" if request.path.endswith(".xml") else "json"


@georeport_bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    # 422 is this codebase's validation status; the spec answers bad parameters with 400.
    status = 400 if error.status == 422 else error.status
    return render.errors(_format(), status, error.message)


@georeport_bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return render.errors(_format(), error.code or 500, error.description or "请求失败")


@georeport_bp.errorhandler(Exception)
def _unexpected(error: Exception):
    log.exception("open311: unhandled error")
    return render.errors(_format(), 500, "服务器内部错误，请稍后再试")


@georeport_bp.before_request
def _check_jurisdiction() -> None:
    """jurisdiction_id is optional; when given it must be ours (the spec's 404)."""
    given = request.values.get("jurisdiction_id")
    if given and given != current_app.config["OPEN311_JURISDICTION"]:
        raise NotFound(f"jurisdiction_id {given} 不存在", code="jurisdiction_not_found")


@georeport_bp.route(f"/discovery.{FORMAT}")
def discovery(fmt: str):
    """Where the endpoint is and what it speaks."""
    config = current_app.config
    body = {
        "changeset": config["OPEN311_CHANGESET"],
        "contact": config["OPEN311_CONTACT"],
        "key_service": config["OPEN311_KEY_SERVICE"],
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": url_for("open311.discovery", fmt="json", _external=True).rsplit("/", 1)[0],
                "changeset": config["OPEN311_CHANGESET"],
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return render.respond(fmt, body, root="discovery", item=None)


def _service_row(sub) -> dict:
    return {
        "service_code": sub.code,
        "service_name": sub.name_zh,
        "description": f"{sub.name_zh} / {sub.name_en}",
        "metadata": bool(catalogue.ATTRIBUTES),
        "type": "realtime",
        "keywords": sub.name_en,
        "group": sub.category.name_zh,
    }


@georeport_bp.route(f"/services.{FORMAT}")
def list_services(fmt: str):
    """The public subcategories of the taxonomy, one service each."""
    rows = [_service_row(sub) for sub in service.services()]
    return render.respond(fmt, rows, root="services", item="service")


@georeport_bp.route(f"/services/<service_code>.{FORMAT}")
def service_definition(service_code: str, fmt: str):
    """The attributes a service asks for (attribute[code] on POST)."""
    sub = service.service(service_code)
    body = {"service_code": sub.code, "attributes": list(catalogue.ATTRIBUTES)}
    return render.respond(fmt, body, root="service_definition", item=None)


@georeport_bp.route(f"/requests.{FORMAT}", methods=["POST"])
def create_request(fmt: str):
    """Post a service request with an API key; it becomes an event (source open311)."""
    request_id = request.headers.get("Idempotency-Key") or request.values.get("request_id")
    event, key = service.create_request(values=request.values.to_dict(), request_id=request_id)
    db.session.commit()
    body = [
        {
            "service_request_id": event.id,
            "service_notice": f"已受理，事件编号 {event.id}",
            "account_id": request.values.get("account_id") or None,
            "token": str(event.client_uuid),
        }
    ]
    return render.respond(fmt, body, root="service_requests", item="request")


@georeport_bp.route(f"/requests.{FORMAT}")
def list_requests(fmt: str):
    """Public requests: filters by id list, service, status and up to 90 days; 1000 at most."""
    rows = service.find_requests(args=request.args.to_dict())
    return render.respond(fmt, rows, root="service_requests", item="request")


@georeport_bp.route(f"/requests/<service_request_id>.{FORMAT}")
def get_request(service_request_id: str, fmt: str):
    """One public request, as a list of one."""
    if not service_request_id.isdigit() or not 0 < int(service_request_id) < 2**63:
        raise NotFound(f"service_request_id {service_request_id} 不存在")
    rows = service.get_request(request_id=int(service_request_id))
    return render.respond(fmt, rows, root="service_requests", item="request")


@georeport_bp.route(f"/tokens/<token>.{FORMAT}")
def get_token(token: str, fmt: str):
    """The service request a POST's token stands for."""
    rows = service.by_token(token=token)
    return render.respond(fmt, rows, root="service_requests", item="request")


@georeport_bp.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest: str):
    """Anything else under /open311/v2 answers in the spec's error format."""
    raise NotFound(f"未知的 Open311 路径：{rest}（路径须以 .json 或 .xml 结尾）")

"""/api/v1/dispatch/rules: the dispatch rules as data, edited by admins, and a preview."""

from __future__ import annotations

from app.accounts.roles import Role
from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.pagination import page_schema
from app.dispatch import service
from app.dispatch.schemas import (
    PreviewResultSchema,
    PreviewSchema,
    RuleCreateSchema,
    RuleQuerySchema,
    RuleSchema,
    RuleUpdateSchema,
)
from app.extensions import db

bp = Blueprint("dispatch", __name__, url_prefix="/api/v1", description="智能分拨规则")

READERS = (Role.ADMIN, Role.TOWNSHIP_DISPATCHER)


@bp.route("/dispatch/rules", methods=["GET"])
@require_roles(*READERS)
@bp.arguments(RuleQuerySchema, location="query")
@bp.response(200, page_schema(RuleSchema))
def list_rules(args):
    """Rules that can apply in my scope, in the order they are compared (position, then id)."""
    return service.list_rules(principal=current_principal(), filters=args)


@bp.route("/dispatch/rules", methods=["POST"])
@require_roles(Role.ADMIN)
@bp.arguments(RuleCreateSchema)
@bp.response(201, RuleSchema)
def create_rule(args):
    """Add a rule for a district or township in my scope (city-wide: city admin only)."""
    rule = service.create_rule(actor=current_principal(), data=args)
    db.session.commit()
    return rule


@bp.route("/dispatch/rules/<id:rule_id>", methods=["PATCH"])
@require_roles(Role.ADMIN)
@bp.arguments(RuleUpdateSchema)
@bp.response(200, RuleSchema)
def update_rule(args, rule_id: int):
    """Change a rule (active: false pauses it)."""
    rule = service.update_rule(actor=current_principal(), rule_id=rule_id, changes=args)
    db.session.commit()
    return rule


@bp.route("/dispatch/rules/<id:rule_id>", methods=["DELETE"])
@require_roles(Role.ADMIN)
@bp.response(204)
def delete_rule(rule_id: int):
    """Remove a rule for good."""
    service.delete_rule(actor=current_principal(), rule_id=rule_id)
    db.session.commit()


@bp.route("/dispatch/rules/preview", methods=["POST"])
@require_roles(*READERS)
@bp.arguments(PreviewSchema)
@bp.response(200, PreviewResultSchema)
def preview_rules(args):
    """What dispatch would choose for such an event, and why, without creating one."""
    return service.preview(principal=current_principal(), **args)

"""/api/v1/categories: the taxonomy; admins edit subcategories."""

from __future__ import annotations

from app.accounts.roles import Role
from app.categories import service
from app.categories.schemas import SubcategorySchema, SubcategoryUpdateSchema, TaxonomySchema
from app.core.api import Blueprint
from app.core.auth import current_principal, require_roles
from app.core.errors import Forbidden
from app.extensions import db

bp = Blueprint("categories", __name__, url_prefix="/api/v1", description="事件分类与时限")


@bp.route("/categories", methods=["GET"])
@bp.response(200, TaxonomySchema)
def list_categories():
    """The two-level taxonomy with criteria, handling level and time limits."""
    return {"items": service.all_categories()}


@bp.route("/categories/subcategories/<code>", methods=["PATCH"])
@require_roles(Role.ADMIN)
@bp.arguments(SubcategoryUpdateSchema)
@bp.response(200, SubcategorySchema)
def update_subcategory(args, code: str):
    """Change a subcategory city-wide (city administrators only)."""
    if not current_principal().scope.everything:
        raise Forbidden("只有市级管理员可以修改分类", code="city_admin_only")
    row = service.update_subcategory(code=code, changes=args)
    db.session.commit()
    return row

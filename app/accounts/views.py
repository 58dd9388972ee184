"""/api/v1/auth (login, logout, activation, password) and /api/v1/users (admin)."""

from __future__ import annotations

from flask import request
from sqlalchemy import or_, select

from app.accounts import service
from app.accounts.models import Department, User
from app.accounts.roles import Role
from app.accounts.schemas import (
    ActivateSchema,
    CountSchema,
    DepartmentSchema,
    LoginSchema,
    MeSchema,
    PasswordChangeSchema,
    TokenSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
)
from app.core.api import Blueprint
from app.core.auth import current_principal, public, require_roles
from app.core.pagination import PageArgsSchema, page_schema, paginate
from app.extensions import db

bp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="账号、登录与权限")


def _client_ip() -> str:
    # Behind a proxy, configure werkzeug's ProxyFix so remote_addr is the phone's address.
    return request.remote_addr or "unknown"


def _token_response(token: str, row, user: User) -> dict:
    return {"token": token, "expires_at": row.expires_at, "user": user}


@bp.route("/auth/login", methods=["POST"])
@public
@bp.doc(security=[])
@bp.arguments(LoginSchema)
@bp.response(200, TokenSchema)
def login(args):
    """Exchange a username and password for a bearer token."""
    token, row, user = service.login(**args, ip=_client_ip(), user_agent=request.user_agent.string)
    db.session.commit()
    return _token_response(token, row, user)


@bp.route("/auth/activate", methods=["POST"])
@public
@bp.doc(security=[])
@bp.arguments(ActivateSchema)
@bp.response(200, TokenSchema)
def activate(args):
    """First login of an imported account: the activation code sets the password."""
    token, row, user = service.activate(
        **args, ip=_client_ip(), user_agent=request.user_agent.string
    )
    db.session.commit()
    return _token_response(token, row, user)


@bp.route("/auth/logout", methods=["POST"])
@bp.response(204)
def logout():
    """Revoke the token used for this request."""
    service.logout(token_id=current_principal().token_id)
    db.session.commit()


@bp.route("/auth/me", methods=["GET"])
@bp.response(200, MeSchema)
def me():
    """Who I am and what I may see."""
    principal = current_principal()
    user = service.get_user(user_id=principal.user_id)
    return {"user": user, "scope": principal.scope}


@bp.route("/auth/password", methods=["POST"])
@bp.arguments(PasswordChangeSchema)
@bp.response(204)
def change_password(args):
    """Change my password; my other sessions are signed out."""
    principal = current_principal()
    service.change_password(user_id=principal.user_id, token_id=principal.token_id, **args)
    db.session.commit()


UserPage = page_schema(UserSchema)


@bp.route("/users", methods=["GET"])
@require_roles(Role.ADMIN)
@bp.arguments(UserQuerySchema, location="query")
@bp.response(200, UserPage)
def list_users(args):
    """Accounts in my scope (admin)."""
    stmt = select(User).order_by(User.id)
    if args.get("q"):
        stmt = stmt.where(
            or_(
                User.username.contains(args["q"], autoescape=True),
                User.display_name.contains(args["q"], autoescape=True),
            )
        )
    if args.get("role"):
        stmt = stmt.where(User.role == args["role"])
    return paginate(stmt, page=args["page"], page_size=args["page_size"])


@bp.route("/users", methods=["POST"])
@require_roles(Role.ADMIN)
@bp.arguments(UserCreateSchema)
@bp.response(201, UserSchema)
def create_user(args):
    """Create an account in my scope (admin)."""
    user = service.create_user(**args)
    db.session.commit()
    return user


@bp.route("/users/<id:user_id>", methods=["GET"])
@require_roles(Role.ADMIN)
@bp.response(200, UserSchema)
def get_user(user_id: int):
    """One account (admin)."""
    return service.get_user(user_id=user_id)


@bp.route("/users/<id:user_id>/unlock", methods=["POST"])
@require_roles(Role.ADMIN)
@bp.response(200, UserSchema)
def unlock_user(user_id: int):
    """Lift a login lockout (admin)."""
    user = service.unlock(user_id=user_id)
    db.session.commit()
    return user


@bp.route("/users/<id:user_id>/revoke-tokens", methods=["POST"])
@require_roles(Role.ADMIN)
@bp.response(200, CountSchema)
def revoke_user_tokens(user_id: int):
    """Sign a user out everywhere (admin)."""
    count = service.revoke_tokens(user_id=user_id)
    db.session.commit()
    return {"count": count}


DepartmentPage = page_schema(DepartmentSchema)


@bp.route("/departments", methods=["GET"])
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, DepartmentPage)
def list_departments(args):
    """The district departments I can escalate to."""
    stmt = select(Department).order_by(Department.code)
    return paginate(stmt, page=args["page"], page_size=args["page_size"])

"""Bearer-token authentication hook and role checks; accounts supplies the token loader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, request

from app.core.errors import Forbidden, Unauthorized
from app.core.scope import Scope, set_request_scope


@dataclass(frozen=True)
class Principal:
    """Who is calling: enough to authorise without another query."""

    user_id: int
    username: str
    role: str
    token_id: str
    scope: Scope


TokenLoader = Callable[[str], Principal | None]
_PUBLIC_ATTR = "_wangge_public"


def public(view: Callable) -> Callable:
    """Mark a view as reachable without a token (login, the OpenAPI document)."""
    setattr(view, _PUBLIC_ATTR, True)
    return view


def current_principal() -> Principal:
    """The authenticated caller; only valid inside a non-public API view."""
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized()
    return principal


def require_roles(*roles: str) -> Callable:
    """Refuse the view to callers whose role is not listed."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            if current_principal().role not in roles:
                raise Forbidden("您的角色无权执行此操作", code="role_forbidden")
            return view(*args, **kwargs)

        wrapper._wangge_roles = roles  # read by the scope-matrix test and the docs
        return wrapper

    return decorate


def bearer_token() -> str | None:
    """The token from the Authorization header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(token: str | None) -> Principal:
    """Check a token and make its holder the request's principal and scope."""
    principal = current_app.extensions["wangge_token_loader"](token) if token else None
    if principal is None:
        raise Unauthorized("登录已失效，请重新登录" if token else "请先登录")
    g.principal = principal
    set_request_scope(principal.scope)
    return principal


def init_app(app: Flask, loader: TokenLoader) -> None:
    """Authenticate every /api request before its view runs, unless the view is public."""
    # Also read by routes outside /api that authenticate themselves (map tiles).
    app.extensions["wangge_token_loader"] = loader

    @app.before_request
    def _authenticate() -> None:
        if not request.path.startswith("/api/"):
            return
        endpoint = request.endpoint or ""
        view = current_app.view_functions.get(endpoint)
        # Unknown paths fall through to a 404; the OpenAPI document is public by nature.
        if view is None or getattr(view, _PUBLIC_ATTR, False) or endpoint.startswith("api-docs."):
            return
        authenticate(bearer_token())

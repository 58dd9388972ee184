"""One error shape everywhere: {"error": {"code", "message", "details"}}, messages in Chinese."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal the user can understand; subclasses fix the HTTP status and code."""

    status = 400
    code = "bad_request"
    message = "请求无效"

    def __init__(self, message: str | None = None, *, code: str | None = None, **details: Any):
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.details = details


class ValidationFailed(DomainError):
    status, code, message = 422, "validation_error", "提交的数据无效"


class Unauthorized(DomainError):
    status, code, message = 401, "unauthorized", "请先登录"


class Forbidden(DomainError):
    status, code, message = 403, "forbidden", "没有权限执行此操作"


class NotFound(DomainError):
    status, code, message = 404, "not_found", "找不到该资源"


class Conflict(DomainError):
    status, code, message = 409, "conflict", "当前状态不允许此操作"


class TooManyRequests(DomainError):
    status, code, message = 429, "too_many_requests", "请求过于频繁，请稍后再试"


# Messages for statuses raised by Flask/werkzeug itself (routing, method, body parsing).
HTTP_MESSAGES = {
    400: ("bad_request", "请求格式错误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "找不到该资源"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "当前状态不允许此操作"),
    413: ("payload_too_large", "提交的数据过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "提交的数据无效"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误，请稍后再试"),
}


def error_body(code: str, message: str, details: Any = None) -> dict:
    """The error payload, shared by the JSON API and the docs schema."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def http_error_response(error: HTTPException):
    """Render any werkzeug HTTPException (including webargs' 422) in our shape."""
    status = error.code or 500
    code, message = HTTP_MESSAGES.get(status, ("http_error", error.description or "请求失败"))
    data = getattr(error, "data", None) or {}
    details = data.get("errors") or data.get("messages") or {}
    # webargs nests validation messages by location ("json", "query"); keep that.
    response = jsonify(error_body(code, data.get("message", message), details))
    response.status_code = status
    # Keep werkzeug's headers such as Allow on 405 and Retry-After on 429.
    for key, value in error.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    for key, value in (data.get("headers") or {}).items():
        response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; flask-smorest's own handler is replaced by ours in core.api."""

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        response = jsonify(error_body(error.code, error.message, error.details))
        response.status_code = error.status
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error_response(error)
        log.exception("unhandled error")
        code, message = HTTP_MESSAGES[500]
        response = jsonify(error_body(code, message))
        response.status_code = 500
        return response

"""Supervision 督办: notices to handlers and their leaders, replies, escalation of silence."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.extensions import api
    from app.supervision import models, views  # noqa: F401 - models register their tables

    api.register_blueprint(views.bp)

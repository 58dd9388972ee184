"""The live command centre: emergency alarms that wait for acknowledgement, and pinned items."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.console import models, news, service, views  # noqa: F401 - tables, signal handlers
    from app.extensions import api

    service.connect_signals()
    news.connect()
    api.register_blueprint(views.blp)

"""Realtime: the outbox every push goes through, Socket.IO delivery, and catch-up."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.extensions import api
    from app.realtime import models, socket, views  # noqa: F401 - registers the table

    socket.init_app(app)
    api.register_blueprint(views.blp)

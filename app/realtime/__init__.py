"""Realtime: the outbox every push goes through, and room names."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.realtime import models  # noqa: F401 - registers the table

"""Time limits: the working calendar and the stage clocks that drive near-due and overdue."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.sla import models  # noqa: F401 - registers the table

"""Dispatch: rules as data choose the handling unit; least open work chooses the person."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.dispatch import models, service, views  # noqa: F401 - registers the table
    from app.events import signals
    from app.extensions import api

    api.register_blueprint(views.bp)
    signals.unit_wanted.connect(service.answer_unit_wanted)

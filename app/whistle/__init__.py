"""Whistle 吹哨 and report-in 报到, and co-handling 协同: the units beyond an event's lead.

A township command centre whistles an event up to one or more district departments; each must
report in within a time limit (late report-ins are counted for evaluation) and then co-handles.
Triage can also name co-handling departments, boards or villages directly; co-handlers see the
event and add progress notes, while only the lead unit takes lifecycle actions.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.extensions import api
    from app.whistle import models, views  # noqa: F401 - models register their tables

    api.register_blueprint(views.bp)

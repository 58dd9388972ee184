"""Evaluation 综合评价: per unit and per person measures for a period, with rankings, and the
event export (CSV, GeoJSON) for a scope and period. Reads events, audit rows and users; owns
no tables. Definitions: docs/evaluation.md."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.evaluation import views
    from app.extensions import api

    api.register_blueprint(views.bp)

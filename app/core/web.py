"""Small app-wide endpoints: health check and the landing page until the web app exists."""

from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy import text

from app.core.auth import public
from app.extensions import db


def init_app(app: Flask) -> None:
    """Register the health endpoint."""

    @app.get("/healthz")
    @public
    def healthz():
        db.session.execute(text("SELECT 1"))
        return jsonify(status="ok", database=db.engine.dialect.name)

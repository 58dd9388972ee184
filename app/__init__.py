"""Wangge: the application factory, read top to bottom as the table of contents."""

from __future__ import annotations

import logging

from flask import Flask

import config
from app.core.redis import resolve_url
from app.extensions import api, db, migrate


def create_app(overrides: dict | None = None, *, role: str = "web") -> Flask:
    """Build the app for a web process, an RQ worker or a CLI command."""
    app = Flask(__name__, instance_path=config.INSTANCE, static_folder=None)
    app.config.update(config.load(overrides))
    app.config["ROLE"] = role
    app.json.ensure_ascii = False  # Chinese stays readable (and shorter) on the wire
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    # Redis is resolved lazily: many CLI commands and tests never touch it.
    app.extensions["redis_url_resolver"] = lambda: resolve_url(
        app.config["REDIS_URL"], app.config["INSTANCE_DIR"]
    )

    from app.core import database, errors, jobs, web

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"), render_as_batch=True)
    api.init_app(app)
    errors.register_error_handlers(app)

    # Domain modules, lowest first: each registers its models, blueprints and CLI.
    from app import (
        accounts,
        categories,
        checklists,
        classify,
        console,
        dispatch,
        duty,
        evaluation,
        events,
        forms,
        geo,
        keys,
        open311,
        patrols,
        realtime,
        sensors,
        sla,
        supervision,
        whistle,
    )

    geo.init_app(app)
    accounts.init_app(app)
    categories.init_app(app)
    classify.init_app(app)
    keys.init_app(app)
    events.init_app(app)
    realtime.init_app(app)
    dispatch.init_app(app)
    sla.init_app(app)
    supervision.init_app(app)
    whistle.init_app(app)
    console.init_app(app)
    duty.init_app(app)
    evaluation.init_app(app)
    open311.init_app(app)
    sensors.init_app(app)
    checklists.init_app(app)
    patrols.init_app(app)
    forms.init_app(app)

    web.init_app(app)
    jobs.init_app(app)
    return app

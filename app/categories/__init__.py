"""Categories: the two-level taxonomy with criteria and time limits, seeded from a file."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.categories import cli, models, views  # noqa: F401 - models register their tables
    from app.extensions import api

    api.register_blueprint(views.bp)
    app.cli.add_command(cli.categories_cli)

"""Key persons and places 重点对象: a registry tied to grids, visit schedules, event priority."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register models, the API and `flask keys`."""
    from app.extensions import api
    from app.keys import cli, models, views  # noqa: F401 - models register their tables

    api.register_blueprint(views.bp)
    app.cli.add_command(cli.keys_cli)

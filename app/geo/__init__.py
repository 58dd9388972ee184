"""Geography: the hierarchy of areas, its geodata build/load, and point → grid location."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register models, the API blueprint and the `flask geodata` commands."""
    from app.extensions import api
    from app.geo import cli, models, views  # noqa: F401 - models register their tables

    api.register_blueprint(views.bp)
    app.cli.add_command(cli.geodata)

"""Geography: the hierarchy of areas, its geodata build/load, point → grid location, and the
boundary layers' vector tiles."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register models, the API and tile blueprints and the `flask geodata` commands."""
    from app.extensions import api
    from app.geo import cli, models, views  # noqa: F401 - models register their tables

    api.register_blueprint(views.bp)
    app.register_blueprint(views.tiles_bp)
    app.cli.add_command(cli.geodata)

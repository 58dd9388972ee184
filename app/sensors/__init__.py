"""Monitoring and early warning 监测预警: sensors at points, device ingest, threshold rules with
blue/yellow/orange/red levels, and the events and console alarms a crossing raises."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register models, the API and `flask sensors`."""
    from app.extensions import api
    from app.sensors import cli, models, views  # noqa: F401 - models register their tables

    api.register_blueprint(views.bp)
    app.cli.add_command(cli.sensors_cli)

"""Events: reporting, the closed loop, the audit trail."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register models, the API and `flask audit`."""
    from app.events import cli, models, views  # noqa: F401 - models register their tables
    from app.extensions import api

    api.register_blueprint(views.bp)
    app.cli.add_command(cli.audit_cli)

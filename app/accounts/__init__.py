"""Accounts: users, roles, departments, tokens, and the scope each user works in."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register models, the API, the token loader and `flask users`."""
    from app.accounts import cli, models, service, views  # noqa: F401 - models register tables
    from app.core import auth
    from app.extensions import api

    api.register_blueprint(views.bp)
    auth.init_app(app, service.principal_for_token)
    app.cli.add_command(cli.users)

"""Time limits: the working calendar, stage clocks, and the near-due/overdue sweep."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.sla import cli, models  # noqa: F401 - registers the table

    app.cli.add_command(cli.sla_cli)

"""Time limits: the working calendar, stage clocks, and the near-due/overdue sweep."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.events import signals
    from app.extensions import api
    from app.sla import cli, models, service, views  # noqa: F401 - registers the table

    api.register_blueprint(views.bp)
    app.cli.add_command(cli.sla_cli)
    signals.stage_started.connect(service.answer_stage_started)
    signals.extension_approved.connect(service.answer_extension_approved)

"""Duty roster 24小时值班: shifts per command centre, who is on duty now, handover notes.

Alarms and escalations reach whoever is on duty at the centre concerned, on whatever screen
they have open (their user room), besides the centre's consoles.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.duty import cli, models, roster, views  # noqa: F401 - models register their tables
    from app.extensions import api
    from app.realtime import rooms

    rooms.set_duty_lookup(roster.on_duty)

    api.register_blueprint(views.blp)
    app.cli.add_command(cli.duty_cli)

"""Checklist dispatch 清单派发: checklists sent to grids, answered on the phone, rolled up
the hierarchy.

A centre (township command centre, village office, district or city) builds a checklist of
items (photo, GPS fix, yes/no, value; each required or not, with what fails it) and sends it
to grids picked on the map or the tree, to every grid of villages or townships, or to every
key place of a kind in its scope (each 危岩 site before a storm). Each target becomes an
assignment that the grid's workers answer on the phone, offline if need be: one answer per
item, stored once however often it is resent, judged by the server. A failed item raises an
event (source "checklist") in one tap, once. Progress rolls up grid → village → township,
and the late sweep (app/cron.py) warns workers and the sending centre once near due and once
overdue, as events warn. An answer may carry a worker's note, shown to the console beside it.

Once sent, a checklist's items (and targets) never change; its title, instructions and deadline
may, at the sending centre's level or above (a new deadline re-arms the warnings of open work).
It may be withdrawn 撤回 with a reason: answers stay, open work stops being due and leaves the
phones, and answers arriving later are refused (service.py says how and why).
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register models, the API and `flask checklists`."""
    from app.checklists import cli, models, views  # noqa: F401 - models register their tables
    from app.extensions import api

    api.register_blueprint(views.bp)
    api.register_blueprint(views.assignments_bp)
    app.cli.add_command(cli.checklists_cli)

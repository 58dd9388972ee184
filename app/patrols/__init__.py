"""Patrols 巡查: GPS tracks recorded on the phone, and how much of each grid was covered per day.

The phone starts a patrol with a uuid of its own, records a fix every N seconds (and when it
has moved), and sends them in batches through its offline write queue; it stops the patrol
the same way. Every write is idempotent (uuid; patrol + fix time; the first stop stands).

A patrol belongs to its person and to a place, for scope: the grid of its first good fix
when that grid is the person's to patrol, else the person's home node. Field roles record
patrols; consoles (township dispatchers, supervisors, admins) see those in their scope.

Coverage of a grid on a day (docs/patrols.md): the share of the grid's area within
PATROL_COVER_RADIUS_M (30 m) of that day's walked tracks, all patrols of anyone together,
plus metres walked inside the grid and minutes spent in it. It is stored per (grid, day) and
recomputed when a patrol stops (at once) or gains fixes (an RQ job after commit). PostGIS
computes it on PostgreSQL, shapely in a local metric frame on SQLite (app.geo.coverage).

Live: 'patrol_started' and 'patrol_stopped' reach the consoles of the patrol's places.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register models and the API."""
    from app.extensions import api
    from app.patrols import models, views  # noqa: F401 - models register their tables

    api.register_blueprint(views.blp)

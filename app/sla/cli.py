"""`flask sla sweep`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.sla.sweep import sweep


@click.group("sla")
def sla_cli() -> None:
    """Time limits."""


@sla_cli.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Flag near-due and overdue events now and notify (what cron runs every minute)."""
    result = sweep()
    click.echo(f"near-due {result.near_due}, overdue {result.overdue}, messages {result.messages}")

"""`flask checklists sweep`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.checklists.sweep import sweep


@click.group("checklists")
def checklists_cli() -> None:
    """Checklist dispatch 清单派发."""


@checklists_cli.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Flag near-due and overdue checklist work now and notify (the cron job does it each
    minute; safe to run any time)."""
    result = sweep()
    click.echo(
        f"assignments near due {result.near_due}, overdue {result.overdue}; "
        f"checklists near due {result.checklists_near_due}, overdue {result.checklists_overdue}"
    )

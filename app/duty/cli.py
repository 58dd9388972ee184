"""`flask duty seed-demo`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.duty import demo
from app.extensions import db


@click.group("duty")
def duty_cli() -> None:
    """Duty roster 24小时值班."""


@duty_cli.command("seed-demo")
@click.option("--days", default=7, show_default=True, help="days of shifts from today")
@with_appcontext
def seed_demo_command(days: int) -> None:
    """Staff the demo township's and district's centres around the clock (idempotent)."""
    added = demo.seed(days=days)
    db.session.commit()
    click.echo(f"demo shifts added: {added}")

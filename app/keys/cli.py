"""`flask keys load-kinds|seed-demo|sweep`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.keys import demo, service
from app.keys.sweep import sweep


@click.group("keys")
def keys_cli() -> None:
    """Key persons and places 重点对象."""


@keys_cli.command("load-kinds")
@with_appcontext
def load_kinds_command() -> None:
    """Seed or refresh the kinds from app/keys/data/kinds.toml (idempotent)."""
    counts = service.load_kinds()
    db.session.commit()
    click.echo(f"key kinds: {counts}")


@keys_cli.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the kinds and add demo persons and places in the demo township (idempotent)."""
    counts = demo.seed()
    db.session.commit()
    click.echo(f"demo key persons: {counts['persons']}, places: {counts['places']} added")


@keys_cli.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Flag overdue visits now and notify (what cron runs hourly)."""
    result = sweep()
    click.echo(
        f"overdue persons {result.person}, places {result.place}, messages {result.messages}"
    )

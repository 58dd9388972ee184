"""`flask categories load`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.categories import service
from app.extensions import db


@click.group("categories")
def categories_cli() -> None:
    """The event taxonomy."""


@categories_cli.command("load")
@with_appcontext
def load_command() -> None:
    """Seed or refresh categories from app/categories/data/taxonomy.toml (admin edits kept)."""
    counts = service.seed_from_file()
    db.session.commit()
    click.echo(f"categories: {counts}")

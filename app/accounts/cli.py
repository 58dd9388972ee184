"""`flask users create|import|seed-departments|seed-demo`."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.accounts import bulk, demo, service
from app.core.errors import DomainError
from app.extensions import db


@click.group()
def users() -> None:
    """Manage accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--password", help="omit to get a one-time activation code instead")
@click.option("--role", required=True)
@click.option("--node", required=True, help="area code (12/15 digits) or department code")
@click.option("--board", help="party|economy|livelihood|safety, for township_board_handler")
@click.option("--grid", "grids", multiple=True, help="extra grid for a grid worker; repeatable")
@click.option("--name", "display_name", default="")
@with_appcontext
def create_command(username, password, role, node, board, grids, display_name) -> None:
    """Create one account."""
    try:
        user = service.create_user(
            username=username,
            password=password,
            role=role,
            node=node,
            board=board,
            grids=grids,
            display_name=display_name,
        )
        code = None
        if password is None:
            code = bulk.issue_activation(user)
        db.session.commit()
    except DomainError as error:
        raise click.ClickException(f"{error.message} ({error.code})") from None
    click.echo(f"created {user.username} (id {user.id}, {user.role} at {node})")
    if code:
        click.echo(f"activation code: {code}")


@users.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--codes-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="where to write username,activation_code for new accounts (default: beside the input)",
)
@with_appcontext
def import_command(csv_file: Path, codes_out: Path | None) -> None:
    """Import accounts from CSV: username,role,node[,board,grids,display_name,phone,password].

    Existing usernames are skipped, so a failed import can be re-run. Rows without a password
    get one-time activation codes, written to --codes-out.
    """
    codes_out = codes_out or csv_file.with_name(csv_file.stem + ".activation.csv")
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        click.echo(f"\r  imported {done}/{total}", nl=done >= total)

    with csv_file.open(newline="", encoding="utf-8-sig") as fh:
        result = bulk.import_users(csv.DictReader(fh), codes_out=codes_out, progress=progress)
    elapsed = time.perf_counter() - started
    click.echo(
        f"created {result.created}, skipped {result.skipped} existing, "
        f"{len(result.errors)} rejected, in {elapsed:.1f} s"
    )
    if result.created and result.codes_written:
        click.echo(f"activation codes: {codes_out}")
    for line, message in result.errors[:50]:
        click.echo(f"  line {line}: {message}", err=True)
    if result.errors:
        sys.exit(1)


@users.command("seed-departments")
@with_appcontext
def seed_departments_command() -> None:
    """Create the standard departments in every district (idempotent)."""
    created = bulk.seed_departments()
    db.session.commit()
    click.echo(f"departments created: {created}")


@users.command("seed-demo")
@click.option("--password", default=demo.DEMO_PASSWORD, show_default=True)
@with_appcontext
def seed_demo_command(password: str) -> None:
    """Create the named demo accounts of every role in one township (idempotent)."""
    accounts = demo.seed(password=password)
    db.session.commit()
    click.echo(demo.describe(accounts, password))

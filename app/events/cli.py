"""`flask audit verify`: recompute every event's hash chain."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.events import audit


@click.group("audit")
def audit_cli() -> None:
    """The append-only audit trail."""


@audit_cli.command("verify")
@with_appcontext
def verify_command() -> None:
    """Detect edited, removed or reordered audit rows; exit 1 if any."""
    problems = list(audit.verify())
    for problem in problems[:100]:
        click.echo(f"  event {problem.event_id} seq {problem.seq}: {problem.message}")
    if problems:
        click.echo(f"{len(problems)} problem(s) found: the audit trail was tampered with")
        raise SystemExit(1)
    click.echo("audit trail intact")

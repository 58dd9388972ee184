"""`flask sensors load-rules|simulate`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.sensors import service
from app.sensors.simulate import simulate


@click.group("sensors")
def sensors_cli() -> None:
    """Monitoring and early warning 监测预警."""


@sensors_cli.command("load-rules")
@with_appcontext
def load_rules_command() -> None:
    """Insert the sensor types' default rules from app/sensors/data/types.toml (idempotent)."""
    counts = service.load_rules()
    db.session.commit()
    click.echo(f"sensor rules: {counts}")


@sensors_cli.command("simulate")
@click.option(
    "--hours",
    type=click.FloatRange(1, 24 * 29),
    default=48.0,
    show_default=True,
    help="How many hours of readings to replay, ending now.",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--no-failure", is_flag=True, help="The slope creeps but does not fail.")
@click.option(
    "--pace",
    type=click.FloatRange(0, 60),
    default=0.0,
    show_default=True,
    help="Seconds to wait between 10-minute steps (a live demo).",
)
@with_appcontext
def simulate_command(hours: float, seed: int, no_failure: bool, pace: float) -> None:
    """Register (or reuse) the demo sensors in the demo township and feed them realistic
    streams (rain burst, water level, a hazardous-rock crack that accelerates and fails)."""
    result = simulate(
        hours=hours,
        seed=seed,
        fail=not no_failure,
        on_step=lambda at: db.session.commit(),
        pace_seconds=pace,
    )
    db.session.commit()
    click.echo(f"readings stored: {result['readings']}, warnings raised: {result['raised']}")
    for code, level in result["warnings"].items():
        event = result["events"][code]
        click.echo(f"  {code}: {level or '正常'}" + (f" (event #{event})" if event else ""))

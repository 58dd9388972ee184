"""`flask geodata build` and `flask geodata load`."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

import config
from app.extensions import db


def _progress(stage: str, done: int, total: int) -> None:
    end = "\n" if done >= total else ""
    click.echo(f"\r  {stage}: {done}/{total}", nl=False)
    if end:
        click.echo()


def recipe_fingerprint(districts: tuple[str, ...]) -> str:
    """Hash of everything a build depends on: the generator, its sources and the subset."""
    digest = hashlib.sha256(",".join(sorted(districts)).encode())
    root = config.ROOT / "geodata"
    for path in sorted([*root.glob("*.py"), *(root / "source").glob("*")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_built(out_dir: Path, districts: tuple[str, ...] = (), *, force=False, progress=None):
    """Build into out_dir unless the same recipe is there already; the build's result or None."""
    from geodata.build import build

    fingerprint = recipe_fingerprint(districts)
    stamp = out_dir / ".recipe"
    if not force and stamp.exists() and stamp.read_text() == fingerprint:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    result = build(out_dir, districts=list(districts) or None, progress=progress)
    stamp.write_text(fingerprint)
    return result


@click.group()
def geodata() -> None:
    """Build and load the city's geography."""


@geodata.command("build")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="default: GEODATA_DIR")
@click.option("--district", "districts", multiple=True, help="12-digit code; repeat for several")
@click.option("--force", is_flag=True, help="rebuild even if the sources did not change")
@with_appcontext
def build_command(out_dir: Path | None, districts: tuple[str, ...], force: bool) -> None:
    """Generate districts, townships, villages and grids as GeoJSON (deterministic)."""
    out_dir = out_dir or Path(current_app.config["GEODATA_DIR"])
    started = time.perf_counter()
    result = ensure_built(out_dir, districts, force=force, progress=_progress)
    if result is None:
        click.echo(f"geodata in {out_dir} is up to date")
        return
    counts = result.get("counts", {})
    click.echo(f"built {counts} in {time.perf_counter() - started:.1f} s → {out_dir}")


@geodata.command("load")
@click.option("--dir", "geodata_dir", type=click.Path(path_type=Path), help="default: GEODATA_DIR")
@click.option("--force", is_flag=True, help="reload even if this build was loaded already")
@with_appcontext
def load_command(geodata_dir: Path | None, force: bool) -> None:
    """Upsert the built geodata into the database (SQLite or PostGIS)."""
    from app.geo.loader import GeodataConflict, GeodataMissing, load

    geodata_dir = geodata_dir or Path(current_app.config["GEODATA_DIR"])
    started = time.perf_counter()
    try:
        result = load(geodata_dir, force=force, progress=_progress)
    except (GeodataMissing, GeodataConflict) as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    if result["skipped"]:
        click.echo("geodata already loaded (same build)")
    else:
        click.echo(
            f"loaded {result['counts']} in {time.perf_counter() - started:.1f} s "
            f"(grid version {result['version']})"
        )


@geodata.command("check")
@click.option("--points", default=2_000, show_default=True)
@click.option("--seed", default=1, show_default=True)
@with_appcontext
def check_command(points: int, seed: int) -> None:
    """Compare the in-memory index with the database's own answer at random points."""
    import numpy as np

    from app.geo import service
    from app.geo.codes import CITY_CODE
    from app.geo.models import Area

    city = db.session.get(Area, int(CITY_CODE))
    if city is None:
        raise click.ClickException("no geodata loaded: run `flask geodata load`")
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = city.min_lon, city.min_lat, city.max_lon, city.max_lat
    index = service.locator().snapshot().index
    mismatches = 0
    for lon, lat in zip(
        rng.uniform(minx, maxx, points), rng.uniform(miny, maxy, points), strict=True
    ):
        hit = index.locate(float(lon), float(lat), max_snap_m=0)
        expected = service.locate_in_database(lon=float(lon), lat=float(lat))
        if (hit.grid_id if hit else None) != expected:
            mismatches += 1
            click.echo(f"  mismatch at {lon:.6f},{lat:.6f}: index {hit}, database {expected}")
    click.echo(f"{points} points checked, {mismatches} mismatches")
    if mismatches:
        raise SystemExit(1)

"""Shared benchmark helpers: a throwaway app on SQLite or PostgreSQL, timing, reporting."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/wangge_bench"


@contextmanager
def timed(results: dict, key: str):
    started = time.perf_counter()
    yield
    results[key] = round(time.perf_counter() - started, 3)


def fresh_postgres(url: str) -> str | None:
    """Recreate the benchmark database; None when PostgreSQL + PostGIS is unavailable."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    admin, _, name = plain.rpartition("/")
    try:
        with psycopg.connect(admin + "/postgres", autocommit=True, connect_timeout=5) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name='postgis'"
            ).fetchone():
                return None
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    return plain


def make_app(database_url: str, instance: Path, **overrides):
    """An app on the given database with the schema migrated."""
    os.environ["WANGGE_INSTANCE"] = str(instance)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("REDIS_URL", "embedded")
    from app import create_app

    app = create_app(overrides)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def city_geodata(path: Path | None, prefix: str) -> tuple[Path, bool]:
    """The built city (default instance/geodata) and whether it was built here, into a
    temporary directory, because it was missing: the caller removes that one when done."""
    path = path or ROOT / "instance" / "geodata"
    if (path / "manifest.json").exists():
        return path, False
    from geodata.build import build

    out = temp_dir(prefix)
    print(f"building the full city into {out} ...", file=sys.stderr, flush=True)
    build(out)
    return out, True


def report(title: str, rows: list[tuple[str, str]], results: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(results, ensure_ascii=False))
        return
    print(f"\n{title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")

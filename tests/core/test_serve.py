"""`flask serve`, which `scripts/run` ends with: web, worker and scheduler come up together on
the database under test, and stop together."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
import redis
from rq import Queue
from rq.cron_scheduler_registry import get_keys

from app.accounts.tasks import purge_dead_tokens
from app.keys.tasks import flag_overdue_visits
from tests.support import DEMO_PASSWORD, IS_POSTGRES, ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def served(app, tmp_path: Path):
    port = _free_port()
    instance = tmp_path / "instance"
    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "WANGGE_INSTANCE": str(instance),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "GEODATA_DIR": app.config["GEODATA_DIR"],
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "serve", "--port", str(port), "--threads", "4"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _call(f"{base}/healthz")["status"] == "ok", 120, "the web server")
        url = app.config["REDIS_URL"]
        redis_url = f"unix://{instance / 'redis.sock'}" if url == "embedded" else url
        yield base, redis.Redis.from_url(redis_url), process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        # Whatever of its group outlived it (a gunicorn worker orphaned mid-shutdown would
        # keep connections to the test database open for the rest of the run).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.stdout.close()


def _no_open_transaction(app) -> bool:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if IS_POSTGRES:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            ).fetchone()
        return count == 0
    connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


def test_serve_runs_web_worker_and_scheduler(served, app):
    base, connection, process = served
    login = _call(
        f"{base}/api/v1/auth/login", {"username": "demo_dispatcher", "password": DEMO_PASSWORD}
    )
    me = _call(f"{base}/api/v1/auth/me", token=login["token"])
    assert me["user"]["username"] == "demo_dispatcher"

    job = Queue("low", connection=connection).enqueue(purge_dead_tokens)
    _wait(lambda: job.get_status(refresh=True) == "finished", 30, "the worker to run a job")
    assert isinstance(job.return_value(), int)

    _wait(lambda: get_keys(connection), 30, "the cron scheduler to register")
    # A job that finds nothing to do reads and does not commit. Once it is done, no transaction
    # may be left open: on SQLite that would be the write lock (every report waited for it,
    # until the next job committed); on PostgreSQL, a held snapshot.
    sweep = Queue("high", connection=connection).enqueue(flag_overdue_visits)
    _wait(lambda: sweep.get_status(refresh=True) == "finished", 60, "the visit sweep")
    assert _no_open_transaction(app)

    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)
    # Everything stopped with it, including the embedded Redis it started.
    with pytest.raises(OSError):
        _call(f"{base}/healthz")

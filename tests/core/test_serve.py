"""`flask serve`, which `scripts/run` ends with: web, worker and scheduler come up together on
the database under test, and stop together."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.cron_scheduler_registry import get_keys

from app.accounts.tasks import purge_dead_tokens
from tests.conftest import DEMO_PASSWORD, ROOT


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
        _wait(lambda: _call(f"{base}/healthz")["status"] == "ok", 60, "the web server")
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
        process.stdout.close()


def test_serve_runs_web_worker_and_scheduler(served):
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

    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)
    # Everything stopped with it, including the embedded Redis it started.
    with pytest.raises(OSError):
        _call(f"{base}/healthz")

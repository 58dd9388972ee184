"""RQ jobs: one @job wrapper (app context, clean session), enqueue-after-commit, worker CLI."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler

from app.core import redis as redis_
from app.core.db import on_commit

QUEUES = ("high", "default", "low")
CRON_CONFIG = "app.cron"

_worker_app: Flask | None = None


def _app() -> Flask:
    """The app jobs run in when the caller (rq worker, rq cron) has none pushed."""
    global _worker_app
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app(role="worker")
    return _worker_app


def job(fn: Callable) -> Callable:
    """Make a module function runnable by RQ: inside an app context, session cleaned after."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any):
        if has_app_context():
            return fn(*args, **kwargs)
        with _app().app_context():
            from app.extensions import db

            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return run


def queue(name: str = "default") -> Queue:
    """An RQ queue on the app's Redis."""
    return Queue(name, connection=redis_.client())


def enqueue_after_commit(
    fn: Callable, *args: Any, queue_name: str = "default", **kwargs: Any
) -> None:
    """Enqueue a job once the current transaction commits (never for a rolled-back one)."""
    from app.extensions import db

    on_commit(db.session(), lambda: queue(queue_name).enqueue(fn, *args, **kwargs))


@click.group("jobs")
def jobs_cli() -> None:
    """Run the background worker and the periodic scheduler."""


class _AppWorker(SimpleWorker):
    """A non-forking worker whose jobs each end with a clean session.

    Jobs run inside the CLI's app context, so `job` finds one pushed and does not clean up. A
    job that read without committing would otherwise keep its transaction open until the next
    job commits: on SQLite that is the write lock, and every report waited on it.
    """

    def execute_job(self, job, queue):  # noqa: ANN001 - RQ's signature
        from app.extensions import db

        try:
            return super().execute_job(job, queue)
        finally:
            db.session.remove()


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@with_appcontext
def worker_command(burst: bool) -> None:
    """An RQ worker on every queue (non-forking: ~6x the jobs/s of a forking one here)."""
    connection = redis_.client()
    worker = _AppWorker([Queue(q, connection=connection) for q in QUEUES], connection=connection)
    worker.work(burst=burst, with_scheduler=True)


@jobs_cli.command("cron")
@with_appcontext
def cron_command() -> None:
    """RQ's cron scheduler with app/cron.py; run exactly one per deployment (it has no lock)."""
    scheduler = CronScheduler(connection=redis_.client())
    scheduler.load_config_from_file(CRON_CONFIG)
    scheduler.start()


def init_app(app: Flask) -> None:
    app.cli.add_command(jobs_cli)
    app.cli.add_command(serve_command)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--threads", default=8, show_default=True)
@with_appcontext
def serve_command(host: str, port: int, threads: int) -> None:
    """Start web (gunicorn gthread), worker and scheduler together on one machine."""
    url = current_app.extensions["redis_url_resolver"]()  # starts the embedded Redis if needed
    env = {**os.environ, "REDIS_URL": url, "FLASK_APP": "wsgi.py", "WEB_THREADS": str(threads)}
    python = sys.executable
    bind = f"{host}:{port}"
    children = [
        subprocess.Popen([python, "-m", "flask", "jobs", "worker"], env=env),
        subprocess.Popen([python, "-m", "flask", "jobs", "cron"], env=env),
        subprocess.Popen(
            [
                python,
                "-m",
                "gunicorn",
                "-k",
                "gthread",
                "-w",
                "1",
                "--threads",
                str(threads),
                "-b",
                bind,
                "--access-logfile",
                "-",
                "wsgi:app",
            ],
            env=env,
        ),
    ]
    click.echo(f"\nWangge is running at http://{bind}/  (API: http://{bind}/api/v1/openapi.json)")
    click.echo("Press Ctrl-C to stop web, worker and scheduler.\n")

    def stop(*_: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        # If any part dies, stop the rest: a half-running system is worse than a clear exit.
        while all(child.poll() is None for child in children):
            try:
                children[2].wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        redis_.stop_embedded()

"""Browser tests: the real app (gunicorn web process + RQ worker) on its own copy of the test
database, driven by Debian's Chromium through Playwright.

Each test module gets a fresh server on a fresh copy of the session's database, so what the
browser commits never leaks into other tests. Every test here is marked `e2e` and skipped when
Chromium is missing (scripts/ensure_browser.sh installs it), except under CI=true: then the
missing browser is a failure. Screenshots and server logs go to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("WANGGE_CHROMIUM", "/usr/bin/chromium"))
DEMO_GRID = "500103003013001"  # the demo grid worker's grid, in 渝中区
DEMO_PASSWORD = "Demo@2026"
HERE = Path(__file__).resolve().parent


def _missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is not installed at {CHROMIUM}: run scripts/ensure_browser.sh"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed: scripts/setup.sh requirements-dev.txt"
    return None


def pytest_collection_modifyitems(config, items):
    missing = _missing_browser()
    for item in items:
        if HERE not in item.path.parents:
            continue
        item.add_marker(pytest.mark.e2e)
        # On CI a missing browser must not pass silently: the `browser` fixture fails instead.
        if missing and os.environ.get("CI") != "true":
            item.add_marker(pytest.mark.skip(reason=missing))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can screenshot a failed test's pages."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# -- the server ------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_database(app, name: str, workdir: Path) -> str:
    """A copy of the session's test database (SQLite backup, or a PostgreSQL TEMPLATE copy)."""
    from app.extensions import db

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        target = workdir / f"{name}.db"
        target.unlink(missing_ok=True)
        with sqlite3.connect(url.split("///", 1)[1]) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return f"sqlite:///{target}"
    import psycopg

    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    source = parts.path.lstrip("/")
    copy = f"{source}_{name}"[:63]
    with app.app_context():
        db.engine.dispose()  # TEMPLATE needs the source database free of connections
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        # Only a leak holds the source now (a server an earlier test failed to stop): it
        # must not cost every browser test.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (source,),
        )
        for attempt in range(20):
            try:
                conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
                break
            except psycopg.errors.ObjectInUse:  # a connection still closing
                if attempt == 19:
                    raise
                time.sleep(0.25)
    return urlunsplit(parts._replace(path=f"/{copy}"))


def _drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)
        return
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


class LiveServer:
    """The running app: its base URL, a tiny JSON client, and an in-process handle on its
    database for setting up and checking what the browser cannot see."""

    def __init__(self, url: str, database_url: str, geodata_dir: str, logs: list[Path]):
        self.url = url
        self.database_url = database_url
        self.geodata_dir = geodata_dir
        self.logs = logs

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        """Call /api/v1 as a client would; returns (status, JSON body)."""
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {token}"} if token else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def login(self, username: str, password: str = DEMO_PASSWORD) -> str:
        """An API token for a user (the demo accounts share one password)."""
        status, body = self.api("POST", "/auth/login", {"username": username, "password": password})
        assert status == 200, body
        return body["token"]

    @cached_property
    def app(self):
        """An app bound to the server's database (use with app_context() and unscoped())."""
        from app import create_app

        return create_app(
            {"SQLALCHEMY_DATABASE_URI": self.database_url, "GEODATA_DIR": self.geodata_dir},
            role="worker",
        )

    def close(self) -> None:
        if "app" in self.__dict__:
            from app.extensions import db

            with self.app.app_context():
                db.engine.dispose()


def _wait_until_up(url: str, processes: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
            tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
            raise RuntimeError(f"the live server did not start\n{tails}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def live_server(request, app, tmp_path_factory):
    """gunicorn (gthread, as production runs it) and an RQ worker on a fresh database copy."""
    import redis

    name = "e2e_" + re.sub(r"\W", "_", request.module.__name__.rsplit(".", 1)[-1])
    database_url = _copy_database(app, name, tmp_path_factory.mktemp("e2e"))
    redis_url = app.extensions["redis_url_resolver"]()
    redis.Redis.from_url(redis_url).flushdb()  # no lockouts or queued jobs from other tests
    log_dir = ARTIFACTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "GEODATA_DIR": app.config["GEODATA_DIR"],
        "FLASK_APP": "wsgi.py",
        "WEB_THREADS": "8",
        # The test database's demo passwords were hashed cheaply; keep logins fast.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "PYTHONUNBUFFERED": "1",
    }
    commands = {
        "web": [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "8"]
        + ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        "worker": [sys.executable, "-m", "flask", "jobs", "worker"],
    }
    processes, logs = [], []
    for role, command in commands.items():
        log = log_dir / f"{name}-{role}.log"
        logs.append(log)
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    url = f"http://127.0.0.1:{port}"
    server = LiveServer(url, database_url, app.config["GEODATA_DIR"], logs)
    try:
        _wait_until_up(url, processes, logs)
        yield server
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        server.close()
        redis.Redis.from_url(redis_url).flushdb()
        _drop_database(database_url)


# -- the browser -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium (Playwright's own browser builds cannot be downloaded here)."""
    missing = _missing_browser()
    if missing and os.environ.get("CI") == "true":
        pytest.fail(missing)
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        browser.wangge_devices = playwright.devices
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def phone_position(app):
    """A GPS fix inside the demo grid, as the phone's geolocation reports it."""
    from app.core.scope import unscoped
    from app.extensions import db
    from app.geo.models import Area

    with app.app_context(), unscoped():
        point = db.session.get(Area, int(DEMO_GRID)).geom.representative_point()
        db.session.remove()
    return {"latitude": point.y, "longitude": point.x, "accuracy": 8}


def _context(request, browser, **options):
    context = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", service_workers="allow", **options
    )
    context.set_default_timeout(15_000)
    yield context
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        for i, page in enumerate(context.pages):
            path = ARTIFACTS / "failures" / f"{_slug(request.node.name)}-{i}.png"
            # A crashed page must not hide the real failure.
            with contextlib.suppress(Exception):
                page.screenshot(path=path, full_page=True)
    context.close()


@pytest.fixture
def phone(request, browser, live_server, phone_position):
    """A Pixel 7 in Chinese, with location allowed and standing in the demo grid."""
    device = dict(browser.wangge_devices["Pixel 7"])
    device.pop("default_browser_type", None)
    yield from _context(
        request,
        browser,
        **device,
        base_url=live_server.url,
        geolocation=phone_position,
        permissions=["geolocation"],
    )


@pytest.fixture
def console(request, browser, live_server):
    """The command centre's desktop screen, 1920×1080."""
    yield from _context(
        request, browser, viewport={"width": 1920, "height": 1080}, base_url=live_server.url
    )


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")


@pytest.fixture
def screenshot(request):
    """Save a page's screenshot as a test artifact: screenshot(page, "name") → its path."""

    def take(page, name: str, *, full_page: bool = False) -> Path:
        path = ARTIFACTS / "screenshots" / f"{_slug(request.node.name)}-{_slug(name)}.png"
        page.screenshot(path=path, full_page=full_page)
        return path

    return take


class NetworkLog:
    """What a browser context fetched over the network (the service worker's fetches included,
    the answers it served from its cache not): for measuring transfer sizes."""

    def __init__(self, context):
        self.entries: list[dict] = []
        self.failed: list[str] = []
        context.on("requestfinished", self._finished)
        context.on("requestfailed", lambda request: self.failed.append(request.url))

    def _finished(self, request) -> None:
        response = request.response()
        if response is None or response.from_service_worker:
            return
        sizes = request.sizes()
        self.entries.append(
            {
                "url": request.url,
                "status": response.status,
                "by_service_worker": request.service_worker is not None,
                "body": sizes["responseBodySize"],
                "headers": sizes["responseHeadersSize"],
            }
        )

    def transferred(self) -> int:
        """Bytes received: bodies as sent (compressed when the server compressed) plus headers."""
        return sum(max(e["body"], 0) + max(e["headers"], 0) for e in self.entries)

    def clear(self) -> None:
        self.entries.clear()
        self.failed.clear()


@pytest.fixture
def network_log():
    """network_log(context) → a NetworkLog recording that context from now on."""
    return NetworkLog


@pytest.fixture(scope="session", autouse=True)
def _clean_artifacts():
    for sub in ("screenshots", "failures"):
        shutil.rmtree(ARTIFACTS / sub, ignore_errors=True)
        (ARTIFACTS / sub).mkdir(parents=True, exist_ok=True)

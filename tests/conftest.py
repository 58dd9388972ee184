"""Test harness: one database per run (SQLite file or a PostgreSQL test database), migrated
with the real migrations and loaded with the one-district geodata fixture (渝中区); each
test runs inside a transaction that is rolled back.

WANGGE_TEST_DATABASE=sqlite (default) or a postgresql:// URL; WANGGE_TEST_REDIS=a redis://
URL, else the embedded Redis. scripts/test runs both passes.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="wangge-test-"))
os.environ["WANGGE_INSTANCE"] = str(_TMP / "instance")
os.environ.setdefault("WANGGE_ENV", "testing")

from flask_sqlalchemy.session import _app_ctx_id  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.orm import scoped_session, sessionmaker  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.support import DEMO_PASSWORD, IS_POSTGRES, ROOT, TEST_DATABASE  # noqa: E402

FIXTURE_DISTRICT = "500103000000"  # 渝中区
# The fixture is cached across runs under instance/ (same recipe → same bytes).
FIXTURE_DIR = ROOT / "instance" / "test-geodata" / FIXTURE_DISTRICT


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs PostgreSQL + PostGIS; runs in the PostgreSQL pass")
    for item in items:
        if "postgres" in item.keywords and not IS_POSTGRES:
            item.add_marker(skip)


def build_fixture_geodata() -> Path:
    """Build the one-district subset once; rebuilt only when the generator or sources change."""
    from app.geo.cli import ensure_built

    ensure_built(FIXTURE_DIR, (FIXTURE_DISTRICT,))
    return FIXTURE_DIR


def _reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(scope="session")
def app():
    geodata_dir = build_fixture_geodata()
    if IS_POSTGRES:
        _reset_postgres(TEST_DATABASE)
        database_url = TEST_DATABASE
    else:
        database_url = f"sqlite:///{_TMP / 'test.db'}"
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = os.environ.get("WANGGE_TEST_REDIS", "embedded")
    app = create_app(
        {
            "TESTING": True,
            "GEODATA_DIR": str(geodata_dir),
            # Cheap hashing: the KDF's cost is configuration, its behaviour is not.
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 1024,
            "ARGON2_PARALLELISM": 1,
            "GEO_INDEX_CHECK_SECONDS": 0.0,
            # Flask-SocketIO's test client refuses a message queue; tests/realtime covers the
            # queue across processes with a real web server and worker.
            "SOCKETIO_MESSAGE_QUEUE": False,
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        from app.accounts import demo
        from app.categories.service import seed_from_file
        from app.geo.loader import load
        from app.keys.service import load_kinds

        upgrade()
        load(geodata_dir)
        seed_from_file()
        load_kinds()
        demo.seed(password=DEMO_PASSWORD)
        db.session.commit()
        # Train the classifier now, as a deployment does before serving: otherwise the first
        # test that reports pays seconds for it inside its transaction (and, on SQLite, while
        # holding the write lock that a concurrent test thread waits for).
        from app.classify import service as classify

        classify.predict("路灯不亮")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app):
    """A session bound to a connection whose outer transaction is rolled back after the test."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        # A plain Session: Flask-SQLAlchemy's own get_bind() would ignore `bind` and go to
        # the engine, escaping the transaction.
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id,
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()
            # The process's copies may hold rows this rollback just removed.
            from app.core import cache

            cache.forget_all()


@pytest.fixture
def redis_client(app):
    """The app's Redis, emptied so counters (login failures) start from zero."""
    from app.core import redis as redis_

    with app.app_context():
        client = redis_.client()
        client.flushdb()
        yield client


@pytest.fixture
def client(app, session, redis_client):
    return app.test_client()


@pytest.fixture
def runner(app, session):
    return app.test_cli_runner()


class Auth:
    """Log in as a user and call the API with their token."""

    def __init__(self, client):
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        if username not in self._tokens:
            response = self.client.post(
                "/api/v1/auth/login", json={"username": username, "password": password}
            )
            assert response.status_code == 200, response.json
            self._tokens[username] = response.json["token"]
        return self._tokens[username]

    def headers(self, username: str) -> dict:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def get(self, username: str, url: str, **kw):
        return self.client.get(url, headers=self.headers(username), **kw)

    def post(self, username: str, url: str, **kw):
        return self.client.post(url, headers=self.headers(username), **kw)

    def request(self, username: str, method: str, url: str, **kw):
        return self.client.open(url, method=method, headers=self.headers(username), **kw)


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def sql(session):
    """Run raw SQL in the test's transaction."""
    return lambda statement, **params: session.execute(text(statement), params)


# -- reporting events -------------------------------------------------------------------------
@pytest.fixture
def point_in(session):
    """A point inside a grid (its representative point), as [lon, lat]."""

    from app.geo.models import Area

    def point(code: str) -> list[float]:
        area = session.scalar(select(Area).where(Area.id == int(code)))
        p = area.geom.representative_point()
        return [p.x, p.y]

    return point


@pytest.fixture
def report(auth, point_in):
    """POST a report as a user; returns the response."""

    def send(
        username="demo_worker",
        *,
        grid="500103003013001",
        text="民生路小区门口井盖不见了，晚上容易摔跤",
        client_uuid=None,
        **fields,
    ):
        body = {
            "client_uuid": str(client_uuid or uuid.uuid4()),
            "description": text,
            "location": {"type": "Point", "coordinates": point_in(grid)},
            **fields,
        }
        return auth.post(username, "/api/v1/events", json=body)

    return send

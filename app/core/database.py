"""Engine-level settings that make SQLite behave as the embedded production database."""

from __future__ import annotations

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db

_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    """Configure SQLite connections once the engine exists."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the web process read while the worker writes; busy_timeout waits out locks.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # IMMEDIATE takes the write lock up front. A deferred transaction that has read and
        # then writes while another writer commits fails at once with "database is locked"
        # (SQLite does not wait on a lock upgrade), which would break concurrent reports.
        # A GET only reads (its one write, the token's last-use stamp, is best effort): it
        # reads a snapshot without the lock, so the console never waits behind the worker.
        if has_request_context() and request.method in _READ_ONLY_METHODS:
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres() -> bool:
    """Whether the bound database is PostgreSQL (spatial SQL and SKIP LOCKED available)."""
    return db.engine.dialect.name == "postgresql"

"""The embedded database: on SQLite a GET reads while another process holds the write lock
(the RQ worker in the middle of a sweep), instead of queueing behind it. Real commits here,
no rolled-back test transaction: that transaction would itself hold the lock."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from tests.support import DEMO_PASSWORD, IS_POSTGRES

pytestmark = pytest.mark.skipif(
    IS_POSTGRES, reason="SQLite only: PostgreSQL readers never wait for writers"
)


def _in_thread(call):
    """Start call() in a thread; returns (thread, box) with the result or error in box."""
    box: dict = {}

    def run():
        started = time.monotonic()
        try:
            box["result"] = call()
        except Exception as error:  # noqa: BLE001 - reported by the test's asserts
            box["error"] = error
        box["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


@pytest.fixture
def write_lock(app):
    """A second connection to the same file, able to take the write lock as a worker would."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[1]
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def test_a_get_reads_while_the_worker_holds_the_write_lock(app, write_lock):
    client = app.test_client()
    login = client.post(
        "/api/v1/auth/login", json={"username": "demo_dispatcher", "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200, login.json
    headers = {"Authorization": f"Bearer {login.json['token']}"}
    before = client.get("/api/v1/events", query_string={"page_size": 5}, headers=headers)
    assert before.status_code == 200  # also stamps the token's last use

    write_lock.execute("BEGIN IMMEDIATE")
    try:
        thread, box = _in_thread(
            lambda: client.get("/api/v1/events", query_string={"page_size": 5}, headers=headers)
        )
        thread.join(timeout=5)  # the busy timeout a waiting reader would sit out is 10 s
        assert not thread.is_alive(), "the GET waited for the write lock"
        assert "error" not in box, box.get("error")
        assert box["result"].status_code == 200
        assert box["result"].json["total"] == before.json["total"]
    finally:
        write_lock.execute("ROLLBACK")
        thread.join(timeout=15)


def test_a_write_still_waits_for_the_lock_and_then_succeeds(app, write_lock):
    client = app.test_client()
    write_lock.execute("BEGIN IMMEDIATE")
    try:
        thread, box = _in_thread(
            lambda: client.post(
                "/api/v1/auth/login",
                json={"username": "demo_dispatcher", "password": DEMO_PASSWORD},
            )
        )
        thread.join(timeout=1)
        assert thread.is_alive(), "the login's write did not wait for the lock"
    finally:
        write_lock.execute("ROLLBACK")
    thread.join(timeout=15)
    assert "error" not in box, box.get("error")
    assert box["result"].status_code == 200

"""The classifier's periodic version check must not hold its lock while reading the database:
on SQLite a reading transaction holds the write lock, so a thread waiting for that lock under
the classifier's lock, and the lock holder waiting for the classifier, stalled both until the
busy timeout ("database is locked") whenever two reports came in at a check."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from app.extensions import db
from tests.support import IS_POSTGRES


@pytest.mark.skipif(IS_POSTGRES, reason="PostgreSQL readers take no write lock")
def test_two_predictions_at_a_version_check_do_not_stall(app):
    from app.classify import service

    with app.app_context():
        service.predict("路灯不亮")  # the model is trained and cached
        classifier, _ = app.extensions["wangge_classifier"]
        app.extensions["wangge_classifier"] = (classifier, 0.0)  # the check is due now

    holding = threading.Event()
    go = threading.Event()
    errors: list[Exception] = []
    took: dict[str, float] = {}

    def in_transaction() -> None:
        """A request that has already read (and so holds SQLite's write lock)."""
        try:
            with app.app_context():
                db.session.execute(text("SELECT 1"))
                holding.set()
                go.wait(10)
                started = time.monotonic()
                service.predict("井盖不见了")
                took["in_transaction"] = time.monotonic() - started
                db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def fresh() -> None:
        """A request whose first database access is the classifier's check."""
        try:
            with app.app_context():
                holding.wait(10)
                started = time.monotonic()
                service.predict("楼道堆满杂物")
                took["fresh"] = time.monotonic() - started
                db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=in_transaction), threading.Thread(target=fresh)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # `fresh` is now waiting on the database
    go.set()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert max(took.values()) < 5, took

"""Exactly once under concurrent retries: two copies of a report are both about to insert;
the database's unique constraint decides which one stands. Real threads, real commits."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select

from app.core.scope import unscoped
from app.events import service
from app.events.models import Event
from app.extensions import db


def test_two_copies_at_the_same_moment_make_one_event(app, monkeypatch):
    key = uuid.uuid4()
    with app.app_context(), unscoped():
        area_point = db.session.execute(
            select(func.min(Event.id))  # warm the mappers; the point comes from the grid below
        ).scalar()
        from app.geo.models import Area

        grid = db.session.get(Area, 500103003013001).geom.representative_point()
        del area_point
    data = service.Report(
        client_uuid=key,
        description="同时到达的两份上报：路灯不亮",
        lon=grid.x,
        lat=grid.y,
        subcategory="MUNICIPAL_STREETLIGHT",
    )

    # Both copies start at once (on SQLite the first to touch the database then holds the
    # write lock and the other waits for its commit; on PostgreSQL both insert concurrently).
    arrived = threading.Barrier(2, timeout=30)
    original_locate = service.geo.locate

    def racing_locate(**kwargs):
        arrived.wait()
        return original_locate(**kwargs)

    monkeypatch.setattr(service.geo, "locate", racing_locate)
    results, errors = [], []

    def send() -> None:
        try:
            with app.app_context():
                event, created = service.report(principal=None, data=data)
                db.session.commit()
                results.append((event.id, created))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(created for _, created in results) == [False, True]
    assert results[0][0] == results[1][0]
    with app.app_context(), unscoped():
        count = db.session.scalar(
            select(func.count()).select_from(Event).where(Event.client_uuid == key)
        )
    assert count == 1

"""The near-due/overdue sweep: flags once, notifies the right people, safe twice and in parallel."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.core.db import utcnow
from app.core.scope import unscoped
from app.events import service
from app.events.models import Event
from app.extensions import db
from app.realtime.models import OutboxMessage
from app.sla.sweep import sweep
from tests.support import IS_POSTGRES


def _report(session, text="路灯不亮好几天了", subcategory="MUNICIPAL_STREETLIGHT") -> Event:
    from app.geo.models import Area

    point = session.get(Area, 500103003013001).geom.representative_point()
    with unscoped():
        event, _ = service.report(
            principal=None,
            data=service.Report(
                client_uuid=uuid.uuid4(),
                description=text,
                lon=point.x,
                lat=point.y,
                subcategory=subcategory,
                source="console",
            ),
        )
    return event


def _rooms(session, event_id: int, kind: str) -> set[str]:
    return set(
        session.scalars(
            select(OutboxMessage.room).where(
                OutboxMessage.event_id == event_id, OutboxMessage.kind == kind
            )
        )
    )


def test_near_due_then_overdue_each_flagged_once_and_announced(session, auth):
    event = _report(session)
    assert event.warn_at < event.due_at
    first = sweep(now=event.warn_at - timedelta(seconds=1))
    assert (first.near_due, first.overdue) == (0, 0)

    near = sweep(now=event.warn_at + timedelta(seconds=1))
    assert near.near_due >= 1
    session.refresh(event)
    assert event.warned_at is not None and event.breached_at is None
    handler = f"user:{event.assigned_user_id}" if event.assigned_user_id else None
    assert "area:500103003000" in _rooms(session, event.id, "near_due")
    if handler:
        assert handler in _rooms(session, event.id, "near_due")
    listed = auth.get("demo_dispatcher", "/api/v1/events?near_due=true&page_size=500").json
    assert event.id in {e["id"] for e in listed["items"]}

    again = sweep(now=event.warn_at + timedelta(seconds=2))
    assert again.near_due == 0  # already flagged: nothing twice

    late = sweep(now=event.due_at + timedelta(seconds=1))
    assert late.overdue >= 1
    session.refresh(event)
    assert event.breached_at is not None
    overdue_rooms = _rooms(session, event.id, "overdue")
    # The handler is told, and so is the next level up (the district, for a department).
    assert "area:500103003000" in overdue_rooms
    assert (
        "area:500103000000" if event.handling_level == "department" else "area:500103003000"
    ) in overdue_rooms
    body = auth.get("demo_dispatcher", f"/api/v1/events/{event.id}").json
    assert body["overdue"] is True and body["near_due"] is False
    assert sweep(now=event.due_at + timedelta(seconds=5)).overdue == 0


def test_closed_events_are_never_flagged(session):
    event = _report(session)
    session.execute(update(Event).where(Event.id == event.id).values(state="closed"))
    result = sweep(now=event.due_at + timedelta(days=30))
    session.refresh(event)
    assert event.breached_at is None and event.warned_at is None
    assert _rooms(session, event.id, "overdue") == set()
    assert result.overdue >= 0


def test_a_restarted_stage_is_watched_again(session, auth):
    event = _report(session, text="两户邻居吵架", subcategory="DISPUTE_NEIGHBOR")
    first_due = event.due_at
    sweep(now=event.due_at + timedelta(seconds=1))
    session.refresh(event)
    assert event.breached_at is not None and event.overdue_at == first_due
    # The unit accepts: a new stage with a new clock, no longer overdue.
    with unscoped():
        handler = event.dispatch_reason["candidates"][0]["username"]
    response = auth.post(handler, f"/api/v1/events/{event.id}/actions", json={"action": "accept"})
    assert response.status_code == 200, response.json
    assert response.json["overdue"] is False and response.json["stage"] == "handle"
    # ...but that the accept stage ran late is kept for evaluation's on-time closure.
    session.expire_all()
    with unscoped():
        event = session.get(Event, event.id)
    assert event.breached_at is None and event.overdue_at == first_due


def test_a_stage_ended_late_is_remembered_before_any_sweep(session, auth):
    event = _report(session, text="两户邻居吵架", subcategory="DISPUTE_NEIGHBOR")
    with unscoped():
        handler = event.dispatch_reason["candidates"][0]["username"]
    # Accepted a minute too late, before the sweep had a chance to run.
    late_due = (utcnow() - timedelta(minutes=1)).replace(microsecond=0)
    session.execute(update(Event).where(Event.id == event.id).values(due_at=late_due))
    session.commit()
    response = auth.post(handler, f"/api/v1/events/{event.id}/actions", json={"action": "accept"})
    assert response.status_code == 200, response.json
    session.expire_all()
    with unscoped():
        event = session.get(Event, event.id)
    assert event.breached_at is None and event.overdue_at == late_due
    # A stage ended in time leaves it empty.
    on_time = _report(session, text="楼道灯坏了", subcategory="MUNICIPAL_STREETLIGHT")
    assert on_time.overdue_at is None


@pytest.mark.skipif(
    not IS_POSTGRES, reason="SKIP LOCKED concurrency is PostgreSQL's; SQLite serialises writers"
)
def test_two_sweeps_at_once_flag_each_event_exactly_once(app):
    with app.app_context(), unscoped():
        before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        events = [_report(db.session, text=f"并发清扫测试{i}") for i in range(40)]
        db.session.commit()
        ids = [e.id for e in events]
        now = max(e.due_at for e in events) + timedelta(minutes=1)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                results.append(sweep(now=now, batch=7))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with app.app_context(), unscoped():
        per_event = dict(
            db.session.execute(
                select(OutboxMessage.event_id, func.count())
                .where(
                    OutboxMessage.event_id.in_(ids),
                    OutboxMessage.kind == "overdue",
                    OutboxMessage.room == "area:500103003000",
                )
                .group_by(OutboxMessage.event_id)
            ).all()
        )
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) > before
    assert set(per_event) == set(ids)
    assert set(per_event.values()) == {1}  # never announced twice
    assert sum(r.overdue for r in results) >= len(ids)

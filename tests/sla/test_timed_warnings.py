"""Timed jobs make warnings punctual: each deadline has a sweep scheduled just after its
moment, shared with the other deadlines of the same few seconds."""

from __future__ import annotations

from datetime import UTC

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry


@pytest.fixture(autouse=True)
def _forget_scheduled_buckets():
    """Other tests' reports may have asked for the same buckets in this process, while the
    Redis that held their jobs has been emptied since."""
    from app.sla.service import _scheduled_buckets

    _scheduled_buckets.clear()


def _scheduled(redis_client) -> dict[str, object]:
    registry = ScheduledJobRegistry(queue=Queue("high", connection=redis_client))
    return {job_id: registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids()}


def test_a_report_schedules_a_sweep_at_its_warn_and_due_times(session, redis_client, report):
    from app.sla.service import TIMER_BUCKET_SECONDS

    sent = report(text="小区门口井盖不见了", subcategory="MUNICIPAL_MANHOLE")
    assert sent.status_code == 201
    event_id = sent.json["id"]
    from app.events.models import Event

    event = session.get(Event, event_id)
    jobs = {k: v.replace(tzinfo=UTC) for k, v in _scheduled(redis_client).items()}
    assert all(k.startswith("sla-sweep-") for k in jobs)
    # Filed and dispatched in one request: the final clock's two moments each have a sweep
    # scheduled after them, within a bucket (and a second of slack).
    for moment in (event.warn_at, event.due_at):
        after = [(at - moment).total_seconds() for at in jobs.values()]
        assert any(0 < gap <= TIMER_BUCKET_SECONDS + 1 for gap in after), (moment, jobs)


def test_reports_of_the_same_moment_share_one_sweep(session, redis_client, report):
    for text in ("一号楼井盖不见了", "二号楼门口井盖被偷"):
        assert report(text=text, subcategory="MUNICIPAL_MANHOLE").status_code == 201
    # Two reports a moment apart: their clocks end within the same bucket or two, not four.
    assert 2 <= len(_scheduled(redis_client)) <= 3


def _report(session, text: str):
    import uuid

    from app.core.scope import unscoped
    from app.events import service as events
    from app.geo.models import Area

    point = session.get(Area, 500103003013001).geom.representative_point()
    with unscoped():
        event, _ = events.report(
            principal=None,
            data=events.Report(
                client_uuid=uuid.uuid4(),
                description=text,
                lon=point.x,
                lat=point.y,
                subcategory="MUNICIPAL_MANHOLE",
                source="console",
            ),
        )
    return event


def test_a_rolled_back_transaction_schedules_nothing(session, redis_client):
    _report(session, "井盖缺失，回滚")
    session.rollback()
    assert _scheduled(redis_client) == {}


def test_a_lost_savepoint_race_keeps_the_outer_work(session, redis_client):
    from sqlalchemy import text

    event = _report(session, "井盖缺失，保留")
    event_id = event.id
    try:
        with session.begin_nested():
            session.execute(text("SELECT * FROM no_such_table"))
    except Exception:  # noqa: BLE001 - the failure is the point
        pass
    session.commit()
    assert event_id and _scheduled(redis_client)

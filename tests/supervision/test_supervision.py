"""One-click supervision: many overdue events in one action, notices reach handlers and
leaders, handlers reply, silence escalates, and counts feed evaluation."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from app.core.scope import unscoped
from app.events import service as events
from app.events.models import Event
from app.geo.models import Area
from app.realtime.models import OutboxMessage
from app.sla.sweep import sweep
from app.supervision.service import escalate_unanswered

DISPUTE = "DISPUTE_NEIGHBOR"


def _overdue_events(session, n: int, grid: int = 500103003013001) -> list[Event]:
    point = session.get(Area, grid).geom.representative_point()
    made = []
    with unscoped():
        for i in range(n):
            event, _ = events.report(
                principal=None,
                data=events.Report(
                    client_uuid=uuid.uuid4(),
                    description=f"邻居吵架第{i}次",
                    lon=point.x,
                    lat=point.y,
                    subcategory=DISPUTE,
                    source="console",
                ),
            )
            made.append(event)
        sweep(now=max(e.due_at for e in made) + timedelta(minutes=1))
    for event in made:
        session.refresh(event)
        assert event.breached_at is not None
    return made


def test_a_supervisor_supervises_every_overdue_event_in_one_click(session, auth):
    overdue = _overdue_events(session, 3)
    elsewhere = _overdue_events(session, 1, grid=500103001003001)[0]  # another township
    response = auth.post(
        "demo_supervisor_township",
        "/api/v1/supervisions",
        json={"all_overdue": True, "message": "请于今日内反馈处置进展", "reply_within_hours": 4},
    )
    assert response.status_code == 201, response.json
    supervised = {t["event_id"] for t in response.json["targets"]}
    assert {e.id for e in overdue} <= supervised
    assert elsewhere.id not in supervised  # another township's events are not this supervisor's

    event = overdue[0]
    body = auth.get("demo_dispatcher", f"/api/v1/events/{event.id}").json
    assert body["supervision_count"] == 1
    steps = auth.get("demo_dispatcher", f"/api/v1/events/{event.id}/timeline").json["items"]
    assert steps[-1]["action"] == "supervise" and steps[-1]["reason"] == "请于今日内反馈处置进展"
    rooms = set(
        session.scalars(
            select(OutboxMessage.room).where(
                OutboxMessage.event_id == event.id, OutboxMessage.kind == "supervision"
            )
        )
    )
    assert f"user:{event.assigned_user_id}" in rooms and "area:500103003000" in rooms


def test_the_handler_sees_the_notice_and_replies(session, auth):
    event = _overdue_events(session, 1)[0]
    notice = auth.post(
        "demo_supervisor_district",
        "/api/v1/supervisions",
        json={"event_ids": [event.id], "message": "尽快处理"},
    ).json
    handler = next(
        c["username"]
        for c in event.dispatch_reason["candidates"]
        if c["user_id"] == event.assigned_user_id
    )
    pending = auth.get(handler, "/api/v1/supervisions/targets").json["items"]
    target = next(t for t in pending if t["event_id"] == event.id)
    assert target["notice_id"] == notice["id"] and target["state"] == "pending"
    assert target["message"] == "尽快处理"  # the handler reads what the supervisor asked

    outsider = auth.post(
        "demo_board_party",
        f"/api/v1/supervisions/targets/{target['id']}/reply",
        json={"reply": "不是我的"},
    )
    assert outsider.status_code == 403
    answered = auth.post(
        handler,
        f"/api/v1/supervisions/targets/{target['id']}/reply",
        json={"reply": "已约双方明天上午调解"},
    )
    assert answered.status_code == 200 and answered.json["state"] == "replied"
    twice = auth.post(
        handler, f"/api/v1/supervisions/targets/{target['id']}/reply", json={"reply": "again"}
    )
    assert twice.status_code == 409
    told = session.scalars(
        select(OutboxMessage.room).where(
            OutboxMessage.event_id == event.id, OutboxMessage.kind == "supervision_reply"
        )
    ).all()
    assert told  # the supervisor's own room heard back


def test_silence_escalates_once(session, auth):
    event = _overdue_events(session, 1)[0]
    notice = auth.post(
        "demo_supervisor_township",
        "/api/v1/supervisions",
        json={"event_ids": [event.id], "message": "请回复", "reply_within_hours": 1},
    ).json
    later = event.due_at + timedelta(hours=3)
    assert escalate_unanswered(now=later) >= 1
    assert escalate_unanswered(now=later + timedelta(minutes=1)) == 0
    target = auth.get("demo_supervisor_township", "/api/v1/supervisions/targets?pending=false").json
    mine = next(t for t in target["items"] if t["notice_id"] == notice["id"])
    assert mine["state"] == "escalated" and mine["escalated_at"]


def test_only_supervisors_supervise_and_only_what_they_can_see(session, auth):
    event = _overdue_events(session, 1, grid=500103001003001)[0]  # not 解放碑街道
    refused = auth.post(
        "demo_dispatcher", "/api/v1/supervisions", json={"event_ids": [event.id], "message": "x"}
    )
    assert refused.status_code == 403
    unseen = auth.post(
        "demo_supervisor_township",
        "/api/v1/supervisions",
        json={"event_ids": [event.id], "message": "x"},
    )
    assert unseen.status_code == 422 and unseen.json["error"]["code"] == "events_unavailable"
    empty = auth.post("demo_supervisor_township", "/api/v1/supervisions", json={"message": "x"})
    assert empty.status_code == 422 and empty.json["error"]["code"] == "events_required"


def test_the_targets_list_pages_and_filters(session, auth):
    made = _overdue_events(session, 3)
    notice = auth.post(
        "demo_supervisor_township",
        "/api/v1/supervisions",
        json={"event_ids": [e.id for e in made], "message": "请尽快处理", "reply_within_hours": 1},
    ).json
    first = auth.get("demo_supervisor_township", "/api/v1/supervisions/targets?page_size=2").json
    assert first["total"] >= 3 and len(first["items"]) == 2
    mine = auth.get(
        "demo_supervisor_township", f"/api/v1/supervisions/targets?notice_id={notice['id']}"
    ).json
    assert {t["event_id"] for t in mine["items"]} == {e.id for e in made}
    one = auth.get(
        "demo_supervisor_township", f"/api/v1/supervisions/targets?event_id={made[0].id}"
    ).json
    assert [t["event_id"] for t in one["items"]] == [made[0].id]
    # Nothing is late yet: the reply is due in an hour.
    late = auth.get(
        "demo_supervisor_township",
        f"/api/v1/supervisions/targets?notice_id={notice['id']}&overdue=true",
    ).json
    assert late["total"] == 0
    bad = auth.get("demo_supervisor_township", "/api/v1/supervisions/targets?state=lost")
    assert bad.status_code == 422

"""Whistle 吹哨 and report-in 报到: a township summons district departments in one action, each
reports in on time or late (counted), the sweep warns about silence once, and departments that
reported in co-handle the event."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import Department
from app.core.scope import unscoped
from app.events.models import Event
from app.extensions import db
from app.realtime.models import OutboxMessage
from app.sla.service import calendar
from app.whistle import service as whistle_service
from app.whistle.models import Summons, Whistle
from app.whistle.sweep import flag_overdue
from tests.support import IS_POSTGRES

TOWNSHIP_ROOM = "area:500103003000"  # 解放碑街道
DISPUTE = "DISPUTE_NEIGHBOR"  # village level: 民生路社区 handles it until the township whistles
ZJ_USER, ZJ_PASSWORD = "whistle_zj", "Zhujian-2026-pw"


def _department(session, code: str) -> int:
    with unscoped():
        return session.scalar(select(Department.id).where(Department.code == code))


@pytest.fixture
def depts(session) -> dict[str, int]:
    """渝中区's 城管 (demo_dept_cg works there) and 住建 (with a handler made here)."""
    from app.accounts.service import create_user

    with unscoped():
        create_user(
            username=ZJ_USER, password=ZJ_PASSWORD, role="department_handler", node="500103-ZJ"
        )
        session.flush()
    return {"cg": _department(session, "500103-CG"), "zj": _department(session, "500103-ZJ")}


@pytest.fixture
def zj(auth, depts) -> str:
    auth.token(ZJ_USER, ZJ_PASSWORD)
    return ZJ_USER


def _whistle(auth, event_id: int, departments: list[int], user="demo_dispatcher", **body):
    return auth.post(
        user,
        f"/api/v1/events/{event_id}/whistle",
        json={"department_ids": departments, "reason": "违建涉及多部门，请到场会商", **body},
    )


def _rooms(session, event_id: int, kind: str) -> set[str]:
    return set(
        session.scalars(
            select(OutboxMessage.room).where(
                OutboxMessage.event_id == event_id, OutboxMessage.kind == kind
            )
        )
    )


def _counts(auth) -> dict[int, dict]:
    items = auth.get("demo_dispatcher", "/api/v1/whistles/counts?area=500103003000").json["items"]
    return {c["department_id"]: c for c in items}


def _delta(after: dict, before: dict, department: int, key: str) -> int:
    return after.get(department, {}).get(key, 0) - before.get(department, {}).get(key, 0)


def test_two_departments_summoned_one_on_time_one_late_and_counted(
    session, auth, report, depts, zj, monkeypatch
):
    cg, zj_id = depts["cg"], depts["zj"]
    event = report(text="楼顶私搭乱建，邻居投诉漏水", subcategory=DISPUTE).json
    assert auth.get(zj, f"/api/v1/events/{event['id']}").status_code == 404  # not involved yet
    before = _counts(auth)

    response = _whistle(auth, event["id"], [cg, zj_id])
    assert response.status_code == 201, response.json
    whistle = response.json
    assert whistle["lead_department_id"] == cg and whistle["limit_unit"] == "working_hours"
    created = session.get(Whistle, whistle["id"]).created_at
    due = calendar().add(created, 2, "working_hours")  # the configured default
    assert whistle["report_in_due_at"] == due.isoformat()
    by_department = {s["department_id"]: s for s in whistle["summons"]}
    assert set(by_department) == {cg, zj_id}
    assert {s["state"] for s in whistle["summons"]} == {"pending"}

    # One transition through the lifecycle table: escalated, led by the first department.
    body = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}").json
    assert body["state"] == "escalated" and body["assigned_unit"]["department_id"] == cg
    steps = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}/timeline").json["items"]
    assert (steps[-1]["action"], steps[-1]["to_state"]) == ("escalate", "escalated")
    assert [d["id"] for d in steps[-1]["data"]["departments"]] == [cg, zj_id]
    assert steps[-1]["data"]["report_in_due_at"] == due.isoformat()
    assert {f"dept:{cg}", f"dept:{zj_id}", TOWNSHIP_ROOM} <= _rooms(session, event["id"], "whistle")

    # The summoned department that does not lead now sees the event and its summons.
    assert auth.get(zj, f"/api/v1/events/{event['id']}").status_code == 200
    mine = auth.get(zj, "/api/v1/whistles/summons?mine=true&pending=true").json["items"]
    assert [s["id"] for s in mine] == [by_department[zj_id]["id"]]

    on_time = auth.post(
        "demo_dept_cg",
        f"/api/v1/whistles/summons/{by_department[cg]['id']}/report-in",
        json={"note": "城管执法中队已到场"},
    )
    assert on_time.status_code == 200, on_time.json
    assert on_time.json["state"] == "on_time" and on_time.json["late"] is False
    assert on_time.json["late_by_seconds"] == 0
    assert {f"dept:{zj_id}", TOWNSHIP_ROOM} <= _rooms(session, event["id"], "report_in")

    # The minute's sweep warns about 住建's silence once, however often it runs.
    assert flag_overdue(now=due - timedelta(seconds=1)) == 0
    assert flag_overdue(now=due + timedelta(minutes=1)) == 1
    assert flag_overdue(now=due + timedelta(minutes=2)) == 0
    assert _rooms(session, event["id"], "report_in_late") == {f"dept:{zj_id}", TOWNSHIP_ROOM}
    late_list = auth.get("demo_dispatcher", "/api/v1/whistles/summons?late=true").json["items"]
    assert by_department[zj_id]["id"] in {s["id"] for s in late_list}

    # 住建 reports in an hour and a half after the deadline.
    monkeypatch.setattr(whistle_service, "utcnow", lambda: due + timedelta(minutes=90))
    late = auth.post(
        zj,
        f"/api/v1/whistles/summons/{by_department[zj_id]['id']}/report-in",
        json={"note": "住建委执法人员已联系业主"},
    )
    assert late.status_code == 200, late.json
    assert late.json["state"] == "late" and late.json["late"] is True
    assert late.json["late_by_seconds"] == 90 * 60
    assert late.json["overdue_at"] is not None

    after = _counts(auth)
    assert _delta(after, before, cg, "on_time") == 1 and _delta(after, before, cg, "late") == 0
    assert _delta(after, before, zj_id, "late") == 1
    assert _delta(after, before, zj_id, "overdue") == 0  # it did report in, late
    assert _delta(after, before, zj_id, "summoned") == 1
    steps = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}/timeline").json["items"]
    report_ins = [s for s in steps if s["action"] == "report_in"]
    assert [(s["actor_name"], s["data"]["late"]) for s in report_ins] == [
        ("demo_dept_cg", False),
        (zj, True),
    ]

    # Having reported in, 住建 co-handles: its queue, its notes; the lead unit still leads.
    units = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}/co-handlers").json
    assert [(u["department_id"], u["role"]) for u in units["items"]] == [(zj_id, "co_handler")]
    queue = auth.get(zj, "/api/v1/events?co_handling=true&page_size=500").json["items"]
    assert event["id"] in {e["id"] for e in queue}
    not_co = auth.get(zj, "/api/v1/events?co_handling=false&page_size=500").json["items"]
    assert event["id"] not in {e["id"] for e in not_co}
    note = auth.post(zj, f"/api/v1/events/{event['id']}/notes", json={"note": "已调取规划档案"})
    assert note.status_code == 201, note.json
    assert note.json["data"]["as"] == "co_handler"
    seen = auth.get(zj, f"/api/v1/events/{event['id']}/timeline").json["items"]
    assert seen[-1]["action"] == "note" and seen[-1]["reason"] == "已调取规划档案"
    accept = auth.post(zj, f"/api/v1/events/{event['id']}/actions", json={"action": "accept"})
    assert accept.status_code == 403 and accept.json["error"]["code"] == "action_forbidden"
    lead = auth.post(
        "demo_dept_cg", f"/api/v1/events/{event['id']}/actions", json={"action": "accept"}
    )
    assert lead.status_code == 200 and lead.json["state"] == "in_progress"


def test_emergencies_count_wall_clock_minutes(session, auth, report, depts):
    event = report(text="后山滑坡，泥土冲到路上了", subcategory="GEOHAZARD_LANDSLIDE").json
    assert event["emergency"] is True
    response = _whistle(
        auth, event["id"], [depts["zj"], depts["cg"]], lead_department_id=depts["cg"]
    )
    assert response.status_code == 201, response.json
    record = session.get(Whistle, response.json["id"])
    assert record.limit_unit == "minutes"
    assert record.report_in_due_at - record.created_at == timedelta(minutes=30)
    assert response.json["lead_department_id"] == depts["cg"]

    routine = report(text="楼道里有人私拉电线", subcategory=DISPUTE).json
    custom = _whistle(auth, routine["id"], [depts["cg"]], report_in_minutes=90)
    assert custom.status_code == 201, custom.json
    record = session.get(Whistle, custom.json["id"])
    assert record.report_in_due_at == calendar().add(record.created_at, 1.5, "working_hours")


def test_refusals(session, auth, report, depts, zj):
    event = report(text="小区里有人乱搭棚子", subcategory=DISPUTE).json
    for user in ("demo_board_party", "demo_dept_cg", "demo_worker"):
        refused = _whistle(auth, event["id"], [depts["cg"]], user=user)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "role_forbidden"

    with unscoped():
        foreign = Department(
            code="500104-ZJ",
            name="大渡口区住房和城乡建设委员会",
            short_name="住建",
            kind="ZJ",
            district_id=500104000000,
        )
        session.add(foreign)
        session.flush()
    elsewhere = _whistle(auth, event["id"], [depts["cg"], foreign.id])
    assert elsewhere.status_code == 422
    assert elsewhere.json["error"]["code"] == "department_elsewhere"
    assert elsewhere.json["error"]["details"]["ids"] == [foreign.id]
    unknown = _whistle(auth, event["id"], [depts["cg"], 999_999])
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "unknown_department"
    no_lead = _whistle(auth, event["id"], [depts["cg"]], lead_department_id=depts["zj"])
    assert no_lead.status_code == 422 and no_lead.json["error"]["code"] == "lead_not_summoned"
    # Nothing of the refused whistles was kept.
    listed = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}/whistles").json
    assert listed["items"] == []
    assert auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}").json["state"] == (
        "dispatched"
    )

    other_township = report(text="邻居吵架", subcategory=DISPUTE, grid="500103001003001").json
    unseen = _whistle(auth, other_township["id"], [depts["cg"]])
    assert unseen.status_code == 404

    whistled = _whistle(auth, event["id"], [depts["cg"], depts["zj"]]).json
    again = _whistle(auth, event["id"], [depts["zj"]])
    assert again.status_code == 409 and again.json["error"]["code"] == "transition_not_allowed"

    zj_summons = next(s for s in whistled["summons"] if s["department_id"] == depts["zj"])
    url = f"/api/v1/whistles/summons/{zj_summons['id']}/report-in"
    not_mine = auth.post("demo_dept_cg", url, json={"note": "替住建报到"})
    assert not_mine.status_code == 403 and not_mine.json["error"]["code"] == "not_your_department"
    dispatcher = auth.post("demo_dispatcher", url, json={"note": "代报到"})
    assert dispatcher.status_code == 403 and dispatcher.json["error"]["code"] == "role_forbidden"
    first = auth.post(zj, url, json={"note": "已到场"})
    assert first.status_code == 200, first.json
    twice = auth.post(zj, url, json={"note": "再次报到"})
    assert twice.status_code == 409 and twice.json["error"]["code"] == "already_reported"
    missing = auth.post(zj, "/api/v1/whistles/summons/999999/report-in", json={"note": "x"})
    assert missing.status_code == 404 and missing.json["error"]["code"] == "summons_not_found"


def test_the_sweep_leaves_reported_and_finished_events_alone(session, auth, report, depts, zj):
    event = report(text="楼下餐馆油烟扰民", subcategory=DISPUTE).json
    whistled = _whistle(auth, event["id"], [depts["cg"], depts["zj"]]).json
    zj_summons = next(s for s in whistled["summons"] if s["department_id"] == depts["zj"])
    auth.post(zj, f"/api/v1/whistles/summons/{zj_summons['id']}/report-in", json={"note": "到"})
    due = session.get(Whistle, whistled["id"]).report_in_due_at

    closed = report(text="楼道堆放杂物", subcategory=DISPUTE).json
    closed_whistle = _whistle(auth, closed["id"], [depts["cg"]]).json
    with unscoped():
        session.get(Event, closed["id"]).state = "closed"
        session.flush()

    flag_overdue(now=due + timedelta(days=30))
    states = {
        s.id: s.state
        for s in session.scalars(
            select(Summons).where(Summons.whistle_id.in_([whistled["id"], closed_whistle["id"]]))
        )
    }
    cg_summons = next(s for s in whistled["summons"] if s["department_id"] == depts["cg"])
    assert states[cg_summons["id"]] == "overdue"
    assert states[zj_summons["id"]] == "on_time"
    assert states[closed_whistle["summons"][0]["id"]] == "pending"  # closed: nothing to report to


def test_triage_names_co_handling_units_who_see_and_note(session, auth, report, depts, zj):
    from app.accounts.service import create_user

    with unscoped():
        create_user(
            username="whistle_lianhuachi",
            password="Lianhua-2026-pw",
            role="village_staff",
            node="500103003016",  # 莲花池社区, next to 民生路社区 where the event is
        )
        session.flush()
    neighbour = "whistle_lianhuachi"
    auth.token(neighbour, "Lianhua-2026-pw")
    event = report(text="两个社区交界处的围墙归属争议", subcategory=DISPUTE).json
    url = f"/api/v1/events/{event['id']}/co-handlers"
    assert auth.get(neighbour, f"/api/v1/events/{event['id']}").status_code == 404

    units = [
        {"level": "village", "area": "500103003016"},
        {"level": "board", "board": "safety"},
        {"level": "department", "department_id": depts["zj"]},
    ]
    refused = auth.post("demo_village", url, json={"units": units})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "role_forbidden"
    added = auth.post("demo_dispatcher", url, json={"units": units, "reason": "边界涉及两个社区"})
    assert added.status_code == 200, added.json
    assert [(u["level"], u["role"]) for u in added.json["items"]] == [
        ("village", "co_handler"),
        ("board", "co_handler"),
        ("department", "co_handler"),
    ]
    assert added.json["items"][1]["name"] == "平安法治"
    again = auth.post("demo_dispatcher", url, json={"units": units})  # idempotent
    assert len(again.json["items"]) == 3
    steps = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}/timeline").json["items"]
    assert [s["action"] for s in steps].count("co_handle") == 1
    assert {"area:500103003016", TOWNSHIP_ROOM, f"dept:{depts['zj']}"} <= _rooms(
        session, event["id"], "co_handling"
    )

    # Each co-handling unit sees the event, finds it in its queue and adds progress notes.
    assert auth.get(neighbour, f"/api/v1/events/{event['id']}").status_code == 200
    for user in (neighbour, "demo_board_safety", zj):
        queue = auth.get(user, "/api/v1/events?co_handling=true&page_size=500").json["items"]
        assert event["id"] in {e["id"] for e in queue}, user
        note = auth.post(
            user, f"/api/v1/events/{event['id']}/notes", json={"note": f"{user}已跟进"}
        )
        assert note.status_code == 201, (user, note.json)
    steps = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}/timeline").json["items"]
    notes = [(s["actor_name"], s["data"]["as"]) for s in steps if s["action"] == "note"]
    assert notes == [
        (neighbour, "co_handler"),
        ("demo_board_safety", "co_handler"),
        (zj, "co_handler"),
    ]

    # Not a co-handler, not the lead: no notes. Co-handlers take no lifecycle actions.
    outsider = auth.post(
        "demo_board_party", f"/api/v1/events/{event['id']}/notes", json={"note": "x"}
    )
    assert outsider.status_code == 403 and outsider.json["error"]["code"] == "action_forbidden"
    act = auth.post(neighbour, f"/api/v1/events/{event['id']}/actions", json={"action": "accept"})
    assert act.status_code == 403
    lead_note = auth.post(
        "demo_village", f"/api/v1/events/{event['id']}/notes", json={"note": "牵头"}
    )
    assert lead_note.status_code == 201 and lead_note.json["data"]["as"] == "lead"

    # The lead unit and places outside the township are refused as co-handlers.
    lead = auth.post(
        "demo_dispatcher", url, json={"units": [{"level": "village", "area": "500103003013"}]}
    )
    assert lead.status_code == 422 and lead.json["error"]["code"] == "unit_is_lead"
    far = auth.post(
        "demo_dispatcher", url, json={"units": [{"level": "village", "area": "500103001003"}]}
    )
    assert far.status_code == 422 and far.json["error"]["code"] == "village_elsewhere"
    unnamed = auth.post("demo_dispatcher", url, json={"units": [{"level": "board"}]})
    assert unnamed.status_code == 422


@pytest.mark.skipif(
    not IS_POSTGRES, reason="SKIP LOCKED concurrency is PostgreSQL's; SQLite serialises writers"
)
def test_two_sweeps_at_once_warn_about_each_summons_once(app):
    from app.accounts.models import User
    from app.events.service import Report
    from app.events.service import report as report_event
    from app.geo.models import Area

    with app.app_context(), unscoped():
        point = db.session.get(Area, 500103003013001).geom.representative_point()
        event, _ = report_event(
            principal=None,
            data=Report(
                client_uuid=uuid.uuid4(),
                description="并发报到清扫测试",
                lon=point.x,
                lat=point.y,
                subcategory=DISPUTE,
                source="console",
            ),
        )
        department = db.session.scalar(select(Department.id).where(Department.code == "500103-CG"))
        dispatcher = db.session.scalar(select(User.id).where(User.username == "demo_dispatcher"))
        due = event.received_at - timedelta(hours=1)
        ids = []
        for _ in range(30):  # one summons per whistle (a department is summoned once each)
            record = Whistle(
                event_id=event.id,
                created_by=dispatcher,
                reason="并发清扫测试",
                lead_department_id=department,
                report_in_due_at=due,
                limit_unit="working_hours",
                limit_amount=2,
            )
            record.summons.append(
                Summons(event_id=event.id, department_id=department, report_in_due_at=due)
            )
            db.session.add(record)
            db.session.flush()
            ids.append(record.summons[0].id)
        db.session.commit()
        event_id = event.id
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                results.append(flag_overdue(now=due + timedelta(minutes=1), batch=4))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with app.app_context(), unscoped():
        warnings = db.session.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.kind == "report_in_late",
                OutboxMessage.room == f"dept:{department}",
                OutboxMessage.event_id == event_id,
            )
        ).all()
        states = set(db.session.scalars(select(Summons.state).where(Summons.id.in_(ids))))
    assert sorted(w["summons_id"] for w in warnings) == sorted(ids)  # each warned exactly once
    assert states == {"overdue"}
    assert sum(results) >= len(ids)


def test_a_new_whistle_counts_no_one_else(session, auth, report, depts):
    """Counts are per department: a whistle to 城管 alone changes only 城管's."""
    before = _counts(auth)
    event = report(text="门面违规外摆", subcategory=DISPUTE).json
    assert _whistle(auth, event["id"], [depts["cg"]]).status_code == 201
    after = _counts(auth)
    assert _delta(after, before, depts["cg"], "pending") == 1
    assert _delta(after, before, depts["zj"], "summoned") == 0

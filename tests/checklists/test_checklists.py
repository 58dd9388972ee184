"""Checklist dispatch 清单派发: building and sending (validation, targeting, scope), answers
(idempotent, judged by the server), the roll-up, the late sweep, and the event a failed item
raises exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.checklists.models import Checklist, ChecklistAnswer, ChecklistAssignment
from app.checklists.sweep import sweep
from app.core.scope import unscoped
from app.geo.codes import ancestry
from app.keys.models import KeyPlace
from app.realtime.models import OutboxMessage

TOWNSHIP = "500103003000"  # 解放碑街道 (demo_dispatcher)
VILLAGE = "500103003013"  # 民生路社区 (demo_village, demo_worker)
GRID = "500103003013001"  # demo_worker's home grid
GRID_2 = "500103003013002"  # demo_worker's second grid
OTHER_VILLAGE_GRID = "500103003016001"  # 莲花池社区, same township
OTHER_TOWNSHIP_GRID = "500103001003001"  # 七星岗街道


def _in(hours: float = 24) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


ITEMS = [
    {"key": "photo", "label": "拍摄危岩全貌", "kind": "photo"},
    {"key": "gps", "label": "到场定位", "kind": "gps"},
    {"key": "crack", "label": "是否有新增裂缝", "kind": "yes_no", "fail_on": True},
    {
        "key": "width",
        "label": "裂缝宽度",
        "kind": "value",
        "unit": "mm",
        "min_value": 0,
        "max_value": 10,
    },
    {
        "key": "sign",
        "label": "警示牌是否完好",
        "kind": "yes_no",
        "fail_on": False,
        "required": False,
    },
]


def _body(areas=(GRID,), *, items=ITEMS, kind=None, title="汛前危岩排查", due=None) -> dict:
    return {
        "title": title,
        "instructions": "暴雨前逐点检查，发现险情立即上报",
        "due_at": due or _in(),
        "items": list(items),
        "targets": {"areas": list(areas), "key_place_kind": kind},
    }


@pytest.fixture
def send(auth):
    def make(user="demo_dispatcher", **kw):
        return auth.post(user, "/api/v1/checklists", json=_body(**kw))

    return make


def _assignments(auth, user, checklist_id) -> list[dict]:
    response = auth.get(user, f"/api/v1/checklist-assignments?checklist_id={checklist_id}")
    assert response.status_code == 200, response.json
    return response.json["items"]


def _mine(auth, checklist_id, grid=GRID) -> dict:
    [found] = [a for a in _assignments(auth, "demo_worker", checklist_id) if a["grid_code"] == grid]
    return found


def _answer(auth, assignment_id, key, user="demo_worker", **body):
    path = f"/api/v1/checklist-assignments/{assignment_id}/answers/{key}"
    return auth.request(user, "PUT", path, json=body)


def _jpeg(colour: str) -> bytes:
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def _upload(auth, user="demo_worker", colour="red") -> int:
    response = auth.post(
        user,
        "/api/v1/attachments",
        data={"file": (BytesIO(_jpeg(colour)), "p.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 201), response.json
    return response.json["id"]


def _point(session, code: str) -> list[float]:
    from app.geo.models import Area

    with unscoped():
        p = session.get(Area, int(code)).geom.representative_point()
    return [p.x, p.y]


def _gps(session, code=GRID) -> dict:
    return {"location": {"type": "Point", "coordinates": _point(session, code)}, "accuracy_m": 6}


def _count(session, model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    with unscoped():
        return session.scalar(stmt)


def _uid(session, username: str) -> int:
    with unscoped():
        return session.scalar(select(User.id).where(User.username == username))


def _messages(session, kind: str) -> list[OutboxMessage]:
    with unscoped():
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


# -- building and sending -------------------------------------------------------------------


def test_a_bad_checklist_is_refused_with_every_reason_and_nothing_is_sent(auth, session):
    bad_items = [
        {"label": "", "kind": "photo"},
        {"label": "水位", "kind": "value", "min_value": 5, "max_value": 1},
        {"label": "有无落石", "kind": "yes_no", "unit": "m", "min_value": 1},
        {"label": "x", "kind": "video"},
    ]
    response = auth.post("demo_dispatcher", "/api/v1/checklists", json=_body(items=bad_items))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_error"
    # Every wrong item is named at once, in Chinese, so the form can mark them all.
    items = error["details"]["json"]["items"]
    assert set(items) == {"0", "1", "2", "3"}
    assert items["0"]["label"] == ["长度应在 1 到 200 之间"]
    assert items["1"]["min_value"] == ["最小值不能大于最大值"]
    assert items["2"]["min_value"] == ["只有数值项可以设置允许范围"]
    assert "应为以下之一" in items["3"]["kind"][0]

    cases = [
        (_body(due=_in(-1)), "due_too_soon"),
        (_body(due=_in(24 * 100)), "due_too_far"),
        (_body(items=[ITEMS[0], {**ITEMS[1], "key": "photo"}]), "duplicate_item_key"),
        (_body(items=[{**ITEMS[0], "required": False}]), "no_required_item"),
        (_body(areas=["500103003099001"]), "unknown_area"),
        (_body(areas=["5001030030ABCDE"]), "bad_area"),
        (_body(areas=[]), "targets_required"),
        (_body(areas=[], kind="no_such_kind"), "unknown_key_place_kind"),
        (_body(areas=[VILLAGE], kind="hazardous_chemicals"), "no_targets"),
    ]
    for body, code in cases:
        response = auth.post("demo_dispatcher", "/api/v1/checklists", json=body)
        assert response.status_code == 422, (code, response.json)
        assert response.json["error"]["code"] == code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json["error"]["message"])
    # Nothing half-sent: no checklist, no assignment, nobody told.
    assert _count(session, Checklist) == 0
    assert _count(session, ChecklistAssignment) == 0
    assert _messages(session, "checklist_assigned") == []


def test_grids_picked_one_by_one_reach_their_workers(auth, session, send):
    response = send(areas=[GRID, GRID_2, GRID])
    assert response.status_code == 201, response.json
    sent = response.json
    assert sent["figures"]["assignments"] == 2 and sent["workers"] == 1
    assert sent["unstaffed_grids"] == []
    assert sent["centre_name"] == "解放碑街道" and sent["created_by_name"] == "赵调度"
    assert [i["key"] for i in sent["items"]] == ["photo", "gps", "crack", "width", "sign"]
    # Near due at 75% of the time allowed.
    created = datetime.fromisoformat(sent["created_at"])
    due = datetime.fromisoformat(sent["due_at"])
    warn = datetime.fromisoformat(sent["warn_at"])
    assert abs((warn - created) / (due - created) - 0.75) < 0.001

    # demo_worker, bound to both grids, is told once.
    [told] = _messages(session, "checklist_assigned")
    assert told.room == f"user:{_uid(session, 'demo_worker')}"
    assert told.payload["title"] == "汛前危岩排查"
    mine = _assignments(auth, "demo_worker", sent["id"])
    assert sorted(a["grid_code"] for a in mine) == [GRID, GRID_2]
    assert mine[0]["checklist"]["items"][2]["fail_on"] is True
    assert mine[0]["answered_count"] == 0 and mine[0]["required_count"] == 4


def test_a_village_or_township_code_means_every_grid_under_it(auth, session, send):
    village = send(areas=[VILLAGE]).json
    assert village["figures"]["assignments"] == 15
    # Only demo_worker's two grids of the fifteen have a worker: the others are listed.
    assert village["workers"] == 1 and len(village["unstaffed_grids"]) == 13
    assert GRID not in village["unstaffed_grids"]

    preview = auth.post("demo_dispatcher", "/api/v1/checklists/targets", json={"areas": [TOWNSHIP]})
    assert preview.status_code == 200, preview.json
    assert preview.json["grids"] == preview.json["assignments"] == 135
    assert preview.json["key_places"] == 0 and preview.json["workers"] == 1
    # A preview sends nothing.
    assert _count(session, Checklist) == 1


def _place(session, name: str, grid: str, kind="hazardous_rock", active=True) -> int:
    lon, lat = _point(session, grid)
    with unscoped():
        place = KeyPlace(
            kind_code=kind,
            name=name,
            lon=lon,
            lat=lat,
            visit_interval_days=7,
            next_visit_due_at=datetime.now(UTC),
            active=active,
            **ancestry(grid),
        )
        session.add(place)
        session.flush()
        return place.id


def test_a_key_place_kind_means_every_such_place_in_scope(auth, session, send):
    here = _place(session, "民生路危岩", GRID)
    there = _place(session, "莲花池危岩", OTHER_VILLAGE_GRID)
    _place(session, "民生路滑坡点", GRID, kind="landslide")
    _place(session, "已治理危岩", GRID, active=False)
    _place(session, "七星岗危岩", OTHER_TOWNSHIP_GRID)

    everywhere = send(areas=[], kind="hazardous_rock")
    assert everywhere.status_code == 201, everywhere.json
    listed = _assignments(auth, "demo_dispatcher", everywhere.json["id"])
    assert sorted(a["key_place"]["id"] for a in listed) == sorted([here, there])
    assert {a["key_place"]["kind_name"] for a in listed} == {"危岩"}
    assert everywhere.json["targets"] == {"areas": [], "key_place_kind": "hazardous_rock"}

    # Limited to a village: only the places there; two places in one grid are two assignments.
    second = _place(session, "民生路危岩二号", GRID)
    in_village = send(areas=[VILLAGE], kind="hazardous_rock").json
    listed = _assignments(auth, "demo_worker", in_village["id"])
    assert sorted(a["key_place"]["id"] for a in listed) == sorted([here, second])
    assert {a["grid_code"] for a in listed} == {GRID}


def test_sending_outside_the_scope_is_refused_clearly(auth, session, send):
    refused = send(areas=[GRID, OTHER_TOWNSHIP_GRID])
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "out_of_scope"
    assert OTHER_TOWNSHIP_GRID in refused.json["error"]["message"]
    assert refused.json["error"]["details"]["codes"] == [OTHER_TOWNSHIP_GRID]
    # The village office sends to its own grids, not the next village's.
    assert send("demo_village", areas=[OTHER_VILLAGE_GRID]).status_code == 403
    own = send("demo_village", areas=[VILLAGE])
    assert own.status_code == 201 and own.json["centre_name"] == "民生路社区"
    # A worker answers checklists; sending one is not theirs to do.
    worker = send("demo_worker", areas=[GRID])
    assert worker.status_code == 403 and worker.json["error"]["code"] == "role_forbidden"
    assert _count(session, Checklist) == 1

    # The township next door sees none of it; the district does.
    checklist = own.json["id"]
    other = auth.get("demo_supervisor_district", f"/api/v1/checklists/{checklist}")
    assert other.status_code == 200
    with unscoped():
        stranger = User(
            username="qxg_dispatcher", role="township_dispatcher", area_id=500103001000,
            **ancestry("500103001000"),
        )  # fmt: skip
        session.add(stranger)
        session.flush()
    from app.accounts.service import _issue_token

    with unscoped():
        token, _ = _issue_token(stranger, None)
    headers = {"Authorization": f"Bearer {token}"}
    assert auth.client.get(f"/api/v1/checklists/{checklist}", headers=headers).status_code == 404
    assignment = _mine(auth, checklist)["id"]
    seen = auth.client.get(f"/api/v1/checklist-assignments/{assignment}", headers=headers)
    assert seen.status_code == 404 and seen.json["error"]["code"] == "assignment_not_found"


# -- answering ------------------------------------------------------------------------------


def test_an_answer_sent_twice_is_one_row_and_the_server_judges_it(auth, session, send):
    checklist = send(areas=[GRID]).json
    assignment = _mine(auth, checklist["id"])["id"]
    photo = _upload(auth)

    first = _answer(auth, assignment, "photo", photos=[photo])
    again = _answer(auth, assignment, "photo", photos=[photo])
    assert first.status_code == again.status_code == 200, again.json
    assert _count(session, ChecklistAnswer, assignment_id=assignment) == 1
    assert again.json["answered_count"] == 1

    # yes/no: "yes" fails this item; "no" passes.
    crack = _answer(auth, assignment, "crack", yes=True).json
    [answer] = [a for a in crack["answers"] if a["item_key"] == "crack"]
    assert answer["failed"] is True and answer["fail_reason"] == "回答为“是”"
    # value: outside 0–10 mm fails.
    width = _answer(auth, assignment, "width", value=12.5).json
    [answer] = [a for a in width["answers"] if a["item_key"] == "width"]
    assert answer["failed"] is True
    assert answer["fail_reason"] == "数值 12.5mm 超出允许范围 0–10mm"
    assert width["failed_count"] == 2
    # A corrected reading replaces the first; a stale copy of the first, resent later, does not.
    now = datetime.now(UTC)
    fixed = _answer(auth, assignment, "width", value=4, answered_at=now.isoformat()).json
    assert fixed["failed_count"] == 1
    stale = _answer(
        auth, assignment, "width", value=12.5, answered_at=(now - timedelta(minutes=5)).isoformat()
    ).json
    assert stale["failed_count"] == 1
    assert [a["value"] for a in stale["answers"] if a["item_key"] == "width"] == [4]
    assert _count(session, ChecklistAnswer, assignment_id=assignment) == 3

    # gps: a fix in another grid fails (the worker was not there), one in the grid passes.
    away = _answer(auth, assignment, "gps", **_gps(session, OTHER_VILLAGE_GRID)).json
    assert [a["fail_reason"] for a in away["answers"] if a["item_key"] == "gps"] == [
        "定位不在本网格内"
    ]
    assert away["completed_at"] is not None  # four required items answered (one failing)
    here = _answer(auth, assignment, "gps", **_gps(session)).json
    assert here["failed_count"] == 1 and here["late"] is False

    # The wrong kind of answer, someone else's photo, an unknown item: refused, clearly.
    wrong = _answer(auth, assignment, "width", yes=True)
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "answer_mismatch"
    theirs = _upload(auth, "demo_village", "blue")
    refused = _answer(auth, assignment, "photo", photos=[theirs])
    assert refused.status_code == 422 and refused.json["error"]["code"] == "unknown_attachment"
    missing = _answer(auth, assignment, "nope", yes=True)
    assert (
        missing.status_code == 404 and missing.json["error"]["code"] == "checklist_item_not_found"
    )
    staff = _answer(auth, assignment, "crack", user="demo_dispatcher", yes=False)
    assert staff.status_code == 403 and staff.json["error"]["code"] == "role_forbidden"

    # The console sees the worker's photo through the assignment.
    path = f"/api/v1/checklist-assignments/{assignment}/photos/{photo}"
    shown = auth.get("demo_dispatcher", path)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    shown.close()
    other = auth.get(
        "demo_dispatcher", f"/api/v1/checklist-assignments/{assignment}/photos/{theirs}"
    )
    assert other.status_code == 404


def test_a_gps_item_at_a_key_place_checks_the_distance(auth, session, send):
    place = _place(session, "民生路危岩", GRID)
    items = [{"key": "gps", "label": "到场定位", "kind": "gps", "max_distance_m": 50}]
    checklist = send(areas=[GRID], kind="hazardous_rock", items=items).json
    [assignment] = _assignments(auth, "demo_worker", checklist["id"])
    assert assignment["key_place"]["id"] == place
    lon, lat = assignment["key_place"]["location"]["coordinates"]
    near = {"location": {"type": "Point", "coordinates": [lon + 0.0003, lat]}}  # ≈ 29 m east
    answered = _answer(auth, assignment["id"], "gps", **near).json
    assert answered["failed_count"] == 0 and answered["completed_at"] is not None
    far = {"location": {"type": "Point", "coordinates": [lon + 0.002, lat]}}  # ≈ 194 m east
    answered = _answer(auth, assignment["id"], "gps", **far).json
    [reason] = [a["fail_reason"] for a in answered["answers"]]
    assert reason.startswith("定位距民生路危岩约 19") and reason.endswith("超出 50 米")


# -- the roll-up ----------------------------------------------------------------------------


def test_progress_rolls_up_grid_village_township_as_worked_out_by_hand(auth, session, send):
    items = ITEMS[2:]  # crack (required, yes fails), width (required, 0–10), sign (optional)
    checklist = send(areas=[VILLAGE, OTHER_VILLAGE_GRID], items=items).json
    cid = checklist["id"]
    one, two = _mine(auth, cid, GRID)["id"], _mine(auth, cid, GRID_2)["id"]
    # Grid 1: all three answered, the crack fails: complete, 3 answered, 1 failed.
    _answer(auth, one, "crack", yes=True)
    _answer(auth, one, "width", value=3)
    _answer(auth, one, "sign", yes=True)
    # Grid 2: only the width, out of range: open, 1 answered, 1 failed.
    _answer(auth, two, "width", value=-1)
    # One grid of the other village is overdue: its deadline passed an hour ago.
    with unscoped():
        session.execute(
            update(ChecklistAssignment)
            .where(ChecklistAssignment.grid_id == int(OTHER_VILLAGE_GRID))
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )

    body = auth.get("demo_dispatcher", f"/api/v1/checklists/{cid}/progress").json
    assert body["totals"] == {
        "assignments": 16,  # 15 grids of 民生路社区 + 1 of 莲花池社区
        "completed": 1,
        "items_total": 48,  # 16 × 3
        "items_answered": 4,
        "failed_items": 2,
        "near_due": 0,
        "overdue": 1,
        "late": 0,
        "events": 0,
    }
    nodes = {n["code"]: n for n in body["nodes"]}
    assert [n["level"] for n in body["nodes"]][:2] == ["district", "township"]
    township, village = nodes[TOWNSHIP], nodes[VILLAGE]
    other = nodes[OTHER_VILLAGE_GRID[:12]]
    assert township["name"] == "解放碑街道" and township["assignments"] == 16
    assert village["name"] == "民生路社区" and village["parent_code"] == TOWNSHIP
    assert (village["assignments"], village["completed"], village["items_answered"]) == (15, 1, 4)
    assert (village["failed_items"], village["overdue"]) == (2, 0)
    assert (other["assignments"], other["overdue"], other["items_answered"]) == (1, 1, 0)
    assert nodes[GRID]["parent_code"] == VILLAGE
    assert (nodes[GRID]["completed"], nodes[GRID]["failed_items"]) == (1, 1)
    assert (nodes[GRID_2]["completed"], nodes[GRID_2]["items_answered"]) == (0, 1)
    assert sum(1 for n in body["nodes"] if n["level"] == "grid") == 16

    # The village office sees its own village only; the worker their two grids.
    village_view = auth.get("demo_village", f"/api/v1/checklists/{cid}/progress").json
    assert village_view["totals"]["assignments"] == 15
    assert OTHER_VILLAGE_GRID[:12] not in {n["code"] for n in village_view["nodes"]}
    worker_view = auth.get("demo_worker", f"/api/v1/checklists/{cid}").json
    assert (
        worker_view["figures"]["assignments"] == 2 and worker_view["figures"]["failed_items"] == 2
    )

    # The list's figures agree, and the failed filter finds the two grids.
    listed = auth.get("demo_dispatcher", "/api/v1/checklists?open=true").json["items"]
    assert [c["id"] for c in listed] == [cid] and listed[0]["figures"] == body["totals"]
    failed = auth.get(
        "demo_dispatcher", f"/api/v1/checklist-assignments?checklist_id={cid}&failed=true"
    )
    assert sorted(a["grid_code"] for a in failed.json["items"]) == [GRID, GRID_2]


def test_completing_after_the_deadline_is_late(auth, session, send):
    checklist = send(areas=[GRID], items=ITEMS[2:4]).json
    assignment = _mine(auth, checklist["id"])["id"]
    with unscoped():
        session.execute(
            update(ChecklistAssignment)
            .where(ChecklistAssignment.id == assignment)
            .values(due_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    _answer(auth, assignment, "crack", yes=False)
    done = _answer(auth, assignment, "width", value=1).json
    assert done["completed_at"] is not None and done["late"] is True and done["overdue"] is False
    totals = auth.get("demo_dispatcher", f"/api/v1/checklists/{checklist['id']}/progress").json
    assert (totals["totals"]["late"], totals["totals"]["overdue"]) == (1, 0)


# -- the late sweep -------------------------------------------------------------------------


def _move_deadlines(session, checklist_id, *, warn=None, due=None) -> None:
    values = {k: v for k, v in (("warn_at", warn), ("due_at", due)) if v is not None}
    with unscoped():
        # Sent two hours ago, so a deadline in the past still follows its creation.
        session.execute(
            update(Checklist)
            .where(Checklist.id == checklist_id)
            .values(created_at=datetime.now(UTC) - timedelta(hours=2), **values)
        )
        session.execute(
            update(ChecklistAssignment)
            .where(ChecklistAssignment.checklist_id == checklist_id)
            .values(**values)
        )


def test_the_late_sweep_warns_each_once_and_is_safe_to_run_twice(auth, session, send):
    from app.duty.models import DutyShift

    checklist = send(areas=[GRID, GRID_2, OTHER_VILLAGE_GRID], items=ITEMS[2:4]).json
    cid = checklist["id"]
    done = _mine(auth, cid, GRID_2)["id"]
    _answer(auth, done, "crack", yes=False)
    _answer(auth, done, "width", value=2)
    now = datetime.now(UTC)
    dispatcher = _uid(session, "demo_dispatcher")
    with unscoped():
        session.add(
            DutyShift(
                centre_id=int(TOWNSHIP),
                user_id=dispatcher,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=8),
                **ancestry(TOWNSHIP),
            )
        )
        session.flush()

    _move_deadlines(session, cid, warn=now - timedelta(minutes=1))
    first = sweep()
    # The two open assignments and the checklist; the completed one is left alone.
    assert (first.near_due, first.overdue, first.checklists_near_due) == (2, 0, 1)
    assert sweep().near_due == 0 and sweep().checklists_near_due == 0
    worker = f"user:{_uid(session, 'demo_worker')}"
    warned = _messages(session, "checklist_near_due")
    # demo_worker hears of their grid; 莲花池's grid has no worker to tell; the centre hears
    # once (its console and the officer on duty), with how many are still open.
    assert sorted(m.room for m in warned) == sorted(
        [worker, f"area:{TOWNSHIP}", f"user:{dispatcher}"]
    )
    assert {m.payload.get("open") for m in warned if m.room == f"area:{TOWNSHIP}"} == {2}

    _move_deadlines(session, cid, due=now - timedelta(seconds=1))
    second = sweep(now=now)
    assert (second.near_due, second.overdue, second.checklists_overdue) == (0, 2, 1)
    again = sweep(now=now)
    assert (again.overdue, again.checklists_overdue, again.messages) == (0, 0, 0)
    assert len(_messages(session, "checklist_overdue")) == 3
    progress = auth.get("demo_dispatcher", f"/api/v1/checklists/{cid}/progress").json
    assert progress["totals"]["overdue"] == 2 and progress["totals"]["completed"] == 1


def test_a_checklist_done_in_time_tells_the_centre_nothing(auth, session, send):
    checklist = send(areas=[GRID], items=ITEMS[2:4]).json
    assignment = _mine(auth, checklist["id"])["id"]
    _answer(auth, assignment, "crack", yes=False)
    _answer(auth, assignment, "width", value=2)
    now = datetime.now(UTC)
    _move_deadlines(session, checklist["id"], warn=now - timedelta(minutes=2), due=now)
    result = sweep(now=now + timedelta(seconds=1))
    assert (result.near_due, result.overdue, result.checklists_overdue) == (0, 0, 1)
    assert result.messages == 0


# -- an event from a failed item ------------------------------------------------------------


def test_a_failed_item_raises_one_event_however_often_it_is_tapped(auth, session, send):
    place = _place(session, "民生路危岩", GRID)
    checklist = send(areas=[GRID], kind="hazardous_rock").json
    [assignment] = _assignments(auth, "demo_worker", checklist["id"])
    aid = assignment["id"]
    photo = _upload(auth)
    fix = _gps(session)
    _answer(auth, aid, "photo", photos=[photo])
    _answer(auth, aid, "gps", **fix)
    _answer(auth, aid, "crack", yes=True, note="东侧新增裂缝约两米")
    _answer(auth, aid, "width", value=3)
    path = f"/api/v1/checklist-assignments/{aid}/answers"

    # A passing item and an unanswered one raise nothing.
    passing = auth.post(
        "demo_worker", f"{path}/width/event", json={"client_uuid": str(uuid.uuid4())}
    )
    assert passing.status_code == 409 and passing.json["error"]["code"] == "answer_not_failed"
    unanswered = auth.post(
        "demo_worker", f"{path}/sign/event", json={"client_uuid": str(uuid.uuid4())}
    )
    assert unanswered.status_code == 404 and unanswered.json["error"]["code"] == "answer_not_found"

    tap = str(uuid.uuid4())
    first = auth.post("demo_worker", f"{path}/crack/event", json={"client_uuid": tap})
    assert first.status_code == 201, first.json
    event = first.json
    assert event["source"] == "checklist"
    assert event["description"].startswith(
        "【清单检查】汛前危岩排查（危岩：民生路危岩）：是否有新增裂缝"
    )
    assert "东侧新增裂缝约两米" in event["description"]
    assert event["location"]["coordinates"] == fix["location"]["coordinates"]
    assert event["grid_code"] == GRID
    # The resent tap, and another phone's tap, get the same event.
    again = auth.post("demo_worker", f"{path}/crack/event", json={"client_uuid": tap})
    other = auth.post("demo_worker", f"{path}/crack/event", json={"client_uuid": str(uuid.uuid4())})
    assert again.status_code == other.status_code == 200
    assert again.json["id"] == other.json["id"] == event["id"]
    from app.events.models import Event

    assert _count(session, Event, source="checklist") == 1

    # Linked both ways, with the site photo and the key place; the console sees it all.
    answer = _mine(auth, checklist["id"])
    assert [a["event_id"] for a in answer["answers"] if a["item_key"] == "crack"] == [event["id"]]
    detail = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}").json
    assert [a["id"] for a in detail["attachments"]] == [photo]
    assert detail["key_place"]["id"] == place
    timeline = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}/timeline").json
    assert "checklist_item" in [step["action"] for step in timeline["items"]]
    progress = auth.get("demo_dispatcher", f"/api/v1/checklists/{checklist['id']}/progress").json
    assert progress["totals"]["events"] == 1
    [pushed] = _messages(session, "checklist_event")
    assert pushed.payload["event_id"] == event["id"] and pushed.room == f"area:{TOWNSHIP}"


# -- changing a sent checklist --------------------------------------------------------------


def _patch(auth, checklist_id, user="demo_dispatcher", **body):
    return auth.request(user, "PATCH", f"/api/v1/checklists/{checklist_id}", json=body)


def _withdraw(auth, checklist_id, reason="暴雨预警解除，排查取消", user="demo_dispatcher"):
    return auth.post(user, f"/api/v1/checklists/{checklist_id}/withdraw", json={"reason": reason})


def _assignment_row(session, assignment_id) -> ChecklistAssignment:
    with unscoped():
        row = session.get(ChecklistAssignment, assignment_id)
        session.refresh(row)
        return row


def test_a_sent_checklist_changes_its_words_and_deadline_but_never_its_items(auth, session, send):
    checklist = send(areas=[GRID, GRID_2], items=ITEMS[2:4]).json
    cid, old_due = checklist["id"], datetime.fromisoformat(checklist["due_at"])
    done = _mine(auth, cid, GRID_2)["id"]
    _answer(auth, done, "crack", yes=False)
    _answer(auth, done, "width", value=2)
    open_ = _mine(auth, cid, GRID)["id"]

    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=48)
    changed = _patch(
        auth, cid, title=" 汛前危岩排查（第二轮） ", instructions="范围不变", due_at=due.isoformat()
    )
    assert changed.status_code == 200, changed.json
    body = changed.json
    assert body["title"] == "汛前危岩排查（第二轮）" and body["instructions"] == "范围不变"
    assert datetime.fromisoformat(body["due_at"]) == due
    assert body["edited_by_name"] == "赵调度" and body["edited_at"] is not None
    assert body["can_manage"] is True and body["withdrawn_at"] is None
    # Near due stays at 75% of the time allowed, now up to the new deadline.
    created = datetime.fromisoformat(body["created_at"])
    warn = datetime.fromisoformat(body["warn_at"])
    assert abs((warn - created) / (due - created) - 0.75) < 0.001
    # The open assignment follows; the completed one keeps the deadline it was done against.
    assert datetime.fromisoformat(_mine(auth, cid, GRID)["due_at"]) == due
    assert datetime.fromisoformat(_mine(auth, cid, GRID_2)["due_at"]) == old_due
    assert _mine(auth, cid, GRID)["checklist"]["title"] == "汛前危岩排查（第二轮）"

    # The worker with open work and the centre hear what changed.
    told = _messages(session, "checklist_changed")
    assert sorted(m.room for m in told) == sorted(
        [f"user:{_uid(session, 'demo_worker')}", f"area:{TOWNSHIP}"]
    )
    assert told[0].payload["changed"] == ["due_at", "instructions", "title"]
    # The same change again is no change: nobody is told twice.
    again = _patch(auth, cid, title="汛前危岩排查（第二轮）", due_at=due.isoformat())
    assert again.status_code == 200 and len(_messages(session, "checklist_changed")) == 2

    # Items and targets stay as sent, and the refusal says what to do instead.
    for field_, value in (("items", ITEMS[2:3]), ("targets", {"areas": [GRID]})):
        refused = _patch(auth, cid, **{field_: value})
        assert refused.status_code == 422
        [message] = refused.json["error"]["details"]["json"][field_]
        assert "撤回后重新派发" in message
    assert [i["key"] for i in auth.get("demo_dispatcher", f"/api/v1/checklists/{cid}").json[
        "items"
    ]] == ["crack", "width"]  # fmt: skip
    assert _patch(auth, cid).status_code == 422  # nothing to change
    for when, code in [(_in(-1), "due_too_soon"), (_in(0.1), "due_too_soon")] + [
        (_in(24 * 91), "due_too_far")
    ]:
        refused = _patch(auth, cid, due_at=when)
        assert refused.status_code == 422 and refused.json["error"]["code"] == code
    assert datetime.fromisoformat(_mine(auth, cid, GRID)["due_at"]) == due

    # Only the sending township or above: the village sees it (its grids' work), may not
    # change it; the district may; a worker's role may not at all.
    village = _patch(auth, cid, user="demo_village", title="村社改名")
    assert village.status_code == 403 and village.json["error"]["code"] == "action_forbidden"
    seen = auth.get("demo_village", f"/api/v1/checklists/{cid}").json
    assert seen["can_manage"] is False
    district = _patch(auth, cid, user="demo_supervisor_district", instructions="区里补充说明")
    assert district.status_code == 200 and district.json["edited_by_name"] != "赵调度"
    worker = _patch(auth, cid, user="demo_worker", title="网格员改名")
    assert worker.status_code == 403 and worker.json["error"]["code"] == "role_forbidden"
    assert _assignment_row(session, open_).due_at == due


def test_a_new_deadline_re_arms_the_late_warnings_of_open_work(auth, session, send):
    checklist = send(areas=[GRID, GRID_2], items=ITEMS[2:4]).json
    cid = checklist["id"]
    done = _mine(auth, cid, GRID_2)["id"]
    _answer(auth, done, "crack", yes=False)
    _answer(auth, done, "width", value=2)
    late = _mine(auth, cid, GRID)["id"]
    now = datetime.now(UTC)
    _move_deadlines(session, cid, warn=now - timedelta(hours=1), due=now - timedelta(minutes=1))
    first = sweep(now=now)
    assert (first.overdue, first.checklists_overdue) == (1, 1)
    assert sweep(now=now).messages == 0
    progress = auth.get("demo_dispatcher", f"/api/v1/checklists/{cid}/progress").json
    assert progress["totals"]["overdue"] == 1

    # The storm came later: two more hours. Sent two hours ago, so near due at 75% of four.
    due = now + timedelta(hours=2)
    assert _patch(auth, cid, due_at=due.isoformat()).status_code == 200
    row = _assignment_row(session, late)
    assert (row.warned_at, row.overdue_at) == (None, None)
    assert abs((row.warn_at - now).total_seconds() - 3600) < 5
    mine = _mine(auth, cid, GRID)
    assert (mine["overdue"], mine["near_due"]) == (False, False)
    progress = auth.get("demo_dispatcher", f"/api/v1/checklists/{cid}/progress").json
    assert (progress["totals"]["overdue"], progress["totals"]["completed"]) == (0, 1)

    before = len(_messages(session, "checklist_near_due"))
    assert sweep(now=now).messages == 0  # nothing is due yet at the new times
    near = sweep(now=now + timedelta(minutes=61))
    assert (near.near_due, near.checklists_near_due, near.overdue) == (1, 1, 0)
    warned = _messages(session, "checklist_near_due")[before:]
    worker = f"user:{_uid(session, 'demo_worker')}"
    assert [m.room for m in warned if m.room.startswith("user:")] == [worker]
    assert {datetime.fromisoformat(m.payload["due_at"]) for m in warned} == {due}
    over = sweep(now=due + timedelta(seconds=1))
    assert (over.overdue, over.checklists_overdue) == (1, 1)
    # The completed grid was never warned again.
    assert _assignment_row(session, done).warned_at is None


# -- withdrawing a checklist ------------------------------------------------------------------


def test_withdrawing_keeps_the_answers_and_ends_the_open_work(auth, session, send):
    checklist = send(areas=[GRID, GRID_2, OTHER_VILLAGE_GRID], items=ITEMS[2:4]).json
    cid = checklist["id"]
    done = _mine(auth, cid, GRID_2)["id"]
    _answer(auth, done, "crack", yes=False)
    _answer(auth, done, "width", value=2)
    half = _mine(auth, cid, GRID)["id"]
    given = datetime.now(UTC).isoformat()  # the phone's clock, kept in its queued write
    first = _answer(auth, half, "crack", yes=True, note="东侧新增裂缝", answered_at=given)
    assert first.status_code == 200
    now = datetime.now(UTC)
    _move_deadlines(session, cid, warn=now - timedelta(hours=1), due=now - timedelta(minutes=1))
    before = auth.get("demo_dispatcher", f"/api/v1/checklists/{cid}").json["figures"]
    # Two open and overdue; the completed grid was done after the (moved) deadline: late.
    assert (before["overdue"], before["completed"], before["late"]) == (2, 1, 1)
    home = auth.get("demo_worker", "/api/v1/checklist-assignments?current=true").json
    assert {a["checklist"]["id"] for a in home["items"]} == {cid}

    # Refused: from below the sending township, without a reason.
    village = _withdraw(auth, cid, user="demo_village")
    assert village.status_code == 403 and village.json["error"]["code"] == "action_forbidden"
    blank = _withdraw(auth, cid, reason="   ")
    assert blank.status_code == 422 and blank.json["error"]["code"] == "reason_required"
    missing = auth.post("demo_dispatcher", f"/api/v1/checklists/{cid}/withdraw", json={})
    assert missing.status_code == 422

    withdrawn = _withdraw(auth, cid)
    assert withdrawn.status_code == 200, withdrawn.json
    body = withdrawn.json
    assert body["withdrawn_at"] is not None and body["withdrawn_by_name"] == "赵调度"
    assert body["withdraw_reason"] == "暴雨预警解除，排查取消" and body["can_manage"] is False
    # The open work is no longer due (nor overdue); what was done still counts as it was.
    assert body["figures"] == before | {"overdue": 0, "near_due": 0}
    assert (body["figures"]["items_answered"], body["figures"]["failed_items"]) == (3, 1)
    # The worker's phone list and home count lose it; nothing is open any more.
    home = auth.get("demo_worker", "/api/v1/checklist-assignments?current=true").json
    assert home["items"] == []
    open_ = auth.get(
        "demo_dispatcher", f"/api/v1/checklist-assignments?checklist_id={cid}&open=true"
    )
    assert open_.json["total"] == 0
    assert auth.get("demo_dispatcher", "/api/v1/checklists?open=true").json["total"] == 0
    # The console still has it, marked, with the answers and the note given before.
    listed = auth.get("demo_dispatcher", "/api/v1/checklists").json["items"]
    assert [(c["id"], c["withdraw_reason"]) for c in listed] == [(cid, "暴雨预警解除，排查取消")]
    kept = auth.get("demo_dispatcher", f"/api/v1/checklist-assignments/{half}").json
    assert [(a["item_key"], a["note"]) for a in kept["answers"]] == [("crack", "东侧新增裂缝")]
    assert (kept["overdue"], kept["late"], kept["checklist"]["withdrawn_at"]) == (
        False,
        False,
        body["withdrawn_at"],
    )

    # Its workers and its centre are told, with the reason.
    told = _messages(session, "checklist_withdrawn")
    assert sorted(m.room for m in told) == sorted(
        [f"user:{_uid(session, 'demo_worker')}", f"area:{TOWNSHIP}"]
    )
    assert {m.payload["reason"] for m in told} == {"暴雨预警解除，排查取消"}

    # An answer queued on a phone that arrives now is refused, saying why (409: the queue
    # shows it as refused, it does not retry it); a resent copy of one stored before is not.
    refused = _answer(auth, half, "width", value=3)
    assert refused.status_code == 409
    error = refused.json["error"]
    assert error["code"] == "checklist_withdrawn" and "暴雨预警解除" in error["message"]
    assert error["details"]["checklist_id"] == cid
    assert _count(session, ChecklistAnswer, assignment_id=half) == 1
    resent = _answer(auth, half, "crack", yes=True, note="东侧新增裂缝", answered_at=given)
    assert resent.status_code == 200 and resent.json["answered_count"] == 1
    changed = _answer(auth, half, "crack", yes=True, note="又宽了", answered_at=given)
    assert changed.status_code == 409
    # The hazard found before is not withdrawn with the checklist: it may still be reported.
    event = auth.post(
        "demo_worker",
        f"/api/v1/checklist-assignments/{half}/answers/crack/event",
        json={"client_uuid": str(uuid.uuid4())},
    )
    assert event.status_code == 201, event.json

    # No warnings any more, and no second withdrawal or change.
    assert sweep(now=datetime.now(UTC) + timedelta(days=1)).messages == 0
    again = _withdraw(auth, cid)
    assert again.status_code == 409 and again.json["error"]["code"] == "checklist_withdrawn"
    assert _patch(auth, cid, title="改名").status_code == 409


# -- notes ----------------------------------------------------------------------------------


def test_a_note_goes_with_the_answer_and_comes_back(auth, session, send):
    checklist = send(areas=[GRID, GRID_2], items=ITEMS[2:4]).json
    cid = checklist["id"]
    mine = _mine(auth, cid)["id"]
    at = datetime.now(UTC).isoformat()
    answered = _answer(auth, mine, "width", value=12, note="  裂缝比上周宽了  ", answered_at=at)
    assert answered.status_code == 200
    [width] = answered.json["answers"]
    assert width["note"] == "裂缝比上周宽了" and width["failed"] is True
    # A note changed afterwards is the same answer sent again with the new note.
    edited = _answer(
        auth, mine, "width", value=12, note="裂缝比上周宽了，已拉警戒线", answered_at=at
    )
    assert [a["note"] for a in edited.json["answers"]] == ["裂缝比上周宽了，已拉警戒线"]
    assert _count(session, ChecklistAnswer, assignment_id=mine) == 1
    _answer(auth, _mine(auth, cid, GRID_2)["id"], "crack", yes=False)  # no note

    # The console finds the noted answers; the note is too long past 500 characters.
    url = f"/api/v1/checklist-assignments?checklist_id={cid}"
    noted = auth.get("demo_dispatcher", url + "&noted=true").json["items"]
    assert [(a["grid_code"], [x["note"] for x in a["answers"]]) for a in noted] == [
        (GRID, ["裂缝比上周宽了，已拉警戒线"])
    ]
    unnoted = auth.get("demo_dispatcher", url + "&noted=false").json["items"]
    assert [a["grid_code"] for a in unnoted] == [GRID_2]
    long = _answer(auth, mine, "width", value=1, note="长" * 501)
    assert long.status_code == 422 and "note" in long.json["error"]["details"]["json"]

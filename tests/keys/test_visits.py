"""Visits and schedules: recording a visit moves the schedule on, exactly once per client UUID;
the worker's list puts the most overdue first; the sweep flags each lapse once and tells the
visitor and the village office."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import select

from app.keys.models import KeyPerson
from app.keys.sweep import sweep
from app.realtime.models import OutboxMessage
from tests.keys.conftest import W1, W2, W3


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _visit(auth, user, subject_id, subject="persons", **body):
    body.setdefault("note", "上门走访，身体状况良好")
    return auth.post(user, f"/api/v1/keys/{subject}/{subject_id}/visits", json=body)


def _overdue_messages(session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "visit_overdue")))


def test_a_visit_moves_the_next_due_date_on(person, auth, uid):
    row = person().json
    visited = datetime.now(UTC) - timedelta(days=2)
    response = _visit(auth, "demo_worker", row["id"], visited_at=visited.isoformat())
    assert response.status_code == 201, response.json
    visit = response.json
    assert visit["subject"] == "person" and visit["person_id"] == row["id"]
    assert visit["visitor_id"] == uid("demo_worker")
    after = auth.get("demo_worker", f"/api/v1/keys/persons/{row['id']}").json
    assert _at(after["last_visited_at"]) == visited
    assert _at(after["next_visit_due_at"]) == visited + timedelta(days=7)
    # An older visit recorded late (offline) does not move the schedule back.
    older = (visited - timedelta(days=3)).isoformat()
    assert _visit(auth, "demo_worker", row["id"], visited_at=older).status_code == 201
    again = auth.get("demo_worker", f"/api/v1/keys/persons/{row['id']}").json
    assert again["next_visit_due_at"] == after["next_visit_due_at"]
    history = auth.get("demo_worker", f"/api/v1/keys/persons/{row['id']}/visits").json
    assert history["total"] == 2
    assert [v["id"] for v in history["items"]][0] == visit["id"]  # newest first


def test_a_retried_visit_is_recorded_once(person, auth):
    row = person().json
    key = str(uuid.uuid4())
    first = _visit(auth, "demo_worker", row["id"], client_uuid=key)
    again = _visit(auth, "demo_worker", row["id"], client_uuid=key, note="重发")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"] and again.json["note"] == first.json["note"]
    history = auth.get("demo_worker", f"/api/v1/keys/persons/{row['id']}/visits").json
    assert history["total"] == 1
    taken = _visit(auth, "demo_village", row["id"], client_uuid=key)
    assert taken.status_code == 409 and taken.json["error"]["code"] == "client_uuid_taken"


def test_bad_visits_are_refused_clearly(person, auth):
    row = person().json
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    cases = [
        ({"visited_at": future}, 422, "visited_in_future"),
        ({"note": ""}, 422, "validation_error"),
        ({"attachment_ids": [2_000_000_000]}, 422, "unknown_attachment"),
        ({"location": {"type": "Point", "coordinates": [200, 30]}}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = _visit(auth, "demo_worker", row["id"], **body)
        assert response.status_code == status, (body, response.json)
        assert response.json["error"]["code"] == code
    refused = _visit(auth, "demo_supervisor_township", row["id"])
    assert refused.status_code == 403 and refused.json["error"]["code"] == "role_forbidden"
    hidden = person("demo_village", grid=W3, id_card_no=None).json
    assert _visit(auth, "demo_worker", hidden["id"]).status_code == 404


def test_a_visit_carries_my_photos_and_where_i_was(person, auth, point_in):
    row = person().json
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "JPEG")
    upload = auth.post(
        "demo_worker",
        "/api/v1/attachments",
        data={"file": (io.BytesIO(buffer.getvalue()), "visit.jpg")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.json
    photo = upload.json["id"]
    where = point_in(W1)
    response = _visit(
        auth,
        "demo_worker",
        row["id"],
        attachment_ids=[photo],
        location={"type": "Point", "coordinates": where},
    )
    assert response.status_code == 201, response.json
    assert response.json["attachment_ids"] == [photo]
    assert response.json["location"]["coordinates"] == where
    # Someone else's photo cannot be attached.
    stolen = _visit(auth, "demo_village", row["id"], attachment_ids=[photo])
    assert stolen.status_code == 422 and stolen.json["error"]["code"] == "unknown_attachment"


def test_a_deactivated_person_takes_no_visits(person, auth):
    row = person().json
    auth.post(
        "demo_worker", f"/api/v1/keys/persons/{row['id']}/deactivate", json={"reason": "已故"}
    )
    response = _visit(auth, "demo_worker", row["id"])
    assert response.status_code == 409 and response.json["error"]["code"] == "key_inactive"


def test_my_schedule_lists_my_grids_most_overdue_first(person, place, auth, sql):
    now = datetime.now(UTC)
    late = person(name="超期十天", id_card_no=None).json
    soon = person(name="三天后到期", kind="left_behind_child", id_card_no=None, grid=W2).json
    rock = place(name="超期两天的危岩").json
    other = person("demo_village", name="别的网格", grid=W3, id_card_no=None).json
    for table, row_id, due in (
        ("key_persons", late["id"], now - timedelta(days=10, hours=1)),
        ("key_persons", soon["id"], now + timedelta(days=3)),
        ("key_places", rock["id"], now - timedelta(days=2, hours=1)),
    ):
        sql(f"UPDATE {table} SET next_visit_due_at = :due WHERE id = :id", due=due, id=row_id)

    response = auth.get("demo_worker", "/api/v1/keys/visits/due?page_size=500")
    assert response.status_code == 200, response.json
    items = response.json["items"]
    keys = [(i["subject"], i["id"]) for i in items]
    assert ("person", other["id"]) not in keys  # not my grid
    assert keys[:3] == [("person", late["id"]), ("place", rock["id"]), ("person", soon["id"])]
    assert [i["overdue"] for i in items[:3]] == [True, True, False]
    assert [i["overdue_days"] for i in items[:3]] == [10, 2, 0]
    assert items[1]["kind_name"] == "危岩"

    overdue = auth.get("demo_worker", "/api/v1/keys/visits/due?overdue=true").json
    assert {(i["subject"], i["id"]) for i in overdue["items"]} == set(keys[:2])
    places = auth.get("demo_worker", "/api/v1/keys/visits/due?subject=place").json
    assert [i["subject"] for i in places["items"]] == ["place"]
    # Pages are cut from the merged list.
    second = auth.get("demo_worker", "/api/v1/keys/visits/due?page_size=1&page=2").json
    assert second["total"] == len(items) and [i["id"] for i in second["items"]] == [rock["id"]]
    village = auth.get("demo_village", "/api/v1/keys/visits/due?page_size=500").json["items"]
    assert ("person", other["id"]) in {(i["subject"], i["id"]) for i in village}


def test_the_sweep_flags_each_lapse_once_and_tells_the_visitor_and_village(
    person, place, auth, session, uid
):
    row = person().json
    rock = place().json
    later = datetime.now(UTC) + timedelta(days=8)  # past the weekly visit of both

    first = sweep(now=later)
    assert (first.person, first.place) == (1, 1)
    messages = _overdue_messages(session)
    rooms = {(m.payload["subject"], m.payload["id"]): set() for m in messages}
    for m in messages:
        rooms[(m.payload["subject"], m.payload["id"])].add(m.room)
    expected = {f"user:{uid('demo_worker')}", "area:500103003013"}
    assert rooms == {("person", row["id"]): expected, ("place", rock["id"]): expected}
    flagged = session.get(KeyPerson, row["id"])
    session.refresh(flagged)
    assert flagged.visit_overdue_at is not None

    # Safe twice: nothing new is flagged or announced.
    second = sweep(now=later + timedelta(hours=1))
    assert (second.person, second.place, second.messages) == (0, 0, 0)
    assert len(_overdue_messages(session)) == len(messages)

    # A visit clears the flag; the next lapse is announced again.
    assert _visit(auth, "demo_worker", row["id"]).status_code == 201
    session.refresh(flagged)
    assert flagged.visit_overdue_at is None
    # The new due date is a week from the visit: six days on, nothing; eight days on, again.
    assert sweep(now=later - timedelta(days=2)).person == 0
    assert sweep(now=later).person == 1


def test_the_sweep_skips_deactivated_rows(person, auth):
    row = person().json
    auth.post(
        "demo_worker", f"/api/v1/keys/persons/{row['id']}/deactivate", json={"reason": "迁出"}
    )
    assert sweep(now=datetime.now(UTC) + timedelta(days=30)).person == 0


def test_the_sweep_runs_from_the_command_line(person, runner):
    person()
    result = runner.invoke(args=["keys", "sweep"])
    assert result.exit_code == 0, result.output
    assert "overdue persons 0" in result.output

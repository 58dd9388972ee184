"""Sensitive fields per role, through the API: in full for the people who look after key
persons, masked for everyone else who can see the row."""

from __future__ import annotations

import pytest

from tests.keys.conftest import id_card

# Written here from the rule (who visits and dispatches needs them), not read from the app.
FULL = ["demo_worker", "demo_leader", "demo_village", "demo_dispatcher", "demo_admin"]
MASKED = [
    "demo_board_party",
    "demo_board_safety",
    "demo_dept_cg",
    "demo_supervisor_township",
    "demo_supervisor_district",
    "demo_supervisor_city",
]
NUMBER = id_card("50010319410315002")


@pytest.fixture
def registered(person, place, auth):
    """One person and one place in the demo worker's grid, each with one visit."""
    row = person(id_card_no=NUMBER, phone="13812345678").json
    spot = place(contact_phone="13711112222").json
    for subject, item in (("persons", row), ("places", spot)):
        visit = auth.post(
            "demo_worker", f"/api/v1/keys/{subject}/{item['id']}/visits", json={"note": "血压偏高"}
        )
        assert visit.status_code == 201, visit.json
    return row, spot


@pytest.mark.parametrize("user", FULL)
def test_field_roles_and_the_command_centre_see_everything(auth, registered, user):
    row, spot = registered
    body = auth.get(user, f"/api/v1/keys/persons/{row['id']}").json
    assert body["id_card_no"] == NUMBER
    assert body["phone"] == "13812345678"
    assert body["guardian_name"] == "陈建国" and body["guardian_phone"] == "13987654321"
    assert body["case_notes"] == "子女在外地，患高血压"
    assert body["masked"] == []
    assert auth.get(user, f"/api/v1/keys/places/{spot['id']}").json["contact_phone"] == (
        "13711112222"
    )
    visits = auth.get(user, f"/api/v1/keys/persons/{row['id']}/visits").json["items"]
    assert visits[0]["note"] == "血压偏高"


@pytest.mark.parametrize("user", MASKED)
def test_boards_departments_and_supervisors_see_masked_values(auth, registered, user):
    row, spot = registered
    body = auth.get(user, f"/api/v1/keys/persons/{row['id']}").json
    assert body["name"] == "陈秀英" and body["kind"] == "elderly_alone"  # the row itself shows
    assert body["id_card_no"] == NUMBER[:4] + "*" * 10 + NUMBER[-4:]
    assert body["phone"] == "138****5678"
    assert body["guardian_name"] == "陈**" and body["guardian_phone"] == "139****4321"
    assert body["case_notes"] is None
    assert set(body["masked"]) == {
        "id_card_no",
        "phone",
        "guardian_name",
        "guardian_phone",
        "case_notes",
    }
    listed = auth.get(user, "/api/v1/keys/persons?page_size=500").json["items"]
    mine = next(p for p in listed if p["id"] == row["id"])
    assert mine["phone"] == "138****5678" and mine["case_notes"] is None
    place = auth.get(user, f"/api/v1/keys/places/{spot['id']}").json
    assert place["contact_phone"] == "137****2222" and place["contact_name"] == "张**"
    # What a visit to a person found is part of their case; a visit to a place is not.
    person_visits = auth.get(user, f"/api/v1/keys/persons/{row['id']}/visits").json["items"]
    assert person_visits[0]["note"] is None
    place_visits = auth.get(user, f"/api/v1/keys/places/{spot['id']}/visits").json["items"]
    assert place_visits[0]["note"] == "血压偏高"


def test_the_event_detail_shows_a_summary_without_sensitive_fields(auth, registered, point_in):
    import uuid

    row, _ = registered
    response = auth.post(
        "demo_worker",
        "/api/v1/events",
        json={
            "client_uuid": str(uuid.uuid4()),
            "description": "独居老人家中漏水无人处理",
            "location": {"type": "Point", "coordinates": point_in("500103003013001")},
            "key_person_id": row["id"],
        },
    )
    assert response.status_code == 201, response.json
    detail = auth.get("demo_dispatcher", f"/api/v1/events/{response.json['id']}").json
    assert detail["key_person_id"] == row["id"]
    summary = detail["key_person"]
    assert summary["name"] == "陈秀英" and summary["kind_name"] == "独居老人"
    assert not {"id_card_no", "phone", "guardian_phone", "case_notes"} & set(summary)
    assert detail["key_place"] is None

"""Registering key persons and places: who may, where, what the registry keeps, clear refusals."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.geo import crs
from tests.keys.conftest import W1, W2, W3, B, T, id_card


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_worker_registers_a_person_in_their_grid(person, uid):
    response = person()
    assert response.status_code == 201, response.json
    body = response.json
    assert body["kind"] == "elderly_alone" and body["kind_name"] == "独居老人"
    assert body["grid_code"] == W1 and body["village_code"] == "500103003013"
    # The worker who registers someone in their own grid visits them.
    assert body["responsible_user_id"] == uid("demo_worker")
    # Weekly visits for the elderly living alone, counted from registration.
    assert body["visit_interval_days"] == 7
    due = _at(body["next_visit_due_at"]) - _at(body["registered_at"])
    assert due == timedelta(days=7)
    assert body["visit_overdue"] is False
    # Birth year and gender are read off the identity number when not given.
    assert body["birth_year"] == 1941 and body["gender"] == "female"
    assert body["id_card_no"] == id_card() and body["masked"] == []


def test_the_kind_sets_the_default_interval_and_a_row_may_override_it(person):
    assert person(kind="left_behind_child", id_card_no=None).json["visit_interval_days"] == 30
    custom = person(kind="severe_mental_disorder", visit_interval_days=3, id_card_no=None)
    assert custom.json["visit_interval_days"] == 3


@pytest.mark.parametrize(
    ("user", "grid", "status"),
    [
        ("demo_worker", W2, 201),  # a grid the worker is bound to
        ("demo_worker", W3, 403),  # same village, not the worker's grid
        ("demo_village", W3, 201),
        ("demo_leader", T, 403),  # another village
        ("demo_dispatcher", T, 201),
        ("demo_dispatcher", B, 403),  # another township
        ("demo_admin", B, 201),
    ],
)
def test_registering_is_limited_to_the_callers_grids(person, user, grid, status):
    response = person(user, grid=grid)
    assert response.status_code == status, response.json
    if status == 403:
        assert response.json["error"]["code"] == "out_of_scope"


@pytest.mark.parametrize("user", ["demo_board_safety", "demo_dept_cg", "demo_supervisor_township"])
def test_roles_that_do_not_keep_the_registry_cannot_write_it(person, place, user):
    for response in (person(user), place(user)):
        assert response.status_code == 403
        assert response.json["error"]["code"] == "role_forbidden"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"id_card_no": "500103194103150029"}, "validation_error", "id_card_no"),  # check char
        ({"id_card_no": id_card("50010319411315002")}, "validation_error", "id_card_no"),  # 13月
        ({"phone": "12345"}, "validation_error", "phone"),
        ({"risk_level": "extreme"}, "validation_error", "risk_level"),
        ({"grid": "500103003013"}, "validation_error", "grid"),  # a village, 12 digits
        ({"kind": "hazardous_rock"}, "unknown_kind", None),  # a place kind
        ({"kind": "vip"}, "unknown_kind", None),
        ({"grid": "500103003013999"}, "unknown_grid", None),
        ({"secret": 1}, "validation_error", "secret"),
    ],
)
def test_bad_person_data_is_refused_with_a_clear_message(person, fields, code, field):
    response = person("demo_village", **fields)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    if field:
        assert field in error["details"]["json"]


def test_a_place_is_located_in_the_grid_of_its_point(place, point_in):
    lon, lat = point_in(W2)
    gcj = crs.wgs84_to_gcj02(lon, lat)
    response = place(location={"type": "Point", "coordinates": list(gcj), "crs": "GCJ-02"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["grid_code"] == W2 and body["kind_name"] == "危岩"
    got = body["location"]["coordinates"]
    assert abs(got[0] - lon) < 1e-6 and abs(got[1] - lat) < 1e-6


def test_a_place_outside_my_grids_or_outside_every_grid_is_refused(place, point_in):
    elsewhere = place(location={"type": "Point", "coordinates": point_in(W3)})
    assert elsewhere.status_code == 403 and elsewhere.json["error"]["code"] == "out_of_scope"
    nowhere = place(location={"type": "Point", "coordinates": [100.0, 30.0]})
    assert nowhere.status_code == 422 and nowhere.json["error"]["code"] == "outside_grids"


def test_lists_show_only_what_is_in_my_scope(person, auth):
    ids = {
        grid: person("demo_admin", grid=grid, id_card_no=None).json["id"]
        for grid in (W1, W2, W3, T, B)
    }
    expected = {
        "demo_worker": {W1, W2},
        "demo_village": {W1, W2, W3},
        "demo_dispatcher": {W1, W2, W3, T},
        "demo_supervisor_district": {W1, W2, W3, T, B},
    }
    for user, grids in expected.items():
        listed = auth.get(user, "/api/v1/keys/persons?page_size=500").json["items"]
        assert {p["id"] for p in listed} & set(ids.values()) == {ids[g] for g in grids}, user
        hidden = set(ids) - grids
        for grid in hidden:
            response = auth.get(user, f"/api/v1/keys/persons/{ids[grid]}")
            assert response.status_code == 404, (user, grid)


def test_lists_filter_by_kind_area_risk_and_name(person, auth):
    person(kind="elderly_alone", name="甲", id_card_no=None, grid=W1)
    person(kind="left_behind_child", name="乙", id_card_no=None, grid=W2, risk_level="high")
    url = "/api/v1/keys/persons?page_size=500"

    def names(query: str) -> set[str]:
        response = auth.get("demo_village", f"{url}&{query}")
        assert response.status_code == 200, response.json
        return {p["name"] for p in response.json["items"]}

    assert "甲" in names("kind=elderly_alone") and "乙" not in names("kind=elderly_alone")
    assert names(f"area={W2}") >= {"乙"} and "甲" not in names(f"area={W2}")
    assert "乙" in names("risk_level=high") and "甲" not in names("risk_level=high")
    assert names("q=乙") == {"乙"}
    bad = auth.get("demo_village", f"{url}&area=abc")
    assert bad.status_code == 422 and bad.json["error"]["code"] == "bad_area"


def test_one_active_registration_per_identity_number_and_kind(person):
    assert person().status_code == 201
    again = person(name="陈秀英（重复）")
    assert again.status_code == 409 and again.json["error"]["code"] == "key_person_exists"
    # The same person may be registered under another kind (living alone and disabled).
    assert person(kind="disabled").status_code == 201


def test_deactivating_keeps_the_row_and_hides_it_from_the_default_list(person, auth):
    row = person().json
    url = f"/api/v1/keys/persons/{row['id']}"
    missing = auth.post("demo_worker", f"{url}/deactivate", json={})
    assert missing.status_code == 422
    done = auth.post("demo_worker", f"{url}/deactivate", json={"reason": "已搬离本网格"})
    assert done.status_code == 200 and done.json["active"] is False
    assert done.json["deactivation_reason"] == "已搬离本网格"
    listed = auth.get("demo_worker", "/api/v1/keys/persons?page_size=500").json["items"]
    assert row["id"] not in {p["id"] for p in listed}
    gone = auth.get("demo_worker", "/api/v1/keys/persons?active=false&page_size=500").json
    assert row["id"] in {p["id"] for p in gone["items"]}
    twice = auth.post("demo_worker", f"{url}/deactivate", json={"reason": "再次"})
    assert twice.status_code == 409 and twice.json["error"]["code"] == "key_inactive"
    edit = auth.request("demo_worker", "PATCH", url, json={"address": "新地址"})
    assert edit.status_code == 409
    # Deactivated registrations do not block registering the person again.
    assert person().status_code == 201
    back = auth.post("demo_worker", f"{url}/reactivate")
    assert back.status_code == 409 and back.json["error"]["code"] == "key_person_exists"


def test_reactivating_restores_the_row_with_a_fresh_schedule(person, auth, sql):
    row = person(id_card_no=None).json
    url = f"/api/v1/keys/persons/{row['id']}"
    auth.post("demo_worker", f"{url}/deactivate", json={"reason": "误操作"})
    sql(
        "UPDATE key_persons SET next_visit_due_at = :t WHERE id = :id",
        t=datetime(2020, 1, 1),
        id=row["id"],
    )
    back = auth.post("demo_worker", f"{url}/reactivate")
    assert back.status_code == 200 and back.json["active"] is True
    assert back.json["visit_overdue"] is False


def test_moving_a_person_to_another_grid_changes_who_visits(person, auth, uid):
    row = person("demo_village", grid=W1, id_card_no=None).json
    worker = uid("demo_worker")
    assert row["responsible_user_id"] == worker  # the grid's worker by default
    url = f"/api/v1/keys/persons/{row['id']}"
    moved = auth.request("demo_village", "PATCH", url, json={"grid": W3})
    assert moved.status_code == 200, moved.json
    assert moved.json["grid_code"] == W3
    assert moved.json["responsible_user_id"] != worker


def test_the_responsible_visitor_must_work_in_that_grid(person, uid):
    leader = uid("demo_leader")
    supervisor = uid("demo_supervisor_township")
    ok = person("demo_village", grid=W3, id_card_no=None, responsible_user_id=leader)
    assert ok.status_code == 201 and ok.json["responsible_user_id"] == leader
    bad = person("demo_village", grid=W3, id_card_no=None, responsible_user_id=supervisor)
    assert bad.status_code == 422 and bad.json["error"]["code"] == "bad_responsible_user"


def test_kinds_are_reference_data_for_everyone(auth):
    response = auth.get("demo_dept_cg", "/api/v1/keys/kinds?subject=place")
    assert response.status_code == 200
    codes = {k["code"] for k in response.json["items"]}
    assert {"hazardous_rock", "landslide", "nine_small_places", "school"} <= codes
    assert "elderly_alone" not in codes

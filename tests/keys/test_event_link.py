"""Events that concern a key person or place: checked at report time and raised in priority."""

from __future__ import annotations

import uuid

import pytest

from app.core.scope import unscoped
from app.events import service as events
from tests.keys.conftest import W1, W3

BASE = "OTHER_MISC"  # priority 4, the lowest


@pytest.fixture
def report(auth, point_in):
    def send(username="demo_worker", *, grid=W1, subcategory=BASE, **links):
        body = {
            "client_uuid": str(uuid.uuid4()),
            "description": "楼道里有人大声争吵，请社区来看看",
            "location": {"type": "Point", "coordinates": point_in(grid)},
            "subcategory": subcategory,
            **links,
        }
        return auth.post(username, "/api/v1/events", json=body)

    return send


@pytest.mark.parametrize(
    ("kind", "risk", "priority"),
    [
        ("disabled", "low", 4),  # bump 0
        ("elderly_alone", "low", 3),  # bump 1
        ("elderly_alone", "high", 2),  # bump 1, and one more for high risk
        ("severe_mental_disorder", "low", 2),  # bump 2
        ("severe_mental_disorder", "high", 1),
    ],
)
def test_a_linked_person_raises_the_priority_by_kind_and_risk(person, report, kind, risk, priority):
    row = person(kind=kind, risk_level=risk, id_card_no=None).json
    response = report(key_person_id=row["id"])
    assert response.status_code == 201, response.json
    assert response.json["priority"] == priority
    assert response.json["key_person_id"] == row["id"]


def test_a_linked_place_raises_it_too_and_the_larger_bump_wins(person, place, report):
    rock = place().json  # hazardous rock: bump 2
    assert report(key_place_id=rock["id"]).json["priority"] == 2
    elderly = person(id_card_no=None).json  # bump 1
    both = report(key_person_id=elderly["id"], key_place_id=rock["id"])
    assert both.json["priority"] == 2
    # Priority 1 is the top; a bump never goes past it.
    urgent = report(key_place_id=rock["id"], subcategory="MUNICIPAL_MANHOLE")
    assert urgent.json["priority"] == 1


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("missing", "unknown_key_person"),
        ("elsewhere", "unknown_key_person"),
        ("deactivated", "unknown_key_person"),
    ],
)
def test_a_link_to_a_person_i_cannot_see_is_refused(person, report, auth, setup, code):
    if setup == "missing":
        person_id = 2_000_000_000
    elif setup == "elsewhere":  # another grid of the village: not the worker's
        person_id = person("demo_village", grid=W3, id_card_no=None).json["id"]
    else:
        person_id = person(id_card_no=None).json["id"]
        url = f"/api/v1/keys/persons/{person_id}/deactivate"
        auth.post("demo_worker", url, json={"reason": "迁出"})
    response = report(key_person_id=person_id)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == code
    assert "重点人员" in response.json["error"]["message"]


def test_a_link_to_a_missing_place_is_refused(report):
    response = report(key_place_id=2_000_000_000)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "unknown_key_place"


def test_recategorizing_keeps_the_bump(person, report, auth):
    row = person(kind="severe_mental_disorder", id_card_no=None).json
    event = report(key_person_id=row["id"]).json
    assert event["priority"] == 2
    corrected = auth.post(
        "demo_dispatcher",
        f"/api/v1/events/{event['id']}/category",
        json={"subcategory": "OTHER_CONSULTATION"},  # also priority 4
    )
    assert corrected.status_code == 200, corrected.json
    assert corrected.json["priority"] == 2


def test_reports_from_other_sources_are_raised_too(person, session, point_in):
    row = person(kind="petitioner", id_card_no=None).json
    lon, lat = point_in(W1)
    with unscoped():
        event, _ = events.report(
            principal=None,
            data=events.Report(
                client_uuid=uuid.uuid4(),
                description="热线来电：重点信访人员情绪激动",
                lon=lon,
                lat=lat,
                subcategory=BASE,
                key_person_id=row["id"],
                source="hotline",
            ),
        )
    assert event.priority == 3

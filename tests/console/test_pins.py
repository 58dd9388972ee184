"""Pinned items 置顶 stay at the top of the consoles that see them until acknowledged."""

from __future__ import annotations


def test_a_pinned_event_stays_on_top_until_acknowledged(session, auth, report):
    first = report(text="井盖缺失一").json["id"]
    second = report(text="井盖缺失二").json["id"]
    for event_id in (first, second):
        pinned = auth.post(
            "demo_dispatcher", "/api/v1/pins", json={"event_id": event_id, "note": "领导关注"}
        )
        assert pinned.status_code == 201, pinned.json
    pins = auth.get("demo_dispatcher", "/api/v1/pins").json["items"]
    assert [p["event_id"] for p in pins[:2]] == [second, first]  # newest first
    # The village's staff see the pin on their event too; another township does not.
    assert first in {p["event_id"] for p in auth.get("demo_village", "/api/v1/pins").json["items"]}

    done = auth.post("demo_dispatcher", f"/api/v1/pins/{pins[0]['id']}/acknowledge")
    assert done.status_code == 200 and done.json["acknowledged_at"]
    active = auth.get("demo_dispatcher", "/api/v1/pins").json["items"]
    assert second not in {p["event_id"] for p in active}
    assert (
        auth.post("demo_dispatcher", f"/api/v1/pins/{pins[0]['id']}/acknowledge").status_code == 409
    )


def test_a_notice_can_be_pinned_without_an_event(session, auth):
    made = auth.post("demo_dispatcher", "/api/v1/pins", json={"title": "今晚暴雨，全员在岗"})
    assert made.status_code == 201, made.json
    assert made.json["id"] in {
        p["id"] for p in auth.get("demo_supervisor_township", "/api/v1/pins").json["items"]
    }
    # It belongs to the township's consoles, not to the villages below.
    assert made.json["id"] not in {
        p["id"] for p in auth.get("demo_leader", "/api/v1/pins").json["items"]
    }
    empty = auth.post("demo_dispatcher", "/api/v1/pins", json={"note": "没有标题"})
    assert empty.status_code == 422 and empty.json["error"]["code"] == "pin_title_required"


def test_field_staff_do_not_pin(session, auth, report):
    event_id = report(text="井盖缺失").json["id"]
    refused = auth.post("demo_worker", "/api/v1/pins", json={"event_id": event_id})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "role_forbidden"

"""`flask keys seed-demo`: demo persons and places in the demo township, some already overdue."""

from __future__ import annotations


def test_seed_demo_gives_the_demo_worker_a_schedule_and_is_idempotent(runner, auth):
    first = runner.invoke(args=["keys", "seed-demo"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["keys", "seed-demo"])
    assert "persons: 0, places: 0" in again.output
    schedule = auth.get("demo_worker", "/api/v1/keys/visits/due?page_size=500").json["items"]
    assert {item["subject"] for item in schedule} == {"person", "place"}
    assert schedule[0]["overdue"] and not schedule[-1]["overdue"]
    names = {item["name"] for item in schedule}
    assert "陈秀英" in names and "赵德明" not in names  # 赵德明 lives in 莲花池社区
    township = auth.get("demo_dispatcher", "/api/v1/keys/persons?page_size=500").json["items"]
    assert "赵德明" in {p["name"] for p in township}
    elderly = next(item for item in schedule if item["name"] == "陈秀英")
    history = auth.get("demo_worker", f"/api/v1/keys/persons/{elderly['id']}/visits").json
    assert history["total"] == 1 and history["items"][0]["visited_at"] == elderly["last_visited_at"]

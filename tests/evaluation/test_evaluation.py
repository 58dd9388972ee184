"""Evaluation 综合评价 and export: hand-built events whose expected numbers are worked out by
hand from docs/evaluation.md, per unit and per person, within the caller's scope."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.accounts.models import Department, User
from app.core.scope import unscoped
from app.events import audit
from app.events.models import Event
from app.geo.codes import ancestry
from app.keys.models import KeyPerson

BJ = ZoneInfo("Asia/Shanghai")
MARCH = "from=2026-03-01&to=2026-03-31"
V1 = "500103003013"  # 民生路社区 (demo_village)
G1 = "500103003013001"  # its grid (demo_worker)
TOWNSHIP = "500103003000"  # 解放碑街道
OTHER_VILLAGE = "500103001003"  # 七星岗街道 · 华一坡社区
SECRET = "敏感姓名张某某"


def bj(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BJ)


@pytest.fixture
def world(session):
    """Units of 解放碑街道 (village, grid, safety board), 渝中区城管, and one village elsewhere."""
    with unscoped():
        users = dict(session.execute(select(User.username, User.id)).all())
        cg = session.scalar(select(Department.id).where(Department.code == "500103-CG"))
        person = KeyPerson(
            kind_code="elderly_alone",
            name=SECRET,
            visit_interval_days=7,
            next_visit_due_at=bj(1, 9),
            **ancestry(G1),
        )
        session.add(person)
        session.flush()

        def event(place, level, user, received, state="in_progress", closed=None, **extra):
            unit = {"department_id": cg} if level == "department" else {}
            area = {"grid": G1, "village": place[:12], "board": TOWNSHIP}.get(level)
            row = Event(
                client_uuid=uuid.uuid4(),
                description=extra.pop("description", "评价测试事件"),
                lon=106.58,
                lat=29.56,
                occurred_at=received,
                received_at=received,
                category_code="MUNICIPAL",
                subcategory_code="MUNICIPAL_MANHOLE",
                state=state,
                handling_level=level,
                assigned_department_id=unit.get("department_id"),
                assigned_area_id=int(area) if area else None,
                assigned_user_id=users[user],
                closed_at=closed,
                **extra,
                **ancestry(place),
            )
            session.add(row)
            session.flush()
            return row

        late = {"breached_at": bj(20, 9), "overdue_at": bj(20, 9)}
        v = "500103003013002"  # a grid of 民生路社区 other than G1
        made = {
            # 民生路社区, handled by demo_village.
            "e0": event(v, "village", "demo_village", bj(28, 23, 30, month=2), "closed", bj(29, 9)),
            "e1": event(
                v,
                "village",
                "demo_village",
                bj(2, 9),
                "closed",
                bj(3, 9),
                key_person_id=person.id,
                description='=HYPERLINK("http://x")',
            ),
            "e2": event(
                v,
                "village",
                "demo_village",
                bj(5, 8),
                "closed",
                bj(7, 8),
                rework_count=1,
                supervision_count=2,
                **late,
            ),
            "e3": event(v, "village", "demo_village", bj(6, 8), extension_count=1, **late),
            "e4": event(v, "village", "demo_village", bj(8, 8)),
            "e5": event(v, "village", "demo_village", bj(9, 8), "rejected"),
            "e6": event(v, "village", "demo_village", bj(1, 0, 10), "closed", bj(1, 2, 10)),
            # Returned by the village, re-dispatched to the safety board, closed on time.
            "r1": event(
                v,
                "board",
                "demo_board_safety",
                bj(9, 10),
                "closed",
                bj(11, 10),
                assigned_board="safety",
                return_count=1,
            ),
            "b2": event(v, "board", "demo_board_safety", bj(12, 10), assigned_board="safety"),
            # Self-handled in the grid.
            "g1": event(G1, "grid", "demo_worker", bj(12, 9), "closed", bj(12, 10, 30)),
            # Escalated to 渝中区城管, overdue.
            "d1": event(G1, "department", "demo_dept_cg", bj(15, 9), **late),
            # Another township.
            "o1": event(
                OTHER_VILLAGE + "001", "village", "demo_admin", bj(3, 9), "closed", bj(3, 12)
            ),
        }
        made["o1"].assigned_user_id = None
        returner = session.get(User, users["demo_village"])
        from app.core.auth import Principal
        from app.core.scope import SYSTEM

        actor = Principal(returner.id, returner.username, returner.role, "t", SYSTEM)
        row = audit.append(
            made["r1"],
            actor=actor,
            action="return",
            from_state="dispatched",
            to_state="returned",
            reason="不属于本社区",
        )
        row.at = bj(10, 9)
        row.hash = audit.row_hash(row.prev_hash, row)
        made["r1"].audit_head = row.hash
        session.flush()
    return made


def _units(auth, user="demo_supervisor_city", query=""):
    response = auth.get(user, f"/api/v1/evaluation/units?{MARCH}&page_size=100{query}")
    assert response.status_code == 200, response.json
    return {item["key"]: item for item in response.json["items"]}


def _measures(item: dict) -> dict:
    return {
        k: v
        for k, v in item.items()
        if k
        not in {
            "key",
            "level",
            "name",
            "area",
            "department_id",
            "board",
            "user_id",
            "username",
            "role",
            "role_name",
        }
    }


VILLAGE_EXPECTED = {
    # e1, e2, e3, e4, e5, e6 received in March (Beijing days); e0 was received on 28 February.
    "received": 6,
    "filed": 5,  # e5 was rejected
    "due": 4,  # closed e1, e2, e6 + open overdue e3; e4 is not due yet
    "closed": 3,
    "closed_on_time": 2,  # e2 was flagged overdue
    "closure_rate": pytest.approx(3 / 5),
    "on_time_rate": pytest.approx(2 / 4),
    "rework_rate": pytest.approx(1 / 5),
    "extension_rate": pytest.approx(1 / 5),
    "returns": 1,  # r1, returned by demo_village on 10 March
    "return_rate": pytest.approx(1 / 6),
    "supervisions": 2,
    "avg_handling_hours": pytest.approx((24 + 48 + 2) / 3),
    "self_handled": 0,
}


def test_unit_measures_follow_the_written_definitions(auth, session, world):
    units = _units(auth)
    village = units[f"village:{V1}"]
    assert village["name"] == "民生路社区"
    assert _measures(village) == VILLAGE_EXPECTED
    board = units[f"board:{TOWNSHIP}:safety"]
    assert board["name"] == "解放碑街道 · 平安法治"
    assert _measures(board) == {
        "received": 2, "filed": 2, "due": 1, "closed": 1, "closed_on_time": 1,
        "closure_rate": 0.5, "on_time_rate": 1.0, "rework_rate": 0.0, "extension_rate": 0.0,
        "returns": 0, "return_rate": 0.0, "supervisions": 0,
        "avg_handling_hours": pytest.approx(48), "self_handled": 0,
    }  # fmt: skip
    grid = units[f"grid:{G1}"]
    assert (grid["received"], grid["self_handled"], grid["on_time_rate"]) == (1, 1, 1.0)
    assert grid["avg_handling_hours"] == pytest.approx(1.5)
    department = next(u for u in units.values() if u["level"] == "department")
    with unscoped():
        cg = session.scalar(select(Department).where(Department.code == "500103-CG"))
    assert (department["key"], department["name"]) == (f"department:{cg.id}", cg.name)
    assert (department["due"], department["closed"], department["on_time_rate"]) == (1, 0, 0.0)
    assert units[f"village:{OTHER_VILLAGE}"]["closed_on_time"] == 1


def test_a_stage_that_ran_late_makes_the_closure_late(auth, session, world):
    # r1 was accepted late, then handled and verified in time: its running stage's breach was
    # cleared when the next stage started, but the first breach is kept.
    with unscoped():
        world["r1"].overdue_at = bj(10, 9)
        session.flush()
    board = _units(auth)[f"board:{TOWNSHIP}:safety"]
    assert (board["due"], board["closed"], board["closed_on_time"]) == (1, 1, 0)
    assert board["on_time_rate"] == 0.0


def test_the_period_is_counted_in_beijing_days(auth, world):
    # 1 March 00:10 Beijing is still 28 February in UTC: it belongs to March here.
    later = auth.get(
        "demo_supervisor_city", "/api/v1/evaluation/units?from=2026-03-02&to=2026-03-31"
    ).json["items"]
    village = next(u for u in later if u["key"] == f"village:{V1}")
    assert village["received"] == 5
    assert _units(auth)[f"village:{V1}"]["received"] == 6


def test_each_level_sees_its_own_units(auth, world):
    township = _units(auth, "demo_supervisor_township")
    assert {u["level"] for u in township.values()} == {"village", "board", "grid"}
    assert f"village:{OTHER_VILLAGE}" not in township
    assert _measures(township[f"village:{V1}"]) == VILLAGE_EXPECTED
    district = _units(auth, "demo_supervisor_district")
    assert "department" in {u["level"] for u in district.values()}
    only = _units(auth, query="&level=board")
    assert set(only) == {f"board:{TOWNSHIP}:safety"}
    inside = _units(auth, query=f"&area={OTHER_VILLAGE}")
    assert set(inside) == {f"village:{OTHER_VILLAGE}"}


def test_rankings_sort_by_any_measure_with_empty_rates_last(auth, world):
    ranked = auth.get(
        "demo_supervisor_township", f"/api/v1/evaluation/units?{MARCH}&sort=-on_time_rate"
    ).json["items"]
    rates = [u["on_time_rate"] for u in ranked]
    assert rates == sorted(rates, reverse=True)
    assert ranked[-1]["key"] == f"village:{V1}"
    by_received = auth.get(
        "demo_supervisor_township", f"/api/v1/evaluation/units?{MARCH}&sort=received&page_size=1"
    ).json
    assert by_received["total"] == 3
    assert by_received["items"][0]["received"] == 1


def test_people_are_scored_as_handlers(auth, world):
    response = auth.get("demo_supervisor_township", f"/api/v1/evaluation/people?{MARCH}")
    assert response.status_code == 200, response.json
    people = {p["username"]: p for p in response.json["items"]}
    assert _measures(people["demo_village"]) == VILLAGE_EXPECTED
    assert people["demo_village"]["name"] == "王社区"
    assert people["demo_worker"]["self_handled"] == 1
    assert "demo_dept_cg" not in people  # a township does not evaluate district departments
    district = auth.get("demo_supervisor_district", f"/api/v1/evaluation/people?{MARCH}").json
    assert "demo_dept_cg" in {p["username"] for p in district["items"]}


@pytest.mark.parametrize(
    ("user", "query", "status", "code"),
    [
        ("demo_supervisor_city", "from=2026-03-31&to=2026-03-01", 422, "bad_period"),
        ("demo_supervisor_city", "from=2024-01-01&to=2026-03-01", 422, "period_too_long"),
        ("demo_supervisor_city", "sort=-popularity", 422, "validation_error"),
        ("demo_supervisor_township", f"area={OTHER_VILLAGE}", 404, "area_not_found"),
        ("demo_worker", "", 403, "role_forbidden"),
    ],
)
def test_bad_requests_are_refused_clearly(auth, world, user, query, status, code):
    response = auth.get(user, f"/api/v1/evaluation/units?{query}")
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json["error"]["message"])


def test_csv_export_opens_in_excel_and_keeps_secrets(auth, world):
    response = auth.get("demo_supervisor_township", f"/api/v1/events/export.csv?{MARCH}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff事件编号,上报时间")
    table = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    ids = {int(r["事件编号"]) for r in table}
    inside = {"e1", "e2", "e3", "e4", "e5", "e6", "r1", "b2", "g1", "d1"}
    assert ids == {world[k].id for k in inside}  # not e0 (February) nor o1 (elsewhere)
    first = next(r for r in table if int(r["事件编号"]) == world["e1"].id)
    assert first["事件描述"].startswith("'=HYPERLINK")  # never run as a formula
    assert first["上报时间"] == "2026-03-02 09:00:00"
    assert first["状态"] == "已结案"
    assert SECRET not in body and "key_person" not in body


def test_geojson_export_is_a_feature_collection_in_scope(auth, world):
    response = auth.get(
        "demo_supervisor_city", f"/api/v1/events/export.geojson?{MARCH}&area={OTHER_VILLAGE}"
    )
    assert response.status_code == 200
    data = json.loads(response.data)
    assert data["type"] == "FeatureCollection"
    [feature] = data["features"]
    assert feature["id"] == world["o1"].id
    assert feature["geometry"] == {"type": "Point", "coordinates": [106.58, 29.56]}
    assert feature["properties"]["village_id"] == OTHER_VILLAGE
    refused = auth.get("demo_worker", f"/api/v1/events/export.geojson?{MARCH}")
    assert refused.status_code == 403


def test_export_streams_in_batches(app, session, world, monkeypatch):
    """A large export is written batch by batch, never built whole."""
    from app.evaluation import export

    monkeypatch.setattr(export, "BATCH", 3)
    with unscoped():
        march = list(
            export.csv_chunks(export.rows(first=bj(1, 0).date(), last=bj(31, 0).date(), area=None))
        )
    # header, then 11 March rows in batches of 3 (3, 3, 3, rest): five chunks.
    assert len(march) == 5
    assert sum(c.count("\n") for c in march[1:]) == 11

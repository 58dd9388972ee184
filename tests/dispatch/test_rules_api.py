"""/api/v1/dispatch/rules: admins edit the rules for places in their scope, everything is
validated, the first matching active rule by position wins, and the preview tells what
dispatch would do (and why) exactly as decide() does."""

from __future__ import annotations

import json
import logging
import random
import uuid

import pytest
from sqlalchemy import or_, select

from app.accounts.models import Department
from app.categories.models import Subcategory
from app.core.scope import unscoped
from app.dispatch import service
from app.dispatch.models import DispatchRule
from app.events.models import Event
from app.geo.codes import ancestry
from app.geo.models import Area

RULES = "/api/v1/dispatch/rules"
PREVIEW = "/api/v1/dispatch/rules/preview"
DISTRICT = "500103000000"  # 渝中区
JIEFANGBEI = "500103003000"  # 解放碑街道 (the demo township)
QIXINGGANG = "500103001000"  # 七星岗街道
OTHER_DISTRICT = "500104000000"  # 大渡口区: added by the `other_district` fixture
GRID = "500103003013001"


@pytest.fixture
def other_district(session):
    with unscoped():
        session.add(
            Area(
                id=int(OTHER_DISTRICT),
                code=OTHER_DISTRICT,
                level="district",
                kind="区",
                name="大渡口区",
                parent_id=500000000000,
                district_id=int(OTHER_DISTRICT),
            )
        )
        session.flush()
    return OTHER_DISTRICT


def _admin(auth, username: str, node: str) -> str:
    from app.accounts.service import create_user

    with unscoped():
        create_user(username=username, password="Admin-2026-pw", role="admin", node=node)
    auth.token(username, "Admin-2026-pw")
    return username


@pytest.fixture
def district_admin(session, auth):
    return _admin(auth, "yz_admin", DISTRICT)


def _rule(session, **values) -> DispatchRule:
    """A rule written straight to the table (set-up, bypassing the API)."""
    values.setdefault("handling_level", "board")
    values.setdefault("board", "safety")
    rule = DispatchRule(**values)
    with unscoped():
        session.add(rule)
        session.flush()
    return rule


def _create(auth, user="demo_admin", **body):
    body.setdefault("handling_level", "village")
    return auth.post(user, RULES, json=body)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [r["id"] for r in response.json["items"]]


# -- editing ------------------------------------------------------------------------------------


def test_city_admin_creates_lists_changes_and_deletes_a_rule(auth):
    created = _create(
        auth,
        position=10,
        subcategory="DISPUTE_NEIGHBOR",
        max_priority=2,
        area=JIEFANGBEI,
        handling_level="board",
        board="safety",
        note="解放碑邻里纠纷由平安法治板块办理",
    )
    assert created.status_code == 201, created.json
    rule = created.json
    assert rule == {
        "id": rule["id"],
        "position": 10,
        "category": None,
        "subcategory": "DISPUTE_NEIGHBOR",
        "max_priority": 2,
        "emergency": None,
        "area": JIEFANGBEI,
        "handling_level": "board",
        "board": "safety",
        "department_kind": None,
        "note": "解放碑邻里纠纷由平安法治板块办理",
        "active": True,
    }
    assert rule["id"] in _ids(auth.get("demo_admin", RULES))

    changed = auth.request(
        "demo_admin",
        "PATCH",
        f"{RULES}/{rule['id']}",
        json={"handling_level": "department", "department_kind": "MZ", "active": False},
    )
    assert changed.status_code == 200, changed.json
    assert (changed.json["handling_level"], changed.json["department_kind"]) == ("department", "MZ")
    assert changed.json["active"] is False and changed.json["board"] == "safety"

    assert auth.request("demo_admin", "DELETE", f"{RULES}/{rule['id']}").status_code == 204
    assert rule["id"] not in _ids(auth.get("demo_admin", RULES))
    again = auth.request("demo_admin", "DELETE", f"{RULES}/{rule['id']}")
    assert again.status_code == 404 and again.json["error"]["code"] == "dispatch_rule_not_found"


def test_the_list_is_paginated_filtered_and_in_comparison_order(auth, session):
    late = _rule(session, position=50, category_code="DISPUTE")
    first = _rule(session, position=5, subcategory_code="DISPUTE_LAND", active=False)
    tie_a = _rule(session, position=20, area_id=int(JIEFANGBEI))
    tie_b = _rule(session, position=20, handling_level="village", board=None)
    assert _ids(auth.get("demo_admin", RULES)) == [first.id, tie_a.id, tie_b.id, late.id]
    page = auth.get("demo_admin", f"{RULES}?page_size=2&page=2").json
    assert (page["total"], [r["id"] for r in page["items"]]) == (4, [tie_b.id, late.id])
    assert _ids(auth.get("demo_admin", f"{RULES}?active=false")) == [first.id]
    assert _ids(auth.get("demo_admin", f"{RULES}?category=DISPUTE")) == [late.id]
    assert _ids(auth.get("demo_admin", f"{RULES}?subcategory=DISPUTE_LAND")) == [first.id]
    assert _ids(auth.get("demo_admin", f"{RULES}?handling_level=village")) == [tie_b.id]
    assert _ids(auth.get("demo_admin", f"{RULES}?area={JIEFANGBEI}")) == [tie_a.id]
    assert tie_a.id not in _ids(auth.get("demo_admin", f"{RULES}?citywide=true"))
    assert _ids(auth.get("demo_admin", f"{RULES}?citywide=false")) == [tie_a.id]
    bad = auth.get("demo_admin", f"{RULES}?area=abc")
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid_area"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"subcategory": "NO_SUCH_THING"}, "unknown_subcategory"),
        ({"category": "NOPE"}, "unknown_category"),
        ({"category": "SAFETY", "subcategory": "DISPUTE_NEIGHBOR"}, "category_mismatch"),
        ({"handling_level": "board"}, "board_required"),
        ({"handling_level": "department"}, "department_kind_required"),
        ({"handling_level": "grid", "department_kind": "CG"}, "department_kind_not_allowed"),
        ({"area": "500103003013"}, "area_not_district_or_township"),  # a community
        ({"area": "500103003013001"}, "invalid_area"),  # a grid
        ({"area": "500000000000"}, "area_not_district_or_township"),  # the city: use null
        ({"area": "500199000000"}, "unknown_area"),
        ({"area": "渝中区"}, "invalid_area"),
        ({"handling_level": "city"}, "validation_error"),
        ({"handling_level": "board", "board": "culture"}, "validation_error"),
        ({"handling_level": "department", "department_kind": "XX"}, "validation_error"),
        ({"max_priority": 0}, "validation_error"),
        ({"position": -1}, "validation_error"),
        ({"note": "x" * 501}, "validation_error"),
        ({"severity": "high"}, "validation_error"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(auth, session, body, code):
    response = _create(auth, **body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert session.scalars(select(DispatchRule)).first() is None


def test_a_change_is_validated_against_the_whole_rule(auth, session):
    rule = _rule(session, handling_level="department", board=None, department_kind="CG")
    # Moving away from a department must drop the department kind too.
    url = f"{RULES}/{rule.id}"
    half = auth.request("demo_admin", "PATCH", url, json={"handling_level": "grid"})
    assert half.status_code == 422 and half.json["error"]["code"] == "department_kind_not_allowed"
    whole = auth.request(
        "demo_admin",
        "PATCH",
        f"{RULES}/{rule.id}",
        json={"handling_level": "grid", "department_kind": None},
    )
    assert whole.status_code == 200, whole.json
    unknown = auth.request("demo_admin", "PATCH", f"{RULES}/999999", json={"note": "x"})
    assert unknown.status_code == 404


# -- who may edit -------------------------------------------------------------------------------


def test_a_district_admin_edits_their_district_and_townships_only(
    auth, session, district_admin, other_district
):
    own = _create(auth, district_admin, area=DISTRICT)
    township = _create(auth, district_admin, area=QIXINGGANG)
    assert own.status_code == 201 and township.status_code == 201

    citywide = _create(auth, district_admin)
    assert citywide.status_code == 403
    assert citywide.json["error"]["code"] == "city_admin_only"
    elsewhere = _create(auth, district_admin, area=other_district)
    assert elsewhere.status_code == 403 and elsewhere.json["error"]["code"] == "out_of_scope"

    # Moving their own rule out of their hands is refused too.
    for area, code in ((None, "city_admin_only"), (other_district, "out_of_scope")):
        moved = auth.request(
            district_admin, "PATCH", f"{RULES}/{own.json['id']}", json={"area": area}
        )
        assert moved.status_code == 403 and moved.json["error"]["code"] == code

    city_rule = _rule(session, note="全市")
    foreign = _rule(session, area_id=int(other_district), note="大渡口")
    # City-wide rules apply to their district, so they see them, but cannot change them.
    listed = _ids(auth.get(district_admin, RULES))
    assert set(listed) == {own.json["id"], township.json["id"], city_rule.id}
    for method, kw in (("PATCH", {"json": {"note": "改"}}), ("DELETE", {})):
        refused = auth.request(district_admin, method, f"{RULES}/{city_rule.id}", **kw)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "city_admin_only"
        hidden = auth.request(district_admin, method, f"{RULES}/{foreign.id}", **kw)
        assert hidden.status_code == 404
    dropped = auth.request(district_admin, "DELETE", f"{RULES}/{township.json['id']}")
    assert dropped.status_code == 204

    # The other district's admin sees none of 渝中区's rules.
    theirs = _admin(auth, "ddk_admin", other_district)
    assert set(_ids(auth.get(theirs, RULES))) == {city_rule.id, foreign.id}


def test_dispatchers_read_the_rules_that_reach_their_township_and_no_one_else_edits(auth, session):
    citywide = _rule(session)
    district = _rule(session, area_id=int(DISTRICT))
    own = _rule(session, area_id=int(JIEFANGBEI))
    other = _rule(session, area_id=int(QIXINGGANG))
    assert set(_ids(auth.get("demo_dispatcher", RULES))) == {citywide.id, district.id, own.id}
    assert other.id in _ids(auth.get("demo_admin", RULES))

    for user in ("demo_dispatcher", "demo_worker", "demo_supervisor_city"):
        for method, url, kw in (
            ("POST", RULES, {"json": {"handling_level": "village"}}),
            ("PATCH", f"{RULES}/{own.id}", {"json": {"note": "x"}}),
            ("DELETE", f"{RULES}/{own.id}", {}),
        ):
            refused = auth.request(user, method, url, **kw)
            assert refused.status_code == 403, (user, method)
            assert refused.json["error"]["code"] == "role_forbidden"
    for user in ("demo_worker", "demo_dept_cg", "demo_supervisor_district"):
        assert auth.get(user, RULES).status_code == 403
        body = {"subcategory": "DISPUTE_NEIGHBOR", "area": JIEFANGBEI}
        assert auth.post(user, PREVIEW, json=body).status_code == 403


def test_changes_leave_a_trace_with_the_admin(auth, caplog):
    caplog.set_level(logging.INFO, logger="wangge.admin")
    rule = _create(auth, area=JIEFANGBEI, note="初版").json
    auth.request("demo_admin", "PATCH", f"{RULES}/{rule['id']}", json={"note": "二版"})
    auth.request("demo_admin", "DELETE", f"{RULES}/{rule['id']}")
    _create(auth, subcategory="NO_SUCH_THING")  # refused: no trace
    lines = [
        json.loads(r.getMessage().removeprefix("admin change "))
        for r in caplog.records
        if r.name == "wangge.admin"
    ]
    assert [line["action"] for line in lines] == [
        "dispatch_rule.create",
        "dispatch_rule.update",
        "dispatch_rule.delete",
    ]
    assert {line["username"] for line in lines} == {"demo_admin"}
    assert {line["target"] for line in lines} == {f"dispatch_rule:{rule['id']}"}
    assert lines[0]["after"]["area_id"] == int(JIEFANGBEI)
    assert (lines[1]["before"], lines[1]["after"]) == ({"note": "初版"}, {"note": "二版"})
    assert lines[2]["before"]["note"] == "二版"


# -- which rule wins ----------------------------------------------------------------------------


def _report(auth, point_in, subcategory: str, grid: str = GRID) -> dict:
    response = auth.post(
        "demo_dispatcher",
        "/api/v1/events",
        json={
            "client_uuid": str(uuid.uuid4()),
            "description": f"规则测试 {uuid.uuid4().hex[:6]}",
            "location": {"type": "Point", "coordinates": point_in(grid)},
            "subcategory": subcategory,
        },
    )
    assert response.status_code == 201, response.json
    return response.json


def test_the_first_matching_active_rule_by_position_wins(auth, session, point_in):
    """Rules are compared by position, then id; inactive and non-matching ones are skipped."""
    _rule(session, position=1, subcategory_code="DISPUTE_NEIGHBOR", active=False, note="停用")
    _rule(session, position=2, subcategory_code="DISPUTE_LAND", note="别的小类")
    _rule(session, position=3, area_id=int(QIXINGGANG), note="别的镇街")
    _rule(session, position=4, emergency=True, note="只管紧急")
    winner = _rule(session, position=10, category_code="DISPUTE", board="party", note="胜出")
    _rule(session, position=10, category_code="DISPUTE", board="economy", note="同位后建")
    _rule(session, position=5_000, board="livelihood", note="兜底")

    event = _report(auth, point_in, "DISPUTE_NEIGHBOR")
    assert event["dispatch_reason"]["rule"] == {"kind": "rule", "id": winner.id, "note": "胜出"}
    assert (event["assigned_unit"]["level"], event["assigned_unit"]["board"]) == ("board", "party")

    preview = auth.post(
        "demo_dispatcher", PREVIEW, json={"subcategory": "DISPUTE_NEIGHBOR", "area": GRID}
    ).json
    assert preview["rule"]["id"] == winner.id
    assert [(c["note"], c["matched"], c["mismatched"]) for c in preview["considered"]] == [
        ("别的小类", False, ["subcategory"]),
        ("别的镇街", False, ["area"]),
        ("只管紧急", False, ["emergency"]),
        ("胜出", True, []),
    ]
    # Moving the catch-all to the front makes it win instead.
    catch_all = session.scalars(select(DispatchRule).where(DispatchRule.note == "兜底")).one()
    auth.request("demo_admin", "PATCH", f"{RULES}/{catch_all.id}", json={"position": 0})
    # (Another grid: a second report at the same spot would be held as a likely duplicate.)
    moved = _report(auth, point_in, "DISPUTE_NEIGHBOR", grid="500103003013002")
    assert moved["assigned_unit"]["board"] == "livelihood"


# -- preview ------------------------------------------------------------------------------------


def test_preview_answers_what_dispatch_then_does(auth, session, point_in):
    _rule(
        session,
        position=1,
        subcategory_code="SANITATION_EXPOSED_GARBAGE",
        area_id=int(JIEFANGBEI),
        handling_level="department",
        board=None,
        department_kind="CG",
        note="解放碑垃圾交城管",
    )
    for subcategory in ("SANITATION_EXPOSED_GARBAGE", "DISPUTE_NEIGHBOR", "MUNICIPAL_MANHOLE"):
        body = {
            "subcategory": subcategory,
            "location": {"type": "Point", "coordinates": point_in(GRID)},
        }
        preview = auth.post("demo_admin", PREVIEW, json=body)
        assert preview.status_code == 200, preview.json
        event = _report(auth, point_in, subcategory)
        reason = event["dispatch_reason"]
        assert preview.json["rule"] == reason["rule"], subcategory
        assert preview.json["unit"] == reason["unit"], subcategory
        assert preview.json["handling_level"] == event["assigned_unit"]["level"]
        assert preview.json["place"]["grid"] == GRID
        assert preview.json["problem"] is None
        ids = {c["user_id"] for c in preview.json["candidates"]}
        assert ids == {c["user_id"] for c in reason["candidates"]}
    cg = session.scalar(select(Department.id).where(Department.code == "500103-CG"))
    garbage = auth.post(
        "demo_admin",
        PREVIEW,
        json={"subcategory": "SANITATION_EXPOSED_GARBAGE", "area": JIEFANGBEI},
    ).json
    assert garbage["unit"]["department_id"] == cg and garbage["department_kind"] == "CG"
    assert any(c["username"] == "demo_dept_cg" for c in garbage["candidates"])
    assert garbage["chosen"]["user_id"] == garbage["user_id"]


def test_preview_overrides_priority_and_emergency(auth, session):
    urgent = _rule(session, position=1, max_priority=1, board="party", note="特急")
    alarm = _rule(session, position=2, emergency=True, board="economy", note="紧急")
    base = {"subcategory": "DISPUTE_NEIGHBOR", "area": JIEFANGBEI}  # priority 3, not urgent
    plain = auth.post("demo_admin", PREVIEW, json=base).json
    assert plain["rule"]["kind"] == "subcategory_default"
    assert (plain["priority"], plain["emergency"]) == (3, False)
    top = auth.post("demo_admin", PREVIEW, json={**base, "priority": 1}).json
    assert top["rule"]["id"] == urgent.id and top["board"] == "party"
    flagged = auth.post("demo_admin", PREVIEW, json={**base, "emergency": True}).json
    assert flagged["rule"]["id"] == alarm.id
    assert flagged["considered"][0]["mismatched"] == ["max_priority"]


def test_preview_reports_a_rule_dispatch_could_not_carry_out(auth, session):
    # Written past the API's checks (say, a department kind retired since): the preview says
    # which rule matched and why dispatching by it would fail.
    broken = _rule(
        session, handling_level="department", board=None, department_kind="ZZ", note="旧部门"
    )
    result = auth.post(
        "demo_admin", PREVIEW, json={"subcategory": "DISPUTE_NEIGHBOR", "area": JIEFANGBEI}
    )
    assert result.status_code == 200, result.json
    assert result.json["rule"]["id"] == broken.id
    assert result.json["problem"]["code"] == "department_missing"
    assert result.json["unit"] is None and result.json["candidates"] == []


@pytest.mark.parametrize(
    ("user", "body", "status", "code"),
    [
        ("demo_dispatcher", {"area": QIXINGGANG}, 403, "out_of_scope"),
        ("demo_dispatcher", {"area": DISTRICT}, 403, "out_of_scope"),
        ("demo_admin", {"area": "500000000000"}, 422, "invalid_area"),
        ("demo_admin", {"area": "500199000000"}, 422, "unknown_area"),
        ("demo_admin", {"area": "abc"}, 422, "invalid_area"),
        ("demo_admin", {}, 422, "validation_error"),
        (
            "demo_admin",
            {"area": JIEFANGBEI, "location": {"type": "Point", "coordinates": [106.5, 29.5]}},
            422,
            "validation_error",
        ),
        (
            "demo_admin",
            {"location": {"type": "Point", "coordinates": [100.0, 20.0]}},
            422,
            "outside_grids",
        ),
        ("demo_admin", {"area": JIEFANGBEI, "subcategory": "NOPE"}, 422, "unknown_subcategory"),
        ("demo_admin", {"area": JIEFANGBEI, "priority": 9}, 422, "validation_error"),
    ],
)
def test_bad_previews_are_refused(auth, user, body, status, code):
    response = auth.post(user, PREVIEW, json={"subcategory": "DISPUTE_NEIGHBOR", **body})
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code


def test_dispatchers_preview_the_location_in_their_township(auth, point_in):
    inside = {"subcategory": "DISPUTE_NEIGHBOR", "area": "500103003013"}
    assert auth.post("demo_dispatcher", PREVIEW, json=inside).status_code == 200
    outside = {
        "subcategory": "DISPUTE_NEIGHBOR",
        "location": {"type": "Point", "coordinates": point_in("500103001003001")},
    }
    refused = auth.post("demo_dispatcher", PREVIEW, json=outside)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "out_of_scope"


def _matching_sql(event):
    places = [p for p in (event.district_id, event.township_id) if p is not None]
    return (
        select(DispatchRule)
        .where(
            DispatchRule.active.is_(True),
            or_(
                DispatchRule.category_code.is_(None),
                DispatchRule.category_code == event.category_code,
            ),
            or_(
                DispatchRule.subcategory_code.is_(None),
                DispatchRule.subcategory_code == event.subcategory_code,
            ),
            or_(DispatchRule.max_priority.is_(None), DispatchRule.max_priority >= event.priority),
            or_(DispatchRule.emergency.is_(None), DispatchRule.emergency == event.emergency),
            or_(DispatchRule.area_id.is_(None), DispatchRule.area_id.in_(places)),
        )
        .order_by(DispatchRule.position, DispatchRule.id)
    )


def test_the_rule_matching_agrees_with_the_same_conditions_in_sql(session):
    """The rules' conditions as decide() and the preview read them, in Python over the process's
    copy of the rules, pick the rule the same conditions in SQL pick (NULL means "any")."""
    rng = random.Random(20270306)
    with unscoped():
        subcategories = session.scalars(select(Subcategory)).all()
    places = [DISTRICT, JIEFANGBEI, QIXINGGANG, "500103004000"]
    for _ in range(25):
        sub = rng.choice(subcategories)
        conditions = {
            "category_code": rng.choice([None, None, sub.category_code, "DISPUTE"]),
            "subcategory_code": rng.choice([None, None, None, sub.code]),
            "max_priority": rng.choice([None, 1, 2, 3, 4]),
            "emergency": rng.choice([None, None, True, False]),
            "area_id": rng.choice([None, None, *map(int, places)]),
        }
        if all(value is None for value in conditions.values()):
            conditions["subcategory_code"] = sub.code  # no catch-all: misses must happen too
        _rule(session, position=rng.randrange(0, 20), active=rng.random() > 0.2, **conditions)
    grids = ["500103003013001", "500103001003001", "500103004001001", GRID]
    with unscoped():
        grids += [str(g) for g in session.scalars(select(Area.id).where(Area.level == "grid"))][:5]
        matched = 0
        for _ in range(200):
            sub = rng.choice(subcategories)
            event = Event(
                category_code=sub.category_code,
                subcategory_code=sub.code,
                priority=rng.randint(1, 4),
                emergency=rng.random() < 0.3,
                **ancestry(rng.choice(grids)),
            )
            by_sql = session.scalars(_matching_sql(event).limit(1)).first()
            by_python = service._matching_rule(event)
            assert (by_python and by_python.id) == (by_sql and by_sql.id)
            matched += by_sql is not None
    assert 20 < matched < 180  # both outcomes exercised

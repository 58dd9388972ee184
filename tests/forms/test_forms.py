""" "一表通" smart reports: definitions refused with reasons, prefill figures worked out by hand
from data made here, filling and its checks, submit and return 退回, rollups up the hierarchy,
scope, live messages and the Excel export read back with openpyxl (docs/forms.md)."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select, update

from app.accounts.service import create_user
from app.core.scope import unscoped
from app.forms.models import Filing, Form
from app.geo.codes import ancestry
from app.geo.models import Area
from app.keys.models import KeyPerson, KeyPlace, KeyVisit
from app.realtime.models import OutboxMessage
from tests.support import DEMO_PASSWORD

BJ = ZoneInfo("Asia/Shanghai")
TOWNSHIP = "500103003000"  # 解放碑街道 (demo_dispatcher)
DISTRICT = "500103000000"  # 渝中区
V1 = "500103003013"  # 民生路社区 (demo_village, demo_leader)
V2 = "500103003016"  # 莲花池社区
V3 = "500103003017"  # 邹容路社区
G1 = V1 + "001"  # demo_worker's home grid
G2 = V1 + "002"  # demo_worker's second grid
OTHER_VILLAGE = "500103001003"  # 七星岗街道 · 华一坡社区
VILLAGES_IN_TOWNSHIP = 9  # the fixture's 解放碑街道 has 9 communities of 15 grids each
GRIDS_PER_VILLAGE = 15


def bj(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BJ)


def due() -> str:
    return (date.today() + timedelta(days=30)).isoformat()


FIELDS = [
    {"key": "received", "label": "受理事件", "type": "integer", "unit": "件",
     "source": "events.received"},
    {"key": "filed", "label": "立案事件", "type": "integer", "source": "events.filed"},
    {"key": "closed", "label": "结案事件", "type": "integer", "source": "events.closed"},
    {"key": "overdue", "label": "超期事件", "type": "integer", "source": "events.overdue"},
    {"key": "municipal", "label": "市政设施事件", "type": "integer",
     "source": "events.category.MUNICIPAL"},
    {"key": "elderly", "label": "独居老人", "type": "integer", "unit": "人",
     "source": "keys.person.elderly_alone"},
    {"key": "persons", "label": "重点人员", "type": "integer", "source": "keys.persons"},
    {"key": "places", "label": "重点场所", "type": "integer", "source": "keys.places"},
    {"key": "visits", "label": "走访次数", "type": "integer", "source": "keys.visits"},
    {"key": "grids", "label": "网格数", "type": "integer", "source": "geo.grids"},
    {"key": "workers", "label": "网格员", "type": "integer", "source": "staff.grid_workers"},
    {"key": "satisfaction", "label": "群众满意度", "type": "decimal", "unit": "分",
     "aggregate": "avg", "decimals": 1, "min": 0, "max": 100},
    {"key": "safe", "label": "是否完成消防检查", "type": "yesno", "required": True},
    {"key": "state", "label": "总体态势", "type": "choice", "choices": ["平稳", "一般", "紧张"],
     "required": True},
    {"key": "note", "label": "情况说明", "type": "text"},
    {"key": "funds", "label": "最大单笔经费", "type": "decimal", "unit": "万元",
     "aggregate": "max"},
]  # fmt: skip


def definition(**over) -> dict:
    body = {
        "title": "三月基层治理月报",
        "description": "请各社区如实填报，系统已预填的数字请核对。",
        "period_kind": "month",
        "period_start": "2026-03-01",
        "due_on": due(),
        "fill_level": "village",
        "fields": FIELDS,
    }
    return body | over


@pytest.fixture
def forms(auth):
    """Create (and optionally publish) forms through the API."""

    def make(user="demo_dispatcher", *, publish=True, **over):
        created = auth.post(user, "/api/v1/forms", json=definition(**over))
        assert created.status_code == 201, created.json
        if not publish:
            return created.json
        published = auth.post(user, f"/api/v1/forms/{created.json['id']}/publish")
        assert published.status_code == 200, published.json
        return published.json

    return make


def _filings(auth, form_id: int, user="demo_dispatcher") -> dict[str, dict]:
    listed = auth.get(user, f"/api/v1/filings?form_id={form_id}&page_size=500")
    assert listed.status_code == 200, listed.json
    return {f["area"]["code"]: f for f in listed.json["items"]}


def _put(auth, user, filing_id, values, submit=False):
    return auth.request(
        user, "PUT", f"/api/v1/filings/{filing_id}", json={"values": values, "submit": submit}
    )


def _rooms(session, kind: str) -> set[str]:
    with unscoped():
        return set(session.scalars(select(OutboxMessage.room).where(OutboxMessage.kind == kind)))


@pytest.fixture
def staff(session, auth):
    """Village staff for other villages, and a village elsewhere, logged in on first use."""

    def make(node: str, role="village_staff") -> str:
        username = f"forms_{role}_{node}"
        with unscoped():
            create_user(username=username, role=role, node=node, password=DEMO_PASSWORD)
        return username

    return make


# -- definitions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "code", "words"),
    [
        ({"fields": [{"key": "1abc", "label": "甲", "type": "integer"}]}, 422,
         "field_key_invalid", "标识"),
        ({"fields": [{"key": "a", "label": "甲", "type": "integer"},
                     {"key": "a", "label": "乙", "type": "text"}]}, 422,
         "field_key_duplicate", "重复"),
        ({"fields": [{"key": "a", "label": "说明", "type": "text", "aggregate": "sum"}]}, 422,
         "field_aggregate_invalid", "汇总方式"),
        ({"fields": [{"key": "a", "label": "态势", "type": "choice", "choices": ["好"]}]}, 422,
         "field_choices_invalid", "两个"),
        ({"fields": [{"key": "a", "label": "甲", "type": "integer", "source": "events.nope"}]},
         422, "field_source_unknown", "数据来源"),
        ({"fields": [{"key": "a", "label": "甲", "type": "text", "source": "events.received"}]},
         422, "field_source_invalid", "预填"),
        ({"fields": [{"key": "a", "label": "甲", "type": "integer", "min": 5, "max": 1}]}, 422,
         "field_bounds_invalid", "下限"),
        ({"fields": []}, 422, "form_no_fields", "至少"),
        ({"fill_level": "township"}, 422, "fill_level_invalid", "下级"),
        ({"period_kind": "adhoc"}, 422, "period_end_required", "结束日期"),
        ({"period_kind": "adhoc", "period_end": "2027-06-01"}, 422, "period_too_long", "366"),
        ({"due_on": "2026-02-27"}, 422, "due_before_period", "截止日期"),
        ({"title": "   "}, 422, "form_title_required", "名称"),
        ({"area": "500103001000"}, 404, "area_not_found", "区域"),
        ({"area": DISTRICT}, 403, "out_of_scope", "本级"),
        ({"area": V1}, 422, "form_owner_level", "镇街"),
        ({"colour": "red"}, 422, "validation_error", "无效"),
    ],
)  # fmt: skip
def test_bad_definitions_are_refused_with_reasons(auth, change, status, code, words):
    response = auth.post("demo_dispatcher", "/api/v1/forms", json=definition(**change))
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert words in response.json["error"]["message"]


def test_only_authors_define_forms_and_past_due_forms_are_not_published(auth, forms):
    refused = auth.post("demo_village", "/api/v1/forms", json=definition())
    assert refused.status_code == 403 and refused.json["error"]["code"] == "role_forbidden"
    draft = forms(publish=False)
    # Periods are whole calendar months, quarters or years.
    assert (draft["period_start"], draft["period_end"]) == ("2026-03-01", "2026-03-31")
    quarter = forms(publish=False, period_kind="quarter", period_start="2026-05-17")
    assert (quarter["period_start"], quarter["period_end"]) == ("2026-04-01", "2026-06-30")
    # Defaults filled in: numbers sum, yes/no counts "yes", choices count each, text is listed.
    aggregates = {f["key"]: f["aggregate"] for f in draft["fields"]}
    assert aggregates["received"] == "sum" and aggregates["safe"] == "count_yes"
    assert aggregates["state"] == "count_each" and aggregates["note"] == "list"
    assert draft["owner"] == {"code": TOWNSHIP, "name": "解放碑街道", "level": "township"}

    # A draft is seen at its owner's level only.
    assert auth.get("demo_village", f"/api/v1/forms/{draft['id']}").status_code == 404
    assert auth.get("demo_dispatcher", f"/api/v1/forms/{draft['id']}").status_code == 200

    body = definition(due_on="2026-03-31")
    put = auth.request("demo_dispatcher", "PUT", f"/api/v1/forms/{draft['id']}", json=body)
    assert put.status_code == 200, put.json
    late = auth.post("demo_dispatcher", f"/api/v1/forms/{draft['id']}/publish")
    assert late.status_code == 422 and late.json["error"]["code"] == "form_due_passed"
    assert "截止日期已过" in late.json["error"]["message"]

    gone = auth.request("demo_dispatcher", "DELETE", f"/api/v1/forms/{draft['id']}")
    assert gone.status_code == 204
    assert auth.get("demo_dispatcher", f"/api/v1/forms/{draft['id']}").status_code == 404


def test_publishing_makes_one_filing_per_area_and_tells_them(auth, session, forms):
    form = forms()
    assert form["status"] == "published"
    assert form["progress"]["expected"] == VILLAGES_IN_TOWNSHIP
    assert form["progress"]["outstanding"] == VILLAGES_IN_TOWNSHIP
    filings = _filings(auth, form["id"])
    assert set(filings) == {
        TOWNSHIP[:9] + c for c in ("013", "016", "017", "018", "019", "020", "021", "023", "024")
    }
    assert {f"area:{code}" for code in filings} | {f"area:{TOWNSHIP}"} == _rooms(
        session, "form_published"
    )
    # A published definition is fixed; it can be closed, not deleted.
    changed = auth.request(
        "demo_dispatcher", "PUT", f"/api/v1/forms/{form['id']}", json=definition()
    )
    assert changed.status_code == 409 and changed.json["error"]["code"] == "form_not_draft"
    deleted = auth.request("demo_dispatcher", "DELETE", f"/api/v1/forms/{form['id']}")
    assert deleted.status_code == 409
    # The village sees the form published above it, and its own filing only.
    assert auth.get("demo_village", f"/api/v1/forms/{form['id']}").json["can_manage"] is False
    mine = auth.get("demo_village", "/api/v1/filings?mine=true&open=true").json["items"]
    assert [f["area"]["code"] for f in mine] == [V1]
    assert mine[0]["can_fill"] is True
    assert auth.get("demo_worker", "/api/v1/filings?mine=true").json["items"] == []


# -- prefill ---------------------------------------------------------------------------------


@pytest.fixture
def village_data(session):
    """Events, key persons and places and visits in 民生路社区 (V1) and elsewhere, around March."""
    with unscoped():

        def event(grid, received, state="in_progress", category="MUNICIPAL", **extra):
            sub = {"MUNICIPAL": "MUNICIPAL_MANHOLE", "SAFETY": "SAFETY_GAS"}[category]
            from app.events.models import Event

            row = Event(
                client_uuid=uuid.uuid4(),
                description="一表通预填测试",
                lon=106.58,
                lat=29.56,
                occurred_at=received,
                received_at=received,
                category_code=category,
                subcategory_code=sub,
                state=state,
                **extra,
                **ancestry(grid),
            )
            session.add(row)
            return row

        event(G1, bj(3, 2), "closed", closed_at=bj(3, 3))
        event(G2, bj(3, 5), category="SAFETY", overdue_at=bj(3, 9), handling_level="grid")
        event(G1, bj(3, 10), "rejected")
        event(G1, bj(3, 31, 23, 30))  # the last evening of March, Beijing time
        event(G1, bj(2, 28, 23, 30), "closed")  # the last evening of February
        event(G1, bj(4, 1, 0, 10))  # April in Beijing, still 31 March in UTC
        event(V2 + "001", bj(3, 3))  # another village

        common = {"visit_interval_days": 7, "next_visit_due_at": bj(3, 1)}
        old1 = KeyPerson(kind_code="elderly_alone", name="甲", **common, **ancestry(G1))
        old2 = KeyPerson(kind_code="elderly_alone", name="乙", **common, **ancestry(G2))
        session.add_all([old1, old2])
        session.add(
            KeyPerson(kind_code="community_correction", name="丙", **common, **ancestry(G2))
        )
        session.add(
            KeyPerson(kind_code="elderly_alone", name="别处", **common, **ancestry(V2 + "001"))
        )
        session.add(
            KeyPerson(
                kind_code="elderly_alone", name="已注销", active=False, **common, **ancestry(G1)
            )
        )
        rock = KeyPlace(
            kind_code="hazardous_rock", name="危岩", lon=106.58, lat=29.56, **common, **ancestry(G2)
        )
        session.add(rock)
        session.flush()
        from app.accounts.models import User

        visitor = session.scalar(select(User.id).where(User.username == "demo_worker"))
        session.add_all(
            [
                KeyVisit(person_id=old1.id, visitor_id=visitor, visited_at=bj(3, 4)),
                KeyVisit(place_id=rock.id, visitor_id=visitor, visited_at=bj(3, 20)),
                KeyVisit(person_id=old2.id, visitor_id=visitor, visited_at=bj(4, 2)),  # April
            ]
        )
        # A second grid worker in the village (demo_worker is the first).
        create_user(username="forms_worker_g3", role="grid_worker", node=V1 + "003")
        session.flush()


# Worked out by hand from village_data for 民生路社区, March 2026 (Beijing days).
V1_SYSTEM = {
    "received": 4,  # 3/2, 3/5, 3/10, 3/31 23:30; not 2/28 23:30 nor 4/1 00:10
    "filed": 3,  # the 3/10 event was rejected
    "closed": 1,
    "overdue": 1,  # the 3/5 event ran past a deadline
    "municipal": 3,  # all but the 3/5 safety event
    "elderly": 2,  # active only
    "persons": 3,  # two elderly, one under community correction
    "places": 1,
    "visits": 2,  # the April visit is outside the period
    "grids": GRIDS_PER_VILLAGE,
    "workers": 2,  # demo_worker and forms_worker_g3
}


def test_known_figures_are_prefilled_and_kept_beside_corrections(auth, forms, village_data):
    form = forms()
    filing_id = _filings(auth, form["id"])[V1]["id"]
    opened = auth.get("demo_village", f"/api/v1/filings/{filing_id}")
    assert opened.status_code == 200, opened.json
    assert opened.json["system_now"] == V1_SYSTEM
    assert opened.json["status"] == "pending" and opened.json["can_fill"] is True
    assert [f["key"] for f in opened.json["form"]["fields"]][:3] == ["received", "filed", "closed"]

    # Saving without the prefilled keys takes the system's figures; a correction is kept as such.
    saved = _put(auth, "demo_village", filing_id, {"received": 5, "safe": True, "note": "正常"})
    assert saved.status_code == 200, saved.json
    body = saved.json
    assert body["status"] == "draft"
    assert body["values"]["received"] == 5 and body["values"]["closed"] == 1
    assert body["system"] == V1_SYSTEM
    assert body["corrected"] == ["received"]
    assert [entry["action"] for entry in body["log"]] == ["save"]
    assert body["log"][0]["actor_name"] == "王社区"


# -- filling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "code", "key", "words"),
    [
        ({"satisfaction": "很好"}, "filing_invalid", "satisfaction", "数字"),
        ({"received": 1.5}, "filing_invalid", "received", "整数"),
        ({"received": True}, "filing_invalid", "received", "数字"),
        ({"satisfaction": 101}, "filing_invalid", "satisfaction", "不能大于 100"),
        ({"received": 10**13}, "filing_invalid", "received", "过大"),
        ({"state": "很好"}, "filing_invalid", "state", "选项"),
        ({"safe": "是"}, "filing_invalid", "safe", "是或否"),
        ({"note": {"a": 1}}, "filing_invalid", "note", "文本"),
        ({"note": "长" * 2001}, "filing_invalid", "note", "2000"),
        ({"colour": 1}, "filing_unknown_field", None, "colour"),
    ],
)
def test_values_are_checked_by_type(auth, forms, values, code, key, words):
    form = forms()
    filing_id = _filings(auth, form["id"])[V1]["id"]
    refused = _put(auth, "demo_village", filing_id, values)
    assert refused.status_code == 422, refused.json
    error = refused.json["error"]
    assert error["code"] == code and words in error["message"]
    if key:
        assert key in error["details"]["fields"]


def test_decimals_are_rounded_half_up_and_required_fields_block_submission(auth, forms):
    form = forms()
    filing_id = _filings(auth, form["id"])[V1]["id"]
    saved = _put(auth, "demo_village", filing_id, {"satisfaction": 92.25, "funds": 1.005})
    assert saved.status_code == 200, saved.json
    assert saved.json["values"]["satisfaction"] == 92.3 and saved.json["values"]["funds"] == 1.01
    incomplete = _put(auth, "demo_village", filing_id, {"satisfaction": 92.25}, submit=True)
    assert incomplete.status_code == 422
    assert incomplete.json["error"]["code"] == "filing_incomplete"
    assert "是否完成消防检查" in incomplete.json["error"]["message"]
    assert set(incomplete.json["error"]["details"]["fields"]) == {"safe", "state"}


def test_submit_is_idempotent_and_an_upper_level_returns_it(auth, session, forms, staff):
    form = forms()
    filing_id = _filings(auth, form["id"])[V1]["id"]
    values = {"safe": True, "state": "平稳", "satisfaction": 90}
    submitted = _put(auth, "demo_village", filing_id, values, submit=True)
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["status"] == "submitted" and submitted.json["can_fill"] is False
    assert submitted.json["submitted_by_name"] == "王社区"
    assert {f"area:{TOWNSHIP}"} == _rooms(session, "form_submitted")
    # The phone's queue resends a submission whose answer was lost: nothing changes.
    again = _put(auth, "demo_village", filing_id, values, submit=True)
    assert again.status_code == 200 and again.json["submitted_at"] == submitted.json["submitted_at"]
    changed = _put(auth, "demo_village", filing_id, {**values, "satisfaction": 80})
    assert changed.status_code == 409 and changed.json["error"]["code"] == "filing_submitted"
    assert "退回" in changed.json["error"]["message"]

    # Who may return: a level above, not the filers' own level, not a grid worker.
    worker = auth.post("demo_worker", f"/api/v1/filings/{filing_id}/return", json={"reason": "x"})
    assert worker.status_code == 403 and worker.json["error"]["code"] == "role_forbidden"
    peer = auth.post("demo_leader", f"/api/v1/filings/{filing_id}/return", json={"reason": "x"})
    assert peer.status_code == 403 and peer.json["error"]["code"] == "action_forbidden"
    empty = auth.post(
        "demo_dispatcher", f"/api/v1/filings/{filing_id}/return", json={"reason": " "}
    )
    assert empty.status_code == 422 and empty.json["error"]["code"] == "return_reason_required"
    listed = _filings(auth, form["id"])[V1]
    assert listed["can_return"] is True
    returned = auth.post(
        "demo_dispatcher",
        f"/api/v1/filings/{filing_id}/return",
        json={"reason": "满意度偏高，请核实"},
    )
    assert returned.status_code == 200, returned.json
    assert returned.json["status"] == "returned"
    assert returned.json["return_reason"] == "满意度偏高，请核实"
    assert f"area:{V1}" in _rooms(session, "form_returned")
    twice = auth.post(
        "demo_dispatcher", f"/api/v1/filings/{filing_id}/return", json={"reason": "再"}
    )
    assert twice.status_code == 409 and twice.json["error"]["code"] == "filing_not_submitted"

    # The village corrects it and submits again; the history tells the story.
    mine = auth.get("demo_village", "/api/v1/filings?mine=true&open=true").json["items"]
    assert [f["status"] for f in mine] == ["returned"]
    fixed = _put(auth, "demo_village", filing_id, {**values, "satisfaction": 85}, submit=True)
    assert fixed.status_code == 200, fixed.json
    assert [e["action"] for e in fixed.json["log"]] == ["submit", "return", "resubmit"]
    assert fixed.json["log"][1]["reason"] == "满意度偏高，请核实"
    assert auth.get("demo_village", "/api/v1/filings?mine=true&open=true").json["items"] == []

    # A closed form takes no more filings.
    closed = auth.post("demo_dispatcher", f"/api/v1/forms/{form['id']}/close")
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    other = _filings(auth, form["id"])[V1[:9] + "016"]["id"]
    assert _filings(auth, form["id"])[V1[:9] + "016"]["can_fill"] is False
    refused = _put(auth, staff(V2), other, {"safe": True})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "form_closed"
    with unscoped():
        assert session.get(Filing, other).status == "pending"


def test_only_the_areas_own_people_fill_and_other_townships_see_nothing(auth, forms, staff):
    form = forms()
    filings = _filings(auth, form["id"])
    v1 = filings[V1]["id"]
    # The township's dispatcher fills township-level forms, not a village's.
    dispatcher = _put(auth, "demo_dispatcher", v1, {"safe": True})
    assert dispatcher.status_code == 403 and dispatcher.json["error"]["code"] == "action_forbidden"
    neighbour = staff(V2)
    assert _put(auth, neighbour, v1, {"safe": True}).status_code == 404
    assert auth.get(neighbour, f"/api/v1/filings/{v1}").status_code == 404
    assert _put(auth, neighbour, filings[V2]["id"], {"safe": True}).status_code == 200

    elsewhere = staff(OTHER_VILLAGE)
    assert auth.get(elsewhere, f"/api/v1/forms/{form['id']}").json["error"]["code"] == (
        "form_not_found"
    )
    assert auth.get(elsewhere, "/api/v1/forms").json["total"] == 0
    assert auth.get(elsewhere, "/api/v1/filings?page_size=500").json["total"] == 0
    response = auth.get(elsewhere, f"/api/v1/filings/{v1}")
    assert response.status_code == 404 and response.json["error"]["code"] == "filing_not_found"
    assert _put(auth, elsewhere, v1, {"safe": True}).status_code == 404
    assert auth.get(elsewhere, f"/api/v1/forms/{form['id']}/rollup").status_code == 404
    assert auth.get(elsewhere, f"/api/v1/forms/{form['id']}/export.xlsx").status_code == 404


# -- rollup ----------------------------------------------------------------------------------


@pytest.fixture
def three_villages(auth, forms, staff):
    """The village form filled by three of the nine villages (V3's only as a draft)."""
    form = forms()
    filings = _filings(auth, form["id"])
    answers = {
        V1: ("demo_village", {"safe": True, "state": "平稳", "satisfaction": 90.5,
                              "note": "=HYPERLINK(\"http://x\")", "funds": 3.5, "received": 7}),
        V2: (staff(V2), {"safe": False, "state": "紧张", "satisfaction": 80, "note": "积水两处",
                         "funds": 12.25, "received": 2}),
        V3: (staff(V3), {"safe": True, "state": "平稳", "received": 100}),
    }  # fmt: skip
    for code, (user, values) in answers.items():
        response = _put(auth, user, filings[code]["id"], values, submit=code != V3)
        assert response.status_code == 200, response.json
    return form, filings


def test_the_rollup_aggregates_submitted_filings_per_child_area(auth, session, three_villages):
    form, filings = three_villages
    rolled = auth.get("demo_dispatcher", f"/api/v1/forms/{form['id']}/rollup")
    assert rolled.status_code == 200, rolled.json
    body = rolled.json
    assert body["area"]["code"] == TOWNSHIP and body["child_level"] == "village"
    assert [r["area"]["code"] for r in body["rows"]] == sorted(filings)
    by_code = {r["area"]["code"]: r for r in body["rows"]}
    assert by_code[V1]["values"]["received"] == 7 and by_code[V1]["submitted"] == 1
    assert by_code[V3]["submitted"] == 0 and by_code[V3]["values"]["received"] is None
    total = body["total"]
    assert (total["expected"], total["submitted"], total["outstanding"]) == (9, 2, 7)
    values = total["values"]
    # Worked by hand over the two submitted filings (V1, V2); V3's draft does not count.
    assert values["received"] == 7 + 2
    assert values["satisfaction"] == pytest.approx((90.5 + 80) / 2)  # average, 85.25
    assert values["safe"] == 1  # count of yes
    assert values["state"] == {"平稳": 1, "一般": 0, "紧张": 1}
    assert values["funds"] == 12.25  # max
    assert values["note"] == ['民生路社区：=HYPERLINK("http://x")', "莲花池社区：积水两处"]
    # Unfilled prefilled counts took the system's figure (nothing happened there: 0).
    assert values["closed"] == 0 and values["grids"] == 2 * GRIDS_PER_VILLAGE

    # Up the hierarchy: the district sees one township row equal to the township's total; the
    # city one district row.
    district = auth.get("demo_admin", f"/api/v1/forms/{form['id']}/rollup?area={DISTRICT}").json
    assert [r["area"]["code"] for r in district["rows"]] == [TOWNSHIP]
    assert district["rows"][0]["values"] == values == district["total"]["values"]
    city = auth.get("demo_admin", f"/api/v1/forms/{form['id']}/rollup?area=500000000000").json
    assert [r["area"]["code"] for r in city["rows"]] == [DISTRICT]
    # A village sees its own filing, and nothing below the filling level exists to roll up.
    own = auth.get("demo_village", f"/api/v1/forms/{form['id']}/rollup").json
    assert own["area"]["code"] == V1 and [r["area"]["code"] for r in own["rows"]] == [V1]
    assert own["total"]["expected"] == 1 and own["total"]["values"]["received"] == 7
    below = auth.get("demo_village", f"/api/v1/forms/{form['id']}/rollup?area={G1}")
    assert below.status_code == 422 and below.json["error"]["code"] == "area_below_fill_level"

    # Late: the due time moves to before V2's submission, after V1's.
    with unscoped():
        v1_at = session.get(Filing, filings[V1]["id"]).submitted_at
        session.execute(
            update(Filing)
            .where(Filing.id == filings[V1]["id"])
            .values(submitted_at=v1_at - timedelta(days=2))
        )
        session.execute(
            update(Form).where(Form.id == form["id"]).values(due_at=v1_at - timedelta(days=1))
        )
    late = auth.get("demo_dispatcher", f"/api/v1/forms/{form['id']}/rollup").json["total"]
    assert (late["late"], late["overdue"]) == (1, 7)
    progress = auth.get("demo_dispatcher", f"/api/v1/forms/{form['id']}").json["progress"]
    assert progress == {
        "expected": 9, "submitted": 2, "outstanding": 7, "returned": 0, "late": 1, "overdue": 7
    }  # fmt: skip


def test_a_grid_form_rolls_up_grids_to_villages_to_the_township(auth, forms, staff):
    fields = [
        {"key": "patrols", "label": "巡查次数", "type": "integer", "aggregate": "sum"},
        {"key": "hazards", "label": "隐患数", "type": "integer", "aggregate": "min"},
        {"key": "ok", "label": "是否正常", "type": "yesno", "aggregate": "count_filled"},
    ]
    form = forms(fill_level="grid", fields=fields, title="网格周报")
    assert form["progress"]["expected"] == VILLAGES_IN_TOWNSHIP * GRIDS_PER_VILLAGE
    filings = _filings(auth, form["id"])
    # demo_worker fills both of his grids; a leader of a grid in another village fills one.
    g21 = V2 + "001"
    leader = staff(g21, role="grid_leader")
    answers = [
        ("demo_worker", G1, {"patrols": 5, "hazards": 2, "ok": True}),
        ("demo_worker", G2, {"patrols": 3, "hazards": 0, "ok": False}),
        (leader, g21, {"patrols": 4, "hazards": 1}),
    ]
    for user, code, values in answers:
        response = _put(auth, user, filings[code]["id"], values, submit=True)
        assert response.status_code == 200, response.json
    mine = auth.get("demo_worker", "/api/v1/filings?mine=true").json["items"]
    assert sorted(f["area"]["code"] for f in mine) == [G1, G2]
    # Village staff do not fill grid filings.
    assert _put(auth, "demo_village", filings[V1 + "003"]["id"], {}).status_code == 403

    township = auth.get("demo_dispatcher", f"/api/v1/forms/{form['id']}/rollup").json
    rows = {r["area"]["code"]: r for r in township["rows"]}
    assert len(rows) == VILLAGES_IN_TOWNSHIP
    assert rows[V1]["values"] == {"patrols": 8, "hazards": 0, "ok": 2}
    assert (rows[V1]["expected"], rows[V1]["submitted"]) == (GRIDS_PER_VILLAGE, 2)
    assert rows[V2]["values"] == {"patrols": 4, "hazards": 1, "ok": 0}
    assert rows[V3]["values"] == {"patrols": None, "hazards": None, "ok": 0}
    assert township["total"]["values"] == {"patrols": 12, "hazards": 0, "ok": 2}
    village = auth.get("demo_village", f"/api/v1/forms/{form['id']}/rollup").json
    assert village["area"]["code"] == V1 and village["child_level"] == "grid"
    assert len(village["rows"]) == GRIDS_PER_VILLAGE
    # A grid worker sees only his own grids.
    worker = auth.get("demo_worker", f"/api/v1/forms/{form['id']}/rollup?area={V1}").json
    assert [r["area"]["code"] for r in worker["rows"]] == [G1, G2]


MIXED = [
    {"key": "patrols", "label": "巡查次数", "type": "integer", "aggregate": "sum"},
    {"key": "funds", "label": "经费", "type": "decimal", "aggregate": "sum", "decimals": 2},
    {"key": "score", "label": "评分", "type": "decimal", "aggregate": "avg", "decimals": 1},
    {"key": "least", "label": "最少", "type": "integer", "aggregate": "min"},
    {"key": "most", "label": "最多", "type": "decimal", "aggregate": "max", "decimals": 2},
    {"key": "ok", "label": "正常", "type": "yesno", "aggregate": "count_yes"},
    {"key": "mood", "label": "态势", "type": "choice", "choices": ["好", "中", "差"]},
    {"key": "note", "label": "说明", "type": "text", "aggregate": "list"},
    {"key": "extra", "label": "备注", "type": "text", "aggregate": "count_filled"},
    {"key": "secret", "label": "内部", "type": "integer", "aggregate": "none"},
]
LIST_MORE = "……另有 {n} 条未列出（逐条见填报明细）"


def _mixed_values(n: int) -> dict:
    """The n-th grid's answers: varied, some left empty."""
    return {
        "patrols": None if n % 11 == 0 else n * 7 % 23,
        "funds": (n * 1301 % 100000) / 100,
        "score": None if n % 5 == 0 else (n * 37 % 1000) / 10,
        "least": n * 5 % 9 - 3,
        "most": (n * 97 % 5000) / 100 - 10,
        "ok": None if n % 7 == 0 else n % 3 != 0,
        "mood": None if n % 8 == 0 else ["好", "中", "差"][n % 3],
        "note": None if n % 4 == 0 else f"第{n}号网格：积水{n % 3}处",
        "extra": "需协调" if n % 2 else None,
        "secret": n,
    }


def _by_hand(field: dict, answers: list[tuple[str, object]]):
    """docs/forms.md's aggregation table, worked over (area name, value) pairs in area order."""
    present = [(name, v) for name, v in answers if v is not None]
    how = field["aggregate"]
    numbers = (
        [Decimal(str(v)) for _, v in present] if field["type"] in ("integer", "decimal") else []
    )
    if how == "sum":
        return None if not numbers else sum(numbers) if field["type"] == "integer" else (
            float(sum(numbers).quantize(Decimal("0.01"), ROUND_HALF_UP)))  # fmt: skip
    if how == "avg":
        mean = sum(numbers) / len(numbers) if numbers else None
        return None if mean is None else float(mean.quantize(Decimal("0.01"), ROUND_HALF_UP))
    if how in ("min", "max"):
        best = (min if how == "min" else max)(numbers, default=None)
        return None if best is None else int(best) if field["type"] == "integer" else float(best)
    if how == "count_yes":
        return sum(v is True for _, v in present)
    if how == "count_each":
        return {c: sum(v == c for _, v in present) for c in field["choices"]}
    if how == "count_filled":
        return len(present)
    if how == "list":
        shown = [f"{name}：{v}" for name, v in present[:50]]
        return shown + [LIST_MORE.format(n=len(present) - 50)] if len(present) > 50 else shown
    return None


def test_rollups_at_every_level_equal_the_rules_worked_over_every_filing(auth, session, forms):
    form = forms(fill_level="grid", fields=MIXED, title="网格巡查表")
    with unscoped():
        rows = session.execute(
            select(Filing.id, Filing.area_id, Area.name)
            .join(Area, Area.id == Filing.area_id)
            .where(Filing.form_id == form["id"])
            .order_by(Filing.area_id)
        ).all()
        answers = {}
        for n, (filing_id, area_id, name) in enumerate(rows):
            values = _mixed_values(n)
            # One filing in six is not submitted: its values must count nowhere.
            status = "submitted" if n % 6 != 5 else ["draft", "returned", "pending"][n % 3]
            answers[area_id] = (name, status, values)
            session.execute(
                update(Filing)
                .where(Filing.id == filing_id)
                .values(status=status, values=values, submitted_at=bj(3, 20))
            )
        # A tie to round: V3's only scores, (0.7 + 0.2 + 0 + 0) / 4 = 0.225 → 0.23, which a
        # binary float sum (0.8999…) would round down to 0.22.
        in_v3 = sorted(a for a in answers if str(a).startswith(V3))
        for k, area_id in enumerate(in_v3):
            name, _, values = answers[area_id]
            score = [0.7, 0.2, 0.0, 0.0][k] if k < 4 else None
            answers[area_id] = (name, "submitted", values | {"score": score})
            session.execute(
                update(Filing)
                .where(Filing.form_id == form["id"], Filing.area_id == area_id)
                .values(status="submitted", values=answers[area_id][2])
            )
    fields = auth.get("demo_dispatcher", f"/api/v1/forms/{form['id']}").json["fields"]

    def expected(codes) -> dict:
        chosen = [answers[c] for c in sorted(codes)]
        submitted = [(name, values) for name, status, values in chosen if status == "submitted"]
        return {
            f["key"]: _by_hand(f, [(name, values[f["key"]]) for name, values in submitted])
            for f in fields
        }

    def check(user, node, child_of, under="") -> dict:
        body = auth.get(user, f"/api/v1/forms/{form['id']}/rollup?area={node}").json
        groups: dict[str, list[int]] = {}
        for area_id in (a for a in answers if str(a).startswith(under)):
            groups.setdefault(child_of(str(area_id)), []).append(area_id)
        assert [r["area"]["code"] for r in body["rows"]] == sorted(groups)
        for r in body["rows"]:
            codes = groups[r["area"]["code"]]
            assert r["values"] == expected(codes), r["area"]
            assert r["expected"] == len(codes)
            assert r["submitted"] == sum(answers[c][1] == "submitted" for c in codes)
            assert r["returned"] == sum(answers[c][1] == "returned" for c in codes)
        assert body["total"]["values"] == expected([c for g in groups.values() for c in g])
        return body

    township = check("demo_dispatcher", TOWNSHIP, lambda code: code[:12])
    assert len(township["rows"]) == VILLAGES_IN_TOWNSHIP
    assert next(r for r in township["rows"] if r["area"]["code"] == V3)["values"]["score"] == 0.23
    # 135 grids, about 85 notes: the township's total lists the first 50 and counts the rest.
    notes = township["total"]["values"]["note"]
    assert len(notes) == 51 and notes[-1].startswith("……另有 ")
    assert township["total"]["values"]["extra"] == sum(
        1 for _, status, v in answers.values() if status == "submitted" and v["extra"]
    )
    village = check("demo_dispatcher", V1, lambda code: code, under=V1)
    assert len(village["rows"]) == GRIDS_PER_VILLAGE
    check("demo_admin", DISTRICT, lambda code: code[:9] + "000")
    city = check("demo_admin", "500000000000", lambda code: code[:6] + "000000")
    assert city["total"]["values"] == township["total"]["values"]


def test_a_long_list_is_cut_and_says_how_many_more(auth, forms, staff, monkeypatch):
    monkeypatch.setattr("app.forms.fields.LIST_MAX", 2)
    fields = [
        {"key": "note", "label": "情况说明", "type": "text"},
        {"key": "noted", "label": "已说明", "type": "text", "aggregate": "count_filled"},
    ]
    form = forms(fill_level="grid", fields=fields, title="网格情况")
    filings = _filings(auth, form["id"])
    g3 = V1 + "003"
    leader = staff(g3, role="grid_leader")
    answers = [("demo_worker", G1, "路灯坏"), ("demo_worker", G2, "井盖松"), (leader, g3, "#N/A")]
    for user, code, note in answers:
        response = _put(auth, user, filings[code]["id"], {"note": note, "noted": note}, True)
        assert response.status_code == 200, response.json
    rolled = auth.get("demo_dispatcher", f"/api/v1/forms/{form['id']}/rollup").json
    v1 = next(r for r in rolled["rows"] if r["area"]["code"] == V1)
    shown = v1["values"]["note"]
    assert len(shown) == 3 and shown[2] == "……另有 1 条未列出（逐条见填报明细）"
    assert shown[0].endswith("：路灯坏") and shown[1].endswith("：井盖松")
    assert rolled["total"]["values"]["note"] == shown
    assert rolled["total"]["values"]["noted"] == 3  # the count is never cut
    # Scope holds inside the list too: the grid worker sees his two grids' answers, uncut.
    own = auth.get("demo_worker", f"/api/v1/forms/{form['id']}/rollup?area={V1}").json
    assert [r["area"]["code"] for r in own["rows"]] == [G1, G2]
    assert [n.split("：")[1] for n in own["total"]["values"]["note"]] == ["路灯坏", "井盖松"]
    # The workbook's cell says so too, and the detail sheet has every answer.
    book = _workbook(auth.get("demo_dispatcher", f"/api/v1/forms/{form['id']}/export.xlsx"))
    rows = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    column = rows[2].index("情况说明")
    cell = next(r for r in rows[3:] if r[0] == V1)[column]
    assert cell.endswith("；……另有 1 条未列出（逐条见填报明细）")
    detail = [list(r) for r in book["填报明细"].iter_rows(values_only=True)]
    note_column = detail[0].index("情况说明")
    notes = {r[0]: r[note_column] for r in detail[1:] if r[note_column]}
    assert notes == {G1: "路灯坏", G2: "井盖松", g3: "#N/A"}
    # Text that looks like an Excel error value stays text, as a formula does.
    row = 2 + [r[0] for r in detail[1:]].index(g3)
    assert book["填报明细"].cell(row=row, column=note_column + 1).data_type == "s"


# -- export ----------------------------------------------------------------------------------


def _workbook(response):
    assert response.status_code == 200, response.json
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.data))


def test_the_township_exports_its_rollup_to_excel(auth, three_villages):
    form, filings = three_villages
    book = _workbook(auth.get("demo_dispatcher", f"/api/v1/forms/{form['id']}/export.xlsx"))
    assert book.sheetnames == ["汇总", "填报明细", "字段说明"]
    sheet = book["汇总"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "三月基层治理月报（解放碑街道汇总）"
    header = rows[2]
    assert header[:7] == [
        "村社代码",
        "村社名称",
        "应报数",
        "已报数",
        "未报数",
        "逾期未报",
        "逾期上报",
    ]
    column = {name: n for n, name in enumerate(header)}
    body = {r[0]: r for r in rows[3:]}
    assert len(body) == VILLAGES_IN_TOWNSHIP + 1
    total = body["合计"]
    assert total[1] == "解放碑街道"
    assert total[2:7] == [9, 2, 7, 0, 0]
    assert total[column["受理事件（件）"]] == 9
    assert isinstance(total[column["受理事件（件）"]], int)
    assert total[column["群众满意度（分）（平均）"]] == pytest.approx(85.25)
    assert total[column["是否完成消防检查（“是”的个数）"]] == 1
    assert total[column["总体态势·平稳"]] == 1 and total[column["总体态势·紧张"]] == 1
    assert total[column["最大单笔经费（万元）（最大值）"]] == 12.25
    # Text stays text: the formula a filler typed is quoted, never run.
    note = total[column["情况说明"]]
    assert note == '民生路社区：=HYPERLINK("http://x")；莲花池社区：积水两处'
    assert body[V1][column["受理事件（件）"]] == 7 and body[V1][1] == "民生路社区"
    assert body[V3][column["受理事件（件）"]] is None

    detail = [list(r) for r in book["填报明细"].iter_rows(values_only=True)]
    assert detail[0][:6] == ["区域代码", "区域名称", "状态", "上报时间", "上报人", "逾期"]
    assert len(detail) == 1 + VILLAGES_IN_TOWNSHIP
    by_code = {r[0]: r for r in detail[1:]}
    head = {name: n for n, name in enumerate(detail[0])}
    v1 = by_code[V1]
    assert v1[2] == "已上报" and v1[4] == "王社区"
    assert v1[head["是否完成消防检查"]] == "是" and v1[head["群众满意度（分）"]] == 90.5
    assert v1[head["情况说明"]] == '\'=HYPERLINK("http://x")'
    assert v1[head["受理事件（系统值）"]] == 0
    assert by_code[V3][2] == "已暂存"
    cell = book["填报明细"].cell(row=2 + sorted(by_code).index(V1), column=head["情况说明"] + 1)
    assert cell.data_type == "s"
    about = [list(r) for r in book["字段说明"].iter_rows(values_only=True)]
    assert about[1][:6] == ["received", "受理事件", "整数", "件", "求和", "受理事件数"]


def test_a_village_exports_its_own_level(auth, forms, staff):
    fields = [{"key": "patrols", "label": "巡查次数", "type": "integer", "unit": "次"}]
    form = forms(fill_level="grid", fields=fields, title="网格周报")
    filings = _filings(auth, form["id"])
    assert (
        _put(auth, "demo_worker", filings[G1]["id"], {"patrols": 6}, submit=True).status_code == 200
    )
    assert (
        _put(auth, "demo_worker", filings[G2]["id"], {"patrols": 4}, submit=True).status_code == 200
    )
    book = _workbook(auth.get("demo_village", f"/api/v1/forms/{form['id']}/export.xlsx"))
    rows = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    assert rows[0][0] == "网格周报（民生路社区汇总）"
    assert rows[2][:2] == ["网格代码", "网格名称"] and rows[2][7] == "巡查次数（次）"
    body = {r[0]: r for r in rows[3:]}
    assert len(body) == GRIDS_PER_VILLAGE + 1
    assert body[G1][7] == 6 and body[G2][7] == 4 and body[V1 + "003"][7] is None
    assert body["合计"][2:8] == [GRIDS_PER_VILLAGE, 2, GRIDS_PER_VILLAGE - 2, 0, 0, 10]
    assert len(list(book["填报明细"].iter_rows())) == 1 + GRIDS_PER_VILLAGE
    # The district's export of the same form: one township row.
    district = _workbook(
        auth.get("demo_admin", f"/api/v1/forms/{form['id']}/export.xlsx?area={DISTRICT}")
    )
    rows = [list(r) for r in district["汇总"].iter_rows(values_only=True)]
    assert [r[0] for r in rows[3:]] == [TOWNSHIP, "合计"] and rows[3][7] == 10


def test_sources_list_events_keys_staff_and_categories(auth):
    items = auth.get("demo_village", "/api/v1/forms/sources").json["items"]
    keys = {i["key"]: i for i in items}
    assert keys["events.received"]["name"] == "受理事件数" and keys["events.received"]["in_period"]
    assert keys["events.category.MUNICIPAL"]["name"].endswith("事件数")
    assert keys["keys.person.elderly_alone"]["name"] == "独居老人数"
    assert keys["keys.persons"]["in_period"] is False
    assert {"staff.grid_workers", "geo.grids", "keys.visits"} <= set(keys)


def test_a_district_form_reaches_townships_and_their_people(auth, session):
    body = definition(area=DISTRICT, fill_level="township", fields=[FIELDS[0]])
    created = auth.post("demo_admin", "/api/v1/forms", json=body)
    assert created.status_code == 201, created.json
    form_id = created.json["id"]
    assert auth.post("demo_admin", f"/api/v1/forms/{form_id}/publish").status_code == 200
    # The township's dispatcher and board staff fill it; the dispatcher may not manage it.
    seen = auth.get("demo_dispatcher", f"/api/v1/forms/{form_id}").json
    assert seen["can_manage"] is False and seen["progress"]["expected"] == 1
    closing = auth.post("demo_dispatcher", f"/api/v1/forms/{form_id}/close")
    assert closing.status_code == 403 and closing.json["error"]["code"] == "action_forbidden"
    mine = auth.get("demo_board_safety", "/api/v1/filings?mine=true").json["items"]
    assert [f["area"]["code"] for f in mine] == [TOWNSHIP]
    done = _put(auth, "demo_board_safety", mine[0]["id"], {}, submit=True)
    assert done.status_code == 200 and done.json["values"] == {"received": 0}
    rooms = _rooms(session, "form_submitted")
    assert rooms == {f"area:{DISTRICT}"}
    # The township's village staff see nothing of a township-level filing.
    assert auth.get("demo_village", "/api/v1/filings?mine=true").json["items"] == []

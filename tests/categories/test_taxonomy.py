"""The taxonomy in the database: seeded from the file, readable by all, edited by city admins."""

from __future__ import annotations

from app.categories.models import Subcategory
from app.categories.service import seed_from_file

TOP = [
    "DISPUTE",
    "SAFETY",
    "GEOHAZARD",
    "SANITATION",
    "MUNICIPAL",
    "ECOLOGY",
    "PUBLIC_ORDER",
    "LIVELIHOOD",
    "BUILDING",
    "FOOD_DRUG",
    "TRAFFIC",
    "HEALTH",
    "OTHER",
]


def test_exactly_the_thirteen_top_categories_with_limits(auth):
    items = auth.get("demo_worker", "/api/v1/categories").json["items"]
    assert [c["code"] for c in items] == TOP
    assert [c["name_zh"] for c in items][:3] == ["矛盾纠纷", "安全隐患", "地质灾害"]
    for category in items:
        assert category["subcategories"], category["code"]
        for sub in category["subcategories"]:
            assert set(sub["limits"]) == {"accept", "handle", "verify"}
            assert sub["filing_criteria"] and sub["closing_criteria"]
    geohazard = {s["code"]: s for s in items[2]["subcategories"]}
    assert geohazard["GEOHAZARD_LANDSLIDE"]["emergency"] is True
    assert geohazard["GEOHAZARD_LANDSLIDE"]["limits"]["accept"]["unit"] == "hours"


def test_reloading_the_file_is_idempotent_and_keeps_admin_edits(session, auth):
    edited = auth.request(
        "demo_admin",
        "PATCH",
        "/api/v1/categories/subcategories/OTHER_MISC",
        json={"priority": 1, "handle_amount": 9},
    )
    assert edited.status_code == 200 and edited.json["edited_by_admin"] is True
    counts = seed_from_file()
    assert counts["created"] == 0 and counts["kept_admin_edits"] == 1
    row = session.get(Subcategory, "OTHER_MISC")
    assert (row.priority, row.handle_amount) == (1, 9)


def test_only_city_admins_edit_and_edits_are_validated(auth):
    refused = auth.request(
        "demo_dispatcher",
        "PATCH",
        "/api/v1/categories/subcategories/OTHER_MISC",
        json={"priority": 1},
    )
    assert refused.status_code == 403
    bad = auth.request(
        "demo_admin",
        "PATCH",
        "/api/v1/categories/subcategories/OTHER_MISC",
        json={"priority": 9, "handle_unit": "fortnights"},
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["details"]["json"]) == {"priority", "handle_unit"}
    missing = auth.request(
        "demo_admin", "PATCH", "/api/v1/categories/subcategories/NOPE", json={"priority": 1}
    )
    assert missing.status_code == 404

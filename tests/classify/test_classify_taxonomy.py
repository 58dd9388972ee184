"""The taxonomy file validates, has exactly the 13 top codes, and broken files are rejected."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from app.classify.corpus import load_corpus
from app.classify.taxonomy import (
    BOARDS,
    DEFAULT_PATH,
    DEPARTMENTS,
    HANDLING_LEVELS,
    TOP_CODES,
    TOP_NAMES_ZH,
    UNITS,
    load_taxonomy,
    loads_taxonomy,
)

EXPECTED_TOP = {
    "DISPUTE": "矛盾纠纷",
    "SAFETY": "安全隐患",
    "GEOHAZARD": "地质灾害",
    "SANITATION": "市容环卫",
    "MUNICIPAL": "市政设施",
    "ECOLOGY": "生态环境",
    "PUBLIC_ORDER": "社会治安",
    "LIVELIHOOD": "民生服务",
    "BUILDING": "违法建设",
    "FOOD_DRUG": "食品药品",
    "TRAFFIC": "道路交通",
    "HEALTH": "公共卫生",
    "OTHER": "其他",
}


def test_the_repository_file_validates_with_exactly_the_thirteen_top_codes():
    taxonomy = load_taxonomy()
    assert [c.code for c in taxonomy.categories] == list(EXPECTED_TOP)
    assert {c.code: c.name_zh for c in taxonomy.categories} == EXPECTED_TOP == TOP_NAMES_ZH
    assert tuple(EXPECTED_TOP) == TOP_CODES
    for category in taxonomy.categories:
        assert category.name_en
        assert 3 <= len(category.subcategories) <= 10, category.code
    assert 70 <= len(taxonomy.subcategories) <= 90
    assert len(set(taxonomy.codes)) == len(taxonomy.codes)


def test_subcategories_are_consistent_and_realistic():
    taxonomy = load_taxonomy()
    for sub in taxonomy.subcategories:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", sub.code)
        assert sub.code.startswith(sub.category + "_"), sub.code
        assert sub.filing_criteria.endswith("。") and sub.closing_criteria.endswith("。")
        assert sub.handling_level in HANDLING_LEVELS
        assert sub.board is None or sub.board in BOARDS
        assert (sub.department in DEPARTMENTS) == (sub.handling_level == "department")
        for limit in (sub.accept, sub.handle, sub.verify):
            assert limit.amount > 0 and limit.unit in UNITS
        if sub.emergency:
            assert {sub.accept.unit, sub.handle.unit, sub.verify.unit} == {"hours"}
            assert sub.priority == 1
        assert 1 <= sub.priority <= 4
        assert sub.dedup_radius_m > 0 and sub.dedup_window_hours > 0
    landslide = taxonomy.subcategory("GEOHAZARD_LANDSLIDE")
    assert landslide.emergency and (landslide.accept.amount, landslide.accept.unit) == (
        0.5,
        "hours",
    )
    ads = taxonomy.subcategory("SANITATION_ILLEGAL_ADS")
    assert (ads.accept.amount, ads.accept.unit) == (2, "working_hours")
    assert (ads.handle.amount, ads.handle.unit) == (1, "working_days")
    labor = taxonomy.subcategory("DISPUTE_LABOR")
    assert labor.handle.unit == "working_days" and 5 <= labor.handle.amount <= 20
    assert taxonomy.category_of("MUNICIPAL_MANHOLE") == "MUNICIPAL"
    assert "OTHER_MISC" in taxonomy


def test_every_subcategory_has_at_least_thirty_corpus_lines():
    counts = Counter(e.subcategory for e in load_corpus())
    taxonomy = load_taxonomy()
    assert set(counts) == set(taxonomy.codes)
    thin = {code: n for code, n in counts.items() if n < 30}
    assert not thin


def _mutated(old: str, new: str, count: int = 1) -> str:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, count)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('[HEALTH]\nname_zh = "公共卫生"', '[HEALTHCARE]\nname_zh = "公共卫生"', "HEALTHCARE"),
        ('unit = "working_days"', 'unit = "fortnights"', "unit must be one of"),
        ("amount = 0.5,", "amount = 0,", "positive number"),
        ('handling_level = "grid"', 'handling_level = "street"', "handling_level"),
        ('department = "CG"', 'department = "XX"', "department"),
        ('board = "safety"', 'board = "police"', "board must be one of"),
        ('code = "DISPUTE_FAMILY"', 'code = "DISPUTE_NEIGHBOR"', "duplicate"),
        ("priority = 3", "priority = 7", "priority"),
        ("emergency = true", 'emergency = "yes"', "emergency"),
        ('filing_criteria = "邻里', 'filing_criterion = "邻里', "unknown keys"),
    ],
)
def test_the_validator_rejects_a_broken_file(old, new, message):
    with pytest.raises(ValueError, match=message):
        loads_taxonomy(_mutated(old, new))


def test_the_validator_rejects_inconsistent_routes_and_clocks():
    # A department-level subcategory without its department.
    with pytest.raises(ValueError, match="needs department"):
        loads_taxonomy(_mutated('department = "SJ"\n', ""))
    # A village-level subcategory naming a department.
    village = 'handling_level = "village"\nboard = "safety"\n'
    with pytest.raises(ValueError, match="only allowed"):
        loads_taxonomy(_mutated(village, village + 'department = "GA"\n'))
    # An emergency counted in working days.
    emergency = 'handle = { amount = 24, unit = "hours" }'
    with pytest.raises(ValueError, match="wall-clock"):
        loads_taxonomy(_mutated(emergency, 'handle = { amount = 1, unit = "working_days" }'))
    with pytest.raises(ValueError, match="not valid TOML"):
        loads_taxonomy("[DISPUTE\n")


def test_a_missing_top_category_is_named(tmp_path):
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    start = text.index("[HEALTH]")
    end = text.index("# ----", start)
    path = tmp_path / "taxonomy.toml"
    path.write_text(text, encoding="utf-8")
    assert load_taxonomy(path).codes == load_taxonomy().codes
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing \['HEALTH'\]"):
        load_taxonomy(path)

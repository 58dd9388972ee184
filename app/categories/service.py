"""Seeding the taxonomy from the repository's file, and admin edits."""

from __future__ import annotations

from sqlalchemy import select

from app.categories.models import Category, StageLimits, Subcategory
from app.classify.taxonomy import load_taxonomy
from app.core import cache
from app.core.errors import NotFound
from app.extensions import db

EDITABLE = (
    "name_zh",
    "name_en",
    "filing_criteria",
    "closing_criteria",
    "handling_level",
    "board",
    "department_kind",
    "accept_amount",
    "accept_unit",
    "handle_amount",
    "handle_unit",
    "verify_amount",
    "verify_unit",
    "emergency",
    "priority",
    "dedup_radius_m",
    "dedup_window_hours",
    "active",
)


def _values(sub, position: int) -> dict:
    return {
        "name_zh": sub.name_zh,
        "name_en": sub.name_en,
        "filing_criteria": sub.filing_criteria,
        "closing_criteria": sub.closing_criteria,
        "handling_level": sub.handling_level,
        "board": sub.board,
        "department_kind": sub.department,
        "accept_amount": sub.accept.amount,
        "accept_unit": sub.accept.unit,
        "handle_amount": sub.handle.amount,
        "handle_unit": sub.handle.unit,
        "verify_amount": sub.verify.amount,
        "verify_unit": sub.verify.unit,
        "emergency": sub.emergency,
        "priority": sub.priority,
        "dedup_radius_m": sub.dedup_radius_m,
        "dedup_window_hours": sub.dedup_window_hours,
        "gbt_ref": sub.gbt_ref,
        "position": position,
    }


def seed_from_file(path=None) -> dict[str, int]:
    """Insert new categories and update unedited ones from taxonomy.toml (idempotent).

    Subcategories an admin has edited keep the admin's values; ones that left the file are
    deactivated, never deleted, because events refer to them.
    """
    taxonomy = load_taxonomy(path)
    counts = {"created": 0, "updated": 0, "kept_admin_edits": 0, "deactivated": 0}
    in_file: set[str] = set()
    for c_pos, top in enumerate(taxonomy.categories):
        category = db.session.get(Category, top.code) or Category(code=top.code)
        category.name_zh, category.name_en, category.position = top.name_zh, top.name_en, c_pos
        db.session.add(category)
        for s_pos, sub in enumerate(top.subcategories):
            in_file.add(sub.code)
            row = db.session.get(Subcategory, sub.code)
            if row is None:
                db.session.add(
                    Subcategory(code=sub.code, category_code=top.code, **_values(sub, s_pos))
                )
                counts["created"] += 1
            elif row.edited_by_admin:
                counts["kept_admin_edits"] += 1
            else:
                for key, value in _values(sub, s_pos).items():
                    setattr(row, key, value)
                row.category_code, row.active = top.code, True
                counts["updated"] += 1
    for row in db.session.scalars(select(Subcategory).where(Subcategory.code.not_in(in_file))):
        if row.active and not row.edited_by_admin:
            row.active = False
            counts["deactivated"] += 1
    db.session.flush()
    return counts


def all_categories() -> list[Category]:
    """Every top category with its subcategories, in file order."""
    return list(db.session.scalars(select(Category).order_by(Category.position)))


def update_subcategory(*, code: str, changes: dict) -> Subcategory:
    """An admin's edit; from now on reloading the file leaves this subcategory alone."""
    row = db.session.get(Subcategory, code)
    if row is None:
        raise NotFound("找不到该事件小类", code="subcategory_not_found")
    for key, value in changes.items():
        if key in EDITABLE:
            setattr(row, key, value)
    row.edited_by_admin = True
    db.session.flush()
    return row


# -- what every report reads ------------------------------------------------------------------


class SubcategoryInfo(StageLimits, cache.Row):
    """A subcategory's columns as reports read them, shared by every request of a process."""


def _every_subcategory() -> dict[str, SubcategoryInfo]:
    return {row.code: SubcategoryInfo(row) for row in db.session.scalars(select(Subcategory))}


# Each report reads its subcategory's limits, level and dedup settings; admins edit them
# rarely, and an edit ends every process's copy (app.core.cache).
TAXONOMY = cache.Copy("taxonomy", {"subcategories": set(), "categories": set()}, _every_subcategory)


def subcategory(code: str) -> SubcategoryInfo | None:
    """A subcategory (active or not) by code, from this process's copy of the taxonomy."""
    return TAXONOMY.get().get(code)

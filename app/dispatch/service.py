"""Smart dispatch: choose the handling level, the unit, and the person within it, with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from app.accounts.models import Department, GridBinding, User
from app.accounts.roles import BOARD_NAMES_ZH, Board, Role
from app.categories.models import Subcategory
from app.core.errors import ValidationFailed
from app.core.scope import unscoped
from app.dispatch.models import DispatchRule
from app.events.lifecycle import OPEN
from app.events.models import Event
from app.extensions import db

LEVEL_NAMES_ZH = {
    "grid": "网格自处置",
    "village": "村社",
    "board": "镇街板块",
    "department": "区县部门",
}


@dataclass
class Decision:
    """Where an event goes, and why (stored with the event as dispatch_reason)."""

    level: str
    board: str | None = None
    department_id: int | None = None
    area_id: int | None = None
    user_id: int | None = None
    reason: dict = field(default_factory=dict)

    @property
    def unit_name(self) -> str:
        return self.reason.get("unit", {}).get("name", "")


def _matching_rule(event: Event) -> DispatchRule | None:
    places = [p for p in (event.district_id, event.township_id) if p is not None]
    stmt = (
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
    return db.session.scalars(stmt.limit(1)).first()


def _unit_handlers(decision: Decision, event: Event):
    """The statement for the people who work in the chosen unit."""
    active = User.is_active.is_(True)
    if decision.level == "grid":
        bound = select(GridBinding.user_id).where(GridBinding.grid_id == event.grid_id)
        return select(User).where(active, User.role == Role.GRID_WORKER, User.id.in_(bound))
    if decision.level == "village":
        return select(User).where(
            active,
            User.area_id == event.village_id,
            User.role.in_([Role.VILLAGE_STAFF, Role.GRID_LEADER]),
        )
    if decision.level == "board":
        return select(User).where(
            active,
            User.area_id == event.township_id,
            User.role == Role.TOWNSHIP_BOARD_HANDLER,
            User.board == decision.board,
        )
    return select(User).where(
        active, User.department_id == decision.department_id, User.role == Role.DEPARTMENT_HANDLER
    )


def open_work(user_ids: list[int]) -> dict[int, int]:
    """How many open events each person holds now."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(Event.assigned_user_id, func.count())
        .where(Event.assigned_user_id.in_(user_ids), Event.state.in_([s.value for s in OPEN]))
        .group_by(Event.assigned_user_id)
    )
    return {user_id: count for user_id, count in rows}


def decide(
    event: Event,
    subcategory: Subcategory,
    *,
    level: str | None = None,
    board: str | None = None,
    department_id: int | None = None,
    user_id: int | None = None,
) -> Decision:
    """Rules (or the dispatcher's override) pick the unit; least open work picks the person.

    Runs unscoped: choosing among a unit's people is the system's job, whoever triggers it.
    """
    with unscoped():
        if level:
            decision = Decision(level=level, board=board, department_id=department_id)
            decision.reason["rule"] = {"kind": "override", "note": "调度员指定"}
        else:
            rule = _matching_rule(event)
            source = rule or subcategory
            decision = Decision(
                level=source.handling_level,
                board=source.board,
                department_id=None,
            )
            kind = source.department_kind
            decision.reason["rule"] = (
                {"kind": "rule", "id": rule.id, "note": rule.note}
                if rule
                else {"kind": "subcategory_default", "subcategory": subcategory.code}
            )
            if decision.level == "department":
                decision.department_id = _department(event, kind)
        _fill_unit(decision, event)
        people = list(db.session.scalars(_unit_handlers(decision, event).order_by(User.id)))
        load = open_work([p.id for p in people])
        candidates = [
            {
                "user_id": p.id,
                "username": p.username,
                "name": p.display_name,
                "open": load.get(p.id, 0),
            }
            for p in people
        ]
        decision.reason["candidates"] = candidates
        if user_id is not None:
            if user_id not in {c["user_id"] for c in candidates}:
                raise ValidationFailed("指定的处置人不属于该单位", code="handler_not_in_unit")
            decision.user_id = user_id
            decision.reason["chosen"] = {"user_id": user_id, "why": "调度员指定"}
        elif candidates:
            best = min(candidates, key=lambda c: (c["open"], c["user_id"]))
            decision.user_id = best["user_id"]
            decision.reason["chosen"] = {
                "user_id": best["user_id"],
                "why": f"在岗人员中待办最少（{best['open']} 件）",
            }
        else:
            decision.reason["chosen"] = {"user_id": None, "why": "该单位暂无可用人员，由单位认领"}
    return decision


def _department(event: Event, kind: str | None) -> int:
    if not kind:
        raise ValidationFailed("该类别未配置处置部门", code="no_department_for_category")
    code = f"{str(event.district_id)[:6]}-{kind}"
    department_id = db.session.scalar(select(Department.id).where(Department.code == code))
    if department_id is None:
        raise ValidationFailed(f"找不到部门 {code}", code="department_missing", department=code)
    return department_id


def _fill_unit(decision: Decision, event: Event) -> None:
    if decision.level == "grid":
        decision.area_id, name = event.grid_id, "网格"
    elif decision.level == "village":
        decision.area_id, name = event.village_id, "村社"
    elif decision.level == "board":
        if decision.board not in {b.value for b in Board}:
            raise ValidationFailed("板块派遣须指定板块", code="board_required")
        decision.area_id, name = event.township_id, BOARD_NAMES_ZH[Board(decision.board)]
    elif decision.level == "department":
        if decision.department_id is None:
            raise ValidationFailed("部门派遣须指定部门", code="department_required")
        dept = db.session.get(Department, decision.department_id)
        if dept is None or dept.district_id != event.district_id:
            raise ValidationFailed("只能派遣到事件所在区县的部门", code="department_elsewhere")
        decision.area_id, name = None, dept.name
    else:
        raise ValidationFailed(f"未知处置层级 {decision.level}", code="unknown_level")
    decision.reason["unit"] = {
        "level": decision.level,
        "level_name": LEVEL_NAMES_ZH[decision.level],
        "name": name,
        "board": decision.board,
        "department_id": decision.department_id,
        "area": str(decision.area_id) if decision.area_id else None,
    }

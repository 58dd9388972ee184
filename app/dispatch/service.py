"""Smart dispatch: choose the handling level, the unit, and the person within it, with reasons;
and the rules themselves, edited by admins and previewed without an event."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, true

from app.accounts import service as accounts
from app.accounts.models import GridBinding, User
from app.accounts.roles import BOARD_NAMES_ZH, Board, Role
from app.categories.models import Category, Subcategory
from app.core import adminlog, cache
from app.core.auth import Principal
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import Scope, unscoped, values_in_scope
from app.dispatch.models import DispatchRule
from app.events.lifecycle import OPEN
from app.events.models import Event
from app.extensions import db
from app.geo import service as geo
from app.geo.codes import ancestry, is_code, level_of
from app.geo.models import Area

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


def _active_rules() -> tuple[cache.Row, ...]:
    with unscoped():
        rules = db.session.scalars(
            select(DispatchRule)
            .where(DispatchRule.active.is_(True))
            .order_by(DispatchRule.position, DispatchRule.id)
        )
        return tuple(cache.Row(rule) for rule in rules)


# Every report is matched against the rules; admins edit them rarely (app.core.cache).
RULES = cache.Copy("dispatch_rules", {"dispatch_rules": set()}, _active_rules)


def _matching_rule(event: Event) -> cache.Row | None:
    """The first active rule, in (position, id) order, whose every condition holds."""
    return next((rule for rule in RULES.get() if not rule_mismatches(rule, event)), None)


def _unit_handlers(decision: Decision, event: Event):
    """Who works in the chosen unit, with how many open events each holds now, in one query."""
    active = User.is_active.is_(True)
    if decision.level == "grid":
        bound = select(GridBinding.user_id).where(GridBinding.grid_id == event.grid_id)
        members = (active, User.role == Role.GRID_WORKER, User.id.in_(bound))
    elif decision.level == "village":
        members = (
            active,
            User.area_id == event.village_id,
            User.role.in_([Role.VILLAGE_STAFF, Role.GRID_LEADER]),
        )
    elif decision.level == "board":
        members = (
            active,
            User.area_id == event.township_id,
            User.role == Role.TOWNSHIP_BOARD_HANDLER,
            User.board == decision.board,
        )
    else:
        members = (
            active,
            User.department_id == decision.department_id,
            User.role == Role.DEPARTMENT_HANDLER,
        )
    open_now = (
        select(func.count())
        .where(Event.assigned_user_id == User.id, Event.state.in_([s.value for s in OPEN]))
        .scalar_subquery()
    )
    return select(User.id, User.username, User.display_name, open_now.label("open")).where(*members)


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
                department = _department(event, kind)
                decision.department_id = department.id
        _fill_unit(decision, event)
        people = db.session.execute(_unit_handlers(decision, event).order_by(User.id))
        candidates = [
            {"user_id": p.id, "username": p.username, "name": p.display_name, "open": p.open}
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


def _department(event: Event, kind: str | None):
    if not kind:
        raise ValidationFailed("该类别未配置处置部门", code="no_department_for_category")
    code = f"{str(event.district_id)[:6]}-{kind}"
    department = accounts.department_info(code=code)
    if department is None:
        raise ValidationFailed(f"找不到部门 {code}", code="department_missing", department=code)
    return department


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
        dept = accounts.department_info(department_id=decision.department_id)
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


# -- the rules as data: admin editing and a preview ------------------------------------------
#
# Who may edit a rule follows its place: a district admin edits the rules of their district
# and its townships; a rule with no place applies city-wide and is the city admin's. Readers
# (admins, township dispatchers) see the rules that can apply inside their scope: city-wide
# ones, their own area's and its ancestors', and those of the places below them.

RULE_FIELDS = (
    "position",
    "category_code",
    "subcategory_code",
    "max_priority",
    "emergency",
    "area_id",
    "handling_level",
    "board",
    "department_kind",
    "note",
    "active",
)
# API field name → column, where they differ.
_API_NAMES = {"category": "category_code", "subcategory": "subcategory_code", "area": "area_id"}
RULE_PLACE_LEVELS = ("district", "township")
# Digits of the code that identify a node at each level (the rest are zeros below it).
_PREFIX_DIGITS = {"district": 6, "township": 9, "village": 12}


def _visible_rules(scope: Scope):
    """SQL condition: the rule can apply to an event somewhere inside the scope."""
    if scope.everything:
        return true()
    places = set(scope.ancestors)
    conditions = [DispatchRule.area_id.is_(None)]
    if scope.level and scope.area_id:
        places.add(scope.area_id)
        below = 10 ** (12 - _PREFIX_DIGITS.get(scope.level, 12))
        conditions.append(DispatchRule.area_id.between(scope.area_id, scope.area_id + below - 1))
    elif scope.district_id:
        places.add(scope.district_id)
    if places:
        conditions.append(DispatchRule.area_id.in_(sorted(places)))
    return or_(*conditions)


def _check_may_edit(actor: Principal, area_id: int | None) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden("只有管理员可以修改分拨规则", code="role_forbidden")
    if area_id is None:
        if not actor.scope.everything:
            raise Forbidden("全市通用规则只有市级管理员可以修改", code="city_admin_only")
    elif not values_in_scope(actor.scope, ancestry(str(area_id)).get):
        raise Forbidden("该区域不在您的管辖范围内", code="out_of_scope")


def _snapshot(rule: DispatchRule) -> dict:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def _area_id(code: str) -> int:
    """A rule's place: an existing district or township, given by its 12-digit code."""
    if not is_code(code) or len(code) != 12:
        raise ValidationFailed(f"区域代码无效：{code}", code="invalid_area", area=code)
    if level_of(code) not in RULE_PLACE_LEVELS:
        raise ValidationFailed(
            "规则只能按区县或镇街设置", code="area_not_district_or_township", area=code
        )
    with unscoped():
        exists = db.session.scalar(select(Area.id).where(Area.id == int(code)))
    if exists is None:
        raise ValidationFailed(f"找不到区域 {code}", code="unknown_area", area=code)
    return int(code)


def _validate_rule(values: dict) -> None:
    """Refuse a rule that names unknown codes or an outcome dispatch could not carry out."""
    category, code = values["category_code"], values["subcategory_code"]
    if category is not None and db.session.get(Category, category) is None:
        raise ValidationFailed(f"未知的事件大类 {category}", code="unknown_category")
    if code is not None:
        sub = db.session.get(Subcategory, code)
        if sub is None:
            raise ValidationFailed(f"未知的事件小类 {code}", code="unknown_subcategory")
        if category is not None and sub.category_code != category:
            raise ValidationFailed(
                f"小类 {code} 不属于大类 {category}，规则永远不会匹配",
                code="category_mismatch",
                category=category,
                subcategory=code,
            )
    level = values["handling_level"]
    if level == "board" and values["board"] is None:
        raise ValidationFailed("派往镇街板块须指定板块", code="board_required")
    if level == "department" and values["department_kind"] is None:
        raise ValidationFailed("派往区县部门须指定部门类别", code="department_kind_required")
    if level != "department" and values["department_kind"] is not None:
        raise ValidationFailed(
            "只有派往区县部门的规则可以指定部门类别", code="department_kind_not_allowed"
        )


def _columns(data: dict) -> dict:
    """API fields → column values (area code → area id, checked)."""
    values = {_API_NAMES.get(key, key): value for key, value in data.items()}
    if values.get("area_id") is not None:
        values["area_id"] = _area_id(values["area_id"])
    return values


def list_rules(*, principal: Principal, filters: dict) -> Page:
    """Rules that can apply within my scope, first-compared first; filterable."""
    stmt = select(DispatchRule).where(_visible_rules(principal.scope))
    if filters.get("active") is not None:
        stmt = stmt.where(DispatchRule.active.is_(filters["active"]))
    for field_, column in (
        ("category", DispatchRule.category_code),
        ("subcategory", DispatchRule.subcategory_code),
        ("handling_level", DispatchRule.handling_level),
    ):
        if filters.get(field_):
            stmt = stmt.where(column == filters[field_])
    if filters.get("area"):
        code = filters["area"]
        if not is_code(code) or len(code) != 12:
            raise ValidationFailed(f"区域代码无效：{code}", code="invalid_area", area=code)
        stmt = stmt.where(DispatchRule.area_id == int(code))
    if filters.get("citywide") is not None:
        citywide = DispatchRule.area_id.is_(None)
        stmt = stmt.where(citywide if filters["citywide"] else ~citywide)
    stmt = stmt.order_by(DispatchRule.position, DispatchRule.id)
    return paginate(stmt, page=filters["page"], page_size=filters["page_size"])


def get_rule(*, principal: Principal, rule_id: int) -> DispatchRule:
    """One rule that can apply within my scope."""
    rule = db.session.scalar(
        select(DispatchRule).where(DispatchRule.id == rule_id, _visible_rules(principal.scope))
    )
    if rule is None:
        raise NotFound("找不到该分拨规则", code="dispatch_rule_not_found")
    return rule


def create_rule(*, actor: Principal, data: dict) -> DispatchRule:
    """Add a rule (admins, for a place in their scope; city-wide rules: the city admin)."""
    values = _columns(data)
    _check_may_edit(actor, values["area_id"])
    _validate_rule(values)
    rule = DispatchRule(**values)
    db.session.add(rule)
    db.session.flush()
    adminlog.record(actor, "dispatch_rule.create", f"dispatch_rule:{rule.id}", after=values)
    return rule


def update_rule(*, actor: Principal, rule_id: int, changes: dict) -> DispatchRule:
    """Change a rule; its old and its new place must both be the caller's to edit."""
    rule = get_rule(principal=actor, rule_id=rule_id)
    _check_may_edit(actor, rule.area_id)
    values = _columns(changes)
    if "area_id" in values:
        _check_may_edit(actor, values["area_id"])
    before = _snapshot(rule)
    _validate_rule({**before, **values})
    for name, value in values.items():
        setattr(rule, name, value)
    db.session.flush()
    changed = {k: v for k, v in _snapshot(rule).items() if before[k] != v}
    if changed:
        adminlog.record(
            actor,
            "dispatch_rule.update",
            f"dispatch_rule:{rule.id}",
            before={k: before[k] for k in changed},
            after=changed,
        )
    return rule


def delete_rule(*, actor: Principal, rule_id: int) -> None:
    """Remove a rule for good (to pause one, set active to false instead).

    Events it routed keep its id and note in their dispatch reason; the admin log keeps the
    whole rule as it was.
    """
    rule = get_rule(principal=actor, rule_id=rule_id)
    _check_may_edit(actor, rule.area_id)
    before = _snapshot(rule)
    db.session.delete(rule)
    db.session.flush()
    adminlog.record(actor, "dispatch_rule.delete", f"dispatch_rule:{rule_id}", before=before)


def rule_mismatches(rule: DispatchRule, event: Event) -> list[str]:
    """The conditions of `rule` that `event` fails: how decide() and the preview match."""
    places = {p for p in (event.district_id, event.township_id) if p is not None}
    checks = (
        ("category", rule.category_code is None or rule.category_code == event.category_code),
        (
            "subcategory",
            rule.subcategory_code is None or rule.subcategory_code == event.subcategory_code,
        ),
        ("max_priority", rule.max_priority is None or rule.max_priority >= event.priority),
        ("emergency", rule.emergency is None or rule.emergency == event.emergency),
        ("area", rule.area_id is None or rule.area_id in places),
    )
    return [name for name, ok in checks if not ok]


def preview(
    *,
    principal: Principal,
    subcategory: str,
    priority: int | None = None,
    emergency: bool | None = None,
    location: dict | None = None,
    area: str | None = None,
) -> dict:
    """What decide() would choose for such an event, and why, without creating one."""
    sub = db.session.get(Subcategory, subcategory)
    if sub is None:
        raise ValidationFailed(f"未知的事件小类 {subcategory}", code="unknown_subcategory")
    if location is not None:
        lon, lat = location["coordinates"]
        place = str(geo.locate(lon=lon, lat=lat, system=location["crs"]).grid_id)
    else:
        place = _preview_place(principal, area)
    # A transient event: never added to the session, so nothing is written.
    event = Event(
        category_code=sub.category_code,
        subcategory_code=sub.code,
        priority=sub.priority if priority is None else priority,
        emergency=sub.emergency if emergency is None else emergency,
        **ancestry(place),
    )
    considered = []
    winner = None
    with unscoped():
        rules = db.session.scalars(
            select(DispatchRule)
            .where(DispatchRule.active.is_(True))
            .order_by(DispatchRule.position, DispatchRule.id)
        ).all()
        for rule in rules:
            failed = rule_mismatches(rule, event)
            considered.append(
                {
                    "id": rule.id,
                    "position": rule.position,
                    "note": rule.note,
                    "matched": not failed,
                    "mismatched": failed,
                }
            )
            if not failed:
                winner = rule
                break
    source = winner or sub
    result = {
        "subcategory": sub.code,
        "category": sub.category_code,
        "priority": event.priority,
        "emergency": event.emergency,
        "place": {
            level: None if value is None else str(value)
            for level, value in zip(
                ("district", "township", "village", "grid"), ancestry(place).values(), strict=True
            )
        },
        "rule": (
            {"kind": "rule", "id": winner.id, "note": winner.note}
            if winner
            else {"kind": "subcategory_default", "subcategory": sub.code}
        ),
        "handling_level": source.handling_level,
        "board": source.board,
        "department_kind": source.department_kind,
        "unit": None,
        "user_id": None,
        "chosen": None,
        "candidates": [],
        "problem": None,
        "considered": considered,
    }
    try:
        decision = decide(event, sub)
    except ValidationFailed as error:
        result["problem"] = {"code": error.code, "message": error.message, "details": error.details}
        return result
    result.update(
        rule=decision.reason["rule"],
        unit=decision.reason["unit"],
        user_id=decision.user_id,
        chosen=decision.reason["chosen"],
        candidates=decision.reason["candidates"],
    )
    return result


def _preview_place(principal: Principal, code: str) -> str:
    """An existing area below the city, inside the caller's scope."""
    if not is_code(code) or level_of(code) == "city":
        raise ValidationFailed(f"区域代码无效：{code}", code="invalid_area", area=code)
    with unscoped():
        exists = db.session.scalar(select(Area.id).where(Area.id == int(code)))
    if exists is None:
        raise ValidationFailed(f"找不到区域 {code}", code="unknown_area", area=code)
    if not values_in_scope(principal.scope, ancestry(code).get):
        raise Forbidden("该区域不在您的管辖范围内", code="out_of_scope")
    return code


def answer_unit_wanted(
    event: Event,
    *,
    subcategory: Subcategory,
    level: str | None = None,
    board: str | None = None,
    department_id: int | None = None,
    user_id: int | None = None,
) -> Decision:
    """Events asks who should take an event (signal events.unit_wanted)."""
    return decide(
        event, subcategory, level=level, board=board, department_id=department_id, user_id=user_id
    )

"""Checklist dispatch 清单派发: build and send, answer item by item, judge, roll up, raise events.

A checklist becomes one assignment per target: each grid under the areas picked, or each key
place of a kind (every 危岩 site before a storm). Any worker bound to the grid may answer; an
answer is keyed by (assignment, item), so a resent answer is the same row, and the later
answer (by the phone's clock) replaces an earlier one. The server decides pass/fail. An
assignment is complete when every required item is answered; completed after due_at is late.

After sending, the sending centre's level (or one above it) may change the title, the
instructions and the deadline, never the items: answers are judged and counted per item, and
even a reworded label could turn answers already given into answers to another question (a
wrong item means withdraw and send again). A changed deadline re-arms the late warnings of
the work still open; completed work keeps the deadline it was done against, so a later
deadline does not rewrite who was late. Withdrawing 撤回 (with a reason) keeps every answer;
the assignments still open stop being due (no warnings, never late, gone from the phones),
and answers arriving afterwards are refused with `checklist_withdrawn` (409), except a resent
copy of an answer already stored. A failed answer given before may still raise its event: a
hazard found is not withdrawn with the checklist.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import GridBinding, User
from app.accounts.roles import Role
from app.checklists.models import Checklist, ChecklistAnswer, ChecklistAssignment, ChecklistItem
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import LEVELS, unscoped, values_in_scope
from app.events import audit
from app.events import service as events
from app.events.duplicates import distance_m
from app.events.models import Attachment, Event
from app.extensions import db
from app.geo import service as geo
from app.geo.codes import CITY_CODE, ancestry, is_code, level_of
from app.geo.models import Area, AreaLevel
from app.keys.models import KeyKind, KeyPlace
from app.realtime import rooms
from app.realtime.service import publish

# Who sends checklists: the command centres, and village offices to their own grids.
CREATORS = frozenset({Role.TOWNSHIP_DISPATCHER, Role.VILLAGE_STAFF, Role.SUPERVISOR, Role.ADMIN})
# Who answers: the grid's workers, and village staff standing in for one.
ANSWERERS = frozenset({Role.GRID_WORKER, Role.GRID_LEADER, Role.VILLAGE_STAFF})
# A checklist reaches at most this many grids or places (a district has about 1,500 grids).
MAX_ASSIGNMENTS = 5000
MIN_LEAD = timedelta(minutes=10)
MAX_LEAD = timedelta(days=90)
# Near due 临期 at 75% of the time allowed, as event stages warn (app/sla).
WARN_FRACTION = 0.75
# A GPS item at a key place passes within this distance unless the item says otherwise.
PLACE_DISTANCE_M = 200.0
# The phone's list: open assignments, and those due within the last week (to see what was done).
RECENT = timedelta(days=7)


# -- targets --------------------------------------------------------------------------------


@dataclass
class Targets:
    """What a checklist would reach: the grids (or key places) and the people there."""

    grids: list[int] = field(default_factory=list)
    places: list[KeyPlace] = field(default_factory=list)
    workers: dict[int, list[int]] = field(default_factory=dict)  # grid → user ids

    @property
    def assignments(self) -> int:
        return len(self.places) if self.places else len(self.grids)

    @property
    def grids_reached(self) -> list[int]:
        return sorted({p.grid_id for p in self.places}) if self.places else self.grids

    @property
    def unstaffed(self) -> list[str]:
        return [str(g) for g in self.grids_reached if not self.workers.get(g)]

    @property
    def worker_ids(self) -> set[int]:
        return {u for g in self.grids_reached for u in self.workers.get(g, ())}


def _authorize_create(principal: Principal) -> None:
    if principal.role not in CREATORS:
        raise Forbidden("您的角色无权派发清单", code="role_forbidden")


def _centre(principal: Principal) -> int:
    """The sending node: the caller's own (the city for city-wide accounts)."""
    scope = principal.scope
    if scope.everything:
        return int(CITY_CODE)
    if scope.area_id:
        return scope.area_id
    raise Forbidden("只有镇街、村社、区县或市级人员可以派发清单", code="action_forbidden")


def _under(model, codes: list[str]):
    """Rows of an area-scoped model (or areas) under any of these nodes, as one condition."""
    by_level: dict[str, list[int]] = defaultdict(list)
    for code in codes:
        by_level[level_of(code)].append(int(code))
    if "city" in by_level:
        return true()
    return or_(*(getattr(model, f"{level}_id").in_(ids) for level, ids in by_level.items()))


def _grids_under(codes: list[str]) -> list[int]:
    """The grids under these nodes, in one query however many codes there are."""
    stmt = select(Area.id).where(Area.level == AreaLevel.GRID, _under(Area, codes))
    return list(db.session.scalars(stmt.order_by(Area.id)))


def resolve_targets(
    *, principal: Principal, areas: list[str], key_place_kind: str | None
) -> Targets:
    """The grids (or key places) areas and a key-place kind name, checked against the scope."""
    codes = list(dict.fromkeys(c.strip() for c in areas))
    bad = [c for c in codes if not is_code(c)]
    if bad:
        raise ValidationFailed(
            "区域代码无效（应为 12 位或 15 位数字）", code="bad_area", codes=bad[:20]
        )
    with unscoped():
        known = set(db.session.scalars(select(Area.code).where(Area.code.in_(codes))))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationFailed("找不到这些区域", code="unknown_area", codes=unknown[:20])
    outside = [c for c in codes if not values_in_scope(principal.scope, ancestry(c).get)]
    if outside:
        raise Forbidden(
            f"超出您的管辖范围，不能派发到：{'、'.join(outside[:5])}"
            + ("等" if len(outside) > 5 else ""),
            code="out_of_scope",
            codes=outside[:20],
        )
    targets = Targets()
    if key_place_kind:
        kind = db.session.get(KeyKind, key_place_kind)
        if kind is None or kind.subject != "place" or not kind.active:
            raise ValidationFailed(
                "未知的重点场所类型", code="unknown_key_place_kind", kind=key_place_kind
            )
        stmt = select(KeyPlace).where(
            KeyPlace.kind_code == key_place_kind, KeyPlace.active.is_(True)
        )
        if codes:
            stmt = stmt.where(_under(KeyPlace, codes))
        targets.places = list(db.session.scalars(stmt.order_by(KeyPlace.grid_id, KeyPlace.id)))
        if not targets.places:
            raise ValidationFailed(
                f"所选范围内没有{kind.name_zh}", code="no_targets", kind=key_place_kind
            )
    else:
        if not codes:
            raise ValidationFailed(
                "请选择网格、村社或镇街，或选择重点场所类型", code="targets_required"
            )
        targets.grids = _grids_under(codes)
        if not targets.grids:
            raise ValidationFailed("所选区域内没有网格", code="no_targets")
    if targets.assignments > MAX_ASSIGNMENTS:
        raise ValidationFailed(
            f"一份清单最多派发 {MAX_ASSIGNMENTS} 处，请缩小范围",
            code="too_many_targets",
            count=targets.assignments,
        )
    targets.workers = workers_of(targets.grids_reached)
    return targets


def workers_of(grid_ids: list[int]) -> dict[int, list[int]]:
    """The active grid workers bound to each grid."""
    if not grid_ids:
        return {}
    with unscoped():
        rows = db.session.execute(
            select(GridBinding.grid_id, User.id)
            .join(User, User.id == GridBinding.user_id)
            .where(
                GridBinding.grid_id.in_(grid_ids),
                User.role == Role.GRID_WORKER,
                User.is_active.is_(True),
            )
            .order_by(GridBinding.grid_id, User.id)
        ).all()
    found: dict[int, list[int]] = defaultdict(list)
    for grid_id, user_id in rows:
        found[grid_id].append(user_id)
    return dict(found)


def preview(*, principal: Principal, areas: list[str], key_place_kind: str | None) -> dict:
    """How many grids, places and people a checklist would reach, before it is sent."""
    _authorize_create(principal)
    targets = resolve_targets(principal=principal, areas=areas, key_place_kind=key_place_kind)
    return {
        "grids": len(targets.grids_reached),
        "key_places": len(targets.places),
        "assignments": targets.assignments,
        "workers": len(targets.worker_ids),
        "unstaffed_grids": targets.unstaffed,
    }


# -- sending --------------------------------------------------------------------------------


def create(
    *,
    principal: Principal,
    title: str,
    instructions: str,
    due_at: datetime,
    items: list[dict],
    targets: dict,
) -> Checklist:
    """Build a checklist and send it: one assignment per target, each grid's workers told."""
    _authorize_create(principal)
    now = utcnow()
    _check_due(due_at, now)
    keys = [item.get("key") or f"item{i}" for i, item in enumerate(items, start=1)]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValidationFailed("检查项标识重复", code="duplicate_item_key", keys=repeated)
    if not any(item["required"] for item in items):
        raise ValidationFailed("至少要有一项必填", code="no_required_item", field="items")
    if not title.strip():
        raise ValidationFailed("请填写清单标题", code="title_required", field="title")
    found = resolve_targets(
        principal=principal, areas=targets["areas"], key_place_kind=targets["key_place_kind"]
    )
    centre = _centre(principal)
    checklist = Checklist(
        title=title.strip(),
        instructions=instructions.strip(),
        centre_id=centre,
        created_by=principal.user_id,
        created_at=now,
        due_at=due_at,
        warn_at=_warn_at(now, due_at),
        targets={"areas": list(dict.fromkeys(targets["areas"])), **_kind(targets)},
        **ancestry(str(centre)),
    )
    db.session.add(checklist)
    db.session.flush()
    for position, (key, item) in enumerate(zip(keys, items, strict=True), start=1):
        fields = {k: v for k, v in item.items() if k != "key"}
        fields["label"], fields["hint"] = fields["label"].strip(), fields["hint"].strip()
        db.session.add(ChecklistItem(checklist=checklist, position=position, key=key, **fields))
    required = sum(1 for item in items if item["required"])
    common = {
        "checklist_id": checklist.id,
        "item_count": len(items),
        "required_count": required,
        "answered_count": 0,
        "required_answered": 0,
        "failed_count": 0,
        "due_at": checklist.due_at,
        "warn_at": checklist.warn_at,
        "updated_at": now,
    }
    if found.places:
        rows = [
            {**common, "target": f"p{p.id}", "key_place_id": p.id, **ancestry(str(p.grid_id))}
            for p in found.places
        ]
    else:
        rows = [{**common, "target": f"g{g}", **ancestry(str(g))} for g in found.grids]
    # ORM bulk insert: the scope listener checks every row, as it does single writes.
    db.session.execute(insert(ChecklistAssignment), rows)
    db.session.flush()
    people = sorted(found.worker_ids)
    payload = {"checklist_id": checklist.id, "title": checklist.title, "due_at": due_at.isoformat()}
    if people:
        publish("checklist_assigned", payload, [rooms.user(u) for u in people])
    publish("checklist_sent", payload, _centre_rooms(checklist))
    _decorate([checklist], principal)
    checklist.workers = len(people)
    checklist.unstaffed_grids = found.unstaffed
    return checklist


def _check_due(due_at: datetime, now: datetime) -> None:
    if due_at < now + MIN_LEAD:
        raise ValidationFailed("完成期限至少要在 10 分钟之后", code="due_too_soon", field="due_at")
    if due_at > now + MAX_LEAD:
        raise ValidationFailed("完成期限不能超过 90 天", code="due_too_far", field="due_at")


def _warn_at(sent_at: datetime, due_at: datetime) -> datetime:
    return sent_at + (due_at - sent_at) * WARN_FRACTION


def _kind(targets: dict) -> dict:
    return {"key_place_kind": targets["key_place_kind"]} if targets.get("key_place_kind") else {}


def _centre_rooms(checklist: Checklist) -> list[str]:
    return [rooms.area(checklist.centre_id)]


# -- changing and withdrawing after sending -------------------------------------------------


def may_manage(principal: Principal, checklist: Checklist) -> bool:
    """The sending centre's level or above: a village that sees a township's checklist through
    its grids' assignments answers it, it does not rewrite or withdraw it."""
    scope = principal.scope
    return principal.role in CREATORS and (
        scope.everything or values_in_scope(scope, ancestry(str(checklist.centre_id)).get)
    )


def _withdrawn(checklist: Checklist, consequence: str) -> Conflict:
    return Conflict(
        f"清单“{checklist.title}”已撤回，{consequence}。撤回原因：{checklist.withdraw_reason}",
        code="checklist_withdrawn",
        checklist_id=checklist.id,
        withdrawn_at=checklist.withdrawn_at.isoformat(),
        reason=checklist.withdraw_reason,
    )


def _managed(principal: Principal, checklist_id: int) -> Checklist:
    """A checklist the caller may change: visible, theirs to manage, not withdrawn."""
    _authorize_create(principal)
    checklist = get_checklist(checklist_id=checklist_id)
    if not may_manage(principal, checklist):
        raise Forbidden("只有派发单位及其上级可以修改或撤回清单", code="action_forbidden")
    if checklist.withdrawn_at is not None:
        raise _withdrawn(checklist, "不能再修改或撤回")
    return checklist


def _grids_of(checklist_id: int, *, open_only: bool) -> list[int]:
    a = ChecklistAssignment
    stmt = select(a.grid_id).where(a.checklist_id == checklist_id).distinct()
    if open_only:
        stmt = stmt.where(a.completed_at.is_(None), a.withdrawn_at.is_(None))
    # Every assignment of a checklist the caller manages: no further rule to apply.
    with unscoped():
        return sorted(db.session.scalars(stmt))


def _worker_rooms(grid_ids: list[int]) -> list[str]:
    people = {u for users in workers_of(grid_ids).values() for u in users}
    return [rooms.user(u) for u in sorted(people)]


def edit(
    *,
    principal: Principal,
    checklist_id: int,
    title: str | None = None,
    instructions: str | None = None,
    due_at: datetime | None = None,
) -> Checklist:
    """Change a sent checklist's title, instructions or deadline (never its items); a new
    deadline re-arms the late warnings of the work still open. The same change twice is one."""
    checklist = _managed(principal, checklist_id)
    now = utcnow()
    changes: dict = {}
    if title is not None:
        if not title.strip():
            raise ValidationFailed("请填写清单标题", code="title_required", field="title")
        changes["title"] = title.strip()
    if instructions is not None:
        changes["instructions"] = instructions.strip()
    if due_at is not None and due_at != checklist.due_at:
        _check_due(due_at, now)
        changes["due_at"] = due_at
    changes = {k: v for k, v in changes.items() if getattr(checklist, k) != v}
    if not changes:
        _decorate([checklist], principal)
        return checklist
    for key, value in changes.items():
        setattr(checklist, key, value)
    checklist.edited_at, checklist.edited_by = now, principal.user_id
    if "due_at" in changes:
        # The warnings follow the deadline in force: cleared, the sweep gives them again at
        # the new times (at once for a near-due moment already past). Completed work keeps
        # the deadline it was done against.
        checklist.warn_at = _warn_at(checklist.created_at, due_at)
        checklist.warned_at = checklist.overdue_at = None
        a = ChecklistAssignment
        with unscoped():  # the assignments of a checklist the caller manages
            db.session.execute(
                update(a)
                .where(a.checklist_id == checklist.id, a.completed_at.is_(None))
                .values(
                    due_at=due_at,
                    warn_at=checklist.warn_at,
                    warned_at=None,
                    overdue_at=None,
                    updated_at=now,
                ),
                execution_options={"synchronize_session": "fetch"},
            )
    db.session.flush()
    payload = {
        "checklist_id": checklist.id,
        "title": checklist.title,
        "due_at": checklist.due_at.isoformat(),
        "changed": sorted(changes),
    }
    people = _worker_rooms(_grids_of(checklist.id, open_only=True))
    if people:
        publish("checklist_changed", payload, people)
    publish("checklist_changed", payload, _centre_rooms(checklist))
    _decorate([checklist], principal)
    return checklist


def withdraw(*, principal: Principal, checklist_id: int, reason: str) -> Checklist:
    """Withdraw 撤回 a sent checklist: answers stay, the open work stops being due and leaves
    the phones, later answers are refused; its workers and its centre are told."""
    checklist = _managed(principal, checklist_id)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("请填写撤回原因", code="reason_required", field="reason")
    now = utcnow()
    checklist.withdrawn_at, checklist.withdrawn_by = now, principal.user_id
    checklist.withdraw_reason = reason
    a = ChecklistAssignment
    grids = _grids_of(checklist.id, open_only=False)
    # Completed ones too: the phones drop the whole checklist by this one column.
    with unscoped():  # the assignments of a checklist the caller manages
        db.session.execute(
            update(a)
            .where(a.checklist_id == checklist.id)
            .values(withdrawn_at=now, updated_at=now),
            execution_options={"synchronize_session": "fetch"},
        )
    db.session.flush()
    payload = {
        "checklist_id": checklist.id,
        "title": checklist.title,
        "reason": reason,
        "withdrawn_at": now.isoformat(),
    }
    people = _worker_rooms(grids)
    if people:
        publish("checklist_withdrawn", payload, people)
    publish("checklist_withdrawn", payload, _centre_rooms(checklist))
    _decorate([checklist], principal)
    return checklist


# -- reading --------------------------------------------------------------------------------


def get_checklist(*, checklist_id: int) -> Checklist:
    """One checklist the caller may see (sent in their scope, or with an assignment they see)."""
    checklist = db.session.scalar(select(Checklist).where(Checklist.id == checklist_id))
    if checklist is None:
        raise NotFound("找不到该清单", code="checklist_not_found")
    return checklist


def detail(*, principal: Principal, checklist_id: int) -> Checklist:
    checklist = get_checklist(checklist_id=checklist_id)
    _decorate([checklist], principal)
    return checklist


def list_checklists(
    *, principal: Principal, page: int, page_size: int, open: bool | None = None
) -> Page:
    """Checklists I sent or must answer, newest first, each with its figures in my scope."""
    stmt = select(Checklist)
    if open is not None:
        pending = select(ChecklistAssignment.checklist_id).where(
            ChecklistAssignment.completed_at.is_(None), ChecklistAssignment.withdrawn_at.is_(None)
        )
        stmt = stmt.where(Checklist.id.in_(pending) if open else Checklist.id.not_in(pending))
    page_ = paginate(
        stmt.order_by(Checklist.created_at.desc(), Checklist.id.desc()),
        page=page,
        page_size=page_size,
    )
    _decorate(page_.items, principal)
    return page_


def _figure_columns(now: datetime) -> list:
    a = ChecklistAssignment
    # Work still due: a withdrawn checklist's open assignments are neither near due nor overdue.
    open_ = a.completed_at.is_(None) & a.withdrawn_at.is_(None)
    return [
        func.count(a.id).label("assignments"),
        func.count(a.id).filter(a.completed_at.is_not(None)).label("completed"),
        func.coalesce(func.sum(a.item_count), 0).label("items_total"),
        func.coalesce(func.sum(a.answered_count), 0).label("items_answered"),
        func.coalesce(func.sum(a.failed_count), 0).label("failed_items"),
        func.count(a.id).filter(open_, a.warn_at <= now, a.due_at > now).label("near_due"),
        func.count(a.id).filter(open_, a.due_at <= now).label("overdue"),
        func.count(a.id).filter(a.completed_at > a.due_at).label("late"),
    ]


FIGURES = (
    "assignments",
    "completed",
    "items_total",
    "items_answered",
    "failed_items",
    "near_due",
    "overdue",
    "late",
    "events",
)


def _zero() -> dict:
    return dict.fromkeys(FIGURES, 0)


def _events_by(group, checklist_ids: list[int]) -> dict:
    """Events raised from failed items, counted per `group` column of the assignment."""
    rows = db.session.execute(
        select(group, func.count(ChecklistAnswer.id))
        .join(ChecklistAssignment, ChecklistAssignment.id == ChecklistAnswer.assignment_id)
        .where(
            ChecklistAssignment.checklist_id.in_(checklist_ids),
            ChecklistAnswer.event_id.is_not(None),
        )
        .group_by(group)
    ).all()
    return dict(rows)


def _decorate(checklists: list[Checklist], principal: Principal) -> None:
    """Names, figures (of the assignments the caller can see) and whether the caller may
    change them, for dumping."""
    if not checklists:
        return
    ids = [c.id for c in checklists]
    now = utcnow()
    rows = db.session.execute(
        select(ChecklistAssignment.checklist_id, *_figure_columns(now))
        .where(ChecklistAssignment.checklist_id.in_(ids))
        .group_by(ChecklistAssignment.checklist_id)
    ).all()
    figures = {r.checklist_id: {k: int(getattr(r, k)) for k in FIGURES[:-1]} for r in rows}
    raised = _events_by(ChecklistAssignment.checklist_id, ids)
    _decorate_briefs(checklists)
    people = _user_names(
        {u for c in checklists for u in (c.created_by, c.edited_by, c.withdrawn_by) if u}
    )
    for checklist in checklists:
        checklist.figures = {**_zero(), **figures.get(checklist.id, {})}
        checklist.figures["events"] = raised.get(checklist.id, 0)
        checklist.created_by_name = people.get(checklist.created_by, "")
        checklist.edited_by_name = people.get(checklist.edited_by, "")
        checklist.withdrawn_by_name = people.get(checklist.withdrawn_by, "")
        checklist.can_manage = checklist.withdrawn_at is None and may_manage(principal, checklist)


def _area_names(ids) -> dict[int, str]:
    ids = sorted(i for i in ids if i)
    if not ids:
        return {}
    # Names only, of nodes the caller already reaches through a visible row.
    with unscoped():
        return dict(db.session.execute(select(Area.id, Area.name).where(Area.id.in_(ids))).all())


def _user_names(ids) -> dict[int, str]:
    ids = sorted(i for i in ids if i)
    if not ids:
        return {}
    name = func.coalesce(func.nullif(User.display_name, ""), User.username)
    with unscoped():
        return dict(db.session.execute(select(User.id, name).where(User.id.in_(ids))).all())


def progress(*, checklist_id: int) -> dict:
    """Figures per grid, rolled up to villages, townships (and districts), with totals."""
    checklist = get_checklist(checklist_id=checklist_id)
    a = ChecklistAssignment
    rows = db.session.execute(
        select(a.district_id, a.township_id, a.village_id, a.grid_id, *_figure_columns(utcnow()))
        .where(a.checklist_id == checklist.id)
        .group_by(a.district_id, a.township_id, a.village_id, a.grid_id)
    ).all()
    raised = _events_by(a.grid_id, [checklist.id])
    nodes: dict[int, dict] = {}
    totals = _zero()
    for row in rows:
        figures = {k: int(getattr(row, k)) for k in FIGURES[:-1]}
        figures["events"] = raised.get(row.grid_id, 0)
        parent = None
        for level in LEVELS:
            node_id = getattr(row, f"{level}_id")
            if node_id is None:
                continue
            node = nodes.setdefault(
                node_id,
                {"code": str(node_id), "level": level, "parent_code": parent, **_zero()},
            )
            for key, value in figures.items():
                node[key] += value
            parent = str(node_id)
        for key, value in figures.items():
            totals[key] += value
    names = _area_names(nodes)
    ordered = sorted(nodes.values(), key=lambda n: (LEVELS.index(n["level"]), n["code"]))
    for node in ordered:
        node["name"] = names.get(int(node["code"]), node["code"])
    return {
        "checklist_id": checklist.id,
        "due_at": checklist.due_at,
        "totals": totals,
        "nodes": ordered,
    }


def get_assignment(*, assignment_id: int, for_update: bool = False) -> ChecklistAssignment:
    """One assignment the caller may see (row-locked on PostgreSQL when about to change it)."""
    stmt = select(ChecklistAssignment).where(ChecklistAssignment.id == assignment_id)
    if for_update and db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=ChecklistAssignment)
    assignment = db.session.scalar(stmt)
    if assignment is None:
        raise NotFound("找不到该清单任务", code="assignment_not_found")
    return assignment


def list_assignments(*, filters: dict) -> Page:
    """Assignments in my scope: open first, soonest due first; with items and answers."""
    a = ChecklistAssignment
    stmt = select(a)
    if filters.get("checklist_id"):
        stmt = stmt.where(a.checklist_id == filters["checklist_id"])
    if filters.get("open") is not None:
        stmt = stmt.where(
            (a.completed_at.is_(None) & a.withdrawn_at.is_(None))
            if filters["open"]
            else a.completed_at.is_not(None)
        )
    if filters.get("current"):
        # The phone's list: a withdrawn checklist leaves it whole, answered or not.
        stmt = stmt.where(
            a.withdrawn_at.is_(None), a.completed_at.is_(None) | (a.due_at >= utcnow() - RECENT)
        )
    if filters.get("failed") is not None:
        stmt = stmt.where(a.failed_count > 0 if filters["failed"] else a.failed_count == 0)
    if filters.get("noted") is not None:
        noted = select(ChecklistAnswer.assignment_id).where(ChecklistAnswer.note != "")
        stmt = stmt.where(a.id.in_(noted) if filters["noted"] else a.id.not_in(noted))
    if filters.get("area"):
        code = filters["area"]
        if not is_code(code):
            raise ValidationFailed("区域代码无效", code="bad_area", area=code)
        stmt = stmt.where(_under(a, [code]))
    still_due = case((a.completed_at.is_(None) & a.withdrawn_at.is_(None), 0), else_=1)
    stmt = stmt.order_by(still_due, a.due_at, a.grid_id, a.id)
    page_ = paginate(stmt, page=filters["page"], page_size=filters["page_size"])
    decorate_assignments(page_.items)
    return page_


def decorate_assignments(assignments: list[ChecklistAssignment]) -> list[ChecklistAssignment]:
    """Attach checklist (with items), key place, names, answers and lateness for dumping."""
    if not assignments:
        return assignments
    now = utcnow()
    checklist_ids = sorted({x.checklist_id for x in assignments})
    with unscoped():  # reached through visible assignments: no further rule to apply
        checklists = {
            c.id: c
            for c in db.session.scalars(select(Checklist).where(Checklist.id.in_(checklist_ids)))
        }
        place_ids = sorted({x.key_place_id for x in assignments if x.key_place_id})
        places = (
            {
                p.id: p
                for p in db.session.scalars(select(KeyPlace).where(KeyPlace.id.in_(place_ids)))
            }
            if place_ids
            else {}
        )
        answers: dict[int, list[ChecklistAnswer]] = defaultdict(list)
        for answer in db.session.scalars(
            select(ChecklistAnswer)
            .where(ChecklistAnswer.assignment_id.in_([x.id for x in assignments]))
            .order_by(ChecklistAnswer.item_id)
        ):
            answers[answer.assignment_id].append(answer)
    _decorate_briefs(list(checklists.values()))
    names = _area_names({x.grid_id for x in assignments} | {x.village_id for x in assignments})
    people = _user_names({a.answered_by for rows in answers.values() for a in rows})
    for x in assignments:
        x.checklist_ = checklists[x.checklist_id]
        x.key_place = places.get(x.key_place_id)
        x.grid_name = names.get(x.grid_id, "")
        x.village_name = names.get(x.village_id, "")
        x.answers = answers.get(x.id, [])
        for answer in x.answers:
            answer.answered_by_name = people.get(answer.answered_by, "")
        _timing(x, now)
    return assignments


def _decorate_briefs(checklists: list[Checklist]) -> None:
    names = _area_names({c.centre_id for c in checklists})
    for checklist in checklists:
        checklist.centre_name = names.get(checklist.centre_id, "")


def _timing(x: ChecklistAssignment, now: datetime) -> None:
    done = x.completed_at is not None
    if x.withdrawn_at is not None and not done:  # no longer due: not late, nor nearly
        x.overdue = x.near_due = x.late = False
        return
    x.overdue = not done and x.due_at <= now
    x.near_due = not done and x.warn_at <= now < x.due_at
    x.late = done and x.completed_at > x.due_at


# -- answering ------------------------------------------------------------------------------


def _item(assignment: ChecklistAssignment, key: str) -> ChecklistItem:
    with unscoped():  # the assignment was found in scope; its checklist's items go with it
        item = db.session.scalar(
            select(ChecklistItem).where(
                ChecklistItem.checklist_id == assignment.checklist_id,
                ChecklistItem.key == key[:32],
            )
        )
    if item is None:
        raise NotFound("清单中没有这一项", code="checklist_item_not_found", key=key[:32])
    return item


def _mismatch(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="answer_mismatch")


def _judge(item: ChecklistItem, assignment: ChecklistAssignment, data: dict) -> dict:
    """The stored fields of an answer and whether it fails, from the item's rule."""
    out = {"yes": None, "value": None, "lon": None, "lat": None, "accuracy_m": None}
    failed, reason = False, ""
    if item.kind == "photo":
        if not data["photos"]:
            raise _mismatch("拍照项请至少上传一张照片")
    elif item.kind == "yes_no":
        if data.get("yes") is None:
            raise _mismatch("请回答“是”或“否”")
        out["yes"] = data["yes"]
        if item.fail_on is not None and data["yes"] == item.fail_on:
            failed, reason = True, f"回答为“{'是' if data['yes'] else '否'}”"
    elif item.kind == "value":
        if data.get("value") is None:
            raise _mismatch("请填写数值")
        value = out["value"] = data["value"]
        low, high = item.min_value, item.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            failed = True
            reason = f"数值 {_num(value)}{item.unit} 超出允许范围 {_range(low, high)}{item.unit}"
    elif item.kind == "gps":
        location = data.get("location")
        if not location:
            raise _mismatch("请提交定位")
        lon, lat = geo.to_wgs84(*location["coordinates"], location.get("crs", geo.CRS_WGS84))
        out.update(lon=lon, lat=lat, accuracy_m=data.get("accuracy_m"))
        failed, reason = _judge_position(item, assignment, lon, lat)
    return {**out, "failed": failed, "fail_reason": reason[:200]}


def _judge_position(item, assignment, lon: float, lat: float) -> tuple[bool, str]:
    """A fix proves presence: near the key place, or inside the assignment's grid."""
    if assignment.key_place_id:
        with unscoped():
            place = db.session.get(KeyPlace, assignment.key_place_id)
        limit = item.max_distance_m or PLACE_DISTANCE_M
        away = distance_m(lon, lat, place.lon, place.lat)
        if away > limit:
            return True, f"定位距{place.name}约 {away:.0f} 米，超出 {limit:.0f} 米"
        return False, ""
    try:
        found = geo.locate(lon=lon, lat=lat, scoped=False)
    except ValidationFailed:
        return True, "定位不在任何网格内"
    if found.grid_id != assignment.grid_id or found.snapped:
        return True, "定位不在本网格内"
    return False, ""


def _num(value: float) -> str:
    return f"{value:g}"


def _range(low: float | None, high: float | None) -> str:
    if low is None:
        return f"≤ {_num(high)}"
    if high is None:
        return f"≥ {_num(low)}"
    return f"{_num(low)}–{_num(high)}"


def _check_photos(principal: Principal, ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = set(
        db.session.scalars(
            select(Attachment.id).where(
                Attachment.id.in_(ids), Attachment.uploader_id == principal.user_id
            )
        )
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed("照片不存在或不是您上传的", code="unknown_attachment", ids=missing)
    return ids


def _fields(
    principal: Principal,
    item: ChecklistItem,
    assignment: ChecklistAssignment,
    checklist: Checklist,
    data: dict,
) -> dict:
    """The stored columns of an answer, judged (refused when it does not fit the item)."""
    judged = _judge(item, assignment, data)
    photos = _check_photos(principal, data["photos"])
    now = utcnow()
    # The phone's clock says when the item was done (offline work is not late for the delay
    # in sending it), bounded by when the checklist was sent and when the answer arrived.
    answered_at = min(data.get("answered_at") or now, now)
    answered_at = max(answered_at, checklist.created_at)
    return {
        **judged,
        "attachment_ids": photos,
        "note": data["note"].strip(),
        "answered_by": principal.user_id,
        "answered_at": answered_at,
        "received_at": now,
    }


# What a reader of an answer sees; a copy equal in these changes nothing.
_ANSWER_CONTENT = ("yes", "value", "lon", "lat", "accuracy_m", "attachment_ids", "note")


def _after_withdrawal(
    principal: Principal,
    item: ChecklistItem,
    assignment: ChecklistAssignment,
    checklist: Checklist,
    data: dict,
) -> ChecklistAssignment:
    """A withdrawn checklist takes no more answers. A copy of one it already has (the phone's
    queue resends a write whose reply was lost) is answered as before, not refused."""
    row = _answer_row(assignment, item.key)
    if row is not None:
        try:
            fields = _fields(principal, item, assignment, checklist, data)
        except ValidationFailed:
            fields = None
        stale = fields is not None and row.answered_at > fields["answered_at"]
        same = fields is not None and all(getattr(row, k) == fields[k] for k in _ANSWER_CONTENT)
        if stale or (same and row.answered_at == fields["answered_at"]):
            return decorate_assignments([assignment])[0]
    raise _withdrawn(checklist, "不再接收填报")


def answer(
    *, principal: Principal, assignment_id: int, item_key: str, data: dict
) -> ChecklistAssignment:
    """Store one item's answer (the same answer again is the same row); judge it; keep the
    assignment's counters and completion. An answer older than the stored one is ignored."""
    if principal.role not in ANSWERERS:
        raise Forbidden("只有网格员和村社人员可以填报清单", code="role_forbidden")
    assignment = get_assignment(assignment_id=assignment_id, for_update=True)
    item = _item(assignment, item_key)
    with unscoped():
        checklist = db.session.get(Checklist, assignment.checklist_id)
    if assignment.withdrawn_at is not None:
        return _after_withdrawal(principal, item, assignment, checklist, data)
    fields = _fields(principal, item, assignment, checklist, data)
    row = _answer_row(assignment, item.key)
    if row is None:
        row = ChecklistAnswer(assignment=assignment, item_id=item.id, item_key=item.key, **fields)
        try:
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
        except IntegrityError:  # a copy of the same answer won the race: update it instead
            row = _answer_row(assignment, item.key)
            if row is None:
                raise
            _update(row, assignment, fields)
    else:
        _update(row, assignment, fields)
    changed = _recount(assignment, principal)
    publish(
        "checklist_progress",
        {
            "checklist_id": assignment.checklist_id,
            "assignment_id": assignment.id,
            "grid_code": str(assignment.grid_id),
            "item_key": item.key,
            "failed": row.failed,
            "answered": assignment.answered_count,
            "completed": assignment.completed_at is not None,
            "just_completed": changed,
        },
        _centre_rooms(checklist),
    )
    return decorate_assignments([assignment])[0]


def _answer_row(assignment: ChecklistAssignment, key: str) -> ChecklistAnswer | None:
    row = db.session.scalar(
        select(ChecklistAnswer).where(
            ChecklistAnswer.assignment_id == assignment.id, ChecklistAnswer.item_key == key
        )
    )
    if row is not None:
        row.assignment = assignment  # the write check reads the loaded assignment
    return row


def _update(row: ChecklistAnswer, assignment: ChecklistAssignment, fields: dict) -> None:
    # The later answer wins (by the phone's clock): a stale copy arriving late changes nothing.
    if row.answered_at > fields["answered_at"]:
        return
    for key, value in fields.items():
        setattr(row, key, value)
    db.session.flush()


def _recount(assignment: ChecklistAssignment, principal: Principal) -> bool:
    """Refresh the counters from the answers; returns whether this completed the assignment."""
    answered, required, failed, last = db.session.execute(
        select(
            func.count(ChecklistAnswer.id),
            func.count(ChecklistAnswer.id).filter(ChecklistItem.required.is_(True)),
            func.count(ChecklistAnswer.id).filter(ChecklistAnswer.failed.is_(True)),
            func.max(ChecklistAnswer.answered_at).filter(ChecklistItem.required.is_(True)),
        )
        .join(ChecklistItem, ChecklistItem.id == ChecklistAnswer.item_id)
        .where(ChecklistAnswer.assignment_id == assignment.id)
    ).one()
    assignment.answered_count, assignment.required_answered = answered, required
    assignment.failed_count = failed
    completing = assignment.completed_at is None and required >= assignment.required_count
    if completing:
        # SQLite hands an aggregate's datetime back as text.
        if isinstance(last, str):
            last = datetime.fromisoformat(last).replace(tzinfo=assignment.due_at.tzinfo)
        assignment.completed_at, assignment.completed_by = last, principal.user_id
    db.session.flush()
    return completing


# -- raising an event from a failed item ----------------------------------------------------


def raise_event(
    *, principal: Principal, assignment_id: int, item_key: str, client_uuid: uuid.UUID
) -> tuple[Event, bool]:
    """Report a failed item as an event, once: a retried tap (or a second worker's) gets the
    event already raised. Described from the checklist, item and answer; placed at the
    answer's fix, else the assignment's, else the key place or the grid; with the photos."""
    if principal.role not in ANSWERERS:
        raise Forbidden("只有网格员和村社人员可以上报", code="role_forbidden")
    assignment = get_assignment(assignment_id=assignment_id, for_update=True)
    item = _item(assignment, item_key)
    row = _answer_row(assignment, item.key)
    if row is None:
        raise NotFound("该项尚未填报", code="answer_not_found")
    if not row.failed:
        raise Conflict("该项合格，无需上报事件", code="answer_not_failed")
    if row.event_id is not None:
        return events.get_event(event_id=row.event_id), False
    with unscoped():
        checklist = db.session.get(Checklist, assignment.checklist_id)
        place = (
            db.session.get(KeyPlace, assignment.key_place_id) if assignment.key_place_id else None
        )
        siblings = list(
            db.session.scalars(
                select(ChecklistAnswer).where(ChecklistAnswer.assignment_id == assignment.id)
            )
        )
    lon, lat, accuracy = _where(row, siblings, place, assignment)
    event, created = events.report(
        principal=principal,
        data=events.Report(
            client_uuid=client_uuid,
            description=_description(checklist, item, row, place),
            lon=lon,
            lat=lat,
            accuracy_m=accuracy,
            occurred_at=row.answered_at,
            key_place_id=place.id if place is not None and _visible_place(place.id) else None,
            attachment_ids=tuple(_free_photos(principal, row, siblings)),
            source="checklist",
        ),
    )
    if not created and event.source != "checklist":
        raise Conflict("该 client_uuid 已被其他上报使用", code="client_uuid_taken")
    row.event_id, row.event_client_uuid = event.id, client_uuid
    db.session.flush()
    if created:
        audit.note(
            event,
            actor=principal,
            action="checklist_item",
            reason=f"清单“{checklist.title}”检查项不合格：{item.label}",
            data={
                "checklist_id": checklist.id,
                "assignment_id": assignment.id,
                "item_key": item.key,
            },
        )
    publish(
        "checklist_event",
        {
            "checklist_id": checklist.id,
            "assignment_id": assignment.id,
            "item_key": item.key,
            "event_id": event.id,
        },
        _centre_rooms(checklist),
        event_id=event.id,
    )
    return event, created


def _visible_place(place_id: int) -> bool:
    return (
        db.session.scalar(
            select(KeyPlace.id).where(KeyPlace.id == place_id, KeyPlace.active.is_(True))
        )
        is not None
    )


def _where(row, siblings, place, assignment) -> tuple[float, float, float | None]:
    for answer in [row, *siblings]:
        if answer.lon is not None:
            return answer.lon, answer.lat, answer.accuracy_m
    if place is not None:
        return place.lon, place.lat, None
    with unscoped():
        point = db.session.get(Area, assignment.grid_id).geom.representative_point()
    return point.x, point.y, None


def _description(checklist, item, row, place) -> str:
    # The failure reason already states the answer ("回答为“是”", "数值 12.5mm 超出…").
    where = f"（{place.kind.name_zh}：{place.name}）" if place is not None else ""
    text = f"【清单检查】{checklist.title}{where}：{item.label}"
    text += f"，{row.fail_reason}" if row.fail_reason else ""
    text += f"。{row.note}" if row.note else "。"
    return text[:2000]


def _free_photos(principal: Principal, row, siblings) -> list[int]:
    """The item's photos, else the assignment's site photos: those this reporter uploaded and
    not yet on an event (a photo belongs to one event)."""
    wanted = list(row.attachment_ids or [])
    if not wanted:
        wanted = [i for answer in siblings for i in (answer.attachment_ids or [])]
    if not wanted:
        return []
    return sorted(
        db.session.scalars(
            select(Attachment.id).where(
                Attachment.id.in_(wanted),
                Attachment.uploader_id == principal.user_id,
                Attachment.event_id.is_(None),
            )
        )
    )


# -- photos ---------------------------------------------------------------------------------


def photo(*, assignment_id: int, attachment_id: int) -> Attachment:
    """A photo answering an assignment I can see (the console sees the worker's photos)."""
    assignment = get_assignment(assignment_id=assignment_id)
    used = db.session.scalars(
        select(ChecklistAnswer.attachment_ids).where(ChecklistAnswer.assignment_id == assignment.id)
    ).all()
    if not any(attachment_id in (ids or []) for ids in used):
        raise NotFound("找不到该附件", code="attachment_not_found")
    with unscoped():
        return db.session.get(Attachment, attachment_id)

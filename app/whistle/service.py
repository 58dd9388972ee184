"""Whistle 吹哨 and report-in 报到; co-handling 协同 units and their progress notes.

A whistle is the ESCALATE transition of the lifecycle table (the lead department takes the
event) plus one summons per department; a department that reports in becomes a co-handler.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, func, select

from app.accounts.models import Department, User
from app.accounts.roles import BOARD_NAMES_ZH, Board, Role
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import unscoped
from app.events import audit
from app.events import service as events
from app.events.lifecycle import TERMINAL, Action, State
from app.events.models import Event, EventAudit, EventUnit
from app.extensions import db
from app.geo.codes import ancestry, is_code, level_of
from app.geo.models import Area
from app.realtime import rooms
from app.realtime.service import publish
from app.sla import service as sla
from app.sla.calendar import WORKING_HOURS
from app.whistle.models import Summons, Whistle

SUMMONERS = events.TRIAGE_ROLES
MAX_DEPARTMENTS = 20
MINUTES = "minutes"


# -- whistle 吹哨 -----------------------------------------------------------------------------


def report_in_due(event: Event, *, at: datetime, minutes: float | None = None):
    """The report-in deadline: working time on the SLA calendar, wall-clock for emergencies.

    Returns (due_at, unit, amount). `minutes` overrides the configured limit, in the same
    kind of time (working minutes, or wall-clock minutes for an emergency).
    """
    config = current_app.config
    if event.emergency:
        amount = float(minutes or config["WHISTLE_EMERGENCY_REPORT_IN_MINUTES"])
        return at + timedelta(minutes=amount), MINUTES, amount
    hours = minutes / 60 if minutes else float(config["WHISTLE_REPORT_IN_WORKING_HOURS"])
    return sla.calendar().add(at, hours, WORKING_HOURS), WORKING_HOURS, hours


def whistle(
    *,
    principal: Principal,
    event_id: int,
    department_ids: list[int],
    reason: str,
    lead_department_id: int | None = None,
    report_in_minutes: float | None = None,
) -> Whistle:
    """Summon district departments to an event in one action; the lead department takes it."""
    if principal.role not in SUMMONERS:
        raise Forbidden("只有镇街指挥中心可以吹哨", code="role_forbidden")
    ids = list(dict.fromkeys(department_ids))
    if not ids:
        raise ValidationFailed("请选择要吹哨的部门", code="departments_required")
    if len(ids) > MAX_DEPARTMENTS:
        raise ValidationFailed(
            f"一次最多吹哨 {MAX_DEPARTMENTS} 个部门", code="too_many_departments"
        )
    lead = lead_department_id or ids[0]
    if lead not in ids:
        raise ValidationFailed("牵头部门须在被吹哨的部门之中", code="lead_not_summoned")
    event = events.get_event(event_id=event_id, for_update=True)
    departments = _district_departments(event, ids)
    now = utcnow()
    due, unit, amount = report_in_due(event, at=now, minutes=report_in_minutes)
    named = [{"id": d.id, "name": d.name} for d in departments]
    # The state change is the lifecycle's: the table, the role check, the clock, the audit row.
    events.act(
        principal=principal,
        event_id=event.id,
        action=Action.ESCALATE,
        reason=reason,
        params={
            "department_id": lead,
            "whistle": True,
            "departments": named,
            "report_in_due_at": due.isoformat(),
        },
    )
    record = Whistle(
        event=event,
        event_id=event.id,
        created_by=principal.user_id,
        created_at=now,
        reason=reason,
        lead_department_id=lead,
        report_in_due_at=due,
        limit_unit=unit,
        limit_amount=amount,
    )
    db.session.add(record)
    for department in departments:
        record.summons.append(
            Summons(
                event=event,
                event_id=event.id,
                department_id=department.id,
                report_in_due_at=due,
            )
        )
        _involve(
            event,
            role="summoned",
            added_by=principal.user_id,
            **_department_unit(department),
        )
    db.session.flush()
    payload = {
        "whistle_id": record.id,
        "event_id": event.id,
        "reason": reason,
        "lead_department_id": lead,
        "departments": [
            {**n, "summons_id": s.id} for n, s in zip(named, record.summons, strict=True)
        ],
        "report_in_due_at": due.isoformat(),
        "emergency": event.emergency,
    }
    publish("whistle", payload, _whistle_rooms(event, ids), event_id=event.id)
    return record


def _whistle_rooms(event: Event, department_ids: list[int]) -> list[str]:
    return [*(rooms.department(d) for d in department_ids), rooms.area(event.township_id)]


def _district_departments(event: Event, ids: list[int]) -> list[Department]:
    """The named departments, in order; each must serve the event's district."""
    with unscoped():  # a department elsewhere is refused by name, not hidden as unknown
        found = {
            d.id: d for d in db.session.scalars(select(Department).where(Department.id.in_(ids)))
        }
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed("部门不存在", code="unknown_department", ids=missing)
    elsewhere = [i for i in ids if found[i].district_id != event.district_id]
    if elsewhere:
        raise ValidationFailed(
            "只能吹哨事件所在区县的部门", code="department_elsewhere", ids=elsewhere
        )
    return [found[i] for i in ids]


def whistles_of(*, event_id: int) -> list[Whistle]:
    """The whistles on an event I can see, oldest first, with their summons."""
    event = events.get_event(event_id=event_id)
    stmt = select(Whistle).where(Whistle.event_id == event.id).order_by(Whistle.id)
    return list(db.session.scalars(stmt))


# -- report-in 报到 ---------------------------------------------------------------------------


def _summons(summons_id: int, *, for_update: bool = False) -> Summons:
    stmt = select(Summons).where(Summons.id == summons_id)
    if for_update:
        stmt = stmt.execution_options(populate_existing=True)
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=Summons)
    summons = db.session.scalars(stmt).first()
    if summons is None:
        raise NotFound("找不到该吹哨报到", code="summons_not_found")
    return summons


def report_in(*, principal: Principal, summons_id: int, note: str) -> Summons:
    """A summoned department reports in, on time or late; it then co-handles the event."""
    summons = _summons(summons_id)
    if principal.role != Role.DEPARTMENT_HANDLER or (
        principal.scope.department_id != summons.department_id
    ):
        raise Forbidden("只能为本部门报到", code="not_your_department")
    # The event first, as every change to it does; then the summons, re-read under the lock.
    event = events.get_event(event_id=summons.event_id, for_update=True)
    summons = _summons(summons_id, for_update=True)
    if summons.reported_at is not None:
        raise Conflict("本部门已报到", code="already_reported")
    now = utcnow()
    late_by = int((now - summons.report_in_due_at).total_seconds())
    summons.event = event
    summons.reported_at, summons.reported_by, summons.note = now, principal.user_id, note
    summons.late, summons.late_by_seconds = late_by > 0, max(late_by, 0)
    summons.state = "late" if summons.late else "on_time"
    with unscoped():  # the department's own row, whatever the district scope says
        department = db.session.get(Department, summons.department_id)
    lead = event.assigned_department_id == department.id
    if lead:
        _uninvolve(event, _department_unit(department)["unit_key"])  # it leads; no co-handler
    else:
        _involve(
            event, role="co_handler", added_by=principal.user_id, **_department_unit(department)
        )
    data = {
        "summons_id": summons.id,
        "whistle_id": summons.whistle_id,
        "department_id": department.id,
        "report_in_due_at": summons.report_in_due_at.isoformat(),
        "late": summons.late,
        "late_by_seconds": summons.late_by_seconds,
        "co_handler": not lead,
    }
    audit.note(event, actor=principal, action="report_in", reason=note, data=data)
    summoned = [s.department_id for s in summons.whistle.summons]
    payload = {**data, "event_id": event.id, "department_name": department.name, "note": note}
    publish("report_in", payload, _whistle_rooms(event, summoned), event_id=event.id)
    db.session.flush()
    return summons


def list_summons(*, principal: Principal, filters: dict) -> Page:
    """Summons on events I can see: pending or late ones, my department's, one event's."""
    stmt = select(Summons)
    if filters.get("state"):
        stmt = stmt.where(Summons.state.in_(filters["state"]))
    if filters.get("pending") is not None:
        waiting = Summons.reported_at.is_(None)
        stmt = stmt.where(waiting if filters["pending"] else ~waiting)
    if filters.get("late") is not None:
        late = Summons.state.in_(["late", "overdue"])
        stmt = stmt.where(late if filters["late"] else ~late)
    if filters.get("mine"):
        stmt = stmt.where(Summons.department_id == principal.scope.department_id)
    for key in ("event_id", "department_id"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Summons, key) == filters[key])
    stmt = stmt.order_by(Summons.report_in_due_at, Summons.id)
    return paginate(stmt, page=filters["page"], page_size=filters["page_size"])


def report_in_counts(
    *,
    department_id: int | None = None,
    area: str | None = None,
    due_from: datetime | None = None,
    due_to: datetime | None = None,
) -> list[dict]:
    """Per department, over summons I can see: summoned, on time, late (reported after the
    deadline), overdue (deadline passed, not reported in yet) and pending. Evaluation reads
    `late` and `overdue`."""

    def count(state: str):
        return func.coalesce(func.sum(case((Summons.state == state, 1), else_=0)), 0)

    stmt = select(
        Summons.department_id,
        func.count(),
        count("on_time"),
        count("late"),
        count("overdue"),
        count("pending"),
    ).group_by(Summons.department_id)
    if department_id is not None:
        stmt = stmt.where(Summons.department_id == department_id)
    if area:
        stmt = stmt.join(Event, Event.id == Summons.event_id).where(_in_area(area))
    if due_from is not None:
        stmt = stmt.where(Summons.report_in_due_at >= due_from)
    if due_to is not None:
        stmt = stmt.where(Summons.report_in_due_at < due_to)
    rows = db.session.execute(stmt.order_by(Summons.department_id)).all()
    with unscoped():  # the names of departments whose summons the caller already sees
        names = dict(
            db.session.execute(
                select(Department.id, Department.name).where(
                    Department.id.in_([r[0] for r in rows])
                )
            ).all()
        )
    keys = ("department_id", "summoned", "on_time", "late", "overdue", "pending")
    return [
        {**dict(zip(keys, row, strict=True)), "department_name": names.get(row[0])} for row in rows
    ]


def _in_area(code: str):
    try:
        level = level_of(code)
    except ValueError:
        raise ValidationFailed("区域代码无效", code="bad_area", area=code) from None
    if level == "city":
        return Event.id.is_not(None)
    return getattr(Event, f"{level}_id") == int(code)


# -- co-handling 协同 -------------------------------------------------------------------------


def _department_unit(department: Department) -> dict:
    return {
        "level": "department",
        "department_id": department.id,
        "unit_key": f"department:{department.id}",
        "name": department.name,
    }


def _resolve_unit(event: Event, spec: dict) -> dict:
    """A unit named in a request, checked against the event's place."""
    level = spec["level"]
    if level == "department":
        return _department_unit(_district_departments(event, [spec["department_id"]])[0])
    if level == "board":
        board = Board(spec["board"])
        return {
            "level": "board",
            "board": board.value,
            "area_id": event.township_id,
            "unit_key": f"board:{event.township_id}:{board.value}",
            "name": BOARD_NAMES_ZH[board],
        }
    code = spec["area"]
    if not is_code(code) or level_of(code) != "village":
        raise ValidationFailed("请填写村社代码", code="bad_village", area=code)
    if ancestry(code)["township_id"] != event.township_id:
        raise ValidationFailed("只能请本镇街的村社协同", code="village_elsewhere", area=code)
    with unscoped():  # a neighbouring village is outside a village's own scope by nature
        village = db.session.get(Area, int(code))
    if village is None:
        raise ValidationFailed("村社不存在", code="unknown_village", area=code)
    return {
        "level": "village",
        "area_id": village.id,
        "unit_key": f"village:{village.id}",
        "name": village.name,
    }


def _leads(event: Event, unit: dict) -> bool:
    if unit["level"] != event.handling_level:
        return False
    if unit["level"] == "department":
        return unit["department_id"] == event.assigned_department_id
    if unit["level"] == "board":
        return unit["board"] == event.assigned_board
    return unit["area_id"] == event.village_id


def _involve(event: Event, *, role: str, added_by: int | None, **unit) -> tuple[EventUnit, bool]:
    """Add a unit to the event (a summoned department may become a co-handler); idempotent.

    Returns (row, changed).
    """
    row = db.session.scalar(
        select(EventUnit).where(
            EventUnit.event_id == event.id, EventUnit.unit_key == unit["unit_key"]
        )
    )
    if row is None:
        row = EventUnit(event=event, event_id=event.id, role=role, added_by=added_by, **unit)
        db.session.add(row)
        return row, True
    if role == "co_handler" and row.role == "summoned":
        row.event, row.role, row.added_by, row.added_at = event, role, added_by, utcnow()
        return row, True
    return row, False


def _uninvolve(event: Event, unit_key: str) -> None:
    row = db.session.scalar(
        select(EventUnit).where(EventUnit.event_id == event.id, EventUnit.unit_key == unit_key)
    )
    if row is not None:
        row.event = event
        db.session.delete(row)


def _unit_data(row: EventUnit) -> dict:
    return {
        "role": row.role,
        "level": row.level,
        "department_id": row.department_id,
        "board": row.board,
        "area": str(row.area_id) if row.area_id else None,
        "name": row.name,
    }


def _unit_room(row: EventUnit) -> str:
    if row.level == "department":
        return rooms.department(row.department_id)
    return rooms.area(row.area_id)  # a village's office, or the township of a board


def units_of(*, event_id: int) -> list[EventUnit]:
    """The units involved in an event besides its lead: co-handlers and summoned departments."""
    event = events.get_event(event_id=event_id)
    stmt = select(EventUnit).where(EventUnit.event_id == event.id).order_by(EventUnit.id)
    return list(db.session.scalars(stmt))


def add_co_handlers(
    *, principal: Principal, event_id: int, units: list[dict], reason: str | None = None
) -> list[EventUnit]:
    """Triage names co-handling units (departments, boards, villages) beside the lead unit."""
    if principal.role not in events.TRIAGE_ROLES:
        raise Forbidden("只有指挥中心可以指定协同单位", code="role_forbidden")
    event = events.get_event(event_id=event_id, for_update=True)
    if State(event.state) in TERMINAL:
        raise Conflict("事件已办结，不能再指定协同单位", code="event_finished")
    resolved = [_resolve_unit(event, spec) for spec in units]
    if any(_leads(event, unit) for unit in resolved):
        raise ValidationFailed("该单位已是牵头处置单位", code="unit_is_lead")
    added = []
    for unit in resolved:
        row, changed = _involve(event, role="co_handler", added_by=principal.user_id, **unit)
        if changed:
            added.append(row)
    if added:
        data = {"units": [_unit_data(r) for r in added]}
        audit.note(event, actor=principal, action="co_handle", reason=reason, data=data)
        targets = [*(_unit_room(r) for r in added), rooms.area(event.township_id)]
        publish("co_handling", {"event_id": event.id, **data}, targets, event_id=event.id)
    db.session.flush()
    return units_of(event_id=event.id)


def _member(principal: Principal, row: EventUnit, board: str | None) -> bool:
    scope, role = principal.scope, principal.role
    if row.level == "department":
        return role == Role.DEPARTMENT_HANDLER and scope.department_id == row.department_id
    if row.level == "board":
        return (
            role == Role.TOWNSHIP_BOARD_HANDLER
            and scope.area_id == row.area_id
            and board == row.board
        )
    return role in (Role.VILLAGE_STAFF, Role.GRID_LEADER) and scope.area_id == row.area_id


def _board_of(principal: Principal) -> str | None:
    if principal.role != Role.TOWNSHIP_BOARD_HANDLER:
        return None
    with unscoped():
        return db.session.scalar(select(User.board).where(User.id == principal.user_id))


def add_note(*, principal: Principal, event_id: int, note: str) -> EventAudit:
    """A progress note 进展 on the timeline, from the lead unit, a co-handler or triage."""
    event = events.get_event(event_id=event_id, for_update=True)
    co_handlers = [u for u in units_of(event_id=event.id) if u.role == "co_handler"]
    board = _board_of(principal)
    mine = next((u for u in co_handlers if _member(principal, u, board)), None)
    if events.is_handler(principal, event):
        as_, unit = "lead", (event.dispatch_reason or {}).get("unit")
    elif mine is not None:
        as_, unit = "co_handler", _unit_data(mine)
    elif principal.role in events.TRIAGE_ROLES:
        as_, unit = "triage", None
    else:
        raise Forbidden("只有牵头单位、协同单位和指挥中心可以填写进展", code="action_forbidden")
    row = audit.note(
        event, actor=principal, action="note", reason=note, data={"as": as_, "unit": unit}
    )
    targets = [
        *rooms.handler_rooms(event),
        *(_unit_room(u) for u in co_handlers),
        rooms.area(event.township_id),
    ]
    payload = {"event_id": event.id, "note": note, "as": as_, "by": principal.username}
    publish("note", payload, targets, event_id=event.id)
    db.session.flush()
    return row

"""Reporting and the closed loop: every state change goes through `act`, which checks the
transition table, the caller's right to take it, restarts clocks and appends the audit row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.accounts.roles import Role
from app.categories import service as categories
from app.categories.service import SubcategoryInfo
from app.classify import service as classify
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.core.scope import unscoped
from app.events import audit, duplicates, signals
from app.events.lifecycle import RESTARTS_CLOCK, STAGE_OF_STATE, Action, State, transition_for
from app.events.models import Attachment, Event
from app.extensions import db
from app.geo import service as geo
from app.geo.codes import ancestry
from app.keys import service as keys

TRIAGE_ROLES = frozenset({Role.TOWNSHIP_DISPATCHER, Role.ADMIN})


@dataclass(frozen=True)
class Report:
    """A validated report, as the API (or another source) hands it over."""

    client_uuid: uuid.UUID
    description: str
    lon: float
    lat: float
    crs: str = geo.CRS_WGS84
    accuracy_m: float | None = None
    occurred_at: datetime | None = None
    category: str | None = None
    subcategory: str | None = None
    key_person_id: int | None = None
    key_place_id: int | None = None
    attachment_ids: tuple[int, ...] = ()
    source: str = "app"


def get_event(*, event_id: int, for_update: bool = False) -> Event:
    """One event the caller may see (row-locked on PostgreSQL when about to change it)."""
    stmt = select(Event).where(Event.id == event_id)
    if for_update and db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    event = db.session.scalars(stmt).first()
    if event is None:
        raise NotFound("找不到该事件", code="event_not_found")
    return event


def _subcategory(code: str) -> SubcategoryInfo:
    sub = categories.subcategory(code)
    if sub is None or not sub.active:
        raise ValidationFailed(f"未知的事件小类 {code}", code="unknown_subcategory")
    return sub


def _choose_category(report: Report, prediction) -> tuple[SubcategoryInfo, str]:
    """The reporter's choice wins; a top category alone takes the model's best inside it."""
    if report.subcategory:
        return _subcategory(report.subcategory), "reporter"
    if report.category:
        for code, _ in prediction.ranked:
            sub = categories.subcategory(code)
            if sub is not None and sub.category_code == report.category and sub.active:
                return sub, "reporter"
        raise ValidationFailed(f"未知的事件大类 {report.category}", code="unknown_category")
    return _subcategory(prediction.subcategory), "model"


def report(*, principal: Principal | None, data: Report) -> tuple[Event, bool]:
    """Accept a report exactly once per client_uuid; locate, classify, dispatch and time it.

    Returns (event, created). A retry of an accepted report returns the original untouched,
    also when two copies race: the unique constraint decides, not a prior check.
    """
    # No lookup first: retries are rare, and the INSERT below finds them by the constraint.
    try:
        location = geo.locate(lon=data.lon, lat=data.lat, system=data.crs, scoped=False)
        prediction = classify.predict(data.description)
        subcategory, chosen_by = _choose_category(data, prediction)
    except DomainError:
        # A retry of a report accepted earlier gets that report, even if what made it
        # acceptable has changed since (a subcategory retired, a grid redrawn).
        existing = _by_client_uuid(data.client_uuid)
        if existing is not None:
            return _retry_of(existing, principal), False
        raise
    now = utcnow()
    event = Event(
        client_uuid=data.client_uuid,
        source=data.source,
        reporter_id=principal.user_id if principal else None,
        description=data.description,
        lon=location.lon,
        lat=location.lat,
        point=_point(location.lon, location.lat),
        accuracy_m=data.accuracy_m,
        location_snapped=location.snapped,
        location_distance_m=location.distance_m,
        occurred_at=data.occurred_at or now,
        received_at=now,
        key_person_id=data.key_person_id,
        key_place_id=data.key_place_id,
        category_code=subcategory.category_code,
        subcategory_code=subcategory.code,
        confidence=prediction.confidence,
        classifier_version=prediction.version,
        category_source=chosen_by,
        classification=prediction.as_dict(),
        state=State.REPORTED,
        priority=keys.event_priority(
            base=subcategory.priority,
            key_person_id=data.key_person_id,
            key_place_id=data.key_place_id,
        ),
        emergency=subcategory.emergency,
        **ancestry(str(location.grid_id)),
    )
    try:
        with db.session.begin_nested():
            db.session.add(event)
            db.session.flush()
    except IntegrityError:
        # Another copy of the same report won the race: answer with it.
        original = _by_client_uuid(data.client_uuid)
        if original is None:
            raise
        return _retry_of(original, principal), False

    # Nothing read below depends on this event's pending changes: flushing them once at the
    # end writes one UPDATE and one multi-row audit INSERT instead of one of each per step.
    with db.session.no_autoflush:
        audit.append(
            event,
            actor=principal,
            action="report",
            from_state=None,
            to_state=State.REPORTED,
            data={"source": data.source, "snapped": location.snapped},
        )
        _link_attachments(event, principal, data.attachment_ids, purpose="report")
        event.likely_duplicate_of_id = duplicates.likely_original(event, subcategory)
        signals.stage_started.send(event, subcategory=subcategory, at=now)

        confident = chosen_by == "reporter" or (prediction.confidence or 0) >= _auto_threshold()
        if confident and event.likely_duplicate_of_id is None:
            # Routine, clearly classified reports skip the triage queue: filed and dispatched
            # by the rules at once (the dispatcher can still re-dispatch); the rest wait.
            _apply(event, subcategory, principal=None, action=Action.FILE, reason="自动立案")
            _do_dispatch(event, subcategory, principal=None, reason="按规则自动派遣")
        else:
            event.dispatch_reason = {"suggested": _decide(event, subcategory).reason}
    db.session.flush()
    signals.reported.send(event)
    return event, True


def _auto_threshold() -> float:
    from flask import current_app

    return current_app.config["AUTO_DISPATCH_CONFIDENCE"]


def _point(lon: float, lat: float):
    import shapely

    return shapely.Point(lon, lat)


def _by_client_uuid(client_uuid: uuid.UUID) -> Event | None:
    with unscoped():
        return db.session.scalar(select(Event).where(Event.client_uuid == client_uuid))


def _retry_of(event: Event, principal: Principal | None) -> Event:
    if principal is not None and event.reporter_id not in (None, principal.user_id):
        raise Conflict("该 client_uuid 已被其他上报使用", code="client_uuid_taken")
    return event


def _link_attachments(event: Event, principal: Principal | None, ids, *, purpose: str) -> list[int]:
    if not ids:
        return []
    if principal is None:
        raise ValidationFailed("附件须由上传者关联", code="attachment_owner_required")
    found = list(
        db.session.scalars(
            select(Attachment).where(
                Attachment.id.in_(ids), Attachment.uploader_id == principal.user_id
            )
        )
    )
    missing = set(ids) - {a.id for a in found}
    if missing:
        raise ValidationFailed(
            "附件不存在或不属于您", code="unknown_attachment", ids=sorted(missing)
        )
    for attachment in found:
        if attachment.event_id not in (None, event.id):
            raise ValidationFailed("附件已用于其他事件", code="attachment_in_use", id=attachment.id)
        attachment.event_id, attachment.purpose = event.id, purpose
    return sorted(a.id for a in found)


# -- transitions ----------------------------------------------------------------------------


def act(
    *,
    principal: Principal,
    event_id: int,
    action: Action,
    reason: str | None = None,
    params: dict | None = None,
) -> Event:
    """Take one lifecycle action on an event, if the table and the caller's role allow it."""
    params = params or {}
    event = get_event(event_id=event_id, for_update=True)
    transition = transition_for(action, State(event.state))
    if transition is None:
        raise Conflict(
            f"事件当前状态（{event.state}）不允许执行 {action}",
            code="transition_not_allowed",
            state=event.state,
            action=action,
        )
    if transition.reason_required and not (reason or "").strip():
        raise ValidationFailed("此操作须填写原因", code="reason_required")
    _authorize(principal, transition.by, event)
    subcategory = _subcategory(event.subcategory_code)
    from_state = State(event.state)

    if action == Action.DISPATCH:
        _do_dispatch(event, subcategory, principal=principal, reason=reason, **params)
    elif action == Action.MERGE:
        _merge(event, principal, params.get("original_id"), reason)
    else:
        _before(event, subcategory, principal, action, params)
        _apply(event, subcategory, principal=principal, action=action, reason=reason, data=params)
    db.session.flush()
    signals.transitioned.send(
        event, action=action, from_state=from_state, to_state=State(event.state), actor=principal
    )
    return event


def _apply(event, subcategory, *, principal, action, reason=None, data=None) -> None:
    transition = transition_for(action, State(event.state))
    source, target = State(event.state), transition.target
    event.state = target
    now = utcnow()
    if action == Action.APPROVE_EXTENSION:
        amount = float((data or {}).get("amount") or 0) or _requested_extension(event)
        signals.extension_approved.send(event, subcategory=subcategory, amount=amount)
        event.extension_count += 1
        data = {**(data or {}), "amount": amount, "due_at": event.due_at.isoformat()}
    elif STAGE_OF_STATE[source] != STAGE_OF_STATE[target] or action in RESTARTS_CLOCK:
        signals.stage_started.send(event, subcategory=subcategory, at=now)
    if target == State.CLOSED:
        event.closed_at = now
    audit.append(
        event,
        actor=principal,
        action=action,
        from_state=source,
        to_state=target,
        reason=reason,
        data=data or None,
    )


def _requested_extension(event: Event) -> float:
    from app.events.models import EventAudit

    amount = db.session.scalar(
        select(EventAudit.data)
        .where(EventAudit.event_id == event.id, EventAudit.action == Action.REQUEST_EXTENSION)
        .order_by(EventAudit.seq.desc())
        .limit(1)
    )
    value = (amount or {}).get("amount")
    if not value:
        raise ValidationFailed("请填写延期时长", code="extension_amount_required")
    return float(value)


def _before(event: Event, subcategory, principal: Principal, action: Action, params: dict) -> None:
    """Per-action bookkeeping that the generic step does not know about."""
    if action == Action.ACCEPT and event.assigned_user_id is None:
        event.assigned_user_id = principal.user_id  # the unit's member who takes it on
    elif action == Action.RETURN:
        event.return_count += 1
        event.assigned_user_id = None
    elif action == Action.REWORK:
        event.rework_count += 1
    elif action == Action.REQUEST_EXTENSION:
        amount = params.get("amount")
        if not amount or float(amount) <= 0:
            raise ValidationFailed("请填写延期时长", code="extension_amount_required")
    elif action == Action.HANDLE:
        params["attachments"] = _link_attachments(
            event, principal, params.pop("attachment_ids", ()), purpose="handle"
        )
    elif action == Action.VERIFY or action == Action.REWORK:
        params["attachments"] = _link_attachments(
            event, principal, params.pop("attachment_ids", ()), purpose="verify"
        )
    elif action == Action.ESCALATE:
        decision = _decide(
            event, subcategory, level="department", department_id=params.get("department_id")
        )
        _assign(event, decision)
    elif action == Action.REOPEN:
        event.closed_at = None


def _decide(event: Event, subcategory, **choices):
    """The unit (and person) for an event, from the module that answers (dispatch)."""
    answers = signals.unit_wanted.send(event, subcategory=subcategory, **choices)
    decisions = [decision for _, decision in answers if decision is not None]
    if len(decisions) != 1:
        raise RuntimeError(f"expected one dispatch decision, got {len(decisions)}")
    return decisions[0]


def _assign(event: Event, decision) -> None:
    event.handling_level = decision.level
    event.assigned_board = decision.board
    event.assigned_department_id = decision.department_id
    event.assigned_area_id = decision.area_id
    event.assigned_user_id = decision.user_id
    event.dispatch_reason = decision.reason


def _do_dispatch(
    event,
    subcategory,
    *,
    principal,
    reason=None,
    level=None,
    board=None,
    department_id=None,
    user_id=None,
) -> None:
    decision = _decide(
        event, subcategory, level=level, board=board, department_id=department_id, user_id=user_id
    )
    _assign(event, decision)
    _apply(
        event,
        subcategory,
        principal=principal,
        action=Action.DISPATCH,
        reason=reason,
        data={"unit": decision.reason.get("unit"), "chosen": decision.reason.get("chosen")},
    )


def _merge(event: Event, principal: Principal, original_id, reason: str | None) -> None:
    if not original_id or original_id == event.id:
        raise ValidationFailed("请指定要合并到的原事件", code="original_required")
    original = get_event(event_id=int(original_id), for_update=True)
    if State(original.state) in {State.MERGED, State.REJECTED, State.CLOSED}:
        raise Conflict("原事件已结束，不能合并", code="original_not_open")
    event.duplicate_of_id = original.id
    subcategory = _subcategory(event.subcategory_code)
    _apply(
        event,
        subcategory,
        principal=principal,
        action=Action.MERGE,
        reason=reason,
        data={"original_id": original.id},
    )
    audit.note(
        original,
        actor=principal,
        action="absorb",
        reason=reason,
        data={"duplicate_id": event.id},
    )


# -- who may do what ------------------------------------------------------------------------


def _authorize(principal: Principal, by: str, event: Event) -> None:
    allowed = {
        "triage": _is_triage,
        "handler": is_handler,
        "verifier": _is_verifier,
        "escalator": lambda p, e: is_handler(p, e) or _is_triage(p, e),
    }[by](principal, event)
    if not allowed:
        raise Forbidden("您不能对该事件执行此操作", code="action_forbidden")


def _is_triage(principal: Principal, event: Event) -> bool:
    return principal.role in TRIAGE_ROLES


def is_handler(principal: Principal, event: Event) -> bool:
    if event.assigned_user_id == principal.user_id:
        return True
    scope, role = principal.scope, principal.role
    level = event.handling_level
    if level == "grid":
        return role == Role.GRID_WORKER and event.grid_id in scope.grid_ids
    if level == "village":
        return role in (Role.VILLAGE_STAFF, Role.GRID_LEADER) and scope.area_id == event.village_id
    if level == "board":
        if role != Role.TOWNSHIP_BOARD_HANDLER or scope.area_id != event.township_id:
            return False
        with unscoped():
            board = db.session.scalar(select(User.board).where(User.id == principal.user_id))
        return board == event.assigned_board
    if level == "department":
        return (
            role == Role.DEPARTMENT_HANDLER and scope.department_id == event.assigned_department_id
        )
    return False


def involved_event_ids(principal: Principal):
    """Events the caller's unit co-handles or was summoned to, beyond those it leads."""
    from app.events.models import EventUnit

    board = None
    if principal.role == Role.TOWNSHIP_BOARD_HANDLER:
        with unscoped():
            board = db.session.scalar(select(User.board).where(User.id == principal.user_id))
    return EventUnit.event_ids_involving(principal.scope, board=board)


def _is_verifier(principal: Principal, event: Event) -> bool:
    role, scope = principal.role, principal.scope
    if role == Role.GRID_WORKER:
        return event.grid_id in scope.grid_ids
    if role in (Role.GRID_LEADER, Role.VILLAGE_STAFF):
        return scope.area_id in (event.village_id, event.grid_id)
    return role in TRIAGE_ROLES


def allowed_actions(principal: Principal, event: Event) -> list[str]:
    """The actions this caller could take now (the UI shows these buttons)."""
    from app.events.lifecycle import allowed_actions as by_state

    out = []
    for action in by_state(State(event.state)):
        try:
            _authorize(principal, transition_for(action, State(event.state)).by, event)
        except Forbidden:
            continue
        out.append(action.value)
    return out


# -- reading --------------------------------------------------------------------------------

_SORTS = {
    "-received_at": (Event.received_at.desc(), Event.id.desc()),
    "received_at": (Event.received_at, Event.id),
    "due_at": (Event.due_at.asc().nulls_last(), Event.id),
    "-due_at": (Event.due_at.desc().nulls_last(), Event.id),
    "priority": (Event.priority, Event.received_at.desc(), Event.id),
}


def list_events(*, principal: Principal, filters: dict):
    """The queue: filtered and sorted; the scope filter limits it to the caller's events."""
    from app.core.pagination import paginate
    from app.geo.codes import level_of

    stmt = select(Event)
    if filters.get("state"):
        stmt = stmt.where(Event.state.in_(filters["state"]))
    for key, column in (
        ("category", Event.category_code),
        ("subcategory", Event.subcategory_code),
        ("source", Event.source),
        ("emergency", Event.emergency),
    ):
        if filters.get(key) is not None:
            stmt = stmt.where(column == filters[key])
    if filters.get("area"):
        code = filters["area"]
        try:
            level = level_of(code)
        except ValueError:
            raise ValidationFailed("区域代码无效", code="bad_area", area=code) from None
        if level != "city":
            stmt = stmt.where(getattr(Event, f"{level}_id") == int(code))
    if filters.get("received_from"):
        stmt = stmt.where(Event.received_at >= filters["received_from"])
    if filters.get("received_to"):
        stmt = stmt.where(Event.received_at < filters["received_to"])
    if filters.get("near_due") is not None:
        near = Event.warned_at.is_not(None) & Event.breached_at.is_(None)
        stmt = stmt.where(near if filters["near_due"] else ~near)
    if filters.get("overdue") is not None:
        stmt = stmt.where(
            Event.breached_at.is_not(None) if filters["overdue"] else Event.breached_at.is_(None)
        )
    if filters.get("assigned_to_me"):
        stmt = stmt.where(Event.assigned_user_id == principal.user_id)
    if filters.get("co_handling") is not None:
        involved = Event.id.in_(involved_event_ids(principal))
        stmt = stmt.where(involved if filters["co_handling"] else ~involved)
    stmt = stmt.order_by(*_SORTS[filters.get("sort", "-received_at")])
    return paginate(stmt, page=filters["page"], page_size=filters["page_size"])


def timeline(*, event_id: int):
    """The audit rows of an event, oldest first."""
    from app.events.models import EventAudit

    event = get_event(event_id=event_id)
    return list(
        db.session.scalars(
            select(EventAudit).where(EventAudit.event_id == event.id).order_by(EventAudit.seq)
        )
    )


def nearby(*, lon: float, lat: float, crs: str, radius_m: float) -> list[tuple[Event, float]]:
    """Open events near a point, so a worker can add to one instead of reporting it again."""
    lon, lat = geo.to_wgs84(lon, lat, crs)
    return duplicates.open_near(lon=lon, lat=lat, radius_m=radius_m)


def recategorize(
    *, principal: Principal, event_id: int, subcategory: str, reason: str | None = None
) -> Event:
    """A dispatcher corrects the category at triage; the correction trains the next model.

    Priority and the emergency flag follow the new subcategory; the unit does not change by
    itself (re-dispatch is a separate, deliberate action).
    """
    if principal.role not in TRIAGE_ROLES:
        raise Forbidden("只有指挥中心可以更正分类", code="action_forbidden")
    event = get_event(event_id=event_id, for_update=True)
    new = _subcategory(subcategory)
    if new.code == event.subcategory_code:
        return event
    old = event.subcategory_code
    classify.record_correction(event=event, corrected=new.code, user_id=principal.user_id)
    event.category_code, event.subcategory_code = new.category_code, new.code
    event.emergency, event.category_source = new.emergency, "staff"
    event.priority = keys.event_priority(
        base=new.priority,
        key_person_id=event.key_person_id,
        key_place_id=event.key_place_id,
        check=False,
    )
    audit.note(
        event,
        actor=principal,
        action="recategorize",
        reason=reason,
        data={"from": old, "to": new.code},
    )
    db.session.flush()
    state = State(event.state)
    signals.transitioned.send(
        event, action="recategorize", from_state=state, to_state=state, actor=principal
    )
    return event

"""One-click supervision: notify handlers and their leaders, track replies, escalate silence."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from app.accounts.roles import Role
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.events import audit
from app.events.lifecycle import OPEN
from app.events.models import Event
from app.events.service import is_handler
from app.extensions import db
from app.realtime import rooms
from app.realtime.service import publish_many
from app.supervision.models import SupervisionNotice, SupervisionTarget

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
MAX_EVENTS = 1_000


def supervise(
    *,
    principal: Principal,
    message: str,
    reply_within_hours: float,
    event_ids: list[int] | None = None,
    all_overdue: bool = False,
) -> SupervisionNotice:
    """Issue one notice for chosen events, or for every overdue event in the caller's scope."""
    if principal.role not in SUPERVISORS:
        raise Forbidden("只有督查人员可以督办", code="role_forbidden")
    stmt = select(Event).where(Event.state.in_([s.value for s in OPEN]))
    if all_overdue:
        stmt = stmt.where(Event.breached_at.is_not(None))
    elif event_ids:
        stmt = stmt.where(Event.id.in_(event_ids))
    else:
        raise ValidationFailed("请选择要督办的事件", code="events_required")
    events = list(db.session.scalars(stmt.order_by(Event.id).limit(MAX_EVENTS + 1)))
    if event_ids and not all_overdue:
        missing = set(event_ids) - {e.id for e in events}
        if missing:  # out of scope, unknown or already finished: say which
            raise ValidationFailed(
                "部分事件不存在、不在您的范围内或已办结",
                code="events_unavailable",
                ids=sorted(missing),
            )
    if not events:
        raise ValidationFailed("没有可督办的事件", code="nothing_to_supervise")
    if len(events) > MAX_EVENTS:
        raise ValidationFailed(f"一次最多督办 {MAX_EVENTS} 件", code="too_many_events")
    now = utcnow()
    notice = SupervisionNotice(
        created_by=principal.user_id,
        message=message,
        reply_due_at=now + timedelta(hours=reply_within_hours),
    )
    db.session.add(notice)
    messages = []
    for event in events:
        notice.targets.append(
            SupervisionTarget(event=event, event_id=event.id, reply_due_at=notice.reply_due_at)
        )
        event.supervision_count += 1
        audit.note(
            event,
            actor=principal,
            action="supervise",
            reason=message,
            data={"reply_due_at": notice.reply_due_at.isoformat()},
        )
        payload = {
            "event_id": event.id,
            "message": message,
            "reply_due_at": notice.reply_due_at.isoformat(),
        }
        # The handler and the leaders above them all see it.
        targets = [
            *rooms.handler_rooms(event),
            rooms.next_level_up(event),
            rooms.area(event.township_id),
        ]
        messages.append(("supervision", payload, targets, event.id))
    db.session.flush()
    publish_many(messages)
    return notice


def pending_targets(
    *,
    principal: Principal,
    only_pending: bool = True,
    state: str | None = None,
    notice_id: int | None = None,
    event_id: int | None = None,
    overdue: bool | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Supervision on events in my scope, oldest reply due first."""
    stmt = (
        select(SupervisionTarget)
        .options(selectinload(SupervisionTarget.notice))  # each target shows its message
        .order_by(SupervisionTarget.reply_due_at, SupervisionTarget.id)
    )
    if only_pending:
        stmt = stmt.where(SupervisionTarget.replied_at.is_(None))
    if state:
        stmt = stmt.where(SupervisionTarget.state == state)
    if notice_id:
        stmt = stmt.where(SupervisionTarget.notice_id == notice_id)
    if event_id:
        stmt = stmt.where(SupervisionTarget.event_id == event_id)
    if overdue is not None:
        late = SupervisionTarget.replied_at.is_(None) & (SupervisionTarget.reply_due_at < utcnow())
        stmt = stmt.where(late if overdue else ~late)
    return paginate(stmt, page=page, page_size=page_size)


def reply(*, principal: Principal, target_id: int, text_: str) -> SupervisionTarget:
    """The handler answers a notice; the supervisor is told."""
    target = db.session.scalar(select(SupervisionTarget).where(SupervisionTarget.id == target_id))
    if target is None:
        raise NotFound("找不到该督办", code="supervision_not_found")
    event = db.session.get(Event, target.event_id)
    if not is_handler(principal, event):
        raise Forbidden("只有处置人员可以回复督办", code="action_forbidden")
    if target.replied_at is not None:
        raise Conflict("该督办已回复", code="already_replied")
    now = utcnow()
    target.event = event
    target.replied_at, target.replied_by, target.reply = now, principal.user_id, text_
    target.state = "replied"
    audit.note(
        event,
        actor=principal,
        action="supervision_reply",
        reason=text_,
        data={"notice_id": target.notice_id},
    )
    notice = db.session.get(SupervisionNotice, target.notice_id)
    publish_many(
        [
            (
                "supervision_reply",
                {"event_id": event.id, "notice_id": notice.id, "reply": text_},
                [rooms.user(notice.created_by)],
                event.id,
            )
        ]
    )
    db.session.flush()
    return target


def escalate_unanswered(*, now: datetime | None = None) -> int:
    """Notices nobody answered in time go up a level, once (the minute's escalate_silence job)."""
    now = now or utcnow()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    param = now if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = db.session.execute(
        text(f"""
        UPDATE supervision_targets SET escalated_at = :now, state = 'escalated'
        WHERE id IN (SELECT id FROM supervision_targets
                     WHERE reply_due_at <= :now AND replied_at IS NULL AND escalated_at IS NULL
                     {"FOR UPDATE SKIP LOCKED" if postgres else ""})
        RETURNING event_id, notice_id
    """),
        {"now": param},
    ).all()
    messages = []
    for event_id, notice_id in rows:
        event = db.session.get(Event, event_id)
        notice = db.session.get(SupervisionNotice, notice_id)
        messages.append(
            (
                "supervision_overdue",
                {"event_id": event_id, "notice_id": notice_id},
                [rooms.next_level_up(event), rooms.user(notice.created_by)],
                event_id,
            )
        )
    publish_many(messages)
    db.session.commit()
    return len(rows)

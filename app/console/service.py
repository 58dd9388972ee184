"""Alarms for emergencies, acknowledged on a console or climbing a level; pins 置顶."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.roles import Role
from app.console.models import Alarm, Pin
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import unscoped
from app.events import signals
from app.events.models import Event
from app.events.service import get_event
from app.extensions import db
from app.geo.codes import CITY_CODE, ancestry
from app.realtime import rooms
from app.realtime.service import publish

# Who works a console: they acknowledge alarms and pin items.
CONSOLE_ROLES = frozenset({Role.TOWNSHIP_DISPATCHER, Role.SUPERVISOR, Role.ADMIN})


# -- alarms ---------------------------------------------------------------------------------


def _alarm_centres(alarm: Alarm) -> list[int]:
    """Raised at the township's and the district's centres; escalated, the city's too."""
    reach = [c for c in (alarm.township_id, alarm.district_id) if c]
    return reach + [int(CITY_CODE)] if alarm.level == "city" else reach


def publish_alarm(kind: str, alarm: Alarm) -> None:
    """Push an alarm's news to its centres' consoles and to whoever is on duty there, on
    whatever screen they have open; the push names them (empty: a centre nobody staffs)."""
    centres = _alarm_centres(alarm)
    duty = sorted({u for people in rooms.on_duty(centres).values() for u in people})
    payload = {
        "alarm_id": alarm.id,
        "event_id": alarm.event_id,
        "title": alarm.title,
        "level": alarm.level,
        "escalations": alarm.escalations,
        "raised_at": alarm.raised_at.isoformat(),
        "acknowledged_at": alarm.acknowledged_at and alarm.acknowledged_at.isoformat(),
        "acknowledged_by": alarm.acknowledged_by,
        "on_duty": duty,
    }
    targets = [*(rooms.area(c) for c in centres), *(rooms.user(u) for u in duty)]
    publish(kind, payload, targets, event_id=alarm.event_id)


def _escalate_after() -> timedelta:
    return timedelta(minutes=float(current_app.config["ALARM_ESCALATE_MINUTES"]))


def raise_for_event(event: Event) -> Alarm | None:
    """Raise the emergency alarm of an event once, however often it is asked."""
    return raise_alarm(event, source="emergency", title=f"紧急事件：{event.description[:60]}")


def raise_alarm(event: Event, *, source: str, title: str) -> Alarm | None:
    """Raise an alarm of one source on an event's consoles once; None if it already was."""
    with unscoped():  # an alarm belongs to the place, whoever's request raised it
        existing = db.session.scalar(
            select(Alarm).where(Alarm.event_id == event.id, Alarm.source == source)
        )
        if existing is not None:
            return None
        now = utcnow()
        alarm = Alarm(
            event_id=event.id,
            source=source,
            title=title,
            level="township",
            raised_at=now,
            escalate_at=now + _escalate_after(),
            district_id=event.district_id,
            township_id=event.township_id,
            village_id=event.village_id,
            grid_id=event.grid_id,
        )
        try:
            with db.session.begin_nested():
                db.session.add(alarm)
                db.session.flush()
        except IntegrityError:
            return None  # raised by a concurrent transaction
    publish_alarm("alarm", alarm)
    return alarm


def _unacknowledged_first(model, newest, *, active: bool | None, page: int, page_size: int):
    """Alarms or pins in my scope: unacknowledged first, newest first; or only one kind."""
    stmt = select(model)
    if active is not None:
        pending = model.acknowledged_at.is_(None)
        stmt = stmt.where(pending if active else ~pending)
    stmt = stmt.order_by(model.acknowledged_at.is_not(None), newest.desc(), model.id)
    return paginate(stmt, page=page, page_size=page_size)


def list_alarms(*, active: bool | None, page: int, page_size: int) -> Page:
    """Alarms in my scope, unacknowledged first, newest first."""
    return _unacknowledged_first(
        Alarm, Alarm.raised_at, active=active, page=page, page_size=page_size
    )


def acknowledge_alarm(*, principal: Principal, alarm_id: int, note: str | None) -> Alarm:
    """Someone on a console has seen it: the banner clears on every console it reached."""
    alarm = db.session.scalar(select(Alarm).where(Alarm.id == alarm_id).with_for_update())
    if alarm is None:
        raise NotFound("告警不存在", code="alarm_not_found")
    if principal.role not in CONSOLE_ROLES:
        raise Forbidden("只有指挥中心人员可以确认告警", code="action_forbidden")
    if alarm.acknowledged_at is not None:
        raise Conflict(
            "告警已被确认",
            code="alarm_already_acknowledged",
            acknowledged_by=alarm.acknowledged_by,
            acknowledged_at=alarm.acknowledged_at.isoformat(),
        )
    alarm.acknowledged_at, alarm.acknowledged_by = utcnow(), principal.user_id
    alarm.acknowledge_note, alarm.escalate_at = note, None
    db.session.flush()
    publish_alarm("alarm_acknowledged", alarm)
    return alarm


def escalate_alarms(*, now: datetime | None = None) -> int:
    """Climb every alarm left unacknowledged past its time (the minute's job; safe twice)."""
    now = now or utcnow()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    with unscoped():
        stmt = (
            select(Alarm)
            .where(Alarm.acknowledged_at.is_(None), Alarm.escalate_at <= now)
            .order_by(Alarm.escalate_at)
            .limit(1000)
        )
        due = db.session.scalars(stmt.with_for_update(skip_locked=True) if postgres else stmt)
        count = 0
        for alarm in due.all():
            alarm.escalations += 1
            alarm.level, alarm.escalate_at = "city", None  # the top: it stays there until seen
            publish_alarm("alarm_escalated", alarm)
            count += 1
        db.session.flush()
    return count


# -- pins -----------------------------------------------------------------------------------


def _pin_payload(pin: Pin) -> dict:
    return {
        "pin_id": pin.id,
        "event_id": pin.event_id,
        "title": pin.title,
        "note": pin.note,
        "pinned_by": pin.pinned_by,
        "pinned_at": pin.pinned_at.isoformat(),
        "acknowledged_at": pin.acknowledged_at and pin.acknowledged_at.isoformat(),
    }


def _pin_rooms(pin: Pin) -> list[str]:
    places = (pin.grid_id, pin.village_id, pin.township_id, pin.district_id)
    return [*(rooms.area(p) for p in places if p), rooms.CITY]


def pin(*, principal: Principal, event_id: int | None, title: str | None, note: str) -> Pin:
    """Pin an event (or a notice of my own) to the top of the consoles that see it."""
    if principal.role not in CONSOLE_ROLES:
        raise Forbidden("只有指挥中心人员可以置顶", code="action_forbidden")
    if event_id is not None:
        event = get_event(event_id=event_id)  # 404 outside my scope
        place = {
            k: getattr(event, k) for k in ("district_id", "township_id", "village_id", "grid_id")
        }
        title = title or event.description[:60]
    elif not (title or "").strip():
        raise ValidationFailed("请填写置顶内容或选择事件", code="pin_title_required")
    else:
        scope = principal.scope
        place = ancestry(str(scope.area_id or CITY_CODE))
    item = Pin(
        event_id=event_id, title=title.strip(), note=note, pinned_by=principal.user_id, **place
    )
    db.session.add(item)
    db.session.flush()
    publish("pin", _pin_payload(item), _pin_rooms(item), event_id=event_id)
    return item


def list_pins(*, active: bool | None, page: int, page_size: int) -> Page:
    """Pins in my scope; unacknowledged ones first, newest first."""
    return _unacknowledged_first(Pin, Pin.pinned_at, active=active, page=page, page_size=page_size)


def acknowledge_pin(*, principal: Principal, pin_id: int) -> Pin:
    """Taken care of: the pin leaves the top of every console."""
    item = db.session.scalar(select(Pin).where(Pin.id == pin_id).with_for_update())
    if item is None:
        raise NotFound("置顶事项不存在", code="pin_not_found")
    if principal.role not in CONSOLE_ROLES:
        raise Forbidden("只有指挥中心人员可以取消置顶", code="action_forbidden")
    if item.acknowledged_at is not None:
        raise Conflict("置顶事项已确认", code="pin_already_acknowledged")
    item.acknowledged_at, item.acknowledged_by = utcnow(), principal.user_id
    db.session.flush()
    publish("pin_acknowledged", _pin_payload(item), _pin_rooms(item), event_id=item.event_id)
    return item


# -- subscriptions --------------------------------------------------------------------------


def _on_reported(event: Event, **_kw) -> None:
    if event.emergency:
        raise_for_event(event)


def _on_transitioned(event: Event, *, action, **_kw) -> None:
    # A dispatcher who recategorises into an emergency raises its alarm then.
    if event.emergency and action == "recategorize":
        raise_for_event(event)


def connect_signals() -> None:
    signals.reported.connect(_on_reported)
    signals.transitioned.connect(_on_transitioned)

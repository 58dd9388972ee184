"""The roster of a command centre: shifts, who is on duty, and handovers 交接班."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, true

from app.accounts.models import User
from app.accounts.roles import Role
from app.console.models import Alarm, Pin
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import unscoped, values_in_scope
from app.duty.models import DutyShift, Handover
from app.events.lifecycle import OPEN
from app.events.models import Event
from app.extensions import db
from app.geo.codes import CITY_CODE, ancestry, is_code, level_of
from app.geo.models import Area
from app.realtime import rooms
from app.realtime.service import publish

# Who keeps a roster and stands on it: the people who work a console.
ROSTER_ROLES = frozenset({Role.TOWNSHIP_DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
CENTRE_LEVELS = ("city", "district", "township")
# A longer shift is a typing error, not a rota (24-hour duty 24小时值班 is the longest).
MAX_SHIFT = timedelta(hours=24)
# A handover written this long after one's shift ended still belongs to that shift.
HANDOVER_GRACE = timedelta(hours=2)


def _named(rows: list) -> list:
    """Give shifts and handovers the display name of their person, in one query."""
    ids = {getattr(r, "user_id", None) or r.from_user_id for r in rows if r is not None}
    with unscoped():
        names = (
            dict(
                db.session.execute(
                    select(
                        User.id, func.coalesce(func.nullif(User.display_name, ""), User.username)
                    ).where(User.id.in_(sorted(ids)))
                ).all()
            )
            if ids
            else {}
        )
    for row in rows:
        if isinstance(row, DutyShift):
            row.user_name = names.get(row.user_id, "")
        elif isinstance(row, Handover):
            row.from_name = names.get(row.from_user_id, "")
    return rows


def _centre(centre_id: int | None, principal: Principal) -> int:
    """The centre asked for (or the caller's own), checked to be a centre in the caller's scope."""
    if centre_id is None:
        scope = principal.scope
        if scope.everything:
            return int(CITY_CODE)
        if scope.level in CENTRE_LEVELS and scope.area_id:
            return scope.area_id
        if scope.district_id:  # department staff see their district's centre
            return scope.district_id
        raise ValidationFailed("请指定指挥中心", code="centre_required")
    code = str(centre_id)
    if not is_code(code) or level_of(code) not in CENTRE_LEVELS:
        raise ValidationFailed(
            "值班只设在市、区县、镇街指挥中心", code="not_a_centre", centre_id=centre_id
        )
    if not _sees(principal, code):
        raise NotFound("指挥中心不存在", code="centre_not_found", centre_id=centre_id)
    with unscoped():
        if db.session.get(Area, centre_id) is None:
            raise NotFound("指挥中心不存在", code="centre_not_found", centre_id=centre_id)
    return centre_id


def _sees(principal: Principal, code: str) -> bool:
    """A centre is visible to those whose scope holds it."""
    scope = principal.scope
    return scope.everything or values_in_scope(scope, ancestry(code).get)


def _may_manage(principal: Principal) -> None:
    """Rostering is for console staff (the centre itself was checked visible already)."""
    if principal.role not in ROSTER_ROLES:
        raise Forbidden("只有指挥中心人员可以排班", code="action_forbidden")


def _stands_at(user: User, centre_id: int) -> bool:
    """Whether a person belongs to a centre's staff: its console roles, homed at it."""
    if user.role not in ROSTER_ROLES or not user.is_active:
        return False
    if str(centre_id) == CITY_CODE:
        return user.area_id in (None, centre_id)
    return user.area_id == centre_id


def staff(*, principal: Principal, centre_id: int | None) -> list[User]:
    """Who can be put on a centre's roster."""
    centre = _centre(centre_id, principal)
    home = User.area_id == centre
    if str(centre) == CITY_CODE:
        home = home | User.area_id.is_(None)
    with unscoped():
        stmt = select(User).where(
            User.role.in_(sorted(ROSTER_ROLES)), User.is_active.is_(True), home
        )
        return list(db.session.scalars(stmt.order_by(User.role, User.username)))


def list_shifts(
    *,
    principal: Principal,
    centre_id: int | None,
    start: datetime | None,
    end: datetime | None,
    page: int,
    page_size: int,
) -> Page:
    """Shifts overlapping a period (default: from now on), earliest first."""
    centre = _centre(centre_id, principal)
    start = start or utcnow()
    stmt = select(DutyShift).where(DutyShift.centre_id == centre, DutyShift.ends_at > start)
    if end is not None:
        stmt = stmt.where(DutyShift.starts_at < end)
    stmt = stmt.order_by(DutyShift.starts_at, DutyShift.post, DutyShift.id)
    page_ = paginate(stmt, page=page, page_size=page_size)
    _named(page_.items)
    return page_


def create_shift(
    *,
    principal: Principal,
    centre_id: int | None,
    user_id: int,
    post: str,
    starts_at: datetime,
    ends_at: datetime,
    note: str,
) -> DutyShift:
    """Put one person on a centre's duty for a time; the same person twice at once is refused."""
    centre = _centre(centre_id, principal)
    _may_manage(principal)
    if ends_at <= starts_at:
        raise ValidationFailed("结束时间须晚于开始时间", code="shift_ends_before_start")
    if ends_at - starts_at > MAX_SHIFT:
        raise ValidationFailed("一个班次最长 24 小时", code="shift_too_long")
    with unscoped():
        user = db.session.get(User, user_id)
        if user is None or not _stands_at(user, centre):
            raise ValidationFailed(
                "此人不是该指挥中心的值班人员", code="not_centre_staff", user_id=user_id
            )
        clash = db.session.scalar(
            select(DutyShift.id).where(
                DutyShift.centre_id == centre,
                DutyShift.user_id == user_id,
                DutyShift.starts_at < ends_at,
                DutyShift.ends_at > starts_at,
            )
        )
    if clash is not None:
        raise Conflict("此人在该时段已有班次", code="shift_overlaps", shift_id=clash)
    shift = DutyShift(
        centre_id=centre,
        user_id=user_id,
        post=post,
        starts_at=starts_at,
        ends_at=ends_at,
        note=note,
        created_by=principal.user_id,
        **ancestry(str(centre)),
    )
    db.session.add(shift)
    db.session.flush()
    _named([shift])
    publish("duty_changed", {"centre_id": centre}, [rooms.area(centre), rooms.user(user_id)])
    return shift


def delete_shift(*, principal: Principal, shift_id: int) -> None:
    """Take back a shift that has not started; one that has is history and stays."""
    with unscoped():
        shift = db.session.get(DutyShift, shift_id)
    if shift is None or not _sees(principal, str(shift.centre_id)):
        raise NotFound("班次不存在", code="shift_not_found")
    _may_manage(principal)
    if shift.starts_at <= utcnow():
        raise Conflict("班次已开始，不能删除", code="shift_started")
    db.session.delete(shift)
    db.session.flush()
    publish(
        "duty_changed",
        {"centre_id": shift.centre_id},
        [rooms.area(shift.centre_id), rooms.user(shift.user_id)],
    )


def current(*, principal: Principal, centre_id: int | None) -> dict:
    """Who is on duty now, who comes next, and the latest handover."""
    centre = _centre(centre_id, principal)
    now = utcnow()
    with unscoped():
        running = db.session.scalars(
            select(DutyShift)
            .where(
                DutyShift.centre_id == centre,
                DutyShift.starts_at <= now,
                DutyShift.ends_at > now,
            )
            .order_by(DutyShift.post, DutyShift.starts_at)
        ).all()
        upcoming = db.session.scalars(
            select(DutyShift)
            .where(
                DutyShift.centre_id == centre,
                DutyShift.starts_at > now,
                DutyShift.starts_at <= now + MAX_SHIFT,
            )
            .order_by(DutyShift.starts_at, DutyShift.post)
        ).all()
        latest = db.session.scalar(
            select(Handover)
            .where(Handover.centre_id == centre)
            .order_by(Handover.created_at.desc(), Handover.id.desc())
            .limit(1)
        )
    _named([*running, *upcoming, latest])
    return {
        "centre_id": centre,
        "on_duty": list(running),
        "upcoming": list(upcoming),
        "latest_handover": latest,
        "unstaffed": not running,
    }


def _at_centre(model, centre: int):
    """Rows of a model that lie under a centre (the city holds everything)."""
    level = level_of(str(centre))
    return true() if level == "city" else getattr(model, f"{level}_id") == centre


def _open_at(centre: int) -> dict:
    """What a shift leaves open at a centre: alarms, pins, near-due and overdue events."""
    with unscoped():
        alarms = db.session.scalars(
            select(Alarm.id)
            .where(Alarm.acknowledged_at.is_(None), _at_centre(Alarm, centre))
            .order_by(Alarm.raised_at)
            .limit(50)
        ).all()
        pins = db.session.scalar(
            select(func.count(Pin.id)).where(Pin.acknowledged_at.is_(None), _at_centre(Pin, centre))
        )
        overdue, near_due, emergencies = db.session.execute(
            select(
                func.count().filter(Event.breached_at.is_not(None)),
                func.count().filter(Event.warned_at.is_not(None) & Event.breached_at.is_(None)),
                func.count().filter(Event.emergency.is_(True)),
            ).where(Event.state.in_(sorted(OPEN)), _at_centre(Event, centre))
        ).one()
    return {
        "unacknowledged_alarms": len(alarms),
        "alarm_ids": list(alarms),
        "open_pins": pins or 0,
        "overdue": overdue,
        "near_due": near_due,
        "open_emergencies": emergencies,
    }


def write_handover(*, principal: Principal, centre_id: int | None, note: str) -> Handover:
    """Hand over: the note, with what is still open taken as it stands, to the next shift."""
    centre = _centre(centre_id, principal)
    if principal.role not in ROSTER_ROLES:
        raise Forbidden("只有该指挥中心的值班人员可以交班", code="action_forbidden")
    if not note.strip():
        raise ValidationFailed("请填写交班内容", code="handover_note_required")
    now = utcnow()
    with unscoped():
        shift_id = db.session.scalar(
            select(DutyShift.id)
            .where(
                DutyShift.centre_id == centre,
                DutyShift.user_id == principal.user_id,
                DutyShift.starts_at <= now,
                DutyShift.ends_at > now - HANDOVER_GRACE,
            )
            .order_by(DutyShift.ends_at.desc())
            .limit(1)
        )
    item = Handover(
        centre_id=centre,
        shift_id=shift_id,
        from_user_id=principal.user_id,
        note=note.strip(),
        summary=_open_at(centre),
        **ancestry(str(centre)),
    )
    db.session.add(item)
    db.session.flush()
    _named([item])
    # Whoever takes over next hears of it wherever they are, and so does the centre.
    with unscoped():
        nxt = db.session.scalars(
            select(DutyShift.user_id).where(
                DutyShift.centre_id == centre,
                DutyShift.ends_at > now,
                DutyShift.starts_at <= now + HANDOVER_GRACE,
                DutyShift.user_id != principal.user_id,
            )
        ).all()
    publish(
        "handover",
        handover_payload(item),
        [rooms.area(centre), *(rooms.user(u) for u in dict.fromkeys(nxt))],
    )
    return item


def handover_payload(item: Handover) -> dict:
    return {
        "handover_id": item.id,
        "centre_id": item.centre_id,
        "from_user_id": item.from_user_id,
        "note": item.note,
        "summary": item.summary,
        "created_at": item.created_at.isoformat(),
    }


def list_handovers(
    *, principal: Principal, centre_id: int | None, page: int, page_size: int
) -> Page:
    """A centre's handover notes, newest first."""
    centre = _centre(centre_id, principal)
    stmt = (
        select(Handover)
        .where(Handover.centre_id == centre)
        .order_by(Handover.created_at.desc(), Handover.id.desc())
    )
    page_ = paginate(stmt, page=page, page_size=page_size)
    _named(page_.items)
    return page_


def receive_handover(*, principal: Principal, handover_id: int) -> Handover:
    """The next shift has read the note 接班: recorded once."""
    with unscoped():
        item = db.session.scalar(
            select(Handover).where(Handover.id == handover_id).with_for_update()
        )
    if item is None or not _sees(principal, str(item.centre_id)):
        raise NotFound("交班记录不存在", code="handover_not_found")
    if principal.role not in ROSTER_ROLES:
        raise Forbidden("只有指挥中心人员可以接班", code="action_forbidden")
    if item.from_user_id == principal.user_id:
        raise Conflict("不能接自己的班", code="handover_own")
    if item.received_at is not None:
        raise Conflict("交班记录已被接收", code="handover_already_received")
    item.received_at, item.received_by = utcnow(), principal.user_id
    db.session.flush()
    _named([item])
    publish(
        "handover_received",
        {**handover_payload(item), "received_by": item.received_by},
        [rooms.area(item.centre_id), rooms.user(item.from_user_id)],
    )
    return item

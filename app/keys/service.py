"""The key persons and places registry: registration, visits and schedules, and the priority
bump events get when they concern a key person or place."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import tomllib
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import shapely
from sqlalchemy import column, func, select, table
from sqlalchemy.exc import IntegrityError

from app.accounts.models import GridBinding, User
from app.accounts.roles import Role
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import current_scope, unscoped
from app.extensions import db
from app.geo import service as geo
from app.geo.codes import ancestry, is_code, level_of
from app.geo.models import Area
from app.keys import idcard, sensitive
from app.keys.models import MODELS, KeyKind, KeyPlace, KeyVisit, Registered

KINDS_FILE = Path(__file__).resolve().parent / "data" / "kinds.toml"
# Who keeps the registry and records visits: the field, and the township centre for its area.
WRITERS = frozenset(
    {
        Role.GRID_WORKER,
        Role.GRID_LEADER,
        Role.VILLAGE_STAFF,
        Role.TOWNSHIP_DISPATCHER,
        Role.ADMIN,
    }
)
# Who may be the responsible visitor of a row (besides the grid's own workers).
VILLAGE_VISITORS = frozenset({Role.GRID_LEADER, Role.VILLAGE_STAFF})
# A high-risk person or place raises a linked event one more level than its kind does.
RISK_BUMP = {"low": 0, "medium": 0, "high": 1}
# Phones' clocks drift; a visit "in the future" by more than this is a mistake.
CLOCK_SKEW = timedelta(minutes=10)
LABELS = {"person": "重点人员", "place": "重点场所"}

# Photos are uploaded through /api/v1/attachments (events, a higher module): only the columns
# needed to check ownership, without importing the model.
_attachments = table("attachments", column("id"), column("uploader_id"), column("event_id"))


# -- kinds ----------------------------------------------------------------------------------


def load_kinds(path: Path | None = None) -> dict[str, int]:
    """Insert or update kinds from kinds.toml; kinds no longer in the file are deactivated."""
    data = tomllib.loads((path or KINDS_FILE).read_text(encoding="utf-8"))
    counts = {"created": 0, "updated": 0, "deactivated": 0}
    seen: set[str] = set()
    for subject in ("person", "place"):
        for position, spec in enumerate(data.get(subject, [])):
            code = spec["code"]
            if code in seen:
                raise ValueError(f"kinds.toml: duplicate code {code}")
            seen.add(code)
            row = db.session.get(KeyKind, code)
            if row is None:
                row = KeyKind(code=code)
                db.session.add(row)
                counts["created"] += 1
            else:
                counts["updated"] += 1
            row.subject, row.position, row.active = subject, position, True
            row.name_zh, row.name_en = spec["name_zh"], spec["name_en"]
            row.visit_interval_days = int(spec["visit_interval_days"])
            row.priority_bump = int(spec["priority_bump"])
    for row in db.session.scalars(select(KeyKind).where(KeyKind.code.not_in(seen))):
        if row.active:
            row.active = False
            counts["deactivated"] += 1
    db.session.flush()
    return counts


def list_kinds(*, subject: str | None = None) -> list[KeyKind]:
    """Active kinds, persons first, in file order."""
    stmt = select(KeyKind).where(KeyKind.active.is_(True))
    if subject:
        stmt = stmt.where(KeyKind.subject == subject)
    return list(db.session.scalars(stmt.order_by(KeyKind.subject, KeyKind.position)))


def _kind(code: str, subject: str) -> KeyKind:
    kind = db.session.get(KeyKind, code)
    if kind is None or not kind.active or kind.subject != subject:
        raise ValidationFailed(
            f"未知的{LABELS[subject]}类别 {code}", code="unknown_kind", kind=code
        )
    return kind


# -- reading --------------------------------------------------------------------------------


def stamp(principal: Principal, rows):
    """Mark rows with the sensitive field groups the caller may see (schemas mask the rest)."""
    groups = sensitive.visible_groups(principal.role)
    for row in rows:
        row.visible_groups = groups
    return rows


def get_subject(
    *, principal: Principal, subject: str, subject_id: int, for_update: bool = False
) -> Registered:
    """One person or place the caller may see (row-locked on PostgreSQL when changing it)."""
    model = MODELS[subject]
    stmt = select(model).where(model.id == subject_id)
    if for_update and db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=model)
    row = db.session.scalars(stmt).first()
    if row is None:
        raise NotFound(f"找不到该{LABELS[subject]}", code=f"key_{subject}_not_found")
    return stamp(principal, [row])[0]


def _area_filter(model, code: str):
    try:
        level = level_of(code)
    except ValueError:
        raise ValidationFailed("区域代码无效", code="bad_area", area=code) from None
    return None if level == "city" else getattr(model, f"{level}_id") == int(code)


def _filtered(model, principal: Principal, filters: dict, now: datetime):
    stmt = select(model)
    if filters.get("active") is not None:
        stmt = stmt.where(model.active.is_(filters["active"]))
    if filters.get("kind"):
        stmt = stmt.where(model.kind_code == filters["kind"])
    if filters.get("risk_level"):
        stmt = stmt.where(model.risk_level == filters["risk_level"])
    if filters.get("area"):
        condition = _area_filter(model, filters["area"])
        if condition is not None:
            stmt = stmt.where(condition)
    if filters.get("q"):
        stmt = stmt.where(model.name.contains(filters["q"].strip(), autoescape=True))
    if filters.get("responsible_user_id"):
        stmt = stmt.where(model.responsible_user_id == filters["responsible_user_id"])
    if filters.get("mine"):
        stmt = stmt.where(model.responsible_user_id == principal.user_id)
    if filters.get("overdue") is not None:
        late = model.next_visit_due_at <= now
        stmt = stmt.where(late if filters["overdue"] else ~late)
    return stmt


def _sorts(model) -> dict[str, tuple]:
    return {
        "next_visit_due_at": (model.next_visit_due_at, model.id),
        "-registered_at": (model.registered_at.desc(), model.id.desc()),
        "name": (model.name, model.id),
    }


def list_subjects(*, principal: Principal, subject: str, filters: dict) -> Page:
    """Persons or places in my scope, filtered by kind, area, risk, overdue visits, name."""
    model = MODELS[subject]
    stmt = _filtered(model, principal, filters, utcnow())
    stmt = stmt.order_by(*_sorts(model)[filters.get("sort") or "next_visit_due_at"])
    page = paginate(stmt, page=filters["page"], page_size=filters["page_size"])
    stamp(principal, page.items)
    return page


def due(*, principal: Principal, filters: dict) -> Page:
    """My visit schedule: active persons and places in my scope, most overdue first."""
    now = utcnow()
    page, size = filters["page"], filters["page_size"]
    subjects = [filters["subject"]] if filters.get("subject") else list(MODELS)
    total, streams = 0, []
    for subject in subjects:
        model = MODELS[subject]
        stmt = _filtered(model, principal, {**filters, "active": True}, now)
        if filters.get("within_days") is not None:
            horizon = now + timedelta(days=filters["within_days"])
            stmt = stmt.where(model.next_visit_due_at <= horizon)
        total += db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        # Enough of each list to fill this page after merging by due date.
        stmt = stmt.order_by(model.next_visit_due_at, model.id).limit(page * size)
        streams.append(list(db.session.scalars(stmt)))
    merged = heapq.merge(*streams, key=lambda r: (r.next_visit_due_at, r.subject, r.id))
    items = list(itertools.islice(merged, (page - 1) * size, page * size))
    return Page(items=stamp(principal, items), total=total, page=page, page_size=size)


# -- registering ----------------------------------------------------------------------------


def _grid(code: str) -> int:
    """A grid code from a request: a real grid inside the caller's scope."""
    if not is_code(code) or level_of(code) != "grid":
        raise ValidationFailed("请填写 15 位网格代码", code="not_a_grid", grid=code)
    grid_id = int(code)
    if not geo.grid_in_scope(current_scope(), grid_id):
        raise Forbidden("该网格不在您的管辖范围内", code="out_of_scope")
    if db.session.scalar(select(Area.id).where(Area.id == grid_id)) is None:
        raise ValidationFailed("网格不存在", code="unknown_grid", grid=code)
    return grid_id


def _responsible(principal: Principal, grid_id: int, user_id: int | None) -> int | None:
    """Who visits: the named user if they may, else me (a worker of this grid), else the
    grid's worker with the lowest id, else nobody yet."""
    with unscoped():  # eligibility is about the user's post, not whether I can list them
        if user_id is not None:
            user = db.session.get(User, user_id)
            if user is None or not _may_visit(user, grid_id):
                raise ValidationFailed(
                    "负责人须为该网格的网格员，或所在村社的网格长、村社干部",
                    code="bad_responsible_user",
                    user_id=user_id,
                )
            return user.id
        if principal.role == Role.GRID_WORKER and grid_id in principal.scope.grid_ids:
            return principal.user_id
        return db.session.scalar(
            select(User.id)
            .join(GridBinding, GridBinding.user_id == User.id)
            .where(
                GridBinding.grid_id == grid_id,
                User.role == Role.GRID_WORKER,
                User.is_active.is_(True),
            )
            .order_by(User.id)
            .limit(1)
        )


def _may_visit(user: User, grid_id: int) -> bool:
    if not user.is_active:
        return False
    if user.role == Role.GRID_WORKER:
        return grid_id in {b.grid_id for b in user.grids}
    return user.role in VILLAGE_VISITORS and user.village_id == ancestry(str(grid_id))["village_id"]


def _place_grid(row: KeyPlace, location: dict) -> None:
    """Set a place's point and grid from a request location (converted to WGS84)."""
    lon, lat = location["coordinates"]
    found = geo.locate(lon=lon, lat=lat, system=location.get("crs", geo.CRS_WGS84))
    row.lon, row.lat = found.lon, found.lat
    row.point = shapely.Point(found.lon, found.lat)
    row.location_snapped = found.snapped
    _set_grid(row, found.grid_id)


def _set_grid(row: Registered, grid_id: int) -> None:
    for key, value in ancestry(str(grid_id)).items():
        setattr(row, key, value)


def _reschedule(row: Registered, now: datetime) -> None:
    """The next visit is due one interval after the last (or after registration)."""
    base = row.last_visited_at or row.registered_at
    row.next_visit_due_at = base + timedelta(days=row.visit_interval_days)
    if row.next_visit_due_at > now:
        row.visit_overdue_at = None


_COMMON = ("name", "address", "risk_level")
_FIELDS = {
    "person": (
        *_COMMON,
        "gender",
        "birth_year",
        "id_card_no",
        "phone",
        "guardian_name",
        "guardian_phone",
        "case_notes",
    ),
    "place": (*_COMMON, "contact_name", "contact_phone", "notes"),
}


def _with_id_card_facts(fields: dict) -> dict:
    """Birth year and gender follow from an identity number unless given explicitly."""
    number = fields.get("id_card_no")
    if not number:
        return fields
    return {"birth_year": idcard.birth_year(number), "gender": idcard.gender(number), **fields}


def _authorize_write(principal: Principal) -> None:
    if principal.role not in WRITERS:
        raise Forbidden("您的角色无权维护重点对象", code="role_forbidden")


def create(*, principal: Principal, subject: str, fields: dict) -> Registered:
    """Register a person (in a grid) or a place (at a point); the grid must be in my scope."""
    _authorize_write(principal)
    model = MODELS[subject]
    fields = _with_id_card_facts(fields)
    kind = _kind(fields["kind"], subject)
    now = utcnow()
    row = model(
        kind_code=kind.code,
        kind=kind,
        registered_at=now,
        registered_by=principal.user_id,
        visit_interval_days=fields.get("visit_interval_days") or kind.visit_interval_days,
        **{key: fields[key] for key in _FIELDS[subject] if key in fields},
    )
    if subject == "person":
        _set_grid(row, _grid(fields["grid"]))
    else:
        _place_grid(row, fields["location"])
    row.responsible_user_id = _responsible(
        principal, row.grid_id, fields.get("responsible_user_id")
    )
    _reschedule(row, now)
    with _saving(subject):
        db.session.add(row)
    return stamp(principal, [row])[0]


@contextlib.contextmanager
def _saving(subject: str) -> Iterator[None]:
    """Changes made inside are one savepoint, so a duplicate registration is a clear 409.

    Changes must be made inside: any query autoflushes, and a flush outside the savepoint
    that hits the unique index would spoil the whole transaction.
    """
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError as error:
        # The one constraint a valid request can hit (PostgreSQL names it, SQLite its columns).
        if subject == "person" and any(
            mark in str(error.orig) for mark in ("uq_key_persons_kind_id_card", ".id_card_no")
        ):
            raise Conflict("该身份证号已登记为同类重点人员", code="key_person_exists") from None
        raise


def update(*, principal: Principal, subject: str, subject_id: int, changes: dict) -> Registered:
    """Change a registered person or place; moving it re-derives the grid and the visitor."""
    _authorize_write(principal)
    row = get_subject(principal=principal, subject=subject, subject_id=subject_id, for_update=True)
    if not row.active:
        raise Conflict(f"该{LABELS[subject]}已注销，请先恢复", code="key_inactive")
    changes = _with_id_card_facts(changes)
    with _saving(subject):
        for key in _FIELDS[subject]:
            if key in changes:
                setattr(row, key, changes[key])
        if "kind" in changes and changes["kind"] != row.kind_code:
            row.kind = _kind(changes["kind"], subject)
            row.visit_interval_days = row.kind.visit_interval_days
        if changes.get("visit_interval_days"):
            row.visit_interval_days = changes["visit_interval_days"]
        moved = False
        if subject == "person" and changes.get("grid"):
            grid_id = _grid(changes["grid"])
            moved = grid_id != row.grid_id
            _set_grid(row, grid_id)
        if subject == "place" and changes.get("location"):
            old = row.grid_id
            _place_grid(row, changes["location"])
            moved = row.grid_id != old
        if "responsible_user_id" in changes or moved:
            row.responsible_user_id = _responsible(
                principal, row.grid_id, changes.get("responsible_user_id")
            )
        _reschedule(row, utcnow())
    return row


def deactivate(*, principal: Principal, subject: str, subject_id: int, reason: str) -> Registered:
    """Take a person or place off the registry (moved away, deceased, hazard removed); the row
    and its visits stay, events keep pointing at it."""
    _authorize_write(principal)
    row = get_subject(principal=principal, subject=subject, subject_id=subject_id, for_update=True)
    if not row.active:
        raise Conflict(f"该{LABELS[subject]}已注销", code="key_inactive")
    row.active, row.deactivated_at, row.deactivation_reason = False, utcnow(), reason
    db.session.flush()
    return row


def reactivate(*, principal: Principal, subject: str, subject_id: int) -> Registered:
    """Put a deactivated row back; its next visit is due one interval from now at the latest."""
    _authorize_write(principal)
    row = get_subject(principal=principal, subject=subject, subject_id=subject_id, for_update=True)
    if row.active:
        raise Conflict(f"该{LABELS[subject]}未注销", code="key_active")
    now = utcnow()
    with _saving(subject):
        row.active, row.deactivated_at, row.deactivation_reason = True, None, None
        _reschedule(row, now)
        if row.next_visit_due_at <= now:
            row.next_visit_due_at = now + timedelta(days=row.visit_interval_days)
            row.visit_overdue_at = None
    return row


# -- visits ---------------------------------------------------------------------------------


def record_visit(
    *,
    principal: Principal,
    subject: str,
    subject_id: int,
    note: str,
    visited_at: datetime | None = None,
    attachment_ids: list[int] | None = None,
    location: dict | None = None,
    client_uuid: uuid.UUID | None = None,
) -> tuple[KeyVisit, bool]:
    """Record a visit once per client_uuid and move the schedule on; returns (visit, created)."""
    _authorize_write(principal)
    if client_uuid is not None:
        existing = _visit_by_uuid(client_uuid)
        if existing is not None:
            return _retry_of(existing, principal), False
    row = get_subject(principal=principal, subject=subject, subject_id=subject_id, for_update=True)
    if not row.active:
        raise Conflict(f"该{LABELS[subject]}已注销，不能登记走访", code="key_inactive")
    now = utcnow()
    visited_at = visited_at or now
    if visited_at > now + CLOCK_SKEW:
        raise ValidationFailed("走访时间不能晚于当前时间", code="visited_in_future")
    ids = sorted(set(attachment_ids or ()))
    _check_attachments(principal, ids)
    lon = lat = None
    if location:
        lon, lat = geo.to_wgs84(*location["coordinates"], location.get("crs", geo.CRS_WGS84))
    visit = KeyVisit(
        client_uuid=client_uuid,
        visitor_id=principal.user_id,
        visited_at=visited_at,
        recorded_at=now,
        note=note,
        attachment_ids=ids,
        lon=lon,
        lat=lat,
        **{subject: row, f"{subject}_id": row.id},
    )
    try:
        with db.session.begin_nested():
            db.session.add(visit)
            db.session.flush()
    except IntegrityError:
        original = _visit_by_uuid(client_uuid) if client_uuid else None
        if original is None:
            raise
        return _retry_of(original, principal), False
    if row.last_visited_at is None or visited_at > row.last_visited_at:
        row.last_visited_at = visited_at
    _reschedule(row, now)
    db.session.flush()
    return stamp(principal, [visit])[0], True


def _visit_by_uuid(client_uuid: uuid.UUID) -> KeyVisit | None:
    with unscoped():
        return db.session.scalar(select(KeyVisit).where(KeyVisit.client_uuid == client_uuid))


def _retry_of(visit: KeyVisit, principal: Principal) -> KeyVisit:
    if visit.visitor_id != principal.user_id:
        raise Conflict("该 client_uuid 已被其他走访记录使用", code="client_uuid_taken")
    return stamp(principal, [visit])[0]


def _check_attachments(principal: Principal, ids: list[int]) -> None:
    if not ids:
        return
    found = set(
        db.session.scalars(
            select(_attachments.c.id).where(
                _attachments.c.id.in_(ids),
                _attachments.c.uploader_id == principal.user_id,
                _attachments.c.event_id.is_(None),
            )
        )
    )
    missing = sorted(set(ids) - found)
    if missing:
        raise ValidationFailed(
            "附件不存在、不属于您或已用于事件", code="unknown_attachment", ids=missing
        )


def list_visits(*, principal: Principal, subject: str, subject_id: int, page: int, page_size: int):
    """Visits to one person or place, newest first."""
    row = get_subject(principal=principal, subject=subject, subject_id=subject_id)
    column_ = KeyVisit.person_id if subject == "person" else KeyVisit.place_id
    stmt = (
        select(KeyVisit)
        .where(column_ == row.id)
        .order_by(KeyVisit.visited_at.desc(), KeyVisit.id.desc())
    )
    result = paginate(stmt, page=page, page_size=page_size)
    stamp(principal, result.items)
    return result


# -- events ---------------------------------------------------------------------------------


def bump(row: Registered) -> int:
    """How many priority levels an event concerning this row is raised."""
    return row.kind.priority_bump + RISK_BUMP.get(row.risk_level, 0)


def event_priority(
    *,
    base: int,
    key_person_id: int | None = None,
    key_place_id: int | None = None,
    check: bool = True,
) -> int:
    """An event's priority (1 is highest) raised for the key person or place it concerns.

    check=True is the report path: each must be registered, active and visible to the
    reporter, else 422. check=False recomputes for an existing event (any scope; rows
    deactivated since no longer raise it).
    """
    raised = 0
    for subject, row_id in (("person", key_person_id), ("place", key_place_id)):
        if row_id is None:
            continue
        model = MODELS[subject]
        if check:
            row = db.session.scalar(select(model).where(model.id == row_id, model.active.is_(True)))
            if row is None:
                raise ValidationFailed(
                    f"{LABELS[subject]}不存在、已注销或不在您的管辖范围内",
                    code=f"unknown_key_{subject}",
                    id=row_id,
                )
        else:
            with unscoped():
                row = db.session.get(model, row_id)
            if row is None or not row.active:
                continue
        raised = max(raised, bump(row))
    return max(1, base - raised)

"""Open311 GeoReport v2: keys for partners, posting a request as an event, and the public's
read of requests in public categories. Views render what these return as JSON or XML."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from app.accounts.models import User
from app.accounts.service import scope_for
from app.categories.models import Category, Subcategory
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import acting_as, unscoped, values_in_scope
from app.events import service as events
from app.events.lifecycle import Action
from app.events.models import Event, EventAudit
from app.events.views import REPORTER_ROLES
from app.extensions import db
from app.geo import service as geo
from app.geo.codes import ancestry
from app.geo.models import Area
from app.open311 import catalogue
from app.open311.models import ApiKey, ServiceRequest

KEY_PREFIX = "o311_"
# The spec: requests are searched over at most 90 days, 1000 at a time.
MAX_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
# Client-chosen request ids become event client_uuids inside this namespace, per key.
_UUID_NAMESPACE = uuid.UUID("6f0e8a52-4c1e-5b7a-9d0b-311311311311")


class BadRequest(DomainError):
    """The spec answers malformed parameters with 400, not our API's 422."""

    status, code, message = 400, "bad_request", "请求参数无效"


class InvalidKey(DomainError):
    status, code, message = 403, "invalid_api_key", "api_key 无效或已被吊销"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# -- keys (admin) ----------------------------------------------------------------------------


def issue_key(*, principal: Principal, user_id: int, name: str) -> tuple[ApiKey, str]:
    """Issue a key that posts as one account; the plain key is returned once, never stored."""
    user = db.session.get(User, user_id)  # scoped: an admin issues keys for their own accounts
    if user is None:
        raise NotFound("找不到该用户", code="user_not_found")
    if not user.is_active:
        raise Conflict("该账号已停用", code="user_inactive")
    if user.role not in REPORTER_ROLES:
        raise ValidationFailed(
            "密钥只能绑定可以上报事件的账号", code="account_cannot_report", role=user.role
        )
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        user=user,
        user_id=user.id,
        name=name,
        key_hash=digest(plain),
        prefix=plain[: len(KEY_PREFIX) + 6],
        created_by=principal.user_id,
        district_id=user.district_id,
        township_id=user.township_id,
        village_id=user.village_id,
        grid_id=user.grid_id,
    )
    db.session.add(key)
    db.session.flush()
    return key, plain


def list_keys(*, filters: dict) -> Page:
    """Keys of accounts in my scope, newest first."""
    stmt = select(ApiKey)
    if filters.get("user_id") is not None:
        stmt = stmt.where(ApiKey.user_id == filters["user_id"])
    if filters.get("revoked") is not None:
        revoked = ApiKey.revoked_at.is_not(None)
        stmt = stmt.where(revoked if filters["revoked"] else ~revoked)
    stmt = stmt.order_by(ApiKey.id.desc())
    return paginate(stmt, page=filters["page"], page_size=filters["page_size"])


def revoke_key(*, principal: Principal, key_id: int) -> ApiKey:
    """Revoke a key at once; revoking twice keeps the first revocation."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("找不到该 API 密钥", code="api_key_not_found")
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = utcnow(), principal.user_id
        db.session.flush()
    return key


def principal_for_key(plain: str | None) -> tuple[Principal, ApiKey]:
    """The account a key posts as, with that account's scope; 403 for anything else."""
    if not plain:
        raise InvalidKey("缺少 api_key", code="api_key_required")
    with unscoped():
        key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(plain)))
        if key is None or key.revoked_at is not None or not key.user.is_active:
            raise InvalidKey()
        user = key.user
        grids = [b.grid_id for b in user.grids] if user.role == "grid_worker" else []
        scope = dataclasses.replace(scope_for(user, grids), user_id=user.id)
        db.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=utcnow()))
    return Principal(user.id, user.username, user.role, f"open311:{key.id}", scope), key


# -- services --------------------------------------------------------------------------------


def public_categories() -> tuple[str, ...]:
    return tuple(current_app.config.get("OPEN311_PUBLIC_CATEGORIES") or catalogue.PUBLIC_CATEGORIES)


def services() -> list[Subcategory]:
    """Active subcategories of the public categories, in taxonomy order."""
    stmt = (
        select(Subcategory)
        .join(Category, Category.code == Subcategory.category_code)
        .where(Subcategory.active, Subcategory.category_code.in_(public_categories()))
        .order_by(Category.position, Subcategory.position, Subcategory.code)
    )
    return list(db.session.scalars(stmt))


def service(code: str) -> Subcategory:
    """One public service; anything else is unknown to the public."""
    sub = db.session.get(Subcategory, code)
    if sub is None or not sub.active or sub.category_code not in public_categories():
        raise NotFound(f"service_code {code} 不存在", code="service_not_found")
    return sub


# -- posting ---------------------------------------------------------------------------------


def _text(values: dict, name: str, limit: int) -> str | None:
    value = (values.get(name) or "").strip()
    if len(value) > limit:
        raise BadRequest(f"{name} 不能超过 {limit} 个字符", code="too_long")
    return value or None


def _number(raw: str, name: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} 应为数字", code="bad_number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadRequest(f"{name} 应在 {low} 到 {high} 之间", code="out_of_range")
    return value


def parse_datetime(raw: str, name: str) -> datetime:
    """A W3C datetime as the spec writes them (2010-01-01T00:00:00Z); naive means UTC."""
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{name} 应为 W3C 日期时间，例如 2026-01-01T00:00:00Z", code="bad_datetime"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not datetime(2000, 1, 1, tzinfo=UTC) <= value <= datetime(2100, 1, 1, tzinfo=UTC):
        raise BadRequest(f"{name} 超出范围", code="out_of_range")
    return value


def _attributes(values: dict) -> dict:
    """attribute[code]=value pairs, checked against the service definition."""
    known = {a["code"]: a for a in catalogue.ATTRIBUTES}
    found = {}
    for name, raw in values.items():
        if not (name.startswith("attribute[") and name.endswith("]")):
            continue
        code = name[len("attribute[") : -1]
        if code not in known:
            raise BadRequest(f"未知的属性 {code}", code="unknown_attribute")
        if not raw.strip():
            continue
        if known[code]["datatype"] == "number":
            found[code] = _number(raw, name, 0, 10_000)
        else:
            found[code] = parse_datetime(raw, name).isoformat()
    return found


def client_uuid(key: ApiKey, device_id: str | None, request_id: str | None) -> uuid.UUID:
    """Stable for a retried request when the client names it, else fresh."""
    if not request_id:
        return uuid.uuid4()
    return uuid.uuid5(_UUID_NAMESPACE, f"{key.id}:{device_id or ''}:{request_id}")


def create_request(*, values: dict, request_id: str | None) -> tuple[Event, ApiKey]:
    """POST requests: a report under the key's account, located by lat/long."""
    principal, key = principal_for_key(values.get("api_key"))
    code = _text(values, "service_code", 64)
    if not code:
        raise BadRequest("缺少 service_code", code="service_code_required")
    try:
        sub = service(code)
    except NotFound:
        raise BadRequest(
            f"service_code {code} 不存在或不对外开放", code="unknown_service"
        ) from None
    if values.get("lat") in (None, "") or values.get("long") in (None, ""):
        if values.get("address_string") or values.get("address_id"):
            raise BadRequest(
                "本系统按坐标定位网格，不支持仅凭地址提交，请提供 lat 与 long",
                code="location_by_point_only",
            )
        raise BadRequest("缺少位置：请提供 lat 与 long（WGS84）", code="location_required")
    lat = _number(values["lat"], "lat", -90, 90)
    lon = _number(values["long"], "long", -180, 180)
    media_url = _text(values, "media_url", 1024)
    if media_url and not media_url.lower().startswith(("http://", "https://")):
        raise BadRequest("media_url 应为 http(s) 地址", code="bad_media_url")
    attributes = _attributes(values)
    device_id = _text(values, "device_id", 64)
    description = _text(values, "description", 4000) or sub.name_zh
    contact = {
        name: value
        for name in ("first_name", "last_name", "phone", "email")
        if (value := _text(values, name, 120))
    }
    extra = {
        "api_key_id": key.id,
        "address_string": _text(values, "address_string", 255),
        "media_url": media_url,
        "device_id": device_id,
        "account_id": _text(values, "account_id", 64),
        "contact": contact or None,
        "attributes": attributes or None,
    }
    report = events.Report(
        client_uuid=client_uuid(key, device_id, request_id),
        description=description,
        lon=lon,
        lat=lat,
        accuracy_m=attributes.get("accuracy_m"),
        occurred_at=(
            datetime.fromisoformat(attributes["occurred_at"])
            if "occurred_at" in attributes
            else None
        ),
        subcategory=sub.code,
        source="open311",
    )
    # The key posts only where its account works: a township's hotline, its township.
    grid = geo.locate(lon=lon, lat=lat, scoped=False).grid_id
    if not values_in_scope(principal.scope, ancestry(str(grid)).get):
        raise Forbidden("该位置超出密钥账号的管辖范围", code="out_of_scope")
    with acting_as(principal.scope):
        event, created = events.report(principal=principal, data=report)
        if created:
            db.session.add(ServiceRequest(event=event, event_id=event.id, **extra))
            db.session.flush()
    return event, key


# -- reading ---------------------------------------------------------------------------------


def _public(stmt):
    """Only public categories, and nothing touching a key person (重点人员)."""
    return stmt.where(Event.category_code.in_(public_categories()), Event.key_person_id.is_(None))


def _comma_list(raw: str | None, name: str, limit: int = MAX_RESULTS) -> list[str]:
    items = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if len(items) > limit:
        raise BadRequest(f"{name} 最多 {limit} 个", code="too_many")
    return items


def find_requests(*, args: dict) -> list[dict]:
    """GET requests: by ids (overriding the rest), else by service, status and a date range
    of at most 90 days (default: the last 90), newest first, at most 1000."""
    stmt = _public(select(Event))
    ids = _comma_list(args.get("service_request_id"), "service_request_id")
    if ids:
        if not all(i.isdigit() and 0 < int(i) < 2**63 for i in ids):
            raise BadRequest("service_request_id 应为逗号分隔的编号", code="bad_id")
        stmt = stmt.where(Event.id.in_([int(i) for i in ids]))
    else:
        codes = _comma_list(args.get("service_code"), "service_code", 200)
        if codes:
            stmt = stmt.where(Event.subcategory_code.in_(codes))
        statuses = _comma_list(args.get("status"), "status", 2)
        if any(s not in ("open", "closed") for s in statuses):
            raise BadRequest("status 只能是 open 或 closed", code="bad_status")
        if statuses:
            stmt = stmt.where(
                Event.state.in_([st for s in statuses for st in catalogue.states_for(s)])
            )
        start, end = _date_range(args.get("start_date"), args.get("end_date"))
        stmt = stmt.where(Event.received_at >= start, Event.received_at <= end)
    stmt = stmt.order_by(Event.received_at.desc(), Event.id.desc()).limit(MAX_RESULTS)
    with unscoped():
        return describe(list(db.session.scalars(stmt)))


def _date_range(raw_start: str | None, raw_end: str | None) -> tuple[datetime, datetime]:
    start = parse_datetime(raw_start, "start_date") if raw_start else None
    end = parse_datetime(raw_end, "end_date") if raw_end else None
    if start is None and end is None:
        end = utcnow()
    if start is None:
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if end < start:
        raise BadRequest("end_date 早于 start_date", code="bad_date_range")
    if end - start > MAX_SPAN:
        raise BadRequest("查询时间范围不能超过 90 天", code="date_range_too_long")
    return start, end


def get_request(*, request_id: int) -> list[dict]:
    """GET requests/{id}: one public request, as a list of one (the spec's shape)."""
    with unscoped():
        event = db.session.scalar(_public(select(Event)).where(Event.id == request_id))
        if event is None:
            raise NotFound(f"service_request_id {request_id} 不存在", code="request_not_found")
        return describe([event])


def by_token(*, token: str) -> list[dict]:
    """GET tokens/{token}: the token is the event's client UUID, returned on POST."""
    try:
        value = uuid.UUID(token)
    except ValueError:
        raise NotFound(f"token {token} 不存在", code="token_not_found") from None
    with unscoped():
        event = db.session.scalar(_public(select(Event)).where(Event.client_uuid == value))
    if event is None:
        raise NotFound(f"token {token} 不存在", code="token_not_found")
    return [{"service_request_id": event.id, "token": str(event.client_uuid)}]


_TRANSITIONS = [a.value for a in Action]


def describe(rows: list[Event]) -> list[dict]:
    """The spec's fields for events, with no reporter identity and no internal notes."""
    if not rows:
        return []
    ids = [e.id for e in rows]
    notes: dict[int, str] = {}
    # The latest reason a lifecycle transition gave (progress notes and report-ins are
    # internal), read in one query.
    for event_id, reason in db.session.execute(
        select(EventAudit.event_id, EventAudit.reason)
        .where(
            EventAudit.event_id.in_(ids),
            EventAudit.reason.is_not(None),
            EventAudit.action.in_(_TRANSITIONS),
        )
        .order_by(EventAudit.event_id, EventAudit.seq)
    ):
        notes[event_id] = reason
    media = dict(
        db.session.execute(
            select(ServiceRequest.event_id, ServiceRequest.media_url).where(
                ServiceRequest.event_id.in_(ids)
            )
        ).all()
    )
    area_ids = (
        {e.village_id for e in rows} | {e.township_id for e in rows} | {e.district_id for e in rows}
    )
    areas = dict(
        db.session.execute(select(Area.id, Area.name).where(Area.id.in_(area_ids - {None}))).all()
    )
    subs = {s.code: s for s in db.session.scalars(select(Subcategory))}
    out = []
    for e in rows:
        closed = catalogue.status_of(e.state) == "closed"
        sub = subs.get(e.subcategory_code)
        out.append(
            {
                "service_request_id": e.id,
                "status": "closed" if closed else "open",
                "status_notes": notes.get(e.id),
                "service_name": sub.name_zh if sub else e.subcategory_code,
                "service_code": e.subcategory_code,
                "description": e.description,
                "agency_responsible": ((e.dispatch_reason or {}).get("unit") or {}).get("name"),
                "service_notice": None,
                "requested_datetime": e.received_at,
                "updated_datetime": e.updated_at,
                "expected_datetime": None if closed else e.due_at,
                "address": "".join(
                    areas[a] for a in (e.district_id, e.township_id, e.village_id) if a in areas
                ),
                "address_id": None,
                "zipcode": None,
                "lat": e.lat,
                "long": e.lon,
                "media_url": media.get(e.id),
            }
        )
    return out

"""Sensors 监测设备: registration, device ingest, threshold evaluation and the warning state.

A warning is raised once per crossing: the first reading over any threshold raises an event
(through events.report, source "sensor") and an alarm on the owning consoles; while the
condition lasts, a higher level only updates the warning (pushed, and noted on the event's
audit trail). It clears when the readings have stayed below every threshold for a quiet period
(SENSOR_CLEAR_QUIET_MINUTES, default 60): one reading back under the line on a noisy crack
meter must not clear it only for the next to raise it again.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import shapely
from flask import current_app
from sqlalchemy import case, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.accounts.roles import Role
from app.console import service as console
from app.console.models import Alarm
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import unscoped
from app.events import audit
from app.events import service as events
from app.extensions import db
from app.geo import service as geo
from app.geo.codes import ancestry, level_of
from app.keys.models import KeyPlace
from app.realtime import rooms
from app.realtime.service import publish
from app.sensors.models import LEVELS, Reading, Rule, Sensor
from app.sensors.rules import highest, level_for, rank
from app.sensors.types import SPECS, read_types

# Who registers sensors and tunes their sites' rules: the township centre and admins.
WRITERS = frozenset({Role.TOWNSHIP_DISPATCHER, Role.ADMIN})
# Devices' clocks drift; a reading further in the future than this is a mistake.
CLOCK_SKEW = timedelta(minutes=10)
# Older readings are refused: a warning about last month helps nobody, and windows are short.
MAX_AGE = timedelta(days=30)
LEVEL_NAMES_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
_UUID_NAMESPACE = uuid.UUID("6f1c2a4e-5b1d-4c55-9a53-2f1e0c7d9b10")


# -- types and rules ----------------------------------------------------------------------


def load_rules(path: Path | None = None) -> dict[str, int]:
    """Insert the types' default rules that are missing; rules already there (perhaps tuned
    by an admin) are left alone. Returns counts."""
    types = read_types(path) if path else SPECS
    counts = {"created": 0, "kept": 0}
    with unscoped():
        for spec in types.values():
            for raw in spec.rules:
                existing = db.session.scalar(
                    select(Rule).where(
                        Rule.type == spec.code, Rule.sensor_id.is_(None), Rule.kind == raw["kind"]
                    )
                )
                if existing is not None:
                    counts["kept"] += 1
                    continue
                db.session.add(Rule(type=spec.code, **{k: raw.get(k) for k in _RULE_FIELDS}))
                counts["created"] += 1
        db.session.flush()
    return counts


_RULE_FIELDS = ("kind", "window_hours", *LEVELS)


def rules_in_force(sensor: Sensor) -> list[Rule]:
    """The active rules for a sensor: its site's own rule of a kind replaces its type's."""
    with unscoped():
        found = db.session.scalars(
            select(Rule)
            .where(
                Rule.type == sensor.type,
                Rule.active.is_(True),
                (Rule.sensor_id.is_(None)) | (Rule.sensor_id == sensor.id),
            )
            .order_by(Rule.sensor_id.is_(None), Rule.id)
        ).all()
    chosen: dict[str, Rule] = {}
    for rule in found:  # site rules first, so they win
        chosen.setdefault(rule.kind, rule)
    return sorted(chosen.values(), key=lambda r: r.kind)


def _check_thresholds(values: dict) -> None:
    numbers = [values[level] for level in LEVELS]
    if any(a >= b for a, b in zip(numbers, numbers[1:], strict=False)):
        raise ValidationFailed(
            "阈值须满足 蓝 < 黄 < 橙 < 红", code="thresholds_not_increasing", thresholds=values
        )
    if (values.get("kind") == "rate") != bool(values.get("window_hours")):
        raise ValidationFailed(
            "变化速率规则须填写时间窗口（小时），阈值规则不填", code="window_mismatch"
        )


def list_rules(*, sensor_id: int | None = None, type: str | None = None) -> list[Rule]:
    """Type rules, and the site rules of sensors I can see (one sensor's with sensor_id)."""
    visible = select(Sensor.id)
    stmt = select(Rule).where(Rule.sensor_id.is_(None) | Rule.sensor_id.in_(visible))
    if sensor_id is not None:
        stmt = stmt.where((Rule.sensor_id == sensor_id) | Rule.sensor_id.is_(None))
        stmt = stmt.where(Rule.type == get_sensor(sensor_id=sensor_id).type)
    if type:
        stmt = stmt.where(Rule.type == type)
    return list(db.session.scalars(stmt.order_by(Rule.type, Rule.sensor_id, Rule.kind, Rule.id)))


def create_rule(*, principal: Principal, fields: dict) -> Rule:
    """A site's override of its type's rule (sensor_id), or a type's rule (city admins)."""
    sensor_id = fields.pop("sensor_id", None)
    if sensor_id is not None:
        sensor = get_sensor(sensor_id=sensor_id)
        fields["type"] = sensor.type
    elif not (principal.role == Role.ADMIN and principal.scope.everything):
        raise Forbidden("设备类型的默认规则只能由市级管理员设置", code="action_forbidden")
    elif not fields.get("type"):
        raise ValidationFailed("请指定设备类型或设备", code="type_required")
    _check_thresholds(fields)
    taken = db.session.scalar(
        select(Rule.id).where(
            Rule.type == fields["type"],
            Rule.kind == fields["kind"],
            Rule.active.is_(True),
            Rule.sensor_id.is_(None) if sensor_id is None else Rule.sensor_id == sensor_id,
        )
    )
    if taken is not None:
        raise Conflict("该类规则已存在，请修改原规则", code="rule_exists", rule_id=taken)
    rule = Rule(sensor_id=sensor_id, updated_by=principal.user_id, **fields)
    db.session.add(rule)
    db.session.flush()
    return rule


def update_rule(*, principal: Principal, rule_id: int, changes: dict) -> Rule:
    """Change thresholds, window or active; a type's rule only by city admins."""
    rule = db.session.get(Rule, rule_id)
    if rule is not None and rule.sensor_id is not None:
        get_sensor(sensor_id=rule.sensor_id)  # 404 when the site is outside my scope
    if rule is None:
        raise NotFound("找不到该预警规则", code="rule_not_found")
    if rule.sensor_id is None and not (principal.role == Role.ADMIN and principal.scope.everything):
        raise Forbidden("设备类型的默认规则只能由市级管理员修改", code="action_forbidden")
    merged = {k: changes.get(k, getattr(rule, k)) for k in _RULE_FIELDS}
    _check_thresholds(merged)
    for key, value in changes.items():
        setattr(rule, key, value)
    rule.updated_by = principal.user_id
    db.session.flush()
    return rule


# -- sensors --------------------------------------------------------------------------------


def _hash(secret: str) -> str:
    # Secrets are 32 random bytes: a plain SHA-256 is enough (no dictionary to guess from).
    return hashlib.sha256(secret.encode()).hexdigest()


def get_detail(*, sensor_id: int) -> Sensor:
    """One sensor with the rules in force for it (the chart draws their thresholds)."""
    sensor = get_sensor(sensor_id=sensor_id)
    sensor.rules_in_force = rules_in_force(sensor)
    return sensor


def get_sensor(*, sensor_id: int, for_update: bool = False) -> Sensor:
    """One sensor the caller may see."""
    stmt = select(Sensor).where(Sensor.id == sensor_id)
    if for_update and db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Sensor)
    sensor = db.session.scalars(stmt).first()
    if sensor is None:
        raise NotFound("找不到该监测设备", code="sensor_not_found")
    return sensor


def _authorize_write(principal: Principal) -> None:
    if principal.role not in WRITERS:
        raise Forbidden("您的角色无权管理监测设备", code="role_forbidden")


def _place(sensor: Sensor, location: dict, *, scoped: bool = True) -> None:
    lon, lat = location["coordinates"]
    found = geo.locate(lon=lon, lat=lat, system=location.get("crs", geo.CRS_WGS84), scoped=scoped)
    sensor.lon, sensor.lat = found.lon, found.lat
    sensor.point = shapely.Point(found.lon, found.lat)
    sensor.location_snapped = found.snapped
    for key, value in ancestry(str(found.grid_id)).items():
        setattr(sensor, key, value)


def _key_place(key_place_id: int | None) -> int | None:
    if key_place_id is None:
        return None
    if db.session.scalar(select(KeyPlace.id).where(KeyPlace.id == key_place_id)) is None:
        raise NotFound("找不到该重点场所", code="key_place_not_found")
    return key_place_id


def register(*, principal: Principal | None, fields: dict) -> tuple[Sensor, str]:
    """Register a device at a point in my scope; returns it and its secret (shown only now)."""
    if principal is not None:
        _authorize_write(principal)
    code = fields.get("code") or f"S-{secrets.token_hex(4).upper()}"
    with unscoped():
        taken = db.session.scalar(select(Sensor.id).where(Sensor.code == code))
    if taken is not None:
        raise Conflict("设备编号已被使用", code="sensor_code_taken", sensor_code=code)
    secret = secrets.token_urlsafe(32)
    sensor = Sensor(
        code=code,
        secret_hash=_hash(secret),
        type=fields["type"],
        name=fields["name"],
        key_place_id=_key_place(fields.get("key_place_id")),
        registered_by=principal.user_id if principal else None,
    )
    _place(sensor, fields["location"])
    db.session.add(sensor)
    db.session.flush()
    return sensor, secret


def update(*, principal: Principal, sensor_id: int, changes: dict) -> Sensor:
    """Rename, move (re-deriving its grid), link to a key place, or switch a sensor off."""
    _authorize_write(principal)
    sensor = get_sensor(sensor_id=sensor_id, for_update=True)
    if "location" in changes:
        _place(sensor, changes.pop("location"))
    if "key_place_id" in changes:
        sensor.key_place_id = _key_place(changes.pop("key_place_id"))
    for key, value in changes.items():
        setattr(sensor, key, value)
    db.session.flush()
    return sensor


def _area_filter(code: str):
    try:
        level = level_of(code)
    except ValueError:
        raise ValidationFailed("区域代码无效", code="bad_area", area=code) from None
    return None if level == "city" else getattr(Sensor, f"{level}_id") == int(code)


def list_sensors(*, filters: dict) -> Page:
    """Sensors in my scope, those warning first (highest level first), then by name."""
    stmt = select(Sensor)
    if filters.get("type"):
        stmt = stmt.where(Sensor.type == filters["type"])
    if filters.get("warning") is not None:
        stmt = stmt.where(
            Sensor.level.is_not(None) if filters["warning"] else Sensor.level.is_(None)
        )
    if filters.get("active") is not None:
        stmt = stmt.where(Sensor.active.is_(filters["active"]))
    if filters.get("key_place_id"):
        stmt = stmt.where(Sensor.key_place_id == filters["key_place_id"])
    if filters.get("area"):
        condition = _area_filter(filters["area"])
        if condition is not None:
            stmt = stmt.where(condition)
    severity = case({level: rank(level) for level in LEVELS}, value=Sensor.level, else_=0)
    stmt = stmt.order_by(severity.desc(), Sensor.name, Sensor.id)
    return paginate(stmt, page=filters["page"], page_size=filters["page_size"])


def readings(
    *,
    sensor_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    max_points: int = 500,
) -> dict:
    """A sensor's readings over [start, end) (default: the last 24 h), thinned to max_points.

    Thinned by equal time buckets keeping each bucket's highest value (and its lowest as
    `min`): a chart of a week must still show the peak that raised the warning.
    """
    sensor = get_sensor(sensor_id=sensor_id)
    end = end or utcnow()
    start = start or end - timedelta(hours=24)
    if start >= end:
        raise ValidationFailed("起始时间须早于结束时间", code="bad_range")
    if end - start > timedelta(days=31):
        raise ValidationFailed("查询时段不能超过 31 天", code="range_too_long")
    rows = db.session.execute(
        select(Reading.at, Reading.value)
        .where(Reading.sensor_id == sensor.id, Reading.at >= start, Reading.at < end)
        .order_by(Reading.at)
    ).all()
    total = len(rows)
    if total <= max_points:
        items = [{"at": at, "value": value, "min": value} for at, value in rows]
    else:
        span = (end - start) / max_points
        buckets: dict[int, dict] = {}
        for at, value in rows:
            slot = min(int((at - start) / span), max_points - 1)
            bucket = buckets.get(slot)
            if bucket is None:
                buckets[slot] = {"at": at, "value": value, "min": value}
            else:
                if value > bucket["value"]:
                    bucket["value"], bucket["at"] = value, at
                bucket["min"] = min(bucket["min"], value)
        items = [buckets[k] for k in sorted(buckets)]
    return {
        "sensor_id": sensor.id,
        "from": start,
        "to": end,
        "total": total,
        "downsampled": total > max_points,
        "items": items,
    }


# -- ingest ---------------------------------------------------------------------------------


def authenticate_device(header: str | None) -> Sensor:
    """The sensor a request's `Authorization: Device <code>:<secret>` names, or 401."""
    scheme, _, credential = (header or "").partition(" ")
    code, _, secret = credential.strip().partition(":")
    if scheme.lower() != "device" or not code or not secret:
        raise Unauthorized(
            "请使用设备凭据（Authorization: Device 编号:密钥）", code="device_unauthorized"
        )
    with unscoped():
        sensor = db.session.scalar(select(Sensor).where(Sensor.code == code[:40]))
    # Compare even when the device is unknown, so timing does not tell which codes exist.
    expected = sensor.secret_hash if sensor is not None else "0" * 64
    if not hmac.compare_digest(expected, _hash(secret)) or sensor is None:
        raise Unauthorized("设备编号或密钥错误", code="device_unauthorized")
    if not sensor.active:
        raise Forbidden("该设备已停用", code="sensor_inactive")
    return sensor


def ingest(*, sensor: Sensor, readings: list[dict], rejected: list[dict]) -> dict:
    """Store a device's batch once per (sensor, at) and evaluate its rules.

    `rejected` carries the items the schema refused (index, errors): they are reported back
    beside the accepted and duplicate ones, and the good items are kept regardless.
    """
    now = utcnow()
    rejected = list(rejected)
    rows, indexes = [], []
    for item in readings:
        at, value = item["at"], item["value"]
        if at > now + CLOCK_SKEW:
            rejected.append(_reject(item, "reading_in_future", "读数时间晚于当前时间"))
        elif at < now - MAX_AGE:
            rejected.append(_reject(item, "reading_too_old", "读数时间早于 30 天前"))
        elif not math.isfinite(value):
            rejected.append(_reject(item, "value_not_finite", "读数不是有效数值"))
        else:
            rows.append({"sensor_id": sensor.id, "at": at, "value": value, "received_at": now})
            indexes.append(item["index"])
    inserted: set[datetime] = set()
    with unscoped():  # a device acts for its own sensor only, whoever's scope it falls in
        if rows:
            insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else None
            stmt = (insert or sqlite_insert)(Reading).values(rows)
            stmt = stmt.on_conflict_do_nothing(index_elements=["sensor_id", "at"])
            inserted = set(db.session.scalars(stmt.returning(Reading.at)))
        accepted, duplicates, seen = [], [], set()
        for index, row in zip(indexes, rows, strict=True):
            if row["at"] in inserted and row["at"] not in seen:
                accepted.append(index)
                seen.add(row["at"])
            else:
                duplicates.append(index)
        warning = evaluate(sensor=sensor) if inserted else _warning(sensor)
        db.session.flush()
    return {
        "sensor_id": sensor.id,
        "accepted": len(accepted),
        "duplicates": len(duplicates),
        "rejected": sorted(rejected, key=lambda r: r["index"]),
        "duplicate_indexes": duplicates,
        "warning": warning,
    }


def _reject(item: dict, code: str, message: str) -> dict:
    return {"index": item["index"], "code": code, "message": message}


# -- evaluation -----------------------------------------------------------------------------


def _measure(sensor: Sensor, rule: Rule, latest: Reading) -> float:
    if rule.kind == "level":
        return latest.value
    since = latest.at - timedelta(hours=rule.window_hours)
    earliest = db.session.scalar(
        select(Reading.value)
        .where(Reading.sensor_id == sensor.id, Reading.at >= since, Reading.at <= latest.at)
        .order_by(Reading.at)
        .limit(1)
    )
    return latest.value - earliest


def evaluate(*, sensor: Sensor) -> dict:
    """Judge a sensor's latest reading against its rules; raise, escalate or clear its warning."""
    latest = db.session.scalars(
        select(Reading).where(Reading.sensor_id == sensor.id).order_by(Reading.at.desc()).limit(1)
    ).first()
    if latest is None:
        return _warning(sensor)
    sensor.last_reading_at, sensor.last_value = latest.at, latest.value
    reached: dict[str, tuple[str, float]] = {}
    for rule in rules_in_force(sensor):
        measure = _measure(sensor, rule, latest)
        level = level_for(measure, rule.thresholds())
        if level is not None:
            reached[rule.kind] = (level, measure)
    level = highest(v[0] for v in reached.values())
    if level is not None:
        sensor.quiet_since = None
        if sensor.level is None:
            _raise(sensor, level, latest, reached)
        elif rank(level) > rank(sensor.level):
            _escalate(sensor, level, latest, reached)
    elif sensor.level is not None:
        sensor.quiet_since = sensor.quiet_since or latest.at
        if latest.at - sensor.quiet_since >= _quiet_period():
            _clear(sensor, latest)
    return _warning(sensor)


def _quiet_period() -> timedelta:
    return timedelta(minutes=float(current_app.config["SENSOR_CLEAR_QUIET_MINUTES"]))


def _warning(sensor: Sensor) -> dict:
    return {
        "level": sensor.level,
        "since": sensor.level_since,
        "event_id": sensor.warning_event_id,
        "alarm_id": sensor.warning_alarm_id,
    }


def _why(reached: dict[str, tuple[str, float]], unit: str) -> str:
    parts = []
    for kind, (level, measure) in sorted(reached.items()):
        what = "读数" if kind == "level" else "时间窗口内变化"
        parts.append(f"{what} {measure:.2f}{unit}（{LEVEL_NAMES_ZH[level]}）")
    return "；".join(parts)


def _rooms(sensor: Sensor) -> list[str]:
    places = (sensor.grid_id, sensor.village_id, sensor.township_id, sensor.district_id)
    return [*(rooms.area(p) for p in places if p), rooms.CITY]


def _push(kind: str, sensor: Sensor, latest: Reading) -> None:
    payload = {
        "sensor_id": sensor.id,
        "name": sensor.name,
        "type": sensor.type,
        "level": sensor.level,
        "value": latest.value,
        "at": latest.at.isoformat(),
        "event_id": sensor.warning_event_id,
    }
    publish(kind, payload, _rooms(sensor), event_id=sensor.warning_event_id)


def _raise(sensor: Sensor, level: str, latest: Reading, reached: dict) -> None:
    spec = SPECS[sensor.type]
    text = (
        f"【监测预警】{sensor.name}（{spec.name_zh} {sensor.code}）{LEVEL_NAMES_ZH[level]}预警："
        f"{_why(reached, spec.unit)}"
    )
    event, _ = events.report(
        principal=None,
        data=events.Report(
            # One event per crossing even if the same batch is evaluated twice.
            client_uuid=uuid.uuid5(_UUID_NAMESPACE, f"{sensor.id}:{latest.at.isoformat()}"),
            description=text,
            lon=sensor.lon,
            lat=sensor.lat,
            occurred_at=latest.at,
            subcategory=spec.subcategory,
            key_place_id=sensor.key_place_id,
            source="sensor",
        ),
    )
    # An emergency subcategory raised its flashing alarm when reported; otherwise we raise one.
    alarm = db.session.scalar(select(Alarm).where(Alarm.event_id == event.id))
    if alarm is None:
        alarm = console.raise_alarm(event, source="sensor", title=text[:200]) or db.session.scalar(
            select(Alarm).where(Alarm.event_id == event.id)  # a concurrent batch raised it
        )
    sensor.level, sensor.level_since, sensor.quiet_since = level, latest.at, None
    sensor.warning_event_id, sensor.warning_alarm_id = event.id, alarm.id
    audit.note(event, actor=None, action="sensor_warning", reason=text, data=_note(sensor, latest))
    _push("sensor_warning", sensor, latest)


def _note(sensor: Sensor, latest: Reading) -> dict:
    return {
        "sensor_id": sensor.id,
        "level": sensor.level,
        "value": latest.value,
        "at": latest.at.isoformat(),
    }


def _warning_event(sensor: Sensor):
    return events.get_event(event_id=sensor.warning_event_id, for_update=True)


def _escalate(sensor: Sensor, level: str, latest: Reading, reached: dict) -> None:
    before = sensor.level
    sensor.level = level
    spec = SPECS[sensor.type]
    reason = (
        f"预警升级：{LEVEL_NAMES_ZH[before]} → {LEVEL_NAMES_ZH[level]}；{_why(reached, spec.unit)}"
    )
    if sensor.warning_event_id:
        audit.note(
            _warning_event(sensor),
            actor=None,
            action="sensor_escalated",
            reason=reason,
            data={**_note(sensor, latest), "from_level": before},
        )
    _push("sensor_escalated", sensor, latest)


def _clear(sensor: Sensor, latest: Reading) -> None:
    before = sensor.level
    if sensor.warning_event_id:
        audit.note(
            _warning_event(sensor),
            actor=None,
            action="sensor_cleared",
            reason=f"监测读数已恢复正常（{LEVEL_NAMES_ZH[before]}预警解除）",
            data={**_note(sensor, latest), "from_level": before},
        )
    alarm = db.session.get(Alarm, sensor.warning_alarm_id) if sensor.warning_alarm_id else None
    if alarm is not None and alarm.acknowledged_at is None:
        # The condition is over: the banner need not wait for someone to acknowledge it.
        alarm.acknowledged_at, alarm.escalate_at = utcnow(), None
        alarm.acknowledge_note = "监测读数恢复正常，自动解除"
        console.publish_alarm("alarm_acknowledged", alarm)
    sensor.level = None
    _push("sensor_cleared", sensor, latest)
    sensor.level_since = sensor.quiet_since = None
    sensor.warning_event_id = sensor.warning_alarm_id = None

"""Role × endpoint × scope: every API endpoint, every demo role, resources inside and outside
the caller's scope. Expectations come from an oracle written here from the rules in the
issue (who belongs where), not from the app's own scope code.

Every endpoint under /api/v1 must appear in MATRIX or SELF_SERVICE; a new endpoint that
does not join the matrix fails test_every_endpoint_is_in_the_matrix.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from app.accounts.models import Department, User
from app.geo.models import Area

# Three grids: the demo worker's own, another village of the demo township, another township.
A1 = "500103003013001"  # 解放碑街道 · 民生路社区 (the demo worker's grid)
A2 = "500103003016001"  # 解放碑街道 · 莲花池社区
B = "500103001003001"  # 七星岗街道 · 华一坡社区
GRIDS = {"A1": A1, "A2": A2, "B": B}

# The oracle: what each demo account may see, by code prefix (or exact grid for the worker).
SEES: dict[str, Callable[[str], bool]] = {
    "demo_worker": lambda code: code in {A1, "500103003013002"},
    "demo_leader": lambda code: code.startswith("500103003013"),
    "demo_village": lambda code: code.startswith("500103003013"),
    "demo_dispatcher": lambda code: code.startswith("500103003"),
    "demo_board_party": lambda code: code.startswith("500103003"),
    "demo_board_economy": lambda code: code.startswith("500103003"),
    "demo_board_livelihood": lambda code: code.startswith("500103003"),
    "demo_board_safety": lambda code: code.startswith("500103003"),
    "demo_supervisor_township": lambda code: code.startswith("500103003"),
    "demo_dept_cg": lambda code: code.startswith("500103"),
    "demo_supervisor_district": lambda code: code.startswith("500103"),
    "demo_supervisor_city": lambda code: True,
    "demo_admin": lambda code: True,
}
USERS = sorted(SEES)
# A department elsewhere: only city-wide accounts may see it.
FOREIGN_DEPARTMENT = "500104-CG"


@dataclass
class World:
    points: dict[str, tuple[float, float]]
    homed_users: dict[str, int]  # one grid worker homed at each grid
    events: dict[str, int]  # one event in each grid, dispatched to 渝中区城管 (demo_dept_cg)
    attachments: dict[str, int]  # one photo on each event
    targets: dict[str, int]  # one supervision target on each event
    alarms: dict[str, int] = field(default_factory=dict)  # one alarm on each event
    pins: dict[str, int] = field(default_factory=dict)  # one pin on each event
    summons: dict[str, int] = field(default_factory=dict)  # 城管 whistled to each event
    key_persons: dict[str, int] = field(default_factory=dict)  # one key person in each grid
    key_places: dict[str, int] = field(default_factory=dict)  # one key place in each grid
    # Dispatch rules: city-wide, 渝中区, and the townships of grids A (A1, A2) and B.
    rules: dict[str, int] = field(default_factory=dict)
    # Duty roster: per centre (A, B), a running shift and per matrix user a future shift and a
    # handover of their own to delete or take over.
    duty: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(session) -> World:
    from app.accounts.service import create_user
    from app.console.models import Alarm, Pin
    from app.core.db import utcnow
    from app.core.scope import unscoped
    from app.events.attachments import storage
    from app.events.models import Attachment, Event
    from app.events.service import Report, report
    from app.supervision.models import SupervisionNotice, SupervisionTarget

    with unscoped():
        points = {}
        for key, code in GRIDS.items():
            area = session.get(Area, int(code))
            point = area.geom.representative_point()
            points[key] = (point.x, point.y)
        homed = {
            key: create_user(
                username=f"matrix_{key.lower()}",
                password="Matrix-2026-pw",
                role="grid_worker",
                node=code,
            ).id
            for key, code in GRIDS.items()
        }
        session.add(
            Department(
                code=FOREIGN_DEPARTMENT,
                name="大渡口区城市管理局",
                short_name="城管",
                kind="CG",
                district_id=500104000000,
            )
        )
        session.flush()
        events, attachments = {}, {}
        for key, (lon, lat) in points.items():
            event, _ = report(
                principal=None,
                data=Report(
                    client_uuid=uuid.uuid4(),
                    description=f"矩阵测试井盖缺失 {key}",
                    lon=lon,
                    lat=lat,
                    subcategory="MUNICIPAL_MANHOLE",
                    source="console",
                ),
            )
            events[key] = event.id
            attachment = Attachment(
                uploader_id=homed[key],
                event_id=event.id,
                storage_key=storage().put(f"photo {key}".encode(), content_type="image/jpeg"),
                mime="image/jpeg",
                size=7,
                width=1,
                height=1,
                sha256="0" * 64,
                original_sha256=f"{key:0>64}",
            )
            session.add(attachment)
            session.flush()
            attachments[key] = attachment.id
        notice = SupervisionNotice(created_by=homed["A1"], message="矩阵", reply_due_at=utcnow())
        session.add(notice)
        session.flush()
        targets = {}
        for key, event_id in events.items():
            target = SupervisionTarget(
                notice_id=notice.id, event_id=event_id, reply_due_at=notice.reply_due_at
            )
            session.add(target)
            session.flush()
            targets[key] = target.id
        alarms, pins = {}, {}
        for key, event_id in events.items():
            event = session.get(Event, event_id)
            place = {
                c: getattr(event, c)
                for c in ("district_id", "township_id", "village_id", "grid_id")
            }
            alarm = Alarm(event_id=event_id, title=f"矩阵告警 {key}", **place)
            pin = Pin(event_id=event_id, title=f"矩阵置顶 {key}", pinned_by=homed[key], **place)
            session.add_all([alarm, pin])
            session.flush()
            alarms[key], pins[key] = alarm.id, pin.id
        # Whistle 吹哨: 渝中区城管 summoned to each event, its report-in pending.
        from app.whistle.models import Summons, Whistle

        cg = session.scalar(select(Department.id).where(Department.code == "500103-CG"))
        summons = {}
        for key, event_id in events.items():
            whistle = Whistle(
                event_id=event_id,
                created_by=homed[key],
                reason="矩阵吹哨",
                lead_department_id=cg,
                report_in_due_at=utcnow(),
                limit_unit="working_hours",
                limit_amount=2,
            )
            whistle.summons.append(
                Summons(event_id=event_id, department_id=cg, report_in_due_at=utcnow())
            )
            session.add(whistle)
            session.flush()
            summons[key] = whistle.summons[0].id
        # Key persons and places 重点对象: one of each in each grid.
        from app.core.db import utcnow as _now
        from app.geo.codes import ancestry
        from app.keys.models import KeyPerson, KeyPlace
        from app.keys.service import load_kinds

        load_kinds()
        key_persons, key_places = {}, {}
        for key, code in GRIDS.items():
            common = {"visit_interval_days": 7, "next_visit_due_at": _now(), **ancestry(code)}
            person = KeyPerson(kind_code="elderly_alone", name=f"矩阵老人 {key}", **common)
            lon, lat = points[key]
            spot = KeyPlace(
                kind_code="hazardous_rock", name=f"矩阵危岩 {key}", lon=lon, lat=lat, **common
            )
            session.add_all([person, spot])
            session.flush()
            key_persons[key], key_places[key] = person.id, spot.id
        # Dispatch rules, one per place a rule can name (written last: events are routed).
        from app.dispatch.models import DispatchRule

        rules = {}
        for key, area in RULE_AREAS.items():
            rule = DispatchRule(
                position=100,
                subcategory_code="MUNICIPAL_MANHOLE",
                area_id=None if area is None else int(area),
                handling_level="department",
                department_kind="CG",
                note=f"矩阵规则 {key}",
            )
            session.add(rule)
            session.flush()
            rules[key] = rule.id
        duty = _duty_world(session, USERS)
    return World(
        points,
        homed,
        events,
        attachments,
        targets,
        alarms,
        pins,
        summons=summons,
        key_persons=key_persons,
        key_places=key_places,
        rules=rules,
        duty=duty,
    )


def _grid_items(response) -> set[str]:
    return (
        {item["code"] for item in response.json.get("items", [])}
        if response.status_code == 200
        else set()
    )


# Each case: method, how to call it for resource key K, and whether the call observed K.
# `roles` limits who may call at all; others must get 403 role_forbidden.
@dataclass
class Case:
    call: Callable
    observed: Callable
    roles: frozenset[str] | None = None
    resources: tuple[str, ...] = ("A1", "A2", "B")
    oracle: Callable[[str, str], bool] | None = None  # (user, key) → visible, else SEES on GRIDS


def _visible_grid(user: str, key: str) -> bool:
    return SEES[user](GRIDS[key])


ADMIN = frozenset({"demo_admin"})
MATRIX: dict[tuple[str, str], Case] = {
    ("GET", "/api/v1/areas/<code>"): Case(
        call=lambda a, u, w, k: a.get(u, f"/api/v1/areas/{GRIDS[k]}"),
        observed=lambda r, w, k: r.status_code == 200 and r.json["code"] == GRIDS[k],
    ),
    ("GET", "/api/v1/areas/<code>/children"): Case(
        call=lambda a, u, w, k: a.get(u, f"/api/v1/areas/{GRIDS[k][:12]}/children"),
        observed=lambda r, w, k: GRIDS[k] in _grid_items(r),
    ),
    ("GET", "/api/v1/areas"): Case(
        call=lambda a, u, w, k: a.get(u, f"/api/v1/areas?q={GRIDS[k]}"),
        observed=lambda r, w, k: GRIDS[k] in _grid_items(r),
    ),
    ("GET", "/api/v1/geo/locate"): Case(
        call=lambda a, u, w, k: a.get(u, "/api/v1/geo/locate?lon={}&lat={}".format(*w.points[k])),
        observed=lambda r, w, k: r.status_code == 200 and r.json["grid"]["code"] == GRIDS[k],
    ),
    ("POST", "/api/v1/geo/locate"): Case(
        call=lambda a, u, w, k: a.post(
            u,
            "/api/v1/geo/locate",
            json={"points": [{"lon": w.points[k][0], "lat": w.points[k][1]}]},
        ),
        observed=lambda r, w, k: (
            (r.json["results"][0].get("result") or {}).get("grid", {}).get("code") == GRIDS[k]
        ),
    ),
    ("GET", "/api/v1/users"): Case(
        call=lambda a, u, w, k: a.get(u, f"/api/v1/users?q=matrix_{k.lower()}"),
        observed=lambda r, w, k: r.status_code == 200 and len(r.json["items"]) == 1,
        roles=ADMIN,
    ),
    ("GET", "/api/v1/users/<id:user_id>"): Case(
        call=lambda a, u, w, k: a.get(u, f"/api/v1/users/{w.homed_users[k]}"),
        observed=lambda r, w, k: r.status_code == 200,
        roles=ADMIN,
    ),
    ("POST", "/api/v1/users"): Case(
        call=lambda a, u, w, k: a.post(
            u,
            "/api/v1/users",
            json={
                "username": f"new_{u}_{k}",
                "password": "New-user-2026",
                "role": "grid_worker",
                "node": GRIDS[k],
            },
        ),
        observed=lambda r, w, k: r.status_code == 201,
        roles=ADMIN,
    ),
    ("POST", "/api/v1/users/<id:user_id>/unlock"): Case(
        call=lambda a, u, w, k: a.post(u, f"/api/v1/users/{w.homed_users[k]}/unlock"),
        observed=lambda r, w, k: r.status_code == 200,
        roles=ADMIN,
    ),
    ("POST", "/api/v1/users/<id:user_id>/revoke-tokens"): Case(
        call=lambda a, u, w, k: a.post(u, f"/api/v1/users/{w.homed_users[k]}/revoke-tokens"),
        observed=lambda r, w, k: r.status_code == 200,
        roles=ADMIN,
    ),
    ("GET", "/api/v1/departments"): Case(
        call=lambda a, u, w, k: a.get(u, "/api/v1/departments?page_size=500"),
        observed=lambda r, w, k: (
            (FOREIGN_DEPARTMENT if k == "other" else "500103-CG")
            in {d["code"] for d in r.json["items"]}
        ),
        resources=("own", "other"),
        oracle=lambda user, k: k == "own" or SEES[user]("500104000000"),
    ),
}

REPORTERS = frozenset(
    {"demo_worker", "demo_leader", "demo_village", "demo_dispatcher", "demo_admin"}
)
MATRIX.update(
    {
        ("GET", "/api/v1/events"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/events?page_size=500"),
            observed=lambda r, w, k: w.events[k] in {e["id"] for e in r.json["items"]},
        ),
        ("GET", "/api/v1/events/<id:event_id>"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/events/{w.events[k]}"),
            observed=lambda r, w, k: r.status_code == 200,
        ),
        ("GET", "/api/v1/events/<id:event_id>/timeline"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/events/{w.events[k]}/timeline"),
            observed=lambda r, w, k: r.status_code == 200 and len(r.json["items"]) >= 1,
        ),
        # Visible events answer 409 (not allowed in this state) or 403 (not your role); others 404.
        ("POST", "/api/v1/events/<id:event_id>/actions"): Case(
            call=lambda a, u, w, k: a.post(
                u, f"/api/v1/events/{w.events[k]}/actions", json={"action": "file"}
            ),
            observed=lambda r, w, k: r.status_code in (403, 409),
        ),
        ("GET", "/api/v1/events/nearby"): Case(
            call=lambda a, u, w, k: a.get(
                u, "/api/v1/events/nearby?lon={}&lat={}&radius_m=5".format(*w.points[k])
            ),
            observed=lambda r, w, k: w.events[k] in {i["event"]["id"] for i in r.json["items"]},
        ),
        # Correcting a category is triage's job; other roles are refused before the scope check.
        ("POST", "/api/v1/events/<id:event_id>/category"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                f"/api/v1/events/{w.events[k]}/category",
                json={"subcategory": "MUNICIPAL_MANHOLE"},
            ),
            observed=lambda r, w, k: r.status_code == 200,
            roles=frozenset({"demo_dispatcher", "demo_admin"}),
        ),
        # Supervisors supervise what they can see: the event is in the notice or refused (422).
        ("POST", "/api/v1/supervisions"): Case(
            call=lambda a, u, w, k: a.post(
                u, "/api/v1/supervisions", json={"event_ids": [w.events[k]], "message": "矩阵督办"}
            ),
            observed=lambda r, w, k: r.status_code == 201,
            roles=frozenset(
                {
                    "demo_supervisor_township",
                    "demo_supervisor_district",
                    "demo_supervisor_city",
                    "demo_admin",
                }
            ),
        ),
        ("GET", "/api/v1/supervisions/targets"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/supervisions/targets?pending=false"),
            observed=lambda r, w, k: w.targets[k] in {t["id"] for t in r.json["items"]},
        ),
        # Visible targets answer 403 (not the handler) or 200; invisible ones 404.
        ("POST", "/api/v1/supervisions/targets/<id:target_id>/reply"): Case(
            call=lambda a, u, w, k: a.post(
                u, f"/api/v1/supervisions/targets/{w.targets[k]}/reply", json={"reply": "矩阵回复"}
            ),
            observed=lambda r, w, k: r.status_code in (200, 403),
        ),
        # Anyone who reports may report anywhere (what they saw may lie beyond their grids).
        ("POST", "/api/v1/events"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                "/api/v1/events",
                json={
                    "client_uuid": str(uuid.uuid4()),
                    "description": "矩阵测试路灯不亮",
                    "location": {"type": "Point", "coordinates": list(w.points[k])},
                },
            ),
            observed=lambda r, w, k: r.status_code == 201,
            roles=REPORTERS,
            oracle=lambda user, k: True,
        ),
        ("GET", "/api/v1/attachments/<id:attachment_id>"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/attachments/{w.attachments[k]}"),
            observed=lambda r, w, k: r.status_code == 200,
        ),
        ("GET", "/api/v1/attachments/<id:attachment_id>/content"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/attachments/{w.attachments[k]}/content"),
            observed=lambda r, w, k: r.status_code == 200 and r.data == f"photo {k}".encode(),
        ),
        # The taxonomy is city-wide reference data: readable by all, changed by city admins.
        ("GET", "/api/v1/categories"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/categories"),
            observed=lambda r, w, k: len(r.json["items"]) == 13,
            resources=("city",),
            oracle=lambda user, k: True,
        ),
        ("PATCH", "/api/v1/categories/subcategories/<code>"): Case(
            call=lambda a, u, w, k: a.request(
                u, "PATCH", "/api/v1/categories/subcategories/OTHER_MISC", json={"priority": 4}
            ),
            observed=lambda r, w, k: r.status_code == 200,
            roles=ADMIN,
            resources=("city",),
            oracle=lambda user, k: True,
        ),
    }
)

CONSOLE = frozenset(
    {
        "demo_dispatcher",
        "demo_supervisor_township",
        "demo_supervisor_district",
        "demo_supervisor_city",
        "demo_admin",
    }
)
MATRIX.update(
    {
        # Pushes reach the rooms of the places whose scope holds the event.
        ("GET", "/api/v1/realtime/messages"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/realtime/messages"),
            observed=lambda r, w, k: w.events[k] in {m["event_id"] for m in r.json["messages"]},
        ),
        ("GET", "/api/v1/alarms"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/alarms?page_size=500"),
            observed=lambda r, w, k: w.alarms[k] in {i["id"] for i in r.json["items"]},
        ),
        ("POST", "/api/v1/alarms/<id:alarm_id>/acknowledge"): Case(
            call=lambda a, u, w, k: a.post(u, f"/api/v1/alarms/{w.alarms[k]}/acknowledge", json={}),
            observed=lambda r, w, k: r.status_code == 200,
            roles=CONSOLE,
        ),
        ("GET", "/api/v1/pins"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/pins?page_size=500"),
            observed=lambda r, w, k: w.pins[k] in {i["id"] for i in r.json["items"]},
        ),
        ("POST", "/api/v1/pins"): Case(
            call=lambda a, u, w, k: a.post(u, "/api/v1/pins", json={"event_id": w.events[k]}),
            observed=lambda r, w, k: r.status_code == 201,
            roles=CONSOLE,
        ),
        ("POST", "/api/v1/pins/<id:pin_id>/acknowledge"): Case(
            call=lambda a, u, w, k: a.post(u, f"/api/v1/pins/{w.pins[k]}/acknowledge"),
            observed=lambda r, w, k: r.status_code == 200,
            roles=CONSOLE,
        ),
    }
)

# Whistle 吹哨, report-in 报到, co-handling 协同: scoped through the event.
CG_DEPARTMENT = "500103-CG"


def _cg_id() -> int:
    from app.core.scope import unscoped
    from app.extensions import db

    with unscoped():
        return db.session.scalar(select(Department.id).where(Department.code == CG_DEPARTMENT))


TRIAGE = frozenset({"demo_dispatcher", "demo_admin"})
MATRIX.update(
    {
        ("POST", "/api/v1/events/<id:event_id>/whistle"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                f"/api/v1/events/{w.events[k]}/whistle",
                json={"department_ids": [_cg_id()], "reason": "矩阵吹哨"},
            ),
            observed=lambda r, w, k: r.status_code == 201,
            roles=TRIAGE,
        ),
        ("GET", "/api/v1/events/<id:event_id>/whistles"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/events/{w.events[k]}/whistles"),
            observed=lambda r, w, k: r.status_code == 200 and len(r.json["items"]) == 1,
        ),
        ("GET", "/api/v1/whistles/summons"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/whistles/summons?page_size=500"),
            observed=lambda r, w, k: w.summons[k] in {s["id"] for s in r.json["items"]},
        ),
        # Only department staff report in, and only for their own department (城管 here).
        ("POST", "/api/v1/whistles/summons/<id:summons_id>/report-in"): Case(
            call=lambda a, u, w, k: a.post(
                u, f"/api/v1/whistles/summons/{w.summons[k]}/report-in", json={"note": "矩阵报到"}
            ),
            observed=lambda r, w, k: r.status_code == 200,
            roles=frozenset({"demo_dept_cg"}),
        ),
        ("GET", "/api/v1/whistles/counts"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/whistles/counts?area={GRIDS[k]}"),
            observed=lambda r, w, k: any(c["summoned"] for c in r.json["items"]),
        ),
        ("GET", "/api/v1/events/<id:event_id>/co-handlers"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/events/{w.events[k]}/co-handlers"),
            observed=lambda r, w, k: r.status_code == 200,
        ),
        ("POST", "/api/v1/events/<id:event_id>/co-handlers"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                f"/api/v1/events/{w.events[k]}/co-handlers",
                json={"units": [{"level": "board", "board": "safety"}]},
            ),
            observed=lambda r, w, k: r.status_code == 200,
            roles=TRIAGE,
        ),
        # Visible events answer 201 (lead unit, co-handler, triage) or 403; others 404.
        ("POST", "/api/v1/events/<id:event_id>/notes"): Case(
            call=lambda a, u, w, k: a.post(
                u, f"/api/v1/events/{w.events[k]}/notes", json={"note": "矩阵进展"}
            ),
            observed=lambda r, w, k: r.status_code in (201, 403),
        ),
    }
)

KEY_WRITERS = frozenset(
    {"demo_worker", "demo_leader", "demo_village", "demo_dispatcher", "demo_admin"}
)


def _key_rows(w: World, subject: str) -> dict[str, int]:
    return w.key_persons if subject == "person" else w.key_places


def _key_cases(subject: str) -> dict:
    """The registry endpoints of one subject (persons or places), for the resource in grid K."""
    base = f"/api/v1/keys/{subject}s"
    one = base + "/<id:row_id>"

    def url(w, k, tail=""):
        return f"{base}/{_key_rows(w, subject)[k]}{tail}"

    def new_row(w, k):
        if subject == "person":
            return {"kind": "elderly_alone", "name": "矩阵新登记", "grid": GRIDS[k]}
        point = {"type": "Point", "coordinates": list(w.points[k])}
        return {"kind": "hazardous_rock", "name": "矩阵新危岩", "location": point}

    return {
        ("GET", base): Case(
            call=lambda a, u, w, k: a.get(u, f"{base}?page_size=500"),
            observed=lambda r, w, k: _key_rows(w, subject)[k] in {i["id"] for i in r.json["items"]},
        ),
        ("POST", base): Case(
            call=lambda a, u, w, k: a.post(u, base, json=new_row(w, k)),
            observed=lambda r, w, k: r.status_code == 201,
            roles=KEY_WRITERS,
        ),
        ("GET", one): Case(
            call=lambda a, u, w, k: a.get(u, url(w, k)),
            observed=lambda r, w, k: r.status_code == 200,
        ),
        ("PATCH", one): Case(
            call=lambda a, u, w, k: a.request(u, "PATCH", url(w, k), json={"address": "矩阵"}),
            observed=lambda r, w, k: r.status_code == 200,
            roles=KEY_WRITERS,
        ),
        ("POST", one + "/deactivate"): Case(
            call=lambda a, u, w, k: a.post(u, url(w, k, "/deactivate"), json={"reason": "矩阵"}),
            observed=lambda r, w, k: r.status_code == 200,
            roles=KEY_WRITERS,
        ),
        # The rows are active: visible ones answer 409 key_active, the others 404.
        ("POST", one + "/reactivate"): Case(
            call=lambda a, u, w, k: a.post(u, url(w, k, "/reactivate")),
            observed=lambda r, w, k: r.status_code == 409,
            roles=KEY_WRITERS,
        ),
        ("GET", one + "/visits"): Case(
            call=lambda a, u, w, k: a.get(u, url(w, k, "/visits")),
            observed=lambda r, w, k: r.status_code == 200,
        ),
        ("POST", one + "/visits"): Case(
            call=lambda a, u, w, k: a.post(u, url(w, k, "/visits"), json={"note": "矩阵走访"}),
            observed=lambda r, w, k: r.status_code == 201,
            roles=KEY_WRITERS,
        ),
    }


MATRIX.update(
    {
        **_key_cases("person"),
        **_key_cases("place"),
        ("GET", "/api/v1/keys/visits/due"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/keys/visits/due?page_size=500"),
            observed=lambda r, w, k: (
                {("person", w.key_persons[k]), ("place", w.key_places[k])}
                <= {(i["subject"], i["id"]) for i in r.json["items"]}
            ),
        ),
        # Kinds are city-wide reference data.
        ("GET", "/api/v1/keys/kinds"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/keys/kinds"),
            observed=lambda r, w, k: len(r.json["items"]) > 0,
            resources=("city",),
            oracle=lambda user, k: True,
        ),
    }
)

# The working calendar is city-wide: everyone reads the days, admins the override table, and
# only the city admin changes it. Dispatch rules are read by admins and dispatchers where they
# can apply (city-wide, the district, the township), edited by admins of their place.
RULE_AREAS = {"city": None, "district": "500103000000", "A": "500103003000", "B": "500103001000"}
RULE_READERS = frozenset({"demo_dispatcher", "demo_admin"})
MATRIX.update(
    {
        ("GET", "/api/v1/calendar/days"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/calendar/days?from=2027-03-01&to=2027-03-07"),
            observed=lambda r, w, k: len(r.json["items"]) == 7,
            resources=("city",),
            oracle=lambda user, k: True,
        ),
        ("GET", "/api/v1/calendar/overrides"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/calendar/overrides?year=2031"),
            observed=lambda r, w, k: r.status_code == 200,
            roles=ADMIN,
            resources=("city",),
            oracle=lambda user, k: True,
        ),
        ("PUT", "/api/v1/calendar/overrides/<day>"): Case(
            call=lambda a, u, w, k: a.request(
                u, "PUT", "/api/v1/calendar/overrides/2031-01-04", json={"workday": True}
            ),
            observed=lambda r, w, k: r.status_code == 200,
            roles=ADMIN,
            resources=("city",),
            oracle=lambda user, k: True,
        ),
        # Declared first, then removed: the second answer is the one judged.
        ("DELETE", "/api/v1/calendar/overrides/<day>"): Case(
            call=lambda a, u, w, k: [
                a.request(u, method, "/api/v1/calendar/overrides/2031-01-05", json=body)
                for method, body in (("PUT", {"workday": True}), ("DELETE", None))
            ][-1],
            observed=lambda r, w, k: r.status_code == 204,
            roles=ADMIN,
            resources=("city",),
            oracle=lambda user, k: True,
        ),
        ("GET", "/api/v1/dispatch/rules"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/dispatch/rules?page_size=500"),
            observed=lambda r, w, k: w.rules[k] in {i["id"] for i in r.json["items"]},
            roles=RULE_READERS,
            resources=tuple(RULE_AREAS),
            oracle=lambda user, k: (
                RULE_AREAS[k] in (None, "500103000000") or SEES[user](RULE_AREAS[k])
            ),
        ),
        ("POST", "/api/v1/dispatch/rules"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                "/api/v1/dispatch/rules",
                json={"area": RULE_AREAS[k], "handling_level": "village", "note": "矩阵"},
            ),
            observed=lambda r, w, k: r.status_code == 201,
            roles=ADMIN,
            resources=tuple(RULE_AREAS),
            oracle=lambda user, k: True,
        ),
        ("PATCH", "/api/v1/dispatch/rules/<id:rule_id>"): Case(
            call=lambda a, u, w, k: a.request(
                u, "PATCH", f"/api/v1/dispatch/rules/{w.rules[k]}", json={"note": "矩阵改"}
            ),
            observed=lambda r, w, k: r.status_code == 200,
            roles=ADMIN,
            resources=tuple(RULE_AREAS),
            oracle=lambda user, k: True,
        ),
        ("DELETE", "/api/v1/dispatch/rules/<id:rule_id>"): Case(
            call=lambda a, u, w, k: a.request(u, "DELETE", f"/api/v1/dispatch/rules/{w.rules[k]}"),
            observed=lambda r, w, k: r.status_code == 204,
            roles=ADMIN,
            resources=tuple(RULE_AREAS),
            oracle=lambda user, k: True,
        ),
        # A preview names the unit's people: only for places in the caller's scope.
        ("POST", "/api/v1/dispatch/rules/preview"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                "/api/v1/dispatch/rules/preview",
                json={
                    "subcategory": "MUNICIPAL_MANHOLE",
                    "location": {"type": "Point", "coordinates": list(w.points[k])},
                },
            ),
            observed=lambda r, w, k: r.status_code == 200 and r.json["rule"]["kind"] == "rule",
            roles=RULE_READERS,
        ),
    }
)

# Evaluation 综合评价 and export: supervisors, administrators and command centres, for the
# places they see (an area outside the scope is not found); exports list only visible events.
EVALUATORS = frozenset(
    {
        "demo_dispatcher",
        "demo_supervisor_township",
        "demo_supervisor_district",
        "demo_supervisor_city",
        "demo_admin",
    }
)


def _exported_ids(response) -> set[int]:
    if response.status_code != 200:
        return set()
    if response.mimetype == "text/csv":
        lines = response.data.decode("utf-8").lstrip("\ufeff").splitlines()[1:]
        return {int(line.split(",", 1)[0]) for line in lines}
    return {f["id"] for f in response.json["features"]}


MATRIX.update(
    {
        ("GET", "/api/v1/evaluation/units"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/evaluation/units?area={GRIDS[k]}"),
            observed=lambda r, w, k: r.status_code == 200,
            roles=EVALUATORS,
        ),
        ("GET", "/api/v1/evaluation/people"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/evaluation/people?area={GRIDS[k]}"),
            observed=lambda r, w, k: r.status_code == 200,
            roles=EVALUATORS,
        ),
        ("GET", "/api/v1/events/export.csv"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/events/export.csv"),
            observed=lambda r, w, k: w.events[k] in _exported_ids(r),
            roles=EVALUATORS,
        ),
        ("GET", "/api/v1/events/export.geojson"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/events/export.geojson"),
            observed=lambda r, w, k: w.events[k] in _exported_ids(r),
            roles=EVALUATORS,
        ),
    }
)

# Monitoring 监测预警: one water-level sensor with a site rule in each grid, made on first use.
SENSOR_WRITERS = frozenset({"demo_dispatcher", "demo_admin"})


def _sensor_world(w: World) -> dict[str, tuple[int, int]]:
    """Per grid key: (sensor id, its site rule's id); created once per world."""
    if not hasattr(w, "sensors"):
        from app.core.scope import unscoped
        from app.extensions import db
        from app.geo.codes import ancestry
        from app.sensors.models import Rule, Sensor

        w.sensors = {}
        with unscoped():
            for key, code in GRIDS.items():
                lon, lat = w.points[key]
                sensor = Sensor(
                    code=f"MATRIX-{key}",
                    secret_hash="0" * 64,
                    type="water_level",
                    name=f"矩阵水位计 {key}",
                    lon=lon,
                    lat=lat,
                    **ancestry(code),
                )
                db.session.add(sensor)
                db.session.flush()
                rule = Rule(
                    type="water_level", sensor_id=sensor.id, kind="level", blue=1, yellow=2,
                    orange=3, red=4,
                )  # fmt: skip
                db.session.add(rule)
                db.session.flush()
                w.sensors[key] = (sensor.id, rule.id)
    return w.sensors


def _sensor_url(w: World, k: str, tail: str = "") -> str:
    return f"/api/v1/sensors/{_sensor_world(w)[k][0]}{tail}"


MATRIX.update(
    {
        ("GET", "/api/v1/sensors"): Case(
            call=lambda a, u, w, k: [_sensor_world(w), a.get(u, "/api/v1/sensors?page_size=500")][
                -1
            ],
            observed=lambda r, w, k: w.sensors[k][0] in {i["id"] for i in r.json["items"]},
        ),
        ("POST", "/api/v1/sensors"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                "/api/v1/sensors",
                json={
                    "type": "smoke",
                    "name": "矩阵烟感",
                    "location": {"type": "Point", "coordinates": list(w.points[k])},
                },
            ),
            observed=lambda r, w, k: r.status_code == 201,
            roles=SENSOR_WRITERS,
        ),
        ("GET", "/api/v1/sensors/<id:sensor_id>"): Case(
            call=lambda a, u, w, k: a.get(u, _sensor_url(w, k)),
            observed=lambda r, w, k: r.status_code == 200,
        ),
        ("PATCH", "/api/v1/sensors/<id:sensor_id>"): Case(
            call=lambda a, u, w, k: a.request(u, "PATCH", _sensor_url(w, k), json={"name": "矩阵"}),
            observed=lambda r, w, k: r.status_code == 200,
            roles=SENSOR_WRITERS,
        ),
        ("GET", "/api/v1/sensors/<id:sensor_id>/readings"): Case(
            call=lambda a, u, w, k: a.get(u, _sensor_url(w, k, "/readings")),
            observed=lambda r, w, k: r.status_code == 200,
        ),
        # Type rules are city-wide reference data; a site rule is seen with its sensor.
        ("GET", "/api/v1/sensors/rules"): Case(
            call=lambda a, u, w, k: [_sensor_world(w), a.get(u, "/api/v1/sensors/rules")][-1],
            observed=lambda r, w, k: w.sensors[k][1] in {i["id"] for i in r.json["items"]},
        ),
        ("POST", "/api/v1/sensors/rules"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                "/api/v1/sensors/rules",
                json={
                    "sensor_id": _sensor_world(w)[k][0],
                    "kind": "rate",
                    "window_hours": 1,
                    "blue": 0.1,
                    "yellow": 0.2,
                    "orange": 0.3,
                    "red": 0.4,
                },
            ),
            observed=lambda r, w, k: r.status_code == 201,
            roles=SENSOR_WRITERS,
        ),
        ("PATCH", "/api/v1/sensors/rules/<id:rule_id>"): Case(
            call=lambda a, u, w, k: a.request(
                u, "PATCH", f"/api/v1/sensors/rules/{_sensor_world(w)[k][1]}", json={"red": 9}
            ),
            observed=lambda r, w, k: r.status_code == 200,
            roles=SENSOR_WRITERS,
        ),
    }
)


# Open311 API keys: admins issue, list and revoke keys of accounts in their scope; each key is
# bound to the grid worker homed in each grid (issued by the city admin for list and revoke).
def _open311_key(a, w, k) -> int:
    response = a.post(
        "demo_admin",
        "/api/v1/open311/keys",
        json={"user_id": w.homed_users[k], "name": f"矩阵 {k}"},
    )
    return response.json["id"]


MATRIX.update(
    {
        ("POST", "/api/v1/open311/keys"): Case(
            call=lambda a, u, w, k: a.post(
                u, "/api/v1/open311/keys", json={"user_id": w.homed_users[k], "name": "矩阵"}
            ),
            observed=lambda r, w, k: r.status_code == 201,
            roles=ADMIN,
        ),
        ("GET", "/api/v1/open311/keys"): Case(
            call=lambda a, u, w, k: (
                _open311_key(a, w, k),
                a.get(u, f"/api/v1/open311/keys?user_id={w.homed_users[k]}"),
            )[-1],
            observed=lambda r, w, k: len(r.json["items"]) == 1,
            roles=ADMIN,
        ),
        ("POST", "/api/v1/open311/keys/<id:key_id>/revoke"): Case(
            call=lambda a, u, w, k: a.post(
                u, f"/api/v1/open311/keys/{_open311_key(a, w, k)}/revoke"
            ),
            observed=lambda r, w, k: r.status_code == 200 and r.json["revoked_at"] is not None,
            roles=ADMIN,
        ),
    }
)

# Endpoints about the caller themselves (or before login): no data of others to scope.
SELF_SERVICE = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/activate"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/password"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/classify"),  # text in, suggestion out: no stored data involved
    ("POST", "/api/v1/attachments"),  # an upload belongs to its uploader until linked
    # A device's own credential, not a user's token: it writes its own sensor's readings.
    ("POST", "/api/v1/sensors/readings"),
}


# Duty roster 24小时值班: centres are townships A (the demo's) and B; what one sees of a centre
# follows the scope oracle on the centre's code.
CENTRES = {"A": "500103003000", "B": "500103001000"}


def _duty_world(session, users) -> dict[str, int]:
    """Per centre: a staff member, a running shift, and per matrix user a future shift and a
    handover written by the staff member (each caller deletes or takes over its own)."""
    from datetime import timedelta

    from app.accounts.service import create_user
    from app.core.db import utcnow
    from app.duty.models import DutyShift, Handover
    from app.geo.codes import ancestry

    now, made = utcnow(), {}
    for key, code in CENTRES.items():
        staff = create_user(
            username=f"matrix_duty_{key.lower()}",
            password="Matrix-2026-pw",
            role="township_dispatcher",
            node=code,
        )
        made[f"staff:{key}"] = staff.id
        place = {"centre_id": int(code), **ancestry(code)}
        running = DutyShift(
            user_id=staff.id,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=8),
            **place,
        )
        session.add(running)
        session.flush()
        made[f"shift:{key}"] = running.id
        for day, user in enumerate(users, start=1):
            start = now + timedelta(days=day)
            future = DutyShift(
                user_id=staff.id, starts_at=start, ends_at=start + timedelta(hours=2), **place
            )
            note = Handover(from_user_id=staff.id, note=f"矩阵交班 {user}", summary={}, **place)
            session.add_all([future, note])
            session.flush()
            made[f"future:{user}:{key}"], made[f"handover:{user}:{key}"] = future.id, note.id
    return made


def _sees_centre(user: str, key: str) -> bool:
    return SEES[user](CENTRES[key])


def _duty_case(call, observed, roles=None) -> Case:
    return Case(
        call=call, observed=observed, roles=roles, resources=("A", "B"), oracle=_sees_centre
    )


def _new_shift(a, u, w, k):
    from datetime import UTC, datetime, timedelta

    # Each caller its own slot, far from the world's shifts.
    start = datetime.now(UTC) + timedelta(days=400 + USERS.index(u))
    body = {
        "centre_id": int(CENTRES[k]),
        "user_id": w.duty[f"staff:{k}"],
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=8)).isoformat(),
    }
    return a.post(u, "/api/v1/duty/shifts", json=body)


MATRIX.update(
    {
        ("GET", "/api/v1/duty/now"): _duty_case(
            lambda a, u, w, k: a.get(u, f"/api/v1/duty/now?centre_id={CENTRES[k]}"),
            lambda r, w, k: (
                r.status_code == 200
                and w.duty[f"shift:{k}"] in {s["id"] for s in r.json["on_duty"]}
            ),
        ),
        ("GET", "/api/v1/duty/staff"): _duty_case(
            lambda a, u, w, k: a.get(u, f"/api/v1/duty/staff?centre_id={CENTRES[k]}"),
            lambda r, w, k: (
                r.status_code == 200 and w.duty[f"staff:{k}"] in {s["id"] for s in r.json["items"]}
            ),
        ),
        ("GET", "/api/v1/duty/shifts"): _duty_case(
            lambda a, u, w, k: a.get(
                u, f"/api/v1/duty/shifts?centre_id={CENTRES[k]}&page_size=100"
            ),
            lambda r, w, k: (
                r.status_code == 200 and w.duty[f"shift:{k}"] in {s["id"] for s in r.json["items"]}
            ),
        ),
        ("POST", "/api/v1/duty/shifts"): _duty_case(
            _new_shift, lambda r, w, k: r.status_code == 201, roles=CONSOLE
        ),
        ("DELETE", "/api/v1/duty/shifts/<id:shift_id>"): _duty_case(
            lambda a, u, w, k: a.request(
                u, "DELETE", f"/api/v1/duty/shifts/{w.duty[f'future:{u}:{k}']}"
            ),
            lambda r, w, k: r.status_code == 204,
            roles=CONSOLE,
        ),
        ("GET", "/api/v1/duty/handovers"): _duty_case(
            lambda a, u, w, k: a.get(
                u, f"/api/v1/duty/handovers?centre_id={CENTRES[k]}&page_size=100"
            ),
            lambda r, w, k: r.status_code == 200 and r.json["total"] > 0,
        ),
        ("POST", "/api/v1/duty/handovers"): _duty_case(
            lambda a, u, w, k: a.post(
                u, "/api/v1/duty/handovers", json={"centre_id": int(CENTRES[k]), "note": "矩阵"}
            ),
            lambda r, w, k: r.status_code == 201,
            roles=CONSOLE,
        ),
        ("POST", "/api/v1/duty/handovers/<id:handover_id>/receive"): _duty_case(
            lambda a, u, w, k: a.post(
                u, f"/api/v1/duty/handovers/{w.duty[f'handover:{u}:{k}']}/receive"
            ),
            lambda r, w, k: r.status_code == 200,
            roles=CONSOLE,
        ),
    }
)


# Checklist dispatch 清单派发: per grid, a checklist the city sent to that grid alone (so who
# sees it follows the grid), its one assignment, and a failed answer carrying the grid's photo.
CHECKLIST_SENDERS = frozenset(
    {
        "demo_dispatcher",
        "demo_village",
        "demo_supervisor_township",
        "demo_supervisor_district",
        "demo_supervisor_city",
        "demo_admin",
    }
)
CHECKLIST_ANSWERERS = frozenset({"demo_worker", "demo_leader", "demo_village"})


def _checklist_world(w: World) -> dict[str, tuple[int, int]]:
    """Per grid key: (checklist id, assignment id); created once per world."""
    if not hasattr(w, "checklists"):
        from datetime import timedelta

        from app.checklists.models import (
            Checklist,
            ChecklistAnswer,
            ChecklistAssignment,
            ChecklistItem,
        )
        from app.core.db import utcnow
        from app.core.scope import unscoped
        from app.extensions import db
        from app.geo.codes import CITY_CODE, ancestry

        now, w.checklists = utcnow(), {}
        with unscoped():
            for key, code in GRIDS.items():
                checklist = Checklist(
                    title=f"矩阵清单 {key}",
                    centre_id=int(CITY_CODE),
                    created_at=now,
                    due_at=now + timedelta(days=1),
                    warn_at=now + timedelta(hours=18),
                    targets={"areas": [code]},
                    **ancestry(CITY_CODE),
                )
                db.session.add(checklist)
                db.session.flush()
                item = ChecklistItem(
                    checklist=checklist, position=1, key="ok", label="是否有隐患", kind="yes_no",
                    fail_on=True,
                )  # fmt: skip
                db.session.add(item)
                db.session.flush()
                assignment = ChecklistAssignment(
                    checklist_id=checklist.id, target=f"g{code}", item_count=1, required_count=1,
                    due_at=checklist.due_at, warn_at=checklist.warn_at, **ancestry(code),
                )  # fmt: skip
                db.session.add(assignment)
                db.session.flush()
                db.session.add(
                    ChecklistAnswer(
                        assignment=assignment, item_id=item.id, item_key="ok", yes=True,
                        failed=True, fail_reason="回答为“是”", answered_by=w.homed_users[key],
                        answered_at=now, attachment_ids=[w.attachments[key]],
                    )
                )  # fmt: skip
                db.session.flush()
                w.checklists[key] = (checklist.id, assignment.id)
    return w.checklists


def _checklist_url(w: World, k: str, tail: str = "") -> str:
    return f"/api/v1/checklists/{_checklist_world(w)[k][0]}{tail}"


def _assignment_url(w: World, k: str, tail: str = "") -> str:
    return f"/api/v1/checklist-assignments/{_checklist_world(w)[k][1]}{tail}"


def _new_checklist(areas: list[str]) -> dict:
    from datetime import UTC, datetime, timedelta

    return {
        "title": "矩阵排查",
        "due_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "items": [{"label": "拍照", "kind": "photo"}],
        "targets": {"areas": areas},
    }


MATRIX.update(
    {
        ("GET", "/api/v1/checklists"): Case(
            call=lambda a, u, w, k: [_checklist_world(w), a.get(u, "/api/v1/checklists")][-1],
            observed=lambda r, w, k: w.checklists[k][0] in {c["id"] for c in r.json["items"]},
        ),
        ("POST", "/api/v1/checklists"): Case(
            call=lambda a, u, w, k: a.post(
                u, "/api/v1/checklists", json=_new_checklist([GRIDS[k]])
            ),
            observed=lambda r, w, k: r.status_code == 201,
            roles=CHECKLIST_SENDERS,
        ),
        ("POST", "/api/v1/checklists/targets"): Case(
            call=lambda a, u, w, k: a.post(
                u, "/api/v1/checklists/targets", json={"areas": [GRIDS[k]]}
            ),
            observed=lambda r, w, k: r.status_code == 200 and r.json["grids"] == 1,
            roles=CHECKLIST_SENDERS,
        ),
        ("GET", "/api/v1/checklists/<id:checklist_id>"): Case(
            call=lambda a, u, w, k: a.get(u, _checklist_url(w, k)),
            observed=lambda r, w, k: r.status_code == 200 and r.json["figures"]["assignments"] == 1,
        ),
        ("GET", "/api/v1/checklists/<id:checklist_id>/progress"): Case(
            call=lambda a, u, w, k: a.get(u, _checklist_url(w, k, "/progress")),
            observed=lambda r, w, k: (
                r.status_code == 200 and GRIDS[k] in {n["code"] for n in r.json["nodes"]}
            ),
        ),
        ("GET", "/api/v1/checklist-assignments"): Case(
            call=lambda a, u, w, k: a.get(
                u, f"/api/v1/checklist-assignments?checklist_id={_checklist_world(w)[k][0]}"
            ),
            observed=lambda r, w, k: w.checklists[k][1] in {x["id"] for x in r.json["items"]},
        ),
        ("GET", "/api/v1/checklist-assignments/<id:assignment_id>"): Case(
            call=lambda a, u, w, k: a.get(u, _assignment_url(w, k)),
            observed=lambda r, w, k: r.status_code == 200,
        ),
        ("PUT", "/api/v1/checklist-assignments/<id:assignment_id>/answers/<item_key>"): Case(
            call=lambda a, u, w, k: a.request(
                u, "PUT", _assignment_url(w, k, "/answers/ok"), json={"yes": False}
            ),
            observed=lambda r, w, k: r.status_code == 200,
            roles=CHECKLIST_ANSWERERS,
        ),
        ("POST", "/api/v1/checklist-assignments/<id:assignment_id>/answers/<item_key>/event"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                _assignment_url(w, k, "/answers/ok/event"),
                json={"client_uuid": str(uuid.uuid4())},
            ),
            observed=lambda r, w, k: r.status_code == 201 and r.json["source"] == "checklist",
            roles=CHECKLIST_ANSWERERS,
        ),
        ("GET", "/api/v1/checklist-assignments/<id:assignment_id>/photos/<id:attachment_id>"): Case(
            call=lambda a, u, w, k: a.get(u, _assignment_url(w, k, f"/photos/{w.attachments[k]}")),
            observed=lambda r, w, k: r.status_code == 200 and r.data == f"photo {k}".encode(),
        ),
    }
)


# Changing and withdrawing 撤回 a sent checklist: per grid, one sent by the grid's township (so
# the oracle is "a sender at that township or above", and a village office that sees it through
# its grid's assignment still may not rewrite it).
def _township_checklists(w: World) -> dict[str, int]:
    """Per grid key: the id of a checklist its township sent to it; created once per world."""
    if not hasattr(w, "township_checklists"):
        from datetime import timedelta

        from app.checklists.models import Checklist, ChecklistAssignment, ChecklistItem
        from app.core.db import utcnow
        from app.core.scope import unscoped
        from app.extensions import db
        from app.geo.codes import ancestry

        now, w.township_checklists = utcnow(), {}
        with unscoped():
            for key, code in GRIDS.items():
                township = code[:9] + "000"
                checklist = Checklist(
                    title=f"矩阵镇街清单 {key}", centre_id=int(township), created_at=now,
                    due_at=now + timedelta(days=1), warn_at=now + timedelta(hours=18),
                    targets={"areas": [code]}, **ancestry(township),
                )  # fmt: skip
                db.session.add(checklist)
                db.session.flush()
                db.session.add(
                    ChecklistItem(
                        checklist=checklist, position=1, key="ok", label="是否有隐患",
                        kind="yes_no",
                    )
                )  # fmt: skip
                db.session.add(
                    ChecklistAssignment(
                        checklist_id=checklist.id, target=f"g{code}", item_count=1,
                        required_count=1, due_at=checklist.due_at, warn_at=checklist.warn_at,
                        **ancestry(code),
                    )
                )  # fmt: skip
                db.session.flush()
                w.township_checklists[key] = checklist.id
    return w.township_checklists


def _manages_township_checklist(user: str, key: str) -> bool:
    return user in CHECKLIST_SENDERS and SEES[user](GRIDS[key][:9] + "000")


MATRIX.update(
    {
        ("PATCH", "/api/v1/checklists/<id:checklist_id>"): Case(
            call=lambda a, u, w, k: a.request(
                u,
                "PATCH",
                f"/api/v1/checklists/{_township_checklists(w)[k]}",
                json={"title": f"矩阵清单改名 {k}"},
            ),
            observed=lambda r, w, k: (
                r.status_code == 200 and r.json["title"] == f"矩阵清单改名 {k}"
            ),
            roles=CHECKLIST_SENDERS,
            oracle=_manages_township_checklist,
        ),
        ("POST", "/api/v1/checklists/<id:checklist_id>/withdraw"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                f"/api/v1/checklists/{_township_checklists(w)[k]}/withdraw",
                json={"reason": "矩阵撤回"},
            ),
            observed=lambda r, w, k: r.status_code == 200 and r.json["withdrawn_at"] is not None,
            roles=CHECKLIST_SENDERS,
            oracle=_manages_township_checklist,
        ),
    }
)

# --- checklists: cases go above this line ---

# Patrols 巡查: one stopped patrol in each grid by the grid worker homed there, with its fixes
# and coverage, made on first use. Field roles write only their own patrols ("own": one the
# caller starts; "other": the one in grid A1); a start belongs to the grid it starts in when
# that grid is the caller's, so the scope oracle decides where a start lands.
PATROLLERS = frozenset({"demo_worker", "demo_leader", "demo_village"})


def _patrol_world(w: World) -> dict[str, tuple[int, str]]:
    """Per grid key: (patrol id, its uuid); w.patrol_day is their local day."""
    if not hasattr(w, "patrols"):
        from datetime import timedelta

        from app.core.db import utcnow
        from app.core.scope import unscoped
        from app.extensions import db
        from app.geo.codes import ancestry
        from app.patrols import coverage, service
        from app.patrols.models import Patrol, PatrolPoint

        w.patrols = {}
        start = utcnow() - timedelta(hours=1)
        w.patrol_day = start.astimezone(service.LOCAL).date().isoformat()
        with unscoped():
            for key, code in GRIDS.items():
                lon, lat = w.points[key]
                patrol = Patrol(
                    uuid=uuid.uuid4(),
                    user_id=w.homed_users[key],
                    status="active",
                    started_at=start,
                    **ancestry(code),
                )
                db.session.add(patrol)
                db.session.flush()
                db.session.add_all(
                    PatrolPoint(
                        patrol_id=patrol.id,
                        at=start + timedelta(seconds=15 * i),
                        lon=lon + i * 1e-5,
                        lat=lat,
                        accuracy_m=5,
                        counted=True,
                        grid_id=int(code),
                    )
                    for i in range(3)
                )
                db.session.flush()
                service.rebuild(patrol)
                patrol.status, patrol.stopped_by = "stopped", "user"
                patrol.ended_at = start + timedelta(minutes=5)
                db.session.flush()
                coverage.recompute(patrol.id)
                w.patrols[key] = (patrol.id, str(patrol.uuid))
    return w.patrols


def _patrol_uuid(a, u, w, k) -> str:
    """The caller's own new patrol ("own"), or grid A1's worker's ("other")."""
    from datetime import UTC, datetime, timedelta

    if k == "other":
        return _patrol_world(w)["A1"][1]
    body = {
        "uuid": str(uuid.uuid4()),
        "started_at": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
    }
    a.post(u, "/api/v1/patrols", json=body)
    return body["uuid"]


def _fix_now() -> dict:
    from datetime import UTC, datetime, timedelta

    at = datetime.now(UTC) - timedelta(minutes=5)
    return {"at": at.isoformat(), "lon": 106.57, "lat": 29.55, "accuracy_m": 5}


MATRIX.update(
    {
        ("GET", "/api/v1/patrols"): Case(
            call=lambda a, u, w, k: [_patrol_world(w), a.get(u, "/api/v1/patrols?page_size=500")][
                -1
            ],
            observed=lambda r, w, k: w.patrols[k][0] in {i["id"] for i in r.json["items"]},
        ),
        ("GET", "/api/v1/patrols/<id:patrol_id>"): Case(
            call=lambda a, u, w, k: a.get(u, f"/api/v1/patrols/{_patrol_world(w)[k][0]}"),
            observed=lambda r, w, k: r.status_code == 200 and r.json["track"] is not None,
        ),
        # A village's coverage: the grids of it the caller sees, each with its figures.
        ("GET", "/api/v1/patrols/coverage"): Case(
            call=lambda a, u, w, k: [
                _patrol_world(w),
                a.get(u, f"/api/v1/patrols/coverage?area={GRIDS[k][:12]}&day={w.patrol_day}"),
            ][-1],
            observed=lambda r, w, k: (
                r.status_code == 200
                and any(i["code"] == GRIDS[k] and i["patrols"] == 1 for i in r.json["items"])
            ),
        ),
        ("POST", "/api/v1/patrols"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                "/api/v1/patrols",
                json={
                    "uuid": str(uuid.uuid4()),
                    "started_at": _fix_now()["at"],
                    "location": {"type": "Point", "coordinates": list(w.points[k])},
                },
            ),
            observed=lambda r, w, k: r.status_code == 201 and r.json["grid"] == GRIDS[k],
            roles=PATROLLERS,
        ),
        ("POST", "/api/v1/patrols/<uuid:patrol_uuid>/points"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                f"/api/v1/patrols/{_patrol_uuid(a, u, w, k)}/points",
                json={"points": [_fix_now()]},
            ),
            observed=lambda r, w, k: r.status_code == 200 and r.json["accepted"] == 1,
            roles=PATROLLERS,
            resources=("own", "other"),
            oracle=lambda user, k: k == "own",
        ),
        ("POST", "/api/v1/patrols/<uuid:patrol_uuid>/stop"): Case(
            call=lambda a, u, w, k: a.post(
                u,
                f"/api/v1/patrols/{_patrol_uuid(a, u, w, k)}/stop",
                json={"ended_at": _fix_now()["at"]},
            ),
            observed=lambda r, w, k: r.status_code == 200 and r.json["status"] == "stopped",
            roles=PATROLLERS,
            resources=("own", "other"),
            oracle=lambda user, k: k == "own",
        ),
    }
)

# --- patrols: cases go above this line ---

# "一表通" report forms: per township (A: the demo's, B: 七星岗街道) a published grid-level
# form with the filings of the matrix grids and a draft, made on first use. A form is seen
# from inside its township's subtree or from above it; a draft only at or above its township.
FORM_TOWNSHIPS = {"A": "500103003000", "B": "500103001000"}
FORM_AUTHORS = frozenset({"demo_dispatcher", "demo_admin"})
FORM_FILLERS = frozenset(
    {"demo_worker", "demo_leader", "demo_village", "demo_dispatcher"}
    | {f"demo_board_{b}" for b in ("party", "economy", "livelihood", "safety")}
)
FORM_REVIEWERS = frozenset(
    {"demo_leader", "demo_village", "demo_dispatcher", "demo_supervisor_township"}
    | {"demo_supervisor_district", "demo_supervisor_city", "demo_admin"}
)
_FORM_FIELDS = [
    {"key": "n", "label": "数量", "type": "integer", "unit": "", "required": False,
     "aggregate": "sum", "choices": [], "source": None, "min": None, "max": None,
     "decimals": 0, "hint": ""},
]  # fmt: skip


def _township_of(grid_key: str) -> str:
    return grid_key[0]


def _new_form(township_key: str, status: str) -> int:
    from datetime import date

    from app.core.scope import unscoped
    from app.extensions import db
    from app.forms.models import Form
    from app.forms.sources import bounds
    from app.geo.codes import ancestry

    code = FORM_TOWNSHIPS[township_key]
    due = date(2099, 12, 31)
    with unscoped():
        form = Form(
            title=f"矩阵报表 {township_key}",
            period_kind="month",
            period_start=date(2026, 3, 1),
            period_end=date(2026, 3, 31),
            due_on=due,
            due_at=bounds(due, due)[1],
            fill_level="grid",
            fields=_FORM_FIELDS,
            status=status,
            owner_area_id=int(code),
            **ancestry(code),
        )
        db.session.add(form)
        db.session.flush()
    return form.id


def _form_world(w: World) -> World:
    """w.forms, w.form_drafts (per township) and w.filings (per grid), created once."""
    if not hasattr(w, "forms"):
        from app.core.scope import unscoped
        from app.extensions import db
        from app.forms.models import Filing
        from app.geo.codes import ancestry

        w.forms = {k: _new_form(k, "published") for k in FORM_TOWNSHIPS}
        w.form_drafts = {k: _new_form(k, "draft") for k in FORM_TOWNSHIPS}
        w.filings = {}
        with unscoped():
            for key, code in GRIDS.items():
                filing = Filing(
                    form_id=w.forms[_township_of(key)], area_id=int(code), **ancestry(code)
                )
                db.session.add(filing)
                db.session.flush()
                w.filings[key] = filing.id
    return w


def _submitted(w: World, k: str) -> int:
    from app.core.db import utcnow
    from app.core.scope import unscoped
    from app.extensions import db
    from app.forms.models import Filing

    with unscoped():
        filing = db.session.get(Filing, _form_world(w).filings[k])
        filing.status, filing.submitted_at = "submitted", utcnow()
        db.session.flush()
    return filing.id


def _sees_form(user: str, key: str) -> bool:
    return any(SEES[user](GRIDS[g]) for g in GRIDS if _township_of(g) == key)


def _sees_draft(user: str, key: str) -> bool:
    return SEES[user](FORM_TOWNSHIPS[key])


def _form_body(k: str) -> dict:
    return {
        "title": "矩阵报表",
        "period_kind": "month",
        "period_start": "2026-03-01",
        "due_on": "2099-12-31",
        "fill_level": "grid",
        "area": FORM_TOWNSHIPS[k],
        "fields": [{"key": "n", "label": "数量", "type": "integer"}],
    }


def _form_case(call, observed, roles=None, oracle=_sees_form) -> Case:
    return Case(call=call, observed=observed, roles=roles, resources=("A", "B"), oracle=oracle)


def _filing_url(w: World, k: str, tail: str = "") -> str:
    return f"/api/v1/filings/{_form_world(w).filings[k]}{tail}"


def _rollup_url(w: World, k: str, what: str) -> str:
    form_id = _form_world(w).forms[_township_of(k)]
    return f"/api/v1/forms/{form_id}/{what}?area={GRIDS[k]}"


MATRIX.update(
    {
        ("GET", "/api/v1/forms/sources"): Case(
            call=lambda a, u, w, k: a.get(u, "/api/v1/forms/sources"),
            observed=lambda r, w, k: r.status_code == 200 and len(r.json["items"]) > 0,
            resources=("any",),
            oracle=lambda user, k: True,
        ),
        ("GET", "/api/v1/forms"): _form_case(
            lambda a, u, w, k: [_form_world(w), a.get(u, "/api/v1/forms?page_size=500")][-1],
            lambda r, w, k: w.forms[k] in {f["id"] for f in r.json["items"]},
        ),
        ("POST", "/api/v1/forms"): _form_case(
            lambda a, u, w, k: a.post(u, "/api/v1/forms", json=_form_body(k)),
            lambda r, w, k: r.status_code == 201,
            roles=FORM_AUTHORS,
            oracle=_sees_draft,
        ),
        ("GET", "/api/v1/forms/<id:form_id>"): _form_case(
            lambda a, u, w, k: a.get(u, f"/api/v1/forms/{_form_world(w).forms[k]}"),
            lambda r, w, k: r.status_code == 200,
        ),
        ("PUT", "/api/v1/forms/<id:form_id>"): _form_case(
            lambda a, u, w, k: a.request(
                u, "PUT", f"/api/v1/forms/{_form_world(w).form_drafts[k]}", json=_form_body(k)
            ),
            lambda r, w, k: r.status_code == 200,
            roles=FORM_AUTHORS,
            oracle=_sees_draft,
        ),
        ("DELETE", "/api/v1/forms/<id:form_id>"): _form_case(
            lambda a, u, w, k: a.request(u, "DELETE", f"/api/v1/forms/{_new_form(k, 'draft')}"),
            lambda r, w, k: r.status_code == 204,
            roles=FORM_AUTHORS,
            oracle=_sees_draft,
        ),
        ("POST", "/api/v1/forms/<id:form_id>/publish"): _form_case(
            lambda a, u, w, k: a.post(u, f"/api/v1/forms/{_new_form(k, 'draft')}/publish"),
            lambda r, w, k: r.status_code == 200 and r.json["progress"]["expected"] > 0,
            roles=FORM_AUTHORS,
            oracle=_sees_draft,
        ),
        ("POST", "/api/v1/forms/<id:form_id>/close"): _form_case(
            lambda a, u, w, k: a.post(u, f"/api/v1/forms/{_new_form(k, 'published')}/close"),
            lambda r, w, k: r.status_code == 200 and r.json["status"] == "closed",
            roles=FORM_AUTHORS,
            oracle=_sees_draft,
        ),
        ("GET", "/api/v1/forms/<id:form_id>/rollup"): Case(
            call=lambda a, u, w, k: a.get(u, _rollup_url(w, k, "rollup")),
            observed=lambda r, w, k: (
                r.status_code == 200 and [x["area"]["code"] for x in r.json["rows"]] == [GRIDS[k]]
            ),
        ),
        ("GET", "/api/v1/forms/<id:form_id>/export.xlsx"): Case(
            call=lambda a, u, w, k: a.get(u, _rollup_url(w, k, "export.xlsx")),
            observed=lambda r, w, k: r.status_code == 200 and r.data[:2] == b"PK",
        ),
        ("GET", "/api/v1/filings"): Case(
            call=lambda a, u, w, k: [_form_world(w), a.get(u, "/api/v1/filings?page_size=500")][-1],
            observed=lambda r, w, k: w.filings[k] in {f["id"] for f in r.json["items"]},
        ),
        ("GET", "/api/v1/filings/<id:filing_id>"): Case(
            call=lambda a, u, w, k: a.get(u, _filing_url(w, k)),
            observed=lambda r, w, k: r.status_code == 200,
        ),
        # Only the grid's own people fill it: the demo worker, bound to A1.
        ("PUT", "/api/v1/filings/<id:filing_id>"): Case(
            call=lambda a, u, w, k: a.request(
                u, "PUT", _filing_url(w, k), json={"values": {"n": 1}, "submit": True}
            ),
            observed=lambda r, w, k: r.status_code == 200 and r.json["status"] == "submitted",
            roles=FORM_FILLERS,
            oracle=lambda user, k: user == "demo_worker" and k == "A1",
        ),
        # Any reviewer above the grid who sees it may return it.
        ("POST", "/api/v1/filings/<id:filing_id>/return"): Case(
            call=lambda a, u, w, k: a.post(
                u, f"/api/v1/filings/{_submitted(w, k)}/return", json={"reason": "矩阵退回"}
            ),
            observed=lambda r, w, k: r.status_code == 200 and r.json["status"] == "returned",
            roles=FORM_REVIEWERS,
        ),
    }
)


# --- forms: cases go above this line ---


def test_every_endpoint_is_in_the_matrix(app):
    endpoints = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    missing = endpoints - set(MATRIX) - SELF_SERVICE
    assert not missing, f"endpoints missing from the scope matrix: {sorted(missing)}"
    assert not (set(MATRIX) | SELF_SERVICE) - endpoints, "matrix names endpoints that do not exist"


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("endpoint", sorted(MATRIX), ids=lambda e: f"{e[0]} {e[1]}")
def test_scope_matrix(auth, world, endpoint, user):
    case = MATRIX[endpoint]
    seen, expected = {}, {}
    for key in case.resources:
        response = case.call(auth, user, world, key)
        assert response.status_code < 500, response.json
        if case.roles is not None and user not in case.roles:
            assert response.status_code == 403, response.json
            assert response.json["error"]["code"] == "role_forbidden"
            continue
        if response.status_code >= 400:
            assert response.json["error"]["code"] in {
                "not_found",
                "out_of_scope",
                "user_not_found",
                "area_not_found",
                "event_not_found",
                "attachment_not_found",
                "action_forbidden",
                "transition_not_allowed",
                "events_unavailable",
                "supervision_not_found",
                "summons_not_found",
                "alarm_not_found",
                "pin_not_found",
                "key_person_not_found",
                "key_place_not_found",
                "key_active",
                "sensor_not_found",
                "centre_not_found",
                "shift_not_found",
                "handover_not_found",
                # checklists
                "checklist_not_found",
                "assignment_not_found",
                # patrols
                "patrol_not_found",
                # forms
                "form_not_found",
                "filing_not_found",
            }, response.json
        seen[key] = bool(case.observed(response, world, key))
        response.close()  # streamed file responses hold their file open until closed
        expected[key] = (case.oracle or _visible_grid)(user, key)
    assert seen == expected


def test_a_township_sees_no_trace_of_another_township(auth, world):
    """The issue's headline rule, end to end for the dispatcher of 解放碑街道."""
    township = auth.get("demo_dispatcher", "/api/v1/areas/500103000000/children?page_size=100")
    assert [t["code"] for t in township.json["items"]] == ["500103003000"]
    found = auth.get("demo_dispatcher", "/api/v1/areas?q=七星岗")
    assert found.json["total"] == 0
    other = auth.get("demo_dispatcher", "/api/v1/areas/500103001000")
    assert other.status_code == 404


def test_writes_outside_the_scope_are_refused_in_one_place(app, session):
    """The flush listener refuses a write the caller's scope does not cover, for any model."""
    from app.core.errors import Forbidden
    from app.core.scope import Scope, acting_as

    township = Scope(level="township", area_id=500103003000, district_id=500103000000)
    with acting_as(township):
        user = User(
            username="sneaky",
            role="village_staff",
            area_id=500103001003,
            district_id=500103000000,
            township_id=500103001000,
            village_id=500103001003,
        )
        session.add(user)
        with pytest.raises(Forbidden):
            session.flush()
        session.rollback()


def test_a_forgotten_filter_cannot_leak(app, session):
    """A raw ORM query with no WHERE clause still only returns rows in scope."""
    from app.core.scope import Scope, acting_as

    village = Scope(level="village", area_id=500103003013, district_id=500103000000)
    with acting_as(village):
        codes = session.scalars(select(Area.code).where(Area.level == "grid")).all()
    assert codes and all(code.startswith("500103003013") for code in codes)

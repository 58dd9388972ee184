"""A lower bound for bench_ingest.py: the least work a report needs, with no framework beyond
bare Flask and SQLAlchemy Core, served by the same gunicorn command as the floor and the app.

    gunicorn -k gthread -w 1 --threads 16 --chdir bench skeleton_app:app

Per request, what the issue's ingest path names and nothing more: the bearer token looked up
in Redis (one GET), the JSON checked by hand, the app's own locator and classifier (loaded
once, as the app does), the subcategory's unit and deadline from memory, the duplicate and
least-loaded-handler SELECTs, then one transaction writing the final event row (ON CONFLICT
on client_uuid for exactly-once), its two audit rows and its outbox rows, COMMIT, and one Redis
PUBLISH. No ORM, no scope filters, no schemas, no hooks, no audit hash chain state read back.

It is not a second implementation of reporting (it skips the rules table, key persons,
attachments, emergency alarms, timed sweeps, the console feed, and always sends the event to
its township's board by the subcategory's default): it exists so that the ratio the real path
reaches can be read against the ratio any implementation on this stack could reach.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import redis
from flask import Flask, jsonify, request
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_ingest import SKELETON_TOKEN_KEY as TOKEN_KEY  # noqa: E402

from app import create_app  # noqa: E402
from app.categories import service as categories  # noqa: E402
from app.classify import service as classify  # noqa: E402
from app.extensions import db  # noqa: E402
from app.geo import service as geo  # noqa: E402
from app.geo.codes import ancestry  # noqa: E402
from app.sla import service as sla  # noqa: E402

real = create_app({})
with real.app_context():
    engine = db.engine
    for _ in range(3):  # load the locator, the model and the taxonomy before the first request
        geo.locate(lon=106.57, lat=29.55, scoped=False, max_snap_m=1e9)
        classify.predict("路灯坏了")
        categories.subcategory("x")
store = redis.Redis.from_url(os.environ["REDIS_URL"])
app = Flask(__name__)
app.json.ensure_ascii = False

DUPLICATES = text(
    "SELECT id, description FROM events WHERE lon BETWEEN :lon0 AND :lon1"
    " AND lat BETWEEN :lat0 AND :lat1 AND subcategory_code = :sub"
    " AND state NOT IN ('closed', 'rejected') AND received_at > now() - interval '3 days'"
    " ORDER BY received_at DESC LIMIT 20"
)
HANDLERS = text(
    "SELECT u.id, (SELECT count(*) FROM events e WHERE e.assigned_user_id = u.id"
    " AND e.state IN ('dispatched', 'in_progress', 'returned')) AS open"
    " FROM users u WHERE u.is_active AND u.area_id = :township"
    " AND u.role = 'township_board_handler' AND u.board = :board"
)
INSERT_EVENT = text(
    "INSERT INTO events (client_uuid, source, reporter_id, description, lon, lat, point,"
    " accuracy_m, location_snapped, location_distance_m, occurred_at, received_at,"
    " category_code, subcategory_code, confidence, classifier_version, category_source,"
    " classification, state, priority, emergency, handling_level, assigned_board,"
    " assigned_area_id, assigned_user_id, dispatch_reason, stage, stage_started_at, warn_at,"
    " due_at, stage_extension, rework_count, return_count, extension_count, supervision_count,"
    " audit_seq, audit_head, updated_at, district_id, township_id, village_id, grid_id)"
    " VALUES (:client_uuid, 'app', :reporter_id, :description, :lon, :lat,"
    " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :accuracy_m, :snapped, :distance,"
    " :occurred_at, :now, :category, :sub, :confidence, :version, 'model',"
    " CAST(:classification AS jsonb), 'dispatched', :priority, :emergency, 'board', :board,"
    " :township_id, :user_id, CAST(:reason AS jsonb), 'handle', :now, :warn_at, :due_at, 0, 0,"
    " 0, 0, 0, 2, :head, :now, :district_id, :township_id, :village_id, :grid_id)"
    " ON CONFLICT (client_uuid) DO NOTHING RETURNING id"
)
INSERT_AUDIT = text(
    "INSERT INTO event_audit (event_id, seq, at, actor_id, actor_name, actor_role, action,"
    " from_state, to_state, data, prev_hash, hash) VALUES"
    " (:id, 1, :now, :reporter_id, 'grid worker', 'grid_worker', 'report', NULL, 'reported',"
    " NULL, NULL, :h1),"
    " (:id, 2, :now, NULL, '系统', NULL, 'dispatch', 'reported', 'dispatched',"
    " CAST(:reason AS jsonb), :h1, :h2)"
)
INSERT_OUTBOX = text(
    "INSERT INTO outbox (room, key, kind, event_id, payload, created_at) VALUES"
    " (:r1, :key, 'event_new', :id, CAST(:payload AS jsonb), :now),"
    " (:r2, :key, 'event_new', :id, CAST(:payload AS jsonb), :now),"
    " (:r3, :key, 'event_new', :id, CAST(:payload AS jsonb), :now),"
    " (:r4, :key2, 'event_assigned', :id, CAST(:payload AS jsonb), :now)"
)


def _bad(message: str):
    return jsonify(code="validation_failed", message=message), 422


@app.post("/reports")
def create_report():
    header = request.headers.get("Authorization", "")
    user = store.get(TOKEN_KEY + hashlib.sha256(header[7:].encode()).hexdigest())
    if user is None:
        return jsonify(code="unauthorized", message="请先登录"), 401
    reporter_id = int(user)
    body = request.get_json(silent=True)
    try:
        client_uuid = uuid.UUID(body["client_uuid"])
        description = str(body["description"]).strip()
        lon, lat = (float(v) for v in body["location"]["coordinates"])
        occurred_at = datetime.fromisoformat(body["occurred_at"])
        accuracy_m = float(body.get("accuracy_m") or 0)
    except (KeyError, TypeError, ValueError):
        return _bad("上报内容不完整")
    if not description:
        return _bad("请填写事件描述")
    now = datetime.now(UTC)
    with real.app_context():
        location = geo.locate(lon=lon, lat=lat, scoped=False)
        prediction = classify.predict(description)
        # The reporter's top category, when given, takes the model's best inside it.
        wanted = body.get("category")
        sub = next(
            (
                s
                for code, _ in prediction.ranked
                if (s := categories.subcategory(code)) and s.category_code == wanted
            ),
            None,
        ) or categories.subcategory(prediction.subcategory)
        amount, unit = sub.limit("handle")
        cal = sla.calendar()
        due_at = cal.add(now, amount, unit)
        warn_at = cal.add(now, amount * 0.75, unit)
    places = ancestry(str(location.grid_id))
    board = sub.board or "safety"
    with engine.begin() as conn:
        d = 0.002  # about 200 m; the subcategories' radii run 10–1,000 m, 100 m by default
        conn.execute(
            DUPLICATES,
            dict(lon0=lon - d, lon1=lon + d, lat0=lat - d, lat1=lat + d, sub=sub.code),
        ).all()
        handlers = conn.execute(HANDLERS, dict(township=places["township_id"], board=board)).all()
        chosen = min(handlers, key=lambda h: (h.open, h.id)) if handlers else None
        reason = json.dumps(
            {"rule": {"kind": "subcategory"}, "candidates": [[h.id, h.open] for h in handlers]}
        )
        h1 = hashlib.sha256(f"{client_uuid}|report|{now.isoformat()}".encode()).hexdigest()
        h2 = hashlib.sha256(f"{h1}|dispatch|{reason}".encode()).hexdigest()
        event_id = conn.execute(
            INSERT_EVENT,
            dict(
                client_uuid=client_uuid,
                reporter_id=reporter_id,
                description=description,
                lon=location.lon,
                lat=location.lat,
                accuracy_m=accuracy_m,
                snapped=location.snapped,
                distance=location.distance_m,
                occurred_at=occurred_at,
                now=now,
                category=sub.category_code,
                sub=sub.code,
                confidence=prediction.confidence,
                version=prediction.version,
                classification=json.dumps(prediction.as_dict()),
                priority=sub.priority,
                emergency=sub.emergency,
                board=board,
                user_id=chosen.id if chosen else None,
                reason=reason,
                warn_at=warn_at,
                due_at=due_at,
                head=h2,
                **places,
            ),
        ).scalar()
        if event_id is None:
            return jsonify(code="duplicate", message="已收到"), 200
        conn.execute(
            INSERT_AUDIT,
            dict(id=event_id, now=now, reporter_id=reporter_id, h1=h1, h2=h2, reason=reason),
        )
        payload = {
            "id": event_id,
            "grid_code": str(location.grid_id),
            "category": sub.category_code,
            "subcategory": sub.code,
            "confidence": prediction.confidence,
            "state": "dispatched",
            "assigned_unit": {"level": "board", "board": board},
            "deadline": due_at.isoformat(),
        }
        conn.execute(
            INSERT_OUTBOX,
            dict(
                id=event_id,
                now=now,
                key=secrets.token_urlsafe(12),
                key2=secrets.token_urlsafe(12),
                payload=json.dumps(payload, ensure_ascii=False),
                r1=f"node:{places['grid_id']}",
                r2=f"node:{places['township_id']}",
                r3=f"node:{places['district_id']}",
                r4=f"user:{chosen.id if chosen else 0}",
            ),
        )
    store.publish("bench:skeleton", json.dumps(payload, ensure_ascii=False))
    return jsonify(payload), 201


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")

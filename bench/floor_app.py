"""The floor for bench_ingest.py: a bare Flask endpoint that parses a report's JSON body and
does one INSERT + COMMIT through SQLAlchemy, with the app's own engine settings (same URL,
same pool size from WEB_THREADS, same pre-ping), served by the same gunicorn command.

    gunicorn -k gthread -w 1 --threads 16 --chdir bench floor_app:app

The table (bench_floor_reports, FLOOR_DDL in bench_ingest.py) is created before the server
starts: a primary key and a unique client_uuid, like the events table's exactly-once key.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import column, insert, table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import config  # noqa: E402

reports = table(
    "bench_floor_reports",
    column("id"),
    column("client_uuid"),
    column("description"),
    column("lon"),
    column("lat"),
    column("category"),
    column("received_at"),
)

cfg = config.load()
app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = cfg["SQLALCHEMY_DATABASE_URI"]
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = cfg["SQLALCHEMY_ENGINE_OPTIONS"]
app.json.ensure_ascii = False
db = SQLAlchemy(app)


@app.post("/reports")
def create_report():
    """One INSERT + COMMIT of the report's fields; 201 with the stored row."""
    body = request.get_json()
    lon, lat = body["location"]["coordinates"]
    row = db.session.execute(
        insert(reports)
        .values(
            client_uuid=uuid.UUID(body["client_uuid"]),
            description=body["description"],
            lon=float(lon),
            lat=float(lat),
            category=body.get("category"),
        )
        .returning(reports.c.id, reports.c.received_at)
    ).one()
    db.session.commit()
    payload = {
        "id": row.id,
        "client_uuid": body["client_uuid"],
        "category": body.get("category"),
        "received_at": row.received_at.isoformat(),
    }
    return jsonify(payload), 201


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")

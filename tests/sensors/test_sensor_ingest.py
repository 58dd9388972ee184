"""Registration and device ingest: per-device credentials, batches, idempotency, bad items."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.core.db import utcnow
from app.sensors.models import TYPES, Reading, Sensor
from app.sensors.types import SPECS


def test_every_type_has_its_defaults_and_a_known_event(session):
    from app.categories.models import Subcategory

    assert set(SPECS) == set(TYPES)
    for spec in SPECS.values():
        assert session.get(Subcategory, spec.subcategory) is not None, spec.code


def test_registration_returns_the_secret_once_and_stores_only_its_hash(device, auth, session):
    sensor = device()
    assert sensor["grid"] == "500103003013001" and sensor["level"] is None
    assert len(sensor["secret"]) >= 40
    row = session.get(Sensor, sensor["id"])
    assert sensor["secret"] not in row.secret_hash
    again = auth.get("demo_dispatcher", f"/api/v1/sensors/{sensor['id']}")
    assert again.status_code == 200 and "secret" not in again.json
    assert {r["kind"] for r in again.json["rules"]} == {"level", "rate"}


def test_a_grid_worker_cannot_register_and_nobody_outside_the_place(auth, point_in, rules):
    body = {
        "type": "smoke",
        "name": "烟感",
        "location": {"type": "Point", "coordinates": point_in("500103001003001")},
    }
    worker = auth.post("demo_worker", "/api/v1/sensors", json=body)
    assert worker.status_code == 403 and worker.json["error"]["code"] == "role_forbidden"
    # 七星岗街道 is another township: its dispatcher's colleague next door may not place it.
    other = auth.post("demo_dispatcher", "/api/v1/sensors", json=body)
    assert other.status_code == 403 and other.json["error"]["code"] == "out_of_scope"


def test_wrong_secret_unknown_device_or_a_user_token_are_refused(device, upload, auth, client):
    sensor = device()
    wrong = upload(sensor, [(0, 1.0)], secret="not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json["error"]["code"] == "device_unauthorized"
    assert "密钥" in wrong.json["error"]["message"]
    unknown = upload({**sensor, "code": "NO-SUCH-DEVICE"}, [(0, 1.0)])
    assert unknown.status_code == 401
    as_user = client.post(
        "/api/v1/sensors/readings",
        json={"readings": [{"at": utcnow().isoformat(), "value": 1}]},
        headers=auth.headers("demo_admin"),
    )
    assert as_user.status_code == 401 and as_user.json["error"]["code"] == "device_unauthorized"


def test_a_switched_off_device_is_refused(device, upload, auth):
    sensor = device()
    off = auth.request(
        "demo_dispatcher", "PATCH", f"/api/v1/sensors/{sensor['id']}", json={"active": False}
    )
    assert off.status_code == 200
    response = upload(sensor, [(0, 1.0)])
    assert response.status_code == 403 and response.json["error"]["code"] == "sensor_inactive"


def test_the_same_batch_twice_is_stored_once(device, upload, session):
    sensor = device()
    base = utcnow()
    first = upload(sensor, [(30, 12.0), (20, 12.1), (10, 12.1)], base=base)
    assert first.status_code == 200, first.json
    assert (first.json["accepted"], first.json["duplicates"]) == (3, 0)
    second = upload(sensor, [(30, 12.0), (20, 12.1), (10, 12.1), (0, 12.2)], base=base)
    assert (second.json["accepted"], second.json["duplicates"]) == (1, 3)
    assert second.json["duplicate_indexes"] == [0, 1, 2]
    stored = session.scalar(
        select(func.count()).select_from(Reading).where(Reading.sensor_id == sensor["id"])
    )
    assert stored == 4
    assert session.get(Sensor, sensor["id"]).last_value == 12.2


def test_bad_items_are_reported_and_the_good_ones_kept(device, client, session):
    sensor = device()
    now = utcnow()
    readings = [
        {"at": (now - timedelta(minutes=5)).isoformat(), "value": 12.0},
        {"at": "yesterday", "value": 1},
        {"at": (now + timedelta(hours=2)).isoformat(), "value": 12.0},
        {"at": (now - timedelta(days=40)).isoformat(), "value": 12.0},
        {"at": now.replace(tzinfo=None).isoformat(), "value": 12.0},
        {"value": 3},
        {"at": now.isoformat(), "value": 12.3},
    ]
    response = client.post(
        "/api/v1/sensors/readings",
        json={"readings": readings},
        headers={"Authorization": f"Device {sensor['code']}:{sensor['secret']}"},
    )
    assert response.status_code == 200, response.json
    assert response.json["accepted"] == 2
    codes = {r["index"]: r["code"] for r in response.json["rejected"]}
    assert codes == {
        1: "invalid_reading",
        2: "reading_in_future",
        3: "reading_too_old",
        4: "invalid_reading",
        5: "invalid_reading",
    }
    assert all(r["message"] for r in response.json["rejected"])


def test_an_empty_or_oversized_batch_is_a_clear_422(device, client):
    sensor = device()
    headers = {"Authorization": f"Device {sensor['code']}:{sensor['secret']}"}
    empty = client.post("/api/v1/sensors/readings", json={"readings": []}, headers=headers)
    assert empty.status_code == 422 and empty.json["error"]["code"] == "validation_error"
    item = {"at": utcnow().isoformat(), "value": 1}
    huge = client.post("/api/v1/sensors/readings", json={"readings": [item] * 501}, headers=headers)
    assert huge.status_code == 422
    assert "500" in str(huge.json["error"]["details"])


def test_readings_are_charted_and_thinned_to_peaks(device, upload, auth):
    sensor = device("water_level", name="水位计")
    base = utcnow()
    # Two days of 5-minute readings with one spike.
    points = [(m, 2.0 if m == 600 else 0.1) for m in range(0, 48 * 60, 5)]
    for start in range(0, len(points), 500):
        assert upload(sensor, points[start : start + 500], base=base).status_code == 200
    url = f"/api/v1/sensors/{sensor['id']}/readings"
    day = auth.get("demo_dispatcher", url)
    assert day.status_code == 200 and day.json["total"] == 288 and not day.json["downsampled"]
    week = auth.get(
        "demo_dispatcher",
        url,
        query_string={
            "from": (base - timedelta(days=7)).isoformat(),
            "to": (base + timedelta(minutes=1)).isoformat(),
            "max_points": 100,
        },
    )
    assert week.json["total"] == 576 and len(week.json["items"]) <= 100
    assert max(i["value"] for i in week.json["items"]) == 2.0  # the spike survives thinning
    backwards = auth.get(
        "demo_dispatcher",
        url,
        query_string={"from": base.isoformat(), "to": (base - timedelta(hours=1)).isoformat()},
    )
    assert backwards.status_code == 422 and backwards.json["error"]["code"] == "bad_range"

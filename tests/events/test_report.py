"""Reporting: the response a phone gets, exactly-once delivery, locations and categories."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from app.events.models import Event, EventAudit
from app.geo import crs


def test_a_report_is_located_classified_dispatched_and_timed(report):
    response = report(text="民生路小区门口井盖不见了，晚上容易摔跤")
    assert response.status_code == 201, response.json
    event = response.json
    assert event["grid_code"] == "500103003013001"
    assert event["township_code"] == "500103003000"
    assert event["category"] == "MUNICIPAL"
    assert "MANHOLE" in event["subcategory"]
    assert 0 < event["confidence"] <= 1
    assert len(event["classification"]["alternatives"]) == 3
    assert event["classification"]["model_version"]
    assert event["state"] in {"dispatched", "reported"}
    assert event["deadline"] is not None and event["deadline"].endswith("+00:00")
    if event["state"] == "dispatched":
        assert event["assigned_unit"]["level"] in {"grid", "village", "board", "department"}
        assert event["dispatch_reason"]["chosen"]["why"]


def test_the_same_client_uuid_creates_one_event(report, session):
    key = uuid.uuid4()
    first = report(client_uuid=key)
    again = report(client_uuid=key, text="完全不同的描述也不会覆盖原事件")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["id"] == first.json["id"]
    assert again.json["description"] == first.json["description"]
    count = session.scalar(select(func.count()).select_from(Event).where(Event.client_uuid == key))
    assert count == 1


def test_a_retry_gets_its_report_even_after_its_subcategory_was_retired(report, session):
    """The phone resends what it believes was lost; what was accepted stays accepted."""
    from app.categories.models import Subcategory

    key = uuid.uuid4()
    first = report(client_uuid=key, subcategory="MUNICIPAL_STREETLIGHT", text="路灯不亮")
    assert first.status_code == 201, first.json
    session.get(Subcategory, "MUNICIPAL_STREETLIGHT").active = False
    session.commit()
    again = report(client_uuid=key, subcategory="MUNICIPAL_STREETLIGHT", text="路灯不亮")
    assert again.status_code == 200, again.json
    assert again.json["id"] == first.json["id"]
    fresh = report(subcategory="MUNICIPAL_STREETLIGHT", text="路灯不亮")
    assert fresh.status_code == 422 and fresh.json["error"]["code"] == "unknown_subcategory"


def test_someone_elses_client_uuid_is_a_conflict(report):
    key = uuid.uuid4()
    assert report("demo_worker", client_uuid=key).status_code == 201
    taken = report("demo_village", client_uuid=key)
    assert taken.status_code == 409 and taken.json["error"]["code"] == "client_uuid_taken"


def test_gcj02_locations_are_converted(report, point_in):
    lon, lat = point_in("500103003016001")
    gcj = crs.wgs84_to_gcj02(lon, lat)
    response = report(
        "demo_dispatcher",
        grid="500103003016001",
        location={"type": "Point", "coordinates": list(gcj), "crs": "GCJ-02"},
    )
    assert response.status_code == 201, response.json
    assert response.json["grid_code"] == "500103003016001"
    got = response.json["location"]["coordinates"]
    assert abs(got[0] - lon) < 1e-6 and abs(got[1] - lat) < 1e-6


def test_the_reporters_category_wins_and_the_models_guess_is_kept(report):
    response = report(text="这里有点问题", subcategory="SANITATION_EXPOSED_GARBAGE")
    assert response.status_code == 201, response.json
    assert response.json["subcategory"] == "SANITATION_EXPOSED_GARBAGE"
    assert response.json["category_source"] == "reporter"
    assert response.json["classification"]["subcategory"]


def test_bad_reports_get_clear_errors_and_create_nothing(report, session):
    before = session.scalar(select(func.count()).select_from(Event))
    far = report(location={"type": "Point", "coordinates": [100.0, 20.0]})
    assert far.status_code == 422 and far.json["error"]["code"] == "outside_grids"
    unknown = report(subcategory="NO_SUCH_THING")
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "unknown_subcategory"
    bad = report(location={"type": "Point", "coordinates": [500, 1]})
    assert bad.status_code == 422
    assert session.scalar(select(func.count()).select_from(Event)) == before


def test_a_worker_may_report_beyond_their_grids_and_still_sees_it(report, auth):
    response = report("demo_worker", grid="500103001003001", text="七星岗这边路灯不亮好几天了")
    assert response.status_code == 201, response.json
    assert response.json["township_code"] == "500103001000"
    mine = auth.get("demo_worker", f"/api/v1/events/{response.json['id']}")
    assert mine.status_code == 200
    # …while the other township's staff see it and the reporter's own dispatcher does not.
    assert auth.get("demo_dispatcher", f"/api/v1/events/{response.json['id']}").status_code == 404


def test_the_report_starts_the_audit_chain(report, session):
    event_id = report().json["id"]
    rows = session.scalars(
        select(EventAudit).where(EventAudit.event_id == event_id).order_by(EventAudit.seq)
    ).all()
    assert rows[0].action == "report" and rows[0].from_state is None and rows[0].prev_hash is None
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


def test_classify_endpoint_suggests_while_typing(auth):
    response = auth.post("demo_worker", "/api/v1/classify", json={"text": "山上有石头往下掉"})
    assert response.status_code == 200
    assert response.json["category"] == "GEOHAZARD"
    assert len(response.json["alternatives"]) == 3


def _photo(colour: str) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def test_the_event_detail_lists_its_photos_by_purpose(report, auth):
    from io import BytesIO

    def upload(user: str, colour: str) -> int:
        response = auth.post(
            user,
            "/api/v1/attachments",
            data={"file": (BytesIO(_photo(colour)), "p.jpg")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 201, response.json
        return response.json["id"]

    reported = upload("demo_worker", "red")
    event = report(
        text="小区门口乱堆纸箱杂物", subcategory="SANITATION_PILED_MATERIALS", photos=[reported]
    )
    event = event.json
    handler = event["assigned_unit"]["user_id"]
    assert handler is not None and event["assigned_unit"]["level"] == "grid"  # demo_worker's grid
    path = f"/api/v1/events/{event['id']}"
    auth.post("demo_worker", f"{path}/actions", json={"action": "accept"})
    handled = upload("demo_worker", "blue")
    answer = auth.post(
        "demo_worker", f"{path}/actions", json={"action": "handle", "attachment_ids": [handled]}
    )
    assert answer.status_code == 200, answer.json

    detail = auth.get("demo_dispatcher", path).json
    assert detail["attachments"] == [
        {"id": reported, "purpose": "report", "mime": "image/jpeg"},
        {"id": handled, "purpose": "handle", "mime": "image/jpeg"},
    ]
    # Someone who cannot see the event sees neither it nor its photos.
    assert auth.get("demo_dept_cg", path).status_code == 404

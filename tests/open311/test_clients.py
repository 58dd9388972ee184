"""Two Open311 clients from PyPI, unmodified, against the app served over real HTTP:
`georeport` (reads, JSON and XML) and `three` (posts; written for Python 2)."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from app.accounts.models import User

GRID = "500103003013001"


@pytest.fixture
def live(app, session, redis_client):
    """The app on a real socket, in a thread, sharing the test's rolled-back transaction."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/open311/v2"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture
def key(auth, session):
    user_id = session.scalar(select(User.id).where(User.username == "demo_dispatcher"))
    response = auth.post(
        "demo_admin", "/api/v1/open311/keys", json={"user_id": user_id, "name": "客户端测试"}
    )
    return response.json["key"]


@pytest.fixture
def three():
    # three 0.8 imports itertools.ifilter (Python 2); the brief's one-line shim, nothing else.
    if not hasattr(itertools, "ifilter"):
        itertools.ifilter = filter
    import three

    return three


def test_three_posts_and_reads_back_over_http(live, key, three, point_in):
    lon, lat = point_in(GRID)
    client = three.Three(live, api_key=key, jurisdiction="chongqing")
    answer = client.post(
        "MUNICIPAL_MANHOLE",
        lat=lat,
        long=lon,
        address="解放碑步行街 8 号",
        name="张 三",
        phone="13800000000",
        description="步行街井盖缺失，晚上有人踩空",
        media_url="https://example.org/m.jpg",
    )
    assert client.post_response.status_code == 200, answer
    request_id = answer[0]["service_request_id"]
    [row] = client.request(str(request_id))
    assert row["service_code"] == "MUNICIPAL_MANHOLE" and row["status"] == "open"
    assert row["media_url"] == "https://example.org/m.jpg"
    assert "13800000000" not in str(row)
    assert request_id in {r["service_request_id"] for r in client.requests("MUNICIPAL_MANHOLE")}
    assert client.token(answer[0]["token"])[0]["service_request_id"] == request_id
    services = client.services()
    assert "MUNICIPAL_MANHOLE" in {s["service_code"] for s in services}
    assert client.services("MUNICIPAL_MANHOLE")["service_code"] == "MUNICIPAL_MANHOLE"
    assert client.discovery()["endpoints"][0]["url"] == live


def test_three_sees_the_spec_errors(live, three, point_in):
    lon, lat = point_in(GRID)
    client = three.Three(live, api_key="o311_wrong")
    answer = client.post("MUNICIPAL_MANHOLE", lat=lat, long=lon, description="井盖缺失")
    assert client.post_response.status_code == 403
    assert answer[0]["code"] == 403


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_in_both_formats(live, key, three, point_in, fmt):
    from georeport import GeoReport

    lon, lat = point_in(GRID)
    posted = three.Three(live, api_key=key).post(
        "MUNICIPAL_MANHOLE", lat=lat, long=lon, description="民生路井盖破损"
    )
    request_id = str(posted[0]["service_request_id"])
    client = GeoReport(live, jurisdiction="chongqing", output_format=fmt)
    services = client.get_service_list()
    assert "MUNICIPAL_MANHOLE" in {s["service_code"] for s in services}
    definition = client.get_service_definition("MUNICIPAL_MANHOLE")
    assert definition["service_code"] == "MUNICIPAL_MANHOLE"
    one = client.get_service_request(request_id)
    # georeport hands XML back as strings, JSON as numbers: compare as text.
    assert str(one["service_request_id"]) == request_id and one["status"] == "open"
    found = client.get_service_requests(service_request_id=request_id)
    found = found if isinstance(found, list) else [found]  # xmltodict: one element, no list
    assert [str(r["service_request_id"]) for r in found] == [request_id]
    listed = client.get_service_requests(service_code="MUNICIPAL_MANHOLE", status="open")
    listed = listed if isinstance(listed, list) else [listed]
    assert request_id in {str(r["service_request_id"]) for r in listed}

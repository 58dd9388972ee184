"""Open311 GeoReport v2 at /open311/v2: discovery, services, POST with a key, the public read
in JSON and XML, the spec's errors, key revocation and what the public may never see."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.core.scope import unscoped
from app.events.models import Event

GRID = "500103003013001"  # 解放碑街道 · 民生路社区: inside the demo dispatcher's township
ELSEWHERE = "500103001003001"  # 七星岗街道: another township
V2 = "/open311/v2"


@pytest.fixture
def issue(auth, session):
    """Issue an Open311 key for a demo account through the admin API; returns the answer."""

    def issue_for(username: str = "demo_dispatcher", name: str = "12345 热线"):
        user_id = session.scalar(select(User.id).where(User.username == username))
        response = auth.post(
            "demo_admin", "/api/v1/open311/keys", json={"user_id": user_id, "name": name}
        )
        assert response.status_code == 201, response.json
        return response.json

    return issue_for


@pytest.fixture
def post(client, point_in):
    """POST requests.json (form-encoded, as the spec says) at a grid's point."""

    def send(key: str | None, *, grid: str = GRID, fmt: str = "json", **fields):
        lon, lat = point_in(grid)
        form = {
            "service_code": "MUNICIPAL_MANHOLE",
            "lat": str(lat),
            "long": str(lon),
            "description": "解放碑步行街井盖缺失，行人容易踩空",
            **fields,
        }
        if key is not None:
            form["api_key"] = key
        form = {k: v for k, v in form.items() if v is not None}
        return client.post(f"{V2}/requests.{fmt}", data=form)

    return send


def _xml(response) -> ET.Element:
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.data)


# -- discovery and services ------------------------------------------------------------------


def test_discovery_names_the_endpoint_in_both_formats(client):
    body = client.get(f"{V2}/discovery.json").json
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    root = _xml(client.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert root.find("endpoints/endpoint/url").text == "http://localhost/open311/v2"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "application/json",
        "text/xml",
    ]


def test_services_offer_only_public_subcategories(client):
    services = client.get(f"{V2}/services.json").json
    codes = {s["service_code"] for s in services}
    assert "MUNICIPAL_MANHOLE" in codes
    # Categories about people are not offered: disputes and public order.
    assert not any(c.startswith(("DISPUTE_", "PUBLIC_ORDER_")) for c in codes)
    manhole = next(s for s in services if s["service_code"] == "MUNICIPAL_MANHOLE")
    assert manhole["metadata"] is True and manhole["type"] == "realtime"
    assert manhole["group"] == "市政设施"
    root = _xml(client.get(f"{V2}/services.xml"))
    assert root.tag == "services"
    assert {s.findtext("service_code") for s in root.findall("service")} == codes
    assert root.find("service/metadata").text == "true"


def test_a_service_definition_lists_its_attributes(client):
    body = client.get(f"{V2}/services/MUNICIPAL_MANHOLE.json").json
    assert body["service_code"] == "MUNICIPAL_MANHOLE"
    assert {a["code"]: a["datatype"] for a in body["attributes"]} == {
        "occurred_at": "datetime",
        "accuracy_m": "number",
    }
    root = _xml(client.get(f"{V2}/services/MUNICIPAL_MANHOLE.xml"))
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/variable").text == "true"


def test_a_private_or_unknown_service_is_a_404_in_the_spec_format(client):
    for code in ("DISPUTE_NEIGHBOR", "NO_SUCH_THING"):
        response = client.get(f"{V2}/services/{code}.json")
        assert response.status_code == 404
        assert response.json[0]["code"] == 404
        assert code in response.json[0]["description"]
    root = _xml(client.get(f"{V2}/services/DISPUTE_NEIGHBOR.xml"))
    assert root.tag == "errors" and root.find("error/code").text == "404"


def test_unknown_paths_and_jurisdictions_answer_spec_errors(client):
    response = client.get(f"{V2}/services.csv")
    assert response.status_code == 404 and response.json[0]["code"] == 404
    response = client.get(f"{V2}/services.json?jurisdiction_id=beijing")
    assert response.status_code == 404 and "beijing" in response.json[0]["description"]
    assert client.get(f"{V2}/services.json?jurisdiction_id=chongqing").status_code == 200


# -- posting ---------------------------------------------------------------------------------


def test_a_posted_request_becomes_an_event_of_the_keys_account(issue, post, auth, session):
    key = issue()["key"]
    response = post(
        key,
        media_url="https://example.org/manhole.jpg",
        account_id="A-17",
        first_name="张",
        last_name="三",
        phone="13800000000",
        **{"attribute[accuracy_m]": "12"},
    )
    assert response.status_code == 200, response.json
    [answer] = response.json
    assert answer["account_id"] == "A-17" and answer["service_notice"]
    event = auth.get("demo_dispatcher", f"/api/v1/events/{answer['service_request_id']}").json
    assert event["source"] == "open311"
    assert event["subcategory"] == "MUNICIPAL_MANHOLE"
    with unscoped():
        row = session.get(Event, answer["service_request_id"])
        assert row.accuracy_m == 12 and row.reporter_id == event["reporter_id"]
        assert session.get(User, row.reporter_id).username == "demo_dispatcher"
    # The public read keeps the media link and leaves out who called.
    [public] = auth.client.get(f"{V2}/requests/{answer['service_request_id']}.json").json
    assert public["media_url"] == "https://example.org/manhole.jpg"
    assert "13800000000" not in str(public) and "张" not in str(public)
    # The token resolves to the request.
    [found] = auth.client.get(f"{V2}/tokens/{answer['token']}.json").json
    assert found["service_request_id"] == answer["service_request_id"]


def test_post_answers_in_xml(issue, post):
    root = _xml(post(issue()["key"], fmt="xml"))
    assert root.tag == "service_requests"
    assert int(root.find("request/service_request_id").text) > 0


def test_a_retried_post_with_a_request_id_files_one_event(issue, post):
    key = issue()["key"]
    first = post(key, request_id="call-0001", device_id="desk-3").json[0]
    again = post(key, request_id="call-0001", device_id="desk-3").json[0]
    other = post(key, request_id="call-0002", device_id="desk-3").json[0]
    assert first["service_request_id"] == again["service_request_id"]
    assert other["service_request_id"] != first["service_request_id"]


@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        ({"lat": None, "long": None, "address_string": "解放碑步行街 8 号"}, 400, "lat 与 long"),
        ({"lat": None, "long": None}, 400, "lat 与 long"),
        ({"lat": "91"}, 400, "lat"),
        ({"long": "east"}, 400, "long"),
        ({"service_code": "DISPUTE_NEIGHBOR"}, 400, "DISPUTE_NEIGHBOR"),
        ({"service_code": None}, 400, "service_code"),
        ({"media_url": "file:///etc/passwd"}, 400, "media_url"),
        ({"attribute[colour]": "red"}, 400, "colour"),
        ({"attribute[occurred_at]": "yesterday"}, 400, "attribute[occurred_at]"),
        ({"description": "长" * 4001}, 400, "description"),
    ],
)
def test_bad_posts_are_refused_with_a_clear_error(issue, post, fields, status, needle):
    response = post(issue()["key"], **fields)
    assert response.status_code == status, response.json
    [error] = response.json
    assert error["code"] == status and needle in error["description"]


def test_a_key_posts_only_inside_its_accounts_scope(issue, post):
    response = post(issue()["key"], grid=ELSEWHERE)
    assert response.status_code == 403
    assert "管辖范围" in response.json[0]["description"]


def test_missing_wrong_and_revoked_keys_are_403(issue, post, auth):
    assert post(None).status_code == 403
    assert post("o311_not-a-key").json[0]["code"] == 403
    issued = issue()
    assert post(issued["key"]).status_code == 200
    revoked = auth.post("demo_admin", f"/api/v1/open311/keys/{issued['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    response = post(issued["key"], fmt="xml")
    assert response.status_code == 403
    assert _xml(response).find("error/code").text == "403"


def test_admins_list_keys_without_the_keys_themselves(issue, auth):
    issued = issue(name="合作方 A")
    assert issued["key"].startswith(issued["prefix"])
    listed = auth.get("demo_admin", "/api/v1/open311/keys?revoked=false").json["items"]
    row = next(k for k in listed if k["id"] == issued["id"])
    assert row["username"] == "demo_dispatcher" and "key" not in row
    assert issued["key"] not in str(listed)


def test_keys_bind_only_accounts_that_may_report(auth, session):
    user_id = session.scalar(select(User.id).where(User.username == "demo_supervisor_city"))
    response = auth.post(
        "demo_admin", "/api/v1/open311/keys", json={"user_id": user_id, "name": "督查"}
    )
    assert response.status_code == 422
    assert response.json["error"]["code"] == "account_cannot_report"


# -- the public read -------------------------------------------------------------------------


@pytest.fixture
def worker_events(report):
    """A manhole, a neighbour dispute and a manhole about a key person, by the demo worker."""
    manhole = report(text="民生路井盖缺失", subcategory="MUNICIPAL_MANHOLE").json["id"]
    dispute = report(text="楼上楼下噪音吵架", subcategory="DISPUTE_NEIGHBOR").json["id"]
    return {"manhole": manhole, "dispute": dispute}


def test_requests_show_public_categories_without_reporters(client, worker_events):
    rows = client.get(f"{V2}/requests.json").json
    ids = {r["service_request_id"] for r in rows}
    assert worker_events["manhole"] in ids
    assert worker_events["dispute"] not in ids
    row = next(r for r in rows if r["service_request_id"] == worker_events["manhole"])
    assert row["status"] == "open"
    assert row["service_code"] == "MUNICIPAL_MANHOLE" and row["service_name"] == "井盖缺失破损"
    assert row["address"].startswith("渝中区解放碑街道")
    assert row["requested_datetime"].endswith("+08:00")
    assert not {"reporter_id", "reporter", "reporter_name"} & set(row)
    assert "demo_worker" not in str(rows)
    # Not by id either.
    response = client.get(f"{V2}/requests/{worker_events['dispute']}.json")
    assert response.status_code == 404
    listed = client.get(f"{V2}/requests.json?service_request_id={worker_events['dispute']}")
    assert listed.json == []


def test_events_about_key_persons_are_never_public(client, session, worker_events):
    from app.geo.codes import ancestry
    from app.keys.models import KeyPerson

    with unscoped():
        person = KeyPerson(
            kind_code="elderly_alone",
            name="独居老人",
            visit_interval_days=7,
            next_visit_due_at=datetime.now(UTC),
            **ancestry(GRID),
        )
        session.add(person)
        session.flush()
        session.get(Event, worker_events["manhole"]).key_person_id = person.id
        session.flush()
    assert client.get(f"{V2}/requests/{worker_events['manhole']}.json").status_code == 404
    ids = {r["service_request_id"] for r in client.get(f"{V2}/requests.json").json}
    assert worker_events["manhole"] not in ids


def test_status_follows_the_lifecycle_with_the_latest_reason(client, auth, worker_events):
    event_id = worker_events["manhole"]
    event = auth.get("demo_dispatcher", f"/api/v1/events/{event_id}").json
    handler = {"department": "demo_dept_cg"}.get(event["assigned_unit"]["level"], "demo_leader")
    [row] = client.get(f"{V2}/requests/{event_id}.json").json
    assert row["status"] == "open" and row["expected_datetime"]
    steps = [
        (handler, {"action": "accept"}),
        (handler, {"action": "handle", "result": "已更换井盖"}),
        ("demo_worker", {"action": "verify"}),
        ("demo_dispatcher", {"action": "close", "reason": "井盖已更换，现场核实无误"}),
    ]
    for user, body in steps:
        response = auth.post(user, f"/api/v1/events/{event_id}/actions", json=body)
        assert response.status_code == 200, response.json
    [row] = client.get(f"{V2}/requests/{event_id}.json").json
    assert row["status"] == "closed" and row["status_notes"] == "井盖已更换，现场核实无误"
    assert row["expected_datetime"] is None
    closed = client.get(f"{V2}/requests.json?status=closed").json
    assert event_id in {r["service_request_id"] for r in closed}
    opened = client.get(f"{V2}/requests.json?status=open,open").json
    assert event_id not in {r["service_request_id"] for r in opened}


def test_requests_filter_by_ids_codes_and_dates_in_xml(client, worker_events):
    manhole = worker_events["manhole"]
    root = _xml(client.get(f"{V2}/requests.xml?service_request_id={manhole},999999"))
    assert root.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [str(manhole)]
    assert root.find("request/status").text == "open"
    assert root.find("request/long").text is not None
    other = client.get(f"{V2}/requests.json?service_code=MUNICIPAL_STREETLIGHT").json
    assert manhole not in {r["service_request_id"] for r in other}
    past = client.get(
        f"{V2}/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z"
    ).json
    assert past == []
    today = datetime.now(UTC)
    start = (today - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = client.get(f"{V2}/requests.json?start_date={start}").json
    assert manhole in {r["service_request_id"] for r in recent}


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z", "90"),
        ("start_date=2020-02-01T00:00:00Z&end_date=2020-01-01T00:00:00Z", "end_date"),
        ("start_date=yesterday", "start_date"),
        ("status=pending", "status"),
        ("service_request_id=1,abc", "service_request_id"),
    ],
)
def test_bad_filters_are_400(client, query, needle):
    response = client.get(f"{V2}/requests.json?{query}")
    assert response.status_code == 400
    assert needle in response.json[0]["description"]


def test_unknown_tokens_and_ids_are_404(client):
    assert client.get(f"{V2}/tokens/{uuid.uuid4()}.json").status_code == 404
    assert client.get(f"{V2}/tokens/nonsense.xml").status_code == 404
    assert client.get(f"{V2}/requests/99999999999999999999.json").status_code == 404

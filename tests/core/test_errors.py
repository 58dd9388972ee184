"""One JSON error shape with a machine-readable code and a Chinese message; never a 500 leak."""

from __future__ import annotations

import re

import pytest


def _shape(response):
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"]), body
    # Chinese goes over the wire as UTF-8, not as \u escapes.
    assert body["error"]["message"] in response.get_data(as_text=True)
    return body["error"]


def test_unknown_path(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and _shape(response)["code"] == "not_found"


def test_wrong_method_says_which_are_allowed(client):
    response = client.put("/api/v1/auth/login")
    assert response.status_code == 405
    assert _shape(response)["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    "body,content_type",
    [("{not json", "application/json"), ("[]", "application/json"), ("a=b", "text/plain")],
)
def test_malformed_bodies_are_client_errors(client, body, content_type):
    response = client.post("/api/v1/auth/login", data=body, content_type=content_type)
    assert 400 <= response.status_code < 500
    _shape(response)


def test_unknown_and_missing_fields_are_named(client):
    response = client.post("/api/v1/auth/login", json={"username": "a", "pasword": "typo"})
    error = _shape(response)
    assert response.status_code == 422 and error["code"] == "validation_error"
    assert error["details"]["json"] == {"password": ["缺少必填字段"], "pasword": ["未知字段"]}


def test_unexpected_failures_hide_their_internals(auth, monkeypatch):
    from app.geo import service

    def broken(**kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(service, "search", broken)
    response = auth.get("demo_admin", "/api/v1/areas?q=x")
    assert response.status_code == 500
    assert _shape(response)["code"] == "internal_error"
    assert "hunter2" not in response.get_data(as_text=True)


def test_openapi_document_covers_every_endpoint(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(m.upper(), path) for path, ops in spec["paths"].items() for m in ops}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("openapi.json"):
            # Any converter (<id:x>, <uuid:x>, <x>) is documented as {x}.
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (method, path) in documented, (method, path)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/auth/login"]["post"]["security"] == []


def test_nul_characters_are_refused_everywhere(client, auth):
    login = client.post("/api/v1/auth/login", json={"username": "a\x00b", "password": "x"})
    assert login.status_code == 422
    assert _shape(login)["details"]["json"]["_schema"] == ["文本中不能包含空字符（NUL）"]
    search = auth.get("demo_admin", "/api/v1/areas?q=%00")
    assert search.status_code == 422


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/whistles/counts?due_to=0001-01-01T00:04:27%2B01:00",
        "/api/v1/events?received_from=9999-12-31T23:00:00-02:00",
    ],
)
def test_moments_beyond_the_calendar_are_refused_not_crashed_on(auth, url):
    # Found by the fuzzer: a time whose UTC is before year 1 (or after 9999) overflowed.
    response = auth.get("demo_supervisor_city", url)
    assert response.status_code == 422, response.json
    assert "日期时间超出范围" in str(response.json["error"]["details"])

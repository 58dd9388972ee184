"""Property-based fuzzing of every documented endpoint: no input, however malformed, may make
the API answer 5xx. Cases come from /api/v1/openapi.json through schemathesis's Hypothesis
strategies (driven directly: its pytest plugin does not support pytest 9)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.support import DEMO_PASSWORD


def _operations(app) -> dict[str, object]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return {op.label: op for op in (r.ok() for r in schema.get_all_operations())}


def _labels() -> list[str]:
    # Labels are read from the app's own document, so a new endpoint is fuzzed automatically.
    from app import create_app

    app = create_app({"TESTING": True})
    return sorted(_operations(app))


@pytest.mark.parametrize("label", _labels())
def test_no_input_makes_the_api_fail(app, session, redis_client, label):
    operation = _operations(app)[label]

    @given(data=st.data())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def run(data):
        case = data.draw(operation.as_strategy())
        # A fresh token per case: generated cases may log out or change the password.
        login = app.test_client().post(
            "/api/v1/auth/login", json={"username": "demo_admin", "password": DEMO_PASSWORD}
        )
        token = login.json.get("token")
        response = case.call(headers={"Authorization": f"Bearer {token}"} if token else {})
        case.validate_response(response, checks=[not_a_server_error])

    run()

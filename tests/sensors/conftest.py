"""Fixtures for the sensors tests: a registered device with its secret, and its uploads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.db import utcnow

GRID = "500103003013001"  # the demo worker's grid, in the demo township 解放碑街道


@pytest.fixture
def rules(session):
    """The types' default rules, as `flask sensors load-rules` seeds them."""
    from app.sensors.service import load_rules

    load_rules()


@pytest.fixture
def device(auth, point_in, rules):
    """Register a sensor as the township dispatcher; returns a callable making more."""

    def make(type_="crack_meter", *, name="危岩裂缝计", grid=GRID, **fields):
        body = {
            "type": type_,
            "name": name,
            "location": {"type": "Point", "coordinates": point_in(grid)},
            **fields,
        }
        response = auth.post("demo_dispatcher", "/api/v1/sensors", json=body)
        assert response.status_code == 201, response.json
        return response.json

    return make


@pytest.fixture
def upload(client):
    """POST a batch as a device: upload(sensor, [(minutes_ago, value), ...])."""

    def send(sensor, points, *, secret=None, base=None):
        base = base or utcnow()
        readings = [
            {"at": (base - timedelta(minutes=m)).isoformat(), "value": v} for m, v in points
        ]
        header = f"Device {sensor['code']}:{secret or sensor['secret']}"
        return client.post(
            "/api/v1/sensors/readings",
            json={"readings": readings},
            headers={"Authorization": header},
        )

    return send

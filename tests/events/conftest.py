"""Helpers for reporting events in tests."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.geo.models import Area


@pytest.fixture
def point_in(session):
    """A point inside a grid (its representative point), as [lon, lat]."""

    def point(code: str) -> list[float]:
        area = session.scalar(select(Area).where(Area.id == int(code)))
        p = area.geom.representative_point()
        return [p.x, p.y]

    return point


@pytest.fixture
def report(auth, point_in):
    """POST a report as a user; returns the response."""

    def send(
        username="demo_worker",
        *,
        grid="500103003013001",
        text="民生路小区门口井盖不见了，晚上容易摔跤",
        client_uuid=None,
        **fields,
    ):
        body = {
            "client_uuid": str(client_uuid or uuid.uuid4()),
            "description": text,
            "location": {"type": "Point", "coordinates": point_in(grid)},
            **fields,
        }
        return auth.post(username, "/api/v1/events", json=body)

    return send

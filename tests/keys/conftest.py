"""Helpers for the key persons and places registry: kinds loaded, rows registered via the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.geo.models import Area
from app.keys import idcard

# The demo worker holds W1 (home) and W2; W3 is another grid of the same village (民生路社区);
# T is in another village of the same township; B is in another township (七星岗街道).
W1 = "500103003013001"
W2 = "500103003013002"
W3 = "500103003013003"
T = "500103003016001"
B = "500103001003001"


def id_card(first17: str = "50010319410315002") -> str:
    """A made-up identity number with a correct check character."""
    return first17 + idcard.check_char(first17)


@pytest.fixture(autouse=True)
def kinds(session):
    from app.keys.service import load_kinds

    load_kinds()


@pytest.fixture
def uid(session):
    """A user's id by username."""
    from app.accounts.models import User

    return lambda username: session.scalar(select(User.id).where(User.username == username))


@pytest.fixture
def point_in(session):
    """A point inside a grid (its representative point), as [lon, lat]."""

    def point(code: str) -> list[float]:
        area = session.scalar(select(Area).where(Area.id == int(code)))
        p = area.geom.representative_point()
        return [p.x, p.y]

    return point


@pytest.fixture
def person(auth):
    """Register a person as a user; returns the response."""

    def register(username: str = "demo_worker", **fields):
        body = {
            "kind": "elderly_alone",
            "name": "陈秀英",
            "grid": W1,
            "address": "民生路 218 号",
            "id_card_no": id_card(),
            "phone": "13812345678",
            "guardian_name": "陈建国",
            "guardian_phone": "13987654321",
            "case_notes": "子女在外地，患高血压",
            **fields,
        }
        return auth.post(username, "/api/v1/keys/persons", json=body)

    return register


@pytest.fixture
def place(auth, point_in):
    """Register a place as a user; returns the response."""

    def register(username: str = "demo_worker", *, grid: str = W1, **fields):
        body = {
            "kind": "hazardous_rock",
            "name": "民生路危岩 W-03",
            "location": {"type": "Point", "coordinates": point_in(grid)},
            "contact_name": "张经理",
            "contact_phone": "13711112222",
            **fields,
        }
        return auth.post(username, "/api/v1/keys/places", json=body)

    return register

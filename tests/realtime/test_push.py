"""Pushes: every change goes through the outbox to the rooms whose scope holds it, live to
connected consoles, and again to a client that reconnects."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.scope import unscoped
from app.realtime.models import OutboxMessage
from app.realtime.socket import socketio

GRID, VILLAGE = "area:500103003013001", "area:500103003013"
TOWNSHIP, DISTRICT, CITY = "area:500103003000", "area:500103000000", "area:500000000000"


def _rows(session, kind: str, event_id: int) -> list[OutboxMessage]:
    with unscoped():
        return list(
            session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == kind, OutboxMessage.event_id == event_id
                )
            )
        )


def test_a_new_event_reaches_every_console_whose_scope_holds_it(session, report):
    sent = report(text="小区门口井盖不见了", subcategory="MUNICIPAL_MANHOLE")
    rows = _rows(session, "event_new", sent.json["id"])
    rooms = {row.room for row in rows}
    assert {GRID, VILLAGE, TOWNSHIP, DISTRICT, CITY} <= rooms
    assert len({row.key for row in rows}) == 1  # one message, one row per room
    assert rows[0].payload["state"] == sent.json["state"]
    assert "area:500103001000" not in rooms  # another township hears nothing


def test_catch_up_replays_what_a_client_missed_and_only_its_own(session, auth, report):
    start = auth.get("demo_dispatcher", "/api/v1/realtime/messages").json["last_id"]
    mine = report(text="民生路井盖缺失").json["id"]
    elsewhere = report("demo_dispatcher", grid="500103003016001", text="莲花池社区路灯不亮").json[
        "id"
    ]

    dispatcher = auth.get("demo_dispatcher", f"/api/v1/realtime/messages?since={start}").json
    seen = {(m["kind"], m["event_id"]) for m in dispatcher["messages"]}
    assert {("event_new", mine), ("event_new", elsewhere)} <= seen
    # One envelope per message even though the dispatcher is in several of its rooms.
    keys = [m["key"] for m in dispatcher["messages"]]
    assert len(keys) == len(set(keys))

    worker = auth.get("demo_worker", f"/api/v1/realtime/messages?since={start}").json
    seen = {(m["kind"], m["event_id"]) for m in worker["messages"]}
    assert ("event_new", mine) in seen and ("event_new", elsewhere) not in seen


def test_catch_up_pages_and_looks_back_for_late_commits(session, auth, report):
    from app.realtime import service

    ids = [report(text=f"井盖缺失第{i}处").json["id"] for i in range(4)]
    since = service.last_id()
    # A message that committed late, below the client's last id, is still offered.
    page, after, more = service.catch_up(rooms=[GRID], since=since, limit=2)
    assert more and len(page) <= 2
    seen = [m["event_id"] for m in page]
    while more:
        page, after, more = service.catch_up(rooms=[GRID], since=since, after=after, limit=2)
        seen += [m["event_id"] for m in page]
    assert set(ids) <= set(seen)


def test_bad_catch_up_arguments_are_refused(session, auth):
    bad = auth.get("demo_dispatcher", "/api/v1/realtime/messages?since=abc")
    assert bad.status_code == 422


@pytest.fixture
def socket_client(app, session, auth):
    clients = []

    def connect(username: str | None, **kw):
        token = auth.token(username) if username else None
        client = socketio.test_client(app, auth={"token": token} if token else None, **kw)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        if client.is_connected():
            client.disconnect()


def test_a_socket_needs_a_valid_token(socket_client):
    assert not socket_client(None).is_connected()
    assert not socket_client(None, query_string="token=forged").is_connected()


def test_a_console_hears_changes_live_and_catches_up(socket_client, auth, report):
    console = socket_client("demo_dispatcher")
    assert console.is_connected()
    hello = next(m for m in console.get_received() if m["name"] == "hello")["args"][0]
    assert TOWNSHIP in hello["rooms"]
    worker = socket_client("demo_worker")
    worker.get_received()

    event_id = report(text="民生路井盖缺失，需要处理").json["id"]
    pushed = [m["args"][0] for m in console.get_received() if m["name"] == "push"]
    assert ("event_new", event_id) in {(p["kind"], p["event_id"]) for p in pushed}
    assert any(p["event_id"] == event_id for p in (m["args"][0] for m in worker.get_received()))

    # Disconnected, the console misses a report; on reconnect it asks from its last id.
    last = max(p["id"] for p in pushed)
    console.disconnect()
    missed = report(text="民生路又有一个井盖缺失").json["id"]
    console = socket_client("demo_dispatcher")
    answer = console.emit("catch_up", {"since": last}, callback=True)
    assert ("event_new", missed) in {(m["kind"], m["event_id"]) for m in answer["messages"]}
    assert not answer["more"]


def test_catch_up_on_the_socket_validates(socket_client):
    console = socket_client("demo_dispatcher")
    answer = console.emit("catch_up", {"since": "x"}, callback=True)
    assert answer["error"]["code"] == "validation_failed"

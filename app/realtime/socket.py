"""Socket.IO: signed-in clients join their rooms and receive outbox messages live.

Web processes run the server (threading mode, simple-websocket); every process — web, RQ
worker, CLI — pushes through Redis on the `flask-socketio` channel, so a message written by a
worker reaches a client connected to any web process.
"""

from __future__ import annotations

from collections.abc import Callable

import socketio as sio
from flask import Flask, current_app, request
from flask_socketio import SocketIO, emit, join_room

from app.realtime import rooms as rooms_
from app.realtime import service

CHANNEL = "flask-socketio"
socketio = SocketIO()
# The rooms of each connection of this process, by Socket.IO session id.
_connections: dict[str, list[str]] = {}


class LazyRedisManager(sio.RedisManager):
    """A Redis manager that resolves its URL on first use (the embedded Redis starts then)."""

    def __init__(self, resolve_url: Callable[[], str], **kwargs):
        super().__init__(url="redis://unresolved", channel=CHANNEL, **kwargs)
        self._resolve_url = resolve_url

    def _redis_connect(self):
        self.redis_url = self._resolve_url()
        return super()._redis_connect()


def init_app(app: Flask) -> None:
    resolver = app.extensions["redis_url_resolver"]
    if app.config["ROLE"] == "web":
        # Flask-SocketIO's test client needs the in-process manager; everything else (and the
        # cross-process test) goes through Redis.
        queue = app.config["SOCKETIO_MESSAGE_QUEUE"]
        socketio.init_app(
            app,
            async_mode="threading",
            client_manager=LazyRedisManager(resolver) if queue else None,
            cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS") or [],
            manage_session=False,
        )
    else:
        app.extensions["wangge_push"] = LazyRedisManager(resolver, write_only=True)


def emit_all(envelopes: list[tuple[dict, list[str]]]) -> None:
    """Push messages to their rooms on every web process (each client gets each key once)."""
    server = current_app.extensions.get("socketio")
    for envelope, targets in envelopes:
        if server is not None:
            server.emit("push", envelope, to=targets, namespace="/")
        else:
            current_app.extensions["wangge_push"].emit(
                "push", envelope, namespace="/", room=targets
            )


@socketio.on("connect")
def connect(auth=None):
    """Authenticate with the API token (Socket.IO auth {token} or ?token=) and join rooms."""
    from app.accounts.service import principal_for_token

    token = auth.get("token") if isinstance(auth, dict) else None
    token = token or request.args.get("token")
    principal = principal_for_token(str(token)) if token else None
    if principal is None:
        raise ConnectionRefusedError(
            {"code": "unauthorized", "message": "登录已失效，请重新登录" if token else "请先登录"}
        )
    joined = rooms_.for_principal(principal)
    for room in joined:
        join_room(room)
    _connections[request.sid] = joined
    emit("hello", {"user": principal.username, "rooms": joined, "last_id": service.last_id()})


@socketio.on("disconnect")
def disconnect(*_args):
    _connections.pop(request.sid, None)


@socketio.on("catch_up")
def catch_up(data=None):
    """Replay what the client missed since the last id it saw: {since, after?} → one page."""
    joined = _connections.get(request.sid)
    if joined is None:
        return {"error": {"code": "unauthorized", "message": "请先登录"}}
    data = data if isinstance(data, dict) else {}
    try:
        since = max(0, int(data.get("since") or 0))
        after = data.get("after")
        after = None if after is None else max(0, int(after))
    except (TypeError, ValueError):
        return {"error": {"code": "validation_failed", "message": "since/after 须为整数"}}
    messages, next_after, more = service.catch_up(rooms=joined, since=since, after=after)
    return {"messages": messages, "after": next_after, "more": more}

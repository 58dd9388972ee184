"""The production path end to end: an RQ worker writes a push, Redis carries it, and a client
connected over a real websocket to a separate gunicorn web process receives it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import socketio
from rq import Queue, SimpleWorker
from sqlalchemy import delete

ROOT = Path(__file__).resolve().parents[2]
url_log: dict[str, tuple[str, Path]] = {}  # web process URL → (its Redis URL, its log)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def web_process(app, tmp_path):
    """A gunicorn web process on the test database and Redis, as production runs it."""
    port = _free_port()
    log = (tmp_path / "web.log").open("wb")
    env = {
        **os.environ,
        "REDIS_URL": app.extensions["redis_url_resolver"](),
        "WEB_THREADS": "4",
        "FLASK_APP": "wsgi.py",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4"]
        + ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    url_log[url] = (env["REDIS_URL"], tmp_path / "web.log")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _call(f"{url}/api/v1/openapi.json")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the web process did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.close()


@pytest.fixture
def worker_app(app):
    """A second app built as an RQ worker builds it: no Socket.IO server, pushes via Redis."""
    from app import create_app

    worker = create_app({"GEODATA_DIR": app.config["GEODATA_DIR"]}, role="worker")
    assert "socketio" not in worker.extensions
    return worker


def test_a_push_from_a_worker_reaches_a_client_of_another_web_process(web_process, worker_app):
    from app.console.models import Alarm
    from app.console.tasks import escalate_alarms
    from app.core import redis as redis_
    from app.core.db import utcnow
    from app.core.scope import unscoped
    from app.extensions import db
    from app.realtime.models import OutboxMessage

    token = _call(
        f"{web_process}/api/v1/auth/login", {"username": "demo_dispatcher", "password": "Demo@2026"}
    )["token"]
    received: list[dict] = []
    arrived = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("push")
    def on_push(envelope):
        received.append(envelope)
        arrived.set()

    refused = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(web_process, auth={"token": "forged"}, transports=["websocket"])

    client.connect(web_process, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    # Redis drops a publish nobody listens to: wait until the web process has subscribed
    # (its Socket.IO manager starts listening when its first client connects).
    with worker_app.app_context():
        listeners = redis_.client()
        deadline = time.monotonic() + 60
        while listeners.pubsub_numsub("flask-socketio")[0][1] < 1:
            redis_url, web_log = url_log[web_process]
            assert time.monotonic() < deadline, (
                f"the web process (Redis {redis_url}) never subscribed on "
                f"{worker_app.extensions['wangge_redis_url']} "
                f"({listeners.info('clients')}):\n{web_log.read_text()[-3000:]}"
            )
            time.sleep(0.05)
    alarm_id = None
    try:
        with worker_app.app_context(), unscoped():
            # An alarm of the dispatcher's township, left unacknowledged past its time.
            alarm = Alarm(
                source="sensor",
                title="裂缝计读数超过红色阈值",
                level="township",
                raised_at=utcnow() - timedelta(hours=1),
                escalate_at=utcnow() - timedelta(minutes=1),
                district_id=500103000000,
                township_id=500103003000,
            )
            db.session.add(alarm)
            db.session.commit()
            alarm_id = alarm.id

            connection = redis_.client()
            queue = Queue("high", connection=connection)
            queue.enqueue(escalate_alarms)
            SimpleWorker([queue], connection=connection).work(burst=True)

        assert arrived.wait(timeout=15), "no push arrived"
        envelope = received[0]
        assert envelope["kind"] == "alarm_escalated"
        assert envelope["payload"]["alarm_id"] == alarm_id
        assert envelope["payload"]["level"] == "city"
    finally:
        client.disconnect()
        if alarm_id is not None:
            with worker_app.app_context(), unscoped():
                db.session.execute(delete(Alarm).where(Alarm.id == alarm_id))
                db.session.execute(
                    delete(OutboxMessage).where(OutboxMessage.kind == "alarm_escalated")
                )
                db.session.commit()

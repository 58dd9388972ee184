"""Likely duplicates: the same burst pipe reported by five people. Near in space and time,
same subcategory, and sharing words. Words are approximated by characters and character
bigrams, which suit Chinese without a segmenter; short reports of one thing share few
bigrams ("供水管破了" / "路边水管爆了"), so single characters count too."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import select

from app.categories.models import Subcategory
from app.core.scope import unscoped
from app.events.lifecycle import TERMINAL
from app.events.models import Event
from app.extensions import db

SIMILARITY_THRESHOLD = 0.25
# Function characters that say nothing about what happened.
_STOP = frozenset("的了是在有一个这那我们你他她它和与及就也都还又很太吗呢吧啊呀哦嘛")
_M_PER_DEG_LAT = 111_320.0


def features(text: str) -> set[str]:
    """Content characters and character bigrams (punctuation and spaces ignored)."""
    chars = [c for c in text.lower() if c.isalnum()]
    grams = {a + b for a, b in zip(chars, chars[1:], strict=False)}
    return grams | (set(chars) - _STOP)


def similarity(a: str | set[str], b: str) -> float:
    """Overlap coefficient of the two texts' features, 0..1 (robust to length differences);
    `a` may be a text's features already (one report against many candidates)."""
    x, y = a if isinstance(a, set) else features(a), features(b)
    return len(x & y) / min(len(x), len(y)) if x and y else 0.0


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Metres between two nearby WGS84 points (equirectangular; fine within kilometres)."""
    dx = (lon2 - lon1) * _M_PER_DEG_LAT * math.cos(math.radians((lat1 + lat2) / 2))
    dy = (lat2 - lat1) * _M_PER_DEG_LAT
    return math.hypot(dx, dy)


def _near(
    columns,
    *,
    lon: float,
    lat: float,
    radius_m: float,
    since=None,
    subcategory: str | None = None,
    exclude_id: int | None = None,
):
    """Open events in the box around a point (the caller keeps those within radius_m)."""
    dlat = radius_m / _M_PER_DEG_LAT
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    stmt = select(*columns).where(
        Event.lon.between(lon - dlon, lon + dlon),
        Event.lat.between(lat - dlat, lat + dlat),
        Event.state.not_in([s.value for s in TERMINAL]),
    )
    if since is not None:
        stmt = stmt.where(Event.received_at >= since)
    if subcategory:
        stmt = stmt.where(Event.subcategory_code == subcategory)
    if exclude_id is not None:
        stmt = stmt.where(Event.id != exclude_id)
    return stmt.limit(500)


def open_near(*, lon: float, lat: float, radius_m: float, limit: int = 50, **filters):
    """Open events within radius_m of a point, nearest first (scope applies as usual)."""
    stmt = _near([Event], lon=lon, lat=lat, radius_m=radius_m, **filters)
    found = [(e, distance_m(lon, lat, e.lon, e.lat)) for e in db.session.scalars(stmt)]
    found = [(e, d) for e, d in found if d <= radius_m]
    return sorted(found, key=lambda pair: (pair[1], pair[0].id))[:limit]


def likely_original(event: Event, subcategory: Subcategory) -> int | None:
    """The open event this report most likely duplicates, or None.

    Unscoped on purpose: a duplicate may have been reported by a worker of another grid.
    Reads only the columns it compares: in a burst of reports there are many candidates.
    """
    columns = (Event.id, Event.lon, Event.lat, Event.description)
    stmt = _near(
        columns,
        lon=event.lon,
        lat=event.lat,
        radius_m=subcategory.dedup_radius_m,
        since=event.received_at - timedelta(hours=subcategory.dedup_window_hours),
        subcategory=subcategory.code,
        exclude_id=event.id,
    ).where(Event.duplicate_of_id.is_(None))
    with unscoped():
        rows = db.session.execute(stmt).all()
    mine = features(event.description)
    scored = [
        (similarity(mine, row.description), -d, row.id)
        for row in rows
        if (d := distance_m(event.lon, event.lat, row.lon, row.lat)) <= subcategory.dedup_radius_m
    ]
    best = max(scored, default=None)
    return best[2] if best and best[0] >= SIMILARITY_THRESHOLD else None

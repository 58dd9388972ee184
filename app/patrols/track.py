"""From GPS fixes to a walked track: segments, gaps, distance and time, split by local day.

A segment joins two consecutive counted fixes (accurate enough). It is a gap, not a walk, when
the fixes are more than `max_gap_s` apart (the app was closed, or the phone slept) or when
covering the distance would need more than `max_speed` (a GPS jump): a gap adds no distance,
no time and no coverage, and the track resumes at the next fix. A segment belongs to the local
day of the fix it starts from, and its time to the grid that fix lies in.

Pure module: standard library, shapely and app.geo.index's metres_per_degree (distances in a
local equirectangular frame on the WGS84 ellipsoid, as point lookup measures them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

import shapely

from app.geo.index import metres_per_degree


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Metres between two nearby WGS84 points (equirectangular at their middle latitude)."""
    kx, ky = metres_per_degree((lat1 + lat2) / 2.0)
    return math.hypot((lon2 - lon1) * kx, (lat2 - lat1) * ky)


@dataclass(frozen=True)
class Fix:
    at: datetime
    lon: float
    lat: float
    counted: bool = True
    grid_id: int | None = None


@dataclass
class DayTrack:
    """The walked part of one patrol on one local day."""

    day: date
    lines: list[list[tuple[float, float]]] = field(default_factory=list)
    distance_m: float = 0.0
    walked_s: float = 0.0
    grid_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def geometry(self) -> shapely.MultiLineString | None:
        lines = [line for line in self.lines if len(line) >= 2]
        return shapely.MultiLineString(lines) if lines else None


def day_tracks(
    fixes: Iterable[Fix], *, zone: tzinfo, max_gap_s: float, max_speed: float
) -> dict[date, DayTrack]:
    """The walked tracks per local day from fixes in time order (poor fixes are skipped)."""
    tracks: dict[date, DayTrack] = {}
    previous: Fix | None = None
    open_line: list[tuple[float, float]] | None = None  # the line the last segment extended
    open_day: date | None = None
    for fix in fixes:
        if not fix.counted:
            continue
        if previous is None:
            previous = fix
            continue
        seconds = (fix.at - previous.at).total_seconds()
        if seconds <= 0:
            continue
        metres = distance_m(previous.lon, previous.lat, fix.lon, fix.lat)
        if seconds > max_gap_s or metres > max_speed * seconds:
            previous, open_line = fix, None
            continue
        day = previous.at.astimezone(zone).date()
        track = tracks.setdefault(day, DayTrack(day))
        start = (previous.lon, previous.lat)
        # A gap, or midnight, starts a new line.
        if open_line is None or open_day != day:
            open_line, open_day = [start], day
            track.lines.append(open_line)
        open_line.append((fix.lon, fix.lat))
        track.distance_m += metres
        track.walked_s += seconds
        if previous.grid_id is not None:
            key = str(previous.grid_id)
            track.grid_seconds[key] = track.grid_seconds.get(key, 0.0) + seconds
        previous = fix
    return tracks

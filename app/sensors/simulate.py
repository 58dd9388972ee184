"""A simulator for demos and tests: demo sensors in the demo township fed realistic streams
through the same ingest path as devices, replaying `hours` of readings up to now.

The story: a rain burst in the first half; a water-level gauge that rises with it (a blue
warning) and falls back (it clears); and a crack meter on a hazardous-rock slope (with an
inclinometer beside it) whose crack creeps slowly, then accelerates, then fails (the last
reading is the meter torn apart): a GEOHAZARD event and an alarm on the township console.
A gas detector only shows noise.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.accounts.demo import VILLAGE
from app.core.db import utcnow
from app.core.scope import unscoped
from app.extensions import db
from app.geo.models import Area, AreaLevel
from app.keys.models import KeyPlace
from app.sensors import service
from app.sensors.models import Sensor

STEP = timedelta(minutes=10)
# Where the creep turns into acceleration, as a fraction of the replay.
ACCELERATES_AT = 0.7


@dataclass(frozen=True)
class Demo:
    code: str
    type: str
    name: str
    offset: tuple[float, float]  # from the site's point, degrees (a few tens of metres)
    on_slope: bool = False


DEMOS = (
    Demo("DEMO-CRACK-01", "crack_meter", "演示危岩裂缝计", (0.0, 0.0), on_slope=True),
    Demo("DEMO-TILT-01", "inclinometer", "演示危岩倾角计", (0.0002, 0.0), on_slope=True),
    Demo("DEMO-RAIN-01", "rain_gauge", "演示雨量站", (-0.0002, 0.0001)),
    Demo("DEMO-WATER-01", "water_level", "演示下穿道水位计", (0.0001, -0.0002)),
    Demo("DEMO-GAS-01", "combustible_gas", "演示燃气探测器", (-0.0001, -0.0001)),
)


def _site() -> tuple[float, float, int | None]:
    """A hazardous-rock key place in the demo village if there is one, else the village's
    first grid: (lon, lat, key_place_id)."""
    rock = db.session.scalar(
        select(KeyPlace)
        .where(KeyPlace.kind_code == "hazardous_rock", KeyPlace.village_id == int(VILLAGE))
        .order_by(KeyPlace.id)
    )
    if rock is not None:
        return rock.lon, rock.lat, rock.id
    grid = db.session.scalar(
        select(Area)
        .where(Area.parent_id == int(VILLAGE), Area.level == AreaLevel.GRID)
        .order_by(Area.id)
    )
    if grid is None:
        raise RuntimeError("the demo village has no grids: run `flask geodata load` first")
    point = grid.geom.representative_point()
    return point.x, point.y, None


def ensure_demo_sensors() -> dict[str, Sensor]:
    """Register the demo sensors that are missing (by code); reuse the others."""
    service.load_rules()
    found = {}
    lon, lat, place_id = _site()
    for demo in DEMOS:
        sensor = db.session.scalar(select(Sensor).where(Sensor.code == demo.code))
        if sensor is None:
            location = {
                "type": "Point",
                "coordinates": [lon + demo.offset[0], lat + demo.offset[1]],
            }
            sensor, _ = service.register(
                principal=None,
                fields={
                    "code": demo.code,
                    "type": demo.type,
                    "name": demo.name,
                    "location": location,
                    "key_place_id": place_id if demo.on_slope else None,
                },
            )
        found[demo.code] = sensor
    return found


class Streams:
    """The demo values at fraction f (0 → 1) of the replay, with seeded noise."""

    def __init__(self, hours: float, seed: int):
        self.hours = hours
        self.rng = random.Random(seed)
        self.rain = 120.0  # the gauge's cumulative count, mm
        self.last_f = 0.0

    def noise(self, scale: float) -> float:
        return self.rng.gauss(0, scale)

    def crack(self, f: float, failed: bool) -> float:
        # Creep of about 0.4 mm a day, then a cubic acceleration adding 40 mm by the end.
        creep = 0.4 * f * self.hours / 24
        surge = 40 * max(0.0, (f - ACCELERATES_AT) / (1 - ACCELERATES_AT)) ** 3
        torn = 90.0 if failed else 0.0
        return round(12.0 + creep + surge + torn + self.noise(0.05), 2)

    def tilt(self, crack: float) -> float:
        return round(0.4 + (crack - 12.0) / 15 + self.noise(0.01), 3)

    def rain_count(self, f: float) -> float:
        # A storm cell over 30%–50% of the replay (about 6 mm per 10 min), drizzle otherwise.
        step_h = STEP.total_seconds() / 3600
        heavy = 0.30 <= f <= 0.50
        self.rain += max(
            0.0, (36.0 if heavy else 0.3) * step_h + self.noise(0.2 if heavy else 0.02)
        )
        return round(self.rain, 1)

    def water(self, f: float) -> float:
        # Rises after the storm (peaks near 55%) and drains away; a small daily swing.
        peak = 0.35 * math.exp(-(((f - 0.55) / 0.08) ** 2))
        return round(-0.1 + peak + 0.03 * math.sin(f * self.hours / 24 * 2 * math.pi), 3)

    def gas(self) -> float:
        return round(max(0.0, 1.0 + self.noise(0.5)), 2)


def simulate(
    *,
    hours: float = 48,
    seed: int = 7,
    end: datetime | None = None,
    fail: bool = True,
    on_step: Callable[[datetime], None] | None = None,
    pace_seconds: float = 0.0,
) -> dict:
    """Replay `hours` of demo readings ending at `end` (default now), one upload per sensor per
    10 minutes through service.ingest; returns counts and the final warnings by sensor code.

    `on_step` runs after each step (the CLI commits there, so consoles see warnings as they
    come); `pace_seconds` sleeps between steps for a live demo.
    """
    with unscoped():
        sensors = ensure_demo_sensors()
        end = end or utcnow()
        steps = max(2, int(timedelta(hours=hours) / STEP))
        start = end - STEP * (steps - 1)
        streams = Streams(hours, seed)
        counts = {"readings": 0, "raised": 0}
        for i in range(steps):
            at = start + STEP * i
            f = i / (steps - 1)
            failed = fail and i == steps - 1
            crack = streams.crack(f if fail else min(f, ACCELERATES_AT), failed)
            values = {
                "DEMO-CRACK-01": crack,
                "DEMO-TILT-01": streams.tilt(crack),
                "DEMO-RAIN-01": streams.rain_count(f),
                "DEMO-WATER-01": streams.water(f),
                "DEMO-GAS-01": streams.gas(),
            }
            for code, value in values.items():
                sensor = sensors[code]
                before = sensor.warning_event_id
                result = service.ingest(
                    sensor=sensor, readings=[{"index": 0, "at": at, "value": value}], rejected=[]
                )
                counts["readings"] += result["accepted"]
                if result["warning"]["event_id"] and result["warning"]["event_id"] != before:
                    counts["raised"] += 1
            if on_step:
                on_step(at)
            if pace_seconds:
                time.sleep(pace_seconds)
        counts["warnings"] = {code: s.level for code, s in sensors.items()}
        counts["events"] = {code: s.warning_event_id for code, s in sensors.items()}
    return counts

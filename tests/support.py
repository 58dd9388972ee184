"""Constants the tests share. Test modules import these from here, never from conftest.py:
pytest loads conftest.py as `conftest`, so `from tests.conftest import …` would run it a
second time and point the environment at a second temporary instance directory."""

from __future__ import annotations

import math
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_DATABASE = os.environ.get("WANGGE_TEST_DATABASE", "sqlite")
IS_POSTGRES = TEST_DATABASE.startswith("postgres")
DEMO_PASSWORD = "Demo@2026"
# How the browser tests (and bench/bench_console_map.py) launch Debian's Chromium.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile (x, y) holding a WGS84 point at zoom z."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def log_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the web app's login screen (browser tests)."""
    page.goto("/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")

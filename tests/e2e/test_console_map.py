"""The console's map at city level in Chromium: every grid is on it, as an outline or a dot,
and the village boundaries come in as the map zooms in. (How fast it pans and zooms over the
whole city is bench/bench_console_map.py's business.)"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from tests.support import log_in

pytestmark = pytest.mark.e2e

DISTRICT = 500103000000  # 渝中区, the fixture: it straddles the z7 tile row edge at 29.535°N
# The zoom at which a console's map shows the whole city (bench/bench_console_map.py: 7.22).
CITY_ZOOM = 7.2

# The grids the map has drawn in view, by code, with the layers each was drawn by, and how
# many village boundaries it drew.
JS_VIEW = """async ({ center, zoom }) => {
  const { map } = await window.wanggeMap;
  const idle = new Promise((resolve) => map.once('idle', resolve));
  map.jumpTo({ center, zoom });
  await idle;
  const grids = {};
  for (const f of map.queryRenderedFeatures({ layers: ['grids', 'grid-dots'] })) {
    (grids[String(f.id)] ||= []).push(f.layer.id);
  }
  return { grids, villages: map.queryRenderedFeatures({ layers: ['villages'] }).length };
}"""


@pytest.fixture(scope="module")
def district(app):
    """The fixture district's centre and its grid codes."""
    from app.core.scope import unscoped
    from app.extensions import db
    from app.geo.models import Area

    with app.app_context(), unscoped():
        centre = db.session.get(Area, DISTRICT).geom.centroid
        codes = db.session.scalars(select(Area.id).where(Area.level == "grid")).all()
        db.session.remove()
    return [centre.x, centre.y], {str(code) for code in codes}


def open_console(context):
    desk = context.new_page()
    log_in(desk, "demo_dispatcher")
    desk.wait_for_selector("header #live.live")
    desk.evaluate("window.wanggeMap")
    return desk


def boundary_pixels(desk) -> dict[str, int]:
    """How many pixels of the map show a district line, or a grid line (its colour over the
    map's background, at any opacity)."""
    shot = desk.locator("#citymap canvas.maplibregl-canvas").screenshot()
    rgb = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
    background, grid = np.array([0xF3, 0xF5, 0xF2]), np.array([0x8F, 0xAE, 0x8F])
    # A grid-coloured line at opacity a over the background: background + a·(grid − background).
    towards = ((rgb - background) @ (grid - background)) / ((grid - background) ** 2).sum()
    residue = np.abs(rgb - (background + towards[..., None] * (grid - background))).max(axis=2)
    return {
        "district": int((np.abs(rgb - [0x1D, 0x35, 0x57]).max(axis=2) < 30).sum()),
        "grid": int(((towards > 0.2) & (residue < 12)).sum()),
    }


def test_every_grid_is_on_the_city_map_and_villages_come_in_closer(console, district, screenshot):
    centre, codes = district
    desk = open_console(console)
    pictures = []
    desk.on(
        "response",
        lambda r: "/tiles/boundaries/" in r.url and r.status == 200 and pictures.append(r.url),
    )

    city = desk.evaluate(JS_VIEW, {"center": centre, "zoom": CITY_ZOOM})
    # Every grid can be found (and clicked) where it is drawn; 渝中区's grids, about 150 m
    # across, are dots out here.
    assert set(city["grids"]) == codes
    assert {layer for layers in city["grids"].values() for layer in layers} == {"grid-dots"}
    # Village boundaries would only thicken the grid texture out here.
    assert city["villages"] == 0
    # What shows is the server's picture of the boundaries (the vector grids, not drawn out
    # here, are what a click finds): the district's line and the grid texture are on screen.
    assert pictures
    seen = boundary_pixels(desk)
    assert seen["district"] > 50 and seen["grid"] > 50, seen
    screenshot(desk, "console-map-city")

    closer = desk.evaluate(JS_VIEW, {"center": centre, "zoom": 12})
    assert set(closer["grids"]) == codes
    assert all(set(layers) == {"grids"} for layers in closer["grids"].values())
    assert closer["villages"] > 0
    # Closer in, the vector layers draw the same lines.
    pictures.clear()
    seen = boundary_pixels(desk)
    assert seen["district"] > 50 and seen["grid"] > 500, seen
    assert not pictures
    screenshot(desk, "console-map-district")

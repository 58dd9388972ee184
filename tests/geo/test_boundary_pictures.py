"""The boundary picture the console draws at city zooms (/tiles/boundaries/{z}/{x}/{y}.png):
what the vector tiles at the same address hold, drawn in the console's colours."""

from __future__ import annotations

import io

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from PIL import Image

from app.geo import raster
from app.geo.models import Area
from tests.support import tile_of

# Each test starts with an empty tile cache (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_tiles")

DISTRICT = "500103000000"  # 渝中区, the fixture's only district
GRID = "500103003013001"  # 解放碑街道 · 民生路社区 · 第1网格
DISTRICT_RGB = (0x1D, 0x35, 0x57)
GRID_RGB = (0x8F, 0xAE, 0x8F)


def get(auth, url: str, **headers):
    return auth.client.get(url, headers={**auth.headers("demo_dispatcher"), **headers})


def picture(response, size: int = 512) -> np.ndarray:
    """A 200 picture response as an RGBA array (rows y down)."""
    assert response.status_code == 200, response.get_data()
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.get_data()))
    assert image.size == (size, size)
    return np.asarray(image.convert("RGBA")).astype(int)


def vector_layer(auth, layer: str, z: int, x: int, y: int) -> dict:
    response = get(auth, f"/tiles/{layer}/{z}/{x}/{y}.pbf")
    assert response.status_code == 200
    decoded = mapbox_vector_tile.decode(response.get_data(), default_options={"y_coord_down": True})
    return decoded[layer]


def vertices(geometry: dict) -> list[tuple[float, float]]:
    """Every coordinate pair of a decoded MVT geometry."""
    coords = np.asarray(shapely.get_coordinates(shapely.geometry.shape(geometry)))
    return [tuple(c) for c in coords]


def home_tile(session, z: int) -> tuple[int, int]:
    point = session.get(Area, int(GRID)).geom.representative_point()
    return tile_of(point.x, point.y, z)


def test_every_grid_and_the_district_boundary_are_in_the_picture(auth, session):
    z = raster.MAX_ZOOM
    x, y = home_tile(session, z)
    image = picture(get(auth, f"/tiles/boundaries/{z}/{x}/{y}.png"))
    alpha = image[:, :, 3]

    # Every grid of the vector tile shows where it is, by its outline or its dot (those in
    # the tile's buffer alone are drawn by the next tile).
    grids = vector_layer(auth, "grid", z, x, y)
    scale = 512 / grids["extent"]
    checked = 0
    for feature in grids["features"]:
        inside = [
            (px * scale, py * scale)
            for px, py in vertices(feature["geometry"])
            if 0 <= px * scale < 512 and 0 <= py * scale < 512
        ]
        if inside:
            assert any(alpha[int(py), int(px)] > 0 for px, py in inside), feature["id"]
            checked += 1
    assert checked > 50

    # The district's boundary is drawn over the grids, opaque and in the district's colour.
    district = vector_layer(auth, "district", z, x, y)
    (outline,) = district["features"]
    scale = 512 / district["extent"]
    on_line = [
        (int(px * scale), int(py * scale))
        for px, py in vertices(outline["geometry"])
        if 4 <= px * scale < 508 and 4 <= py * scale < 508
    ]
    assert len(on_line) > 10
    for px, py in on_line:
        assert alpha[py, px] > 200
        assert np.abs(image[py, px, :3] - DISTRICT_RGB).max() < 40, image[py, px]

    # Away from Chongqing's only district in the fixture, nothing is drawn.
    shape = shapely.geometry.shape(outline["geometry"]).buffer(4 / scale)
    ys, xs = np.nonzero(alpha)
    drawn = shapely.points(xs / scale, ys / scale)
    assert shapely.contains(shape, drawn).all()
    assert (alpha == 0).mean() > 0.2


def test_grid_lines_are_the_console_grid_colour_fainter_at_city_zoom(auth, session):
    """Where only grids are drawn, the picture is their colour, at their zoom's opacity."""
    shares = {}
    for z in (8, raster.MAX_ZOOM):
        x, y = home_tile(session, z)
        image = picture(get(auth, f"/tiles/boundaries/{z}/{x}/{y}.png"))
        grid_pixels = np.abs(image[:, :, :3] - GRID_RGB).max(axis=2) < 12
        grid_pixels &= image[:, :, 3] > 0
        assert grid_pixels.sum() > 20  # 渝中区 is about 40 pixels across at z8
        shares[z] = np.percentile(image[:, :, 3][grid_pixels], 90)
    assert shares[8] < shares[raster.MAX_ZOOM]
    # Never opaque: a texture under the township and district lines, as the vectors draw it.
    assert shares[raster.MAX_ZOOM] < 245


def test_high_density_screens_get_the_same_lines_at_twice_the_pixels(auth, session):
    z = raster.MAX_ZOOM
    x, y = home_tile(session, z)
    plain = picture(get(auth, f"/tiles/boundaries/{z}/{x}/{y}.png"))[:, :, 3]
    double = picture(get(auth, f"/tiles/boundaries/{z}/{x}/{y}@2x.png"), 1024)[:, :, 3]
    # Each pixel of the plain picture is a 2×2 block of the double one: the same lines.
    blocks = double.reshape(512, 2, 512, 2).max(axis=(1, 3))
    drawn = plain > 60
    assert drawn.sum() > 1000
    assert (blocks[drawn] > 0).mean() > 0.95
    assert ((blocks > 60) & ~(plain > 0)).sum() < 0.05 * drawn.sum()


@pytest.mark.parametrize(
    "url",
    [
        "/tiles/boundaries/{z}/{x}/{y}.png",  # z = MAX_ZOOM + 1: the console draws vectors there
        "/tiles/boundaries/9/0/0.png",  # nowhere near Chongqing
    ],
)
def test_no_picture_above_its_zoom_or_away_from_the_city(auth, session, url):
    z = raster.MAX_ZOOM + 1
    x, y = home_tile(session, z)
    response = get(auth, url.format(z=z, x=x, y=y))
    assert response.status_code == 204
    assert response.get_data() == b""


def test_pictures_need_a_token_and_revalidate(auth, session, client):
    x, y = home_tile(session, 9)
    url = f"/tiles/boundaries/9/{x}/{y}.png"
    assert client.get(url).status_code == 401
    assert client.get(url).json["error"]["code"] == "unauthorized"
    assert client.get(f"{url}?token={auth.token('demo_worker')}").status_code == 200
    first = get(auth, url)
    etag = first.headers["ETag"]
    assert f"boundaries-9-{x}-{y}" in etag
    assert first.cache_control.private and first.cache_control.max_age == 300
    again = get(auth, url, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    bad = get(auth, "/tiles/boundaries/9/512/0.png")
    assert bad.status_code == 404 and bad.json["error"]["code"] == "tile_out_of_range"


def test_a_geometry_change_redraws_the_picture(auth, session, fresh_tiles):
    z = raster.MAX_ZOOM
    x, y = home_tile(session, z)
    url = f"/tiles/boundaries/{z}/{x}/{y}.png"
    before = get(auth, url)
    assert len(list(fresh_tiles.rglob("*.png"))) == 1  # drawn once, then served from the file
    assert get(auth, url).get_data() == before.get_data()

    grid = session.get(Area, int(GRID))
    point = grid.geom.representative_point()
    grid.geom = shapely.MultiPolygon([point.buffer(0.01)])  # ~1 km: a ring about 30 px across
    session.flush()

    after = get(auth, url, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    changed = np.abs(picture(after) - picture(before)).max(axis=2) > 0
    assert changed.sum() > 50

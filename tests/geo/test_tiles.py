"""Vector tiles of the boundary layers, as a map library fetches and reads them."""

from __future__ import annotations

import gzip
import itertools
import time

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from sqlalchemy import select

from app.geo import mvt, tiles
from app.geo.models import Area, GeoState
from tests.support import tile_of

# Each test starts with an empty tile cache (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_tiles")

DISTRICT = "500103000000"  # 渝中区, the fixture's only district
GRID = "500103003013001"  # 解放碑街道 · 民生路社区 · 第1网格


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def features(response) -> dict[int, dict]:
    """Features of a 200 tile response by feature id (the area code)."""
    assert response.status_code == 200, response.get_data()
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    layers = decode(response.get_data())
    assert len(layers) == 1
    (layer,) = layers.values()
    return {f["id"]: f for f in layer["features"]}


def get(auth, url: str, user: str = "demo_worker", **headers):
    return auth.client.get(url, headers={**auth.headers(user), **headers})


def grid_point(session, code: str = GRID) -> shapely.Point:
    return session.get(Area, int(code)).geom.representative_point()


def test_a_grid_appears_in_its_tile_with_its_code_name_and_ancestors(auth, session):
    point = grid_point(session)
    x, y = tile_of(point.x, point.y, 14)
    found = features(get(auth, f"/tiles/grid/14/{x}/{y}.pbf"))
    grid = found[int(GRID)]
    assert grid["properties"] == {
        "code": GRID,
        "name": session.get(Area, int(GRID)).name,
        "level": "grid",
        "district_code": DISTRICT,
        "township_code": "500103003000",
        "village_code": "500103003013",
    }
    # The representative point, in the tile's own coordinates, lies inside the feature.
    minx, miny, maxx, maxy = mvt.tile_bounds(14, x, y)
    (px, py) = mvt.lonlat_to_mercator(np.array([[point.x, point.y]]))[0]
    extent = 4096
    local = shapely.Point(
        (px - minx) / (maxx - minx) * extent, (maxy - py) / (maxy - miny) * extent
    )
    assert shapely.geometry.shape(grid["geometry"]).buffer(1).contains(local)
    # Every feature of the layer is a grid of the fixture district.
    assert all(str(code).startswith("500103") and len(str(code)) == 15 for code in found)


def test_a_tile_holds_exactly_the_grids_that_cross_it(auth, session):
    """The oracle is shapely on the stored WGS84 polygons: every grid that covers a real part
    of the tile is there, and nothing that stays clear of the tile and its buffer."""
    point = grid_point(session)
    z = 13
    x, y = tile_of(point.x, point.y, z)
    found = set(features(get(auth, f"/tiles/grid/{z}/{x}/{y}.pbf")))
    west, south, east, north = mvt.tile_lonlat_bounds(z, x, y)
    tile = shapely.box(west, south, east, north)
    pad = (east - west) * 0.02  # the 8-pixel buffer is 1.6% of a 512-pixel tile
    padded = shapely.box(west - pad, south - pad, east + pad, north + pad)
    grids = session.execute(select(Area.id, Area.geom).where(Area.level == "grid")).all()
    must = {g.id for g in grids if shapely.intersection(g.geom, tile).area > 1e-7}
    may = {g.id for g in grids if g.geom.intersects(padded)}
    assert len(must) > 20
    assert must <= found <= may


def test_city_level_grid_tiles_carry_ids_only_and_draw_dust_as_dots(auth, session):
    point = grid_point(session)
    x, y = tile_of(point.x, point.y, 10)
    found = features(get(auth, f"/tiles/grid/10/{x}/{y}.pbf"))
    assert found[int(GRID)]["properties"] == {}
    # 渝中区's grids are ~150 m, 1-3 pixels wide at this zoom (a 512-unit tile, one unit per
    # pixel): every grid of 5 square pixels or more is a polygon, the smallest are dots.
    minx, miny, maxx, maxy = mvt.tile_bounds(10, x, y)
    unit = (maxx - minx) / 512
    west, south, east, north = mvt.tile_lonlat_bounds(10, x, y)
    grids = session.scalars(select(Area).where(Area.level == "grid")).all()
    inside = [a for a in grids if a.geom.within(shapely.box(west, south, east, north))]
    pixels = {
        a.id: shapely.transform(a.geom, mvt.lonlat_to_mercator).area / unit**2 for a in inside
    }
    kind = {code: f["geometry"]["type"] for code, f in found.items()}
    polygons = {code for code, k in kind.items() if k in ("Polygon", "MultiPolygon")}
    dots = {code for code, k in kind.items() if k == "Point"}
    assert {code for code, px in pixels.items() if px >= 5} <= polygons
    tiny = {code for code, px in pixels.items() if px < 1}
    assert tiny and tiny <= dots
    assert 0.5 * len(inside) < len(polygons & set(pixels)) < len(inside)
    # No grid is missing: each one inside the tile is a polygon or a dot, never both.
    assert set(pixels) <= set(found) and not polygons & dots
    assert set(found) <= {a.id for a in grids}
    # A dot stands where the grid is, in tile units (y down).
    minx, maxy = mvt.tile_bounds(10, x, y)[0], mvt.tile_bounds(10, x, y)[3]
    for code in tiny:
        surface = shapely.transform(
            next(a for a in inside if a.id == code).geom, mvt.lonlat_to_mercator
        )
        px, py = found[code]["geometry"]["coordinates"]
        world = shapely.Point(minx + px * unit, maxy - py * unit)
        assert surface.distance(world) <= unit


@pytest.mark.parametrize("z", [7, 8])
def test_every_grid_of_the_fixture_is_in_the_city_level_tiles(auth, session, z):
    """Each grid is a polygon or a dot, and a dot is in one tile, strictly inside it (the
    fixture's 渝中区 straddles the z7 tile row edge at 29.535°N, where dots snap onto it)."""
    west, south, east, north = session.get(Area, int(DISTRICT)).geom.bounds
    x0, y0 = tile_of(west, north, z)
    x1, y1 = tile_of(east, south, z)
    found, dots = set(), []
    for x, y in itertools.product(range(x0, x1 + 1), range(y0, y1 + 1)):
        response = get(auth, f"/tiles/grid/{z}/{x}/{y}.pbf")
        if response.status_code == 204:
            continue
        layer = decode(response.get_data())["grid"]
        # Coarser than elsewhere: the whole city's 65,000 grids are drawn at these zooms.
        assert layer["extent"] == 256
        for f in layer["features"]:
            found.add(f["id"])
            if f["geometry"]["type"] == "Point":
                dots.append(f["id"])
                assert all(0 <= c < 256 for c in f["geometry"]["coordinates"]), f
    grids = set(session.scalars(select(Area.id).where(Area.level == "grid")))
    assert grids and grids <= found
    assert dots and len(dots) == len(set(dots))


def test_districts_at_low_zoom(auth, session):
    point = grid_point(session)
    x, y = tile_of(point.x, point.y, 5)
    found = features(get(auth, f"/tiles/district/5/{x}/{y}.pbf"))
    assert list(found) == [int(DISTRICT)]
    assert found[int(DISTRICT)]["properties"] == {
        "code": DISTRICT,
        "name": "渝中区",
        "level": "district",
    }
    # At z0 the ~10 km district is a quarter of a pixel: a dot, with its attributes.
    (dot,) = features(get(auth, "/tiles/district/0/0/0.pbf")).values()
    assert dot["geometry"]["type"] == "Point" and dot["properties"]["code"] == DISTRICT


def test_townships_and_villages_carry_their_parents(auth, session):
    point = grid_point(session)
    x, y = tile_of(point.x, point.y, 12)
    township = features(get(auth, f"/tiles/township/12/{x}/{y}.pbf"))[500103003000]
    assert township["properties"]["district_code"] == DISTRICT
    assert township["properties"]["name"] == session.get(Area, 500103003000).name
    village = features(get(auth, f"/tiles/village/12/{x}/{y}.pbf"))[500103003013]
    assert village["properties"]["township_code"] == "500103003000"
    assert village["properties"]["level"] == "village"


@pytest.mark.parametrize(
    "url",
    [
        "/tiles/grid/6/50/26.pbf",  # below the grid layer's min zoom
        "/tiles/district/13/6518/3390.pbf",  # above the district layer's max zoom
        "/tiles/grid/14/0/0.pbf",  # nowhere near Chongqing
    ],
)
def test_tiles_without_features_are_empty(auth, url):
    response = get(auth, url)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert response.headers["ETag"].startswith('W/"')


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/tiles/roads/10/815/423.pbf", 404, "unknown_layer"),
        ("/tiles/grid/10/1024/423.pbf", 404, "tile_out_of_range"),
        ("/tiles/grid/3/1/8.pbf", 404, "tile_out_of_range"),
        ("/tiles/grid/23/0/0.pbf", 404, "tile_out_of_range"),
        ("/tiles/grid/-1/0/0.pbf", 404, "not_found"),
    ],
)
def test_bad_tile_addresses(auth, url, status, code):
    response = get(auth, url)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_tiles_need_a_token_in_the_header_or_the_query(auth, client):
    url = DISTRICT_TILE
    assert client.get(url).status_code == 401
    assert client.get(url).json["error"]["code"] == "unauthorized"
    assert client.get(url + "?token=not-a-token").status_code == 401
    token = auth.token("demo_worker")
    assert client.get(f"{url}?token={token}").status_code == 200
    # Any signed-in role sees every boundary: the map is the same for everyone.
    assert get(auth, url, user="demo_dept_cg").status_code == 200


DISTRICT_TILE = "/tiles/district/9/407/211.pbf"


def test_etag_revalidation_and_http_caching(auth):
    url = DISTRICT_TILE
    first = get(auth, url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and "district-9-407-211" in etag
    assert first.cache_control.private and first.cache_control.max_age == 300
    assert "Accept-Encoding" in first.headers["Vary"]
    again = get(auth, url, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    other = get(auth, url, **{"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200


def test_gzip_only_for_clients_that_accept_it(auth):
    url = DISTRICT_TILE
    packed = get(auth, url, **{"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    plain = get(auth, url, **{"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert decode(plain.get_data())["district"]["features"][0]["properties"]["name"] == "渝中区"


def test_tiles_are_cached_on_disk_per_geography_version(auth, session, fresh_tiles):
    point = grid_point(session)
    x, y = tile_of(point.x, point.y, 14)
    url = f"/tiles/grid/14/{x}/{y}.pbf"
    before = get(auth, url)
    cached = list(fresh_tiles.rglob("*.mvt.gz"))
    assert len(cached) == 1 and gzip.decompress(cached[0].read_bytes()) == before.get_data()
    # The next request is served from the file, not rendered again.
    cached[0].write_bytes(gzip.compress(b"from the cache"))
    assert get(auth, url).get_data() == b"from the cache"


def test_a_new_version_prunes_the_old_cache_but_nothing_else(auth, session, fresh_tiles):
    get(auth, DISTRICT_TILE)
    (old,) = [p for p in fresh_tiles.iterdir()]
    (fresh_tiles / "not-tiles").mkdir()
    session.get(Area, int(DISTRICT)).name = "渝中"
    session.flush()
    get(auth, DISTRICT_TILE)
    for _ in range(100):  # pruned by a background thread
        if not old.exists():
            break
        time.sleep(0.02)
    assert not old.exists()
    names = {p.name for p in fresh_tiles.iterdir()} - {"not-tiles"}
    assert len(names) == 1 and names != {old.name}
    assert (fresh_tiles / "not-tiles").is_dir()


def test_a_geometry_change_invalidates_cached_tiles_and_etags(auth, session):
    point = grid_point(session)
    x, y = tile_of(point.x, point.y, 14)
    url = f"/tiles/grid/14/{x}/{y}.pbf"
    before = get(auth, url)
    old = shapely.geometry.shape(features(before)[int(GRID)]["geometry"])
    version = session.get(GeoState, 1).version

    grid = session.get(Area, int(GRID))
    grid.geom = shapely.MultiPolygon([point.buffer(0.0002)])  # ~20 m around the point
    session.flush()
    assert session.get(GeoState, 1).version == version + 1

    stale = get(auth, url, **{"If-None-Match": before.headers["ETag"]})
    assert stale.status_code == 200 and stale.headers["ETag"] != before.headers["ETag"]
    new = shapely.geometry.shape(features(stale)[int(GRID)]["geometry"])
    assert new.area < old.area / 10


def test_a_rename_reaches_the_tiles(auth, session):
    url = DISTRICT_TILE
    assert features(get(auth, url))[int(DISTRICT)]["properties"]["name"] == "渝中区"
    session.get(Area, int(DISTRICT)).name = "渝中"
    session.flush()
    assert features(get(auth, url))[int(DISTRICT)]["properties"]["name"] == "渝中"


@pytest.mark.postgres
def test_postgis_and_python_render_the_same_features(app, session):
    """Both renderers over the same PostGIS rows, every tile over the fixture district: the
    same areas with the same attributes and nearly the same shapes. Only at city-level zooms
    may a few 2-pixel grids differ (GEOS and PostGIS's Wagyu collapse dust differently)."""
    west, south, east, north = session.get(Area, int(DISTRICT)).geom.bounds
    compared, differ, reshaped, dots = 0, 0, 0, 0
    with app.test_request_context():
        for name, spec in tiles.LAYERS.items():
            source = tiles._Source.load(spec.level)
            for z in range(max(spec.min_zoom, 7), spec.max_zoom + 1):
                x0, y0 = tile_of(west, north, z)
                x1, y1 = tile_of(east, south, z)
                for x, y in itertools.product(range(x0, x1 + 1), range(y0, y1 + 1)):
                    pg = decode(tiles.render_postgis(spec, z, x, y)).get(name, {"features": []})
                    py = decode(tiles.render_python(source, spec, z, x, y)).get(
                        name, {"features": []}
                    )
                    pg_f = {f["id"]: f for f in pg["features"]}
                    py_f = {f["id"]: f for f in py["features"]}
                    if spec.detailed(z):
                        assert set(pg_f) == set(py_f), (name, z, x, y)
                    differ += len(set(pg_f) ^ set(py_f))
                    for code in set(pg_f) & set(py_f):
                        assert pg_f[code]["properties"] == py_f[code]["properties"]
                        pg_type = pg_f[code]["geometry"]["type"]
                        py_type = py_f[code]["geometry"]["type"]
                        if (pg_type == "Point") != (py_type == "Point"):
                            # The dust the two collapse differently is a dot in one of them.
                            assert not spec.detailed(z), (name, z, code)
                            differ += 1
                            continue
                        if pg_type == "Point":
                            # A dot in one is a dot in the other, within a unit's rounding.
                            pg_xy = np.array(pg_f[code]["geometry"]["coordinates"])
                            py_xy = np.array(py_f[code]["geometry"]["coordinates"])
                            assert np.abs(pg_xy - py_xy).max() <= 1, (name, z, code)
                            dots += 1
                            continue
                        rings = pg_f[code]["geometry"]["coordinates"]
                        exterior = rings[0][0] if isinstance(rings[0][0][0], list) else rings[0]
                        assert shapely.LinearRing(exterior).is_ccw  # the winding we write too
                        a = shapely.geometry.shape(pg_f[code]["geometry"])
                        b = shapely.geometry.shape(py_f[code]["geometry"])
                        reshaped += a.symmetric_difference(b).area > 0.05 * a.area + 4
                        compared += 1
    assert compared > 5_000 and dots > 100
    assert differ <= compared // 500
    assert reshaped <= compared // 500


def test_the_encoder_keeps_holes_parts_and_winding():
    """A square with a hole and a second square, through app.geo.mvt and back through the
    reference decoder (which tells exterior rings from holes by their winding)."""
    size = 2.0 * mvt.HALF_WORLD  # z0: the whole world is one tile

    def to_world(c):
        x = c[:, 0] / 4096 * size - mvt.HALF_WORLD
        return np.column_stack([x, mvt.HALF_WORLD - c[:, 1] / 4096 * size])

    shape = shapely.MultiPolygon(
        [
            shapely.Polygon(
                [(100, 100), (1100, 100), (1100, 1100), (100, 1100)],
                [[(400, 400), (600, 400), (600, 600), (400, 600)]],
            ),
            shapely.box(2000, 2000, 2500, 2600),
        ]
    )
    world = shapely.transform(shape, to_world)
    kept, tiled = mvt.tile_geometries(
        np.array([world], dtype=object), mvt.tile_bounds(0, 0, 0), extent=4096, buffer=64
    )
    data = mvt.encode_layer("t", 4096, tiled, [7], [("a", None)], ("k", "gone"))
    (feature,) = decode(data)["t"]["features"]
    assert feature["id"] == 7 and feature["properties"] == {"k": "a"}
    decoded = shapely.geometry.shape(feature["geometry"])
    assert decoded.geom_type == "MultiPolygon" and len(decoded.geoms) == 2
    assert decoded.symmetric_difference(shape).area == 0
    assert len(list(decoded.geoms[0].interiors)) == 1
    # MVT 2.1: in tile coordinates (y down) an exterior ring has a positive shoelace area, a
    # hole a negative one (the decoder only checks that they differ).
    outer, second = feature["geometry"]["coordinates"]
    assert [shapely.LinearRing(ring).is_ccw for ring in outer] == [True, False]
    assert shapely.LinearRing(second[0]).is_ccw


def test_the_encoder_writes_dots_in_the_tile_they_fall_in():
    bounds = mvt.tile_bounds(0, 0, 0)
    unit = (bounds[2] - bounds[0]) / 512
    x0, y1 = bounds[0], bounds[3]
    points = np.array(
        [
            shapely.Point(x0 + 10.4 * unit, y1 - 20.6 * unit),
            shapely.Point(x0 - 3 * unit, y1 - 20 * unit),  # in the neighbour's tile
            shapely.Point(x0 + 511.2 * unit, y1 - 511.4 * unit),
        ],
        dtype=object,
    )
    placed, snapped = mvt.tile_points(points, bounds, extent=512)
    assert placed.tolist() == [0, 2] and snapped.tolist() == [[10, 21], [511, 511]]
    polygon = shapely.box(x0 + 100 * unit, y1 - 200 * unit, x0 + 200 * unit, y1 - 100 * unit)
    kept, tiled = mvt.tile_geometries(
        np.array([polygon], dtype=object), bounds, extent=512, buffer=8
    )
    data = mvt.encode_layer(
        "t", 512, tiled, [1], [("p",)], ("k",),
        points=snapped, point_ids=[5, 6], point_properties=[("a",), (None,)],
    )  # fmt: skip
    found = {f["id"]: f for f in decode(data)["t"]["features"]}
    assert found[1]["geometry"]["type"] == "Polygon" and found[1]["properties"] == {"k": "p"}
    assert found[5]["geometry"] == {"type": "Point", "coordinates": [10, 21]}
    assert found[5]["properties"] == {"k": "a"} and found[6]["properties"] == {}
    # Dots alone make a tile too.
    assert decode(mvt.encode_layer("t", 512, tiled[:0], [], points=snapped[:1], point_ids=[9]))


def test_a_dot_by_a_tile_corner_is_in_one_tile_and_never_on_its_far_edge():
    """Points around the corner four z1 tiles share: each lands in exactly one tile, inside
    [0, 512) both ways. MapLibre draws a feature at x or y = extent but leaves it out of the
    index its clicks and queryRenderedFeatures read: the grid would be on screen, yet missing."""
    unit = mvt.HALF_WORLD / 512  # the corner is the world's origin; a z1 tile is half a world
    offsets = [(-0.4, 0.3), (0.2, -0.2), (-3, 2), (0.6, 0.6), (-0.6, -0.6), (0, 0)]
    points = np.array([shapely.Point(dx * unit, dy * unit) for dx, dy in offsets], dtype=object)
    found: dict[int, list] = {}
    for x, y in itertools.product(range(2), range(2)):
        placed, snapped = mvt.tile_points(points, mvt.tile_bounds(1, x, y), extent=512)
        assert ((snapped >= 0) & (snapped < 512)).all()
        for i, xy in zip(placed.tolist(), snapped.tolist(), strict=True):
            found.setdefault(i, []).append(((x, y), xy))
    # Tile (1, 1) is south-east of the corner; y runs down within a tile.
    assert found == {
        0: [((1, 1), [0, 0])],  # snaps onto the corner: the tile where that is (0, 0)
        1: [((1, 1), [0, 0])],
        2: [((0, 0), [509, 510])],
        3: [((1, 0), [1, 511])],
        4: [((0, 1), [511, 1])],
        5: [((1, 1), [0, 0])],
    }


def test_the_encoder_drops_dust_and_keeps_what_crosses_the_edge():
    bounds = mvt.tile_bounds(0, 0, 0)
    unit = (bounds[2] - bounds[0]) / 512
    x0, y1 = bounds[0], bounds[3]
    dust = shapely.box(x0 + 10 * unit, y1 - 11 * unit, x0 + 11 * unit, y1 - 10 * unit)
    edge = shapely.box(x0 - 50 * unit, y1 - 50 * unit, x0 + 20 * unit, y1 - 20 * unit)
    kept, tiled = mvt.tile_geometries(
        np.array([dust, edge], dtype=object), bounds, extent=512, buffer=8
    )
    assert kept.tolist() == [1]
    assert shapely.bounds(tiled[0]).tolist() == [-8, 20, 20, 50]

"""Browsing, searching and locating through the API (as users would call it)."""

from __future__ import annotations

import csv
from pathlib import Path

import shapely
from sqlalchemy import select

from app.geo import crs
from app.geo.models import Area

ROOT = Path(__file__).resolve().parents[2]
DISTRICT = "500103000000"


def _divisions(parent: str) -> list[str]:
    with (ROOT / "geodata" / "source" / "divisions.csv").open(encoding="utf-8") as fh:
        return sorted(row["code"] for row in csv.DictReader(fh) if row["parent_code"] == parent)


def test_browse_district_to_grid_with_geojson(auth):
    district = auth.get("demo_admin", f"/api/v1/areas/{DISTRICT}")
    assert district.status_code == 200
    assert district.json["name"] == "渝中区" and district.json["level"] == "district"
    assert district.json["fictitious"] is False
    assert district.json["geometry"]["type"] == "MultiPolygon"
    assert [a["level"] for a in district.json["ancestors"]] == ["city"]

    townships = auth.get("demo_admin", f"/api/v1/areas/{DISTRICT}/children?page_size=100").json
    assert [t["code"] for t in townships["items"]] == _divisions(DISTRICT)
    assert "geometry" not in townships["items"][0]

    township = townships["items"][0]["code"]
    villages = auth.get("demo_admin", f"/api/v1/areas/{township}/children?geometry=true").json
    assert [v["code"] for v in villages["items"]] == _divisions(township)
    assert villages["items"][0]["geometry"]["type"] == "MultiPolygon"
    assert villages["items"][0]["fictitious"] is True

    village = villages["items"][0]["code"]
    grids = auth.get("demo_admin", f"/api/v1/areas/{village}/children").json
    assert grids["total"] >= 1
    assert all(g["code"].startswith(village) and len(g["code"]) == 15 for g in grids["items"])
    grid = auth.get("demo_admin", f"/api/v1/areas/{grids['items'][0]['code']}").json
    assert [a["level"] for a in grid["ancestors"]] == ["city", "district", "township", "village"]


def test_search_by_name_and_by_code(auth):
    by_name = auth.get("demo_admin", "/api/v1/areas?q=解放碑").json
    assert by_name["items"][0]["code"] == "500103003000"
    by_code = auth.get("demo_admin", "/api/v1/areas?q=500103003013&level=grid").json
    assert by_code["total"] >= 1
    assert all(
        i["code"].startswith("500103003013") and i["level"] == "grid" for i in by_code["items"]
    )
    nothing = auth.get("demo_admin", "/api/v1/areas?q=不存在的地方").json
    assert nothing["total"] == 0 and nothing["items"] == []


def test_unknown_area_and_bad_query_get_clear_errors(auth):
    missing = auth.get("demo_admin", "/api/v1/areas/500103999999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "area_not_found"
    assert auth.get("demo_admin", "/api/v1/areas/not-a-code").status_code == 404
    bad = auth.get("demo_admin", "/api/v1/areas?level=planet&page=0")
    assert bad.status_code == 422
    assert set(bad.json["error"]["details"]["query"]) == {"level", "page"}


def _grid(session, code: str) -> Area:
    return session.scalar(select(Area).where(Area.id == int(code)))


def test_locate_a_point_to_its_grid_and_ancestors(auth, session):
    grid = _grid(session, "500103003013001")
    point = grid.geom.representative_point()
    response = auth.get("demo_admin", f"/api/v1/geo/locate?lon={point.x}&lat={point.y}")
    assert response.status_code == 200
    body = response.json
    assert body["grid"]["code"] == "500103003013001"
    assert body["village"] == {"code": "500103003013", "name": "民生路社区", "kind": "社区"}
    assert body["township"]["name"] == "解放碑街道"
    assert body["district"]["name"] == "渝中区"
    assert body["snapped"] is False and body["distance_m"] == 0


def test_locate_converts_gcj02_input(auth, session):
    grid = _grid(session, "500103003016001")
    point = grid.geom.representative_point()
    lon, lat = crs.wgs84_to_gcj02(point.x, point.y)
    as_gcj = auth.get("demo_admin", f"/api/v1/geo/locate?lon={lon}&lat={lat}&crs=GCJ-02").json
    assert as_gcj["grid"]["code"] == "500103003016001"
    assert abs(as_gcj["lon"] - point.x) < 1e-6 and abs(as_gcj["lat"] - point.y) < 1e-6
    # The same numbers read as WGS84 land about 500 m away, which is why the crs matters.
    assert shapely.Point(lon, lat).distance(point) > 0.003


def test_a_point_just_outside_snaps_to_the_nearest_grid_and_far_away_is_an_error(auth, session):
    district = _grid(session, DISTRICT).geom
    # 渝中 is a peninsula: its eastern tip touches the rivers, and outside the fixture there
    # are no grids, so a point ~200 m east of its easternmost vertex is outside every grid.
    minx, miny, maxx, maxy = district.bounds
    east = max(shapely.get_coordinates(district), key=lambda c: c[0])
    near = (east[0] + 0.002, east[1])
    response = auth.get("demo_admin", "/api/v1/geo/locate?lon={}&lat={}".format(*near))
    assert response.status_code == 200, response.json
    assert response.json["snapped"] is True
    assert 100 < response.json["distance_m"] < 500
    far = auth.get("demo_admin", "/api/v1/geo/locate?lon=106.9&lat=29.9")
    assert far.status_code == 422
    assert far.json["error"]["code"] == "outside_grids"
    assert "500" in far.json["error"]["message"]


def test_bulk_locate_keeps_order_and_reports_each_failure(auth, session):
    points = [
        _grid(session, c).geom.representative_point()
        for c in ("500103003013001", "500103001003001")
    ]
    body = {"points": [{"lon": p.x, "lat": p.y} for p in points] + [{"lon": 100.0, "lat": 20.0}]}
    results = auth.post("demo_admin", "/api/v1/geo/locate", json=body).json["results"]
    assert [r["result"]["grid"]["code"] for r in results[:2]] == [
        "500103003013001",
        "500103001003001",
    ]
    assert results[2]["error"]["code"] == "outside_grids"
    scoped = auth.post("demo_dispatcher", "/api/v1/geo/locate", json=body).json["results"]
    assert scoped[0]["result"]["grid"]["code"] == "500103003013001"
    assert scoped[1]["error"]["code"] == "out_of_scope"


def test_bulk_locate_validates_input(auth, app):
    assert auth.post("demo_admin", "/api/v1/geo/locate", json={"points": []}).status_code == 422
    bad = auth.post("demo_admin", "/api/v1/geo/locate", json={"points": [{"lon": 500, "lat": 1}]})
    assert bad.status_code == 422
    app.config["GEO_LOCATE_BULK_MAX"] = 2
    try:
        many = auth.post(
            "demo_admin", "/api/v1/geo/locate", json={"points": [{"lon": 106.5, "lat": 29.5}] * 3}
        )
        assert many.status_code == 422 and many.json["error"]["code"] == "too_many_points"
    finally:
        app.config["GEO_LOCATE_BULK_MAX"] = 10_000


def test_the_index_notices_when_a_grid_changes(auth, session):
    """Move one grid's shape onto another's: the next lookup must follow the database."""
    a = _grid(session, "500103003013001")
    b = _grid(session, "500103003016001")
    point = b.geom.representative_point()
    url = f"/api/v1/geo/locate?lon={point.x}&lat={point.y}"
    assert auth.get("demo_admin", url).json["grid"]["code"] == "500103003016001"
    a.geom, b.geom = b.geom, a.geom
    session.commit()
    assert auth.get("demo_admin", url).json["grid"]["code"] == "500103003013001"


def test_codes_must_be_ascii_digits(auth):
    for bad in ("５００１０３００３０１３", "50010300301²", "5001030030130x1"):
        assert auth.get("demo_admin", f"/api/v1/areas/{bad}").status_code == 404
        listed = auth.get("demo_admin", f"/api/v1/events?area={bad}")
        assert listed.status_code == 422 and listed.json["error"]["code"] == "bad_area"

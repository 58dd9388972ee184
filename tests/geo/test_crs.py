"""GCJ-02 <-> WGS84: published reference values, exact inverse, identity abroad, vector = scalar."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.geo.crs import (
    gcj02_to_wgs84,
    gcj02_to_wgs84_many,
    out_of_china,
    wgs84_to_gcj02,
    wgs84_to_gcj02_many,
)

# (wgs_lon, wgs_lat, gcj_lon, gcj_lat): the reference pairs of the eviltransform project's
# test suite (Shanghai, Shenzhen, Beijing), used by most GCJ-02 implementations.
REFERENCE = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]

# Chongqing's extent, where the product works.
CQ_LON = (105.2, 110.2)
CQ_LAT = (28.1, 32.3)


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance on the mean sphere (plenty for a 300-700 m band)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def _chongqing_points(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(*CQ_LON, n), rng.uniform(*CQ_LAT, n)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), REFERENCE)
def test_forward_matches_published_values(wlon, wlat, glon, glat):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), REFERENCE)
def test_inverse_recovers_published_wgs84(wlon, wlat, glon, glat):
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert lon == pytest.approx(wlon, abs=1e-9)
    assert lat == pytest.approx(wlat, abs=1e-9)


def test_inverse_is_exact_over_chongqing():
    lons, lats = _chongqing_points(2000)
    worst = 0.0
    for wlon, wlat in zip(lons.tolist(), lats.tolist(), strict=True):
        back = gcj02_to_wgs84(*wgs84_to_gcj02(wlon, wlat))
        worst = max(worst, abs(back[0] - wlon), abs(back[1] - wlat))
        # And the other way round: the inverse is a true inverse of the forward transform.
        fwd = wgs84_to_gcj02(*gcj02_to_wgs84(wlon, wlat))
        worst = max(worst, abs(fwd[0] - wlon), abs(fwd[1] - wlat))
    assert worst < 1e-7
    assert worst < 1e-10  # in fact it converges to rounding level


def test_offset_in_chongqing_is_a_few_hundred_metres():
    lons, lats = _chongqing_points(500)
    for wlon, wlat in zip(lons.tolist(), lats.tolist(), strict=True):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        assert 300.0 < _metres(wlon, wlat, glon, glat) < 700.0
    # Jiefangbei, the city centre: about 480 m.
    glon, glat = wgs84_to_gcj02(106.5775, 29.5575)
    assert _metres(106.5775, 29.5575, glon, glat) == pytest.approx(480, abs=40)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(2.3522, 48.8566), (-74.006, 40.7128), (139.6917, 35.6895), (72.0, 30.0), (110.0, 0.5)],
)
def test_identity_outside_china(lon, lat):
    assert out_of_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)
    many = wgs84_to_gcj02_many([lon], [lat])
    assert (many[0][0], many[1][0]) == (lon, lat)
    many = gcj02_to_wgs84_many([lon], [lat])
    assert (many[0][0], many[1][0]) == (lon, lat)


def test_vectorised_equals_scalar():
    lons, lats = _chongqing_points(1000, seed=11)
    # Mix in points abroad and a NaN: they must pass through unchanged, without warnings.
    lons = np.append(lons, [2.35, np.nan, 120.0])
    lats = np.append(lats, [48.85, 30.0, np.nan])
    g_lon, g_lat = wgs84_to_gcj02_many(lons, lats)
    w_lon, w_lat = gcj02_to_wgs84_many(lons, lats)
    for i, (lon, lat) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
        if math.isnan(lon) or math.isnan(lat):
            assert math.isnan(g_lon[i]) or math.isnan(g_lat[i])
            continue
        assert (g_lon[i], g_lat[i]) == pytest.approx(wgs84_to_gcj02(lon, lat), abs=1e-12)
        assert (w_lon[i], w_lat[i]) == pytest.approx(gcj02_to_wgs84(lon, lat), abs=1e-12)


def test_vectorised_keeps_shape_and_rejects_mismatch():
    lons, lats = _chongqing_points(12)
    out_lon, out_lat = gcj02_to_wgs84_many(lons.reshape(3, 4), lats.reshape(3, 4))
    assert out_lon.shape == out_lat.shape == (3, 4)
    empty = gcj02_to_wgs84_many(np.array([]), np.array([]))
    assert empty[0].shape == (0,)
    with pytest.raises(ValueError, match="shape"):
        wgs84_to_gcj02_many(lons, lats[:3])

"""GCJ-02 <-> WGS84 conversion, so map-SDK coordinates and GPS/grid coordinates meet in one frame.

GCJ-02 ("Mars coordinates") is WGS84 plus an obfuscating offset of a few hundred metres that
Chinese map SDKs (AMap, Tencent, WeChat) apply; the grid polygons are stored in WGS84. The
forward formula is the public "eviltransform" one; it has no closed-form inverse, so
`gcj02_to_wgs84` solves it by fixed-point iteration, which converges because the offset varies
by only ~1e-3 of the displacement (a few metres per kilometre).

Pure module: standard library and numpy only.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_many",
    "out_of_china",
    "wgs84_to_gcj02",
    "wgs84_to_gcj02_many",
]

# Krasovsky 1940 ellipsoid, as baked into the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
# The rough national bounding box every GCJ implementation uses to decide whether to offset.
_MIN_LON, _MAX_LON = 72.004, 137.8347
_MIN_LAT, _MAX_LAT = 0.8293, 55.8271
# Iterating until the residual is below 1e-12 degree (~0.1 micrometre) keeps the inverse well
# inside the promised 1e-7 degree; 3-4 rounds suffice, the cap only guards against NaN input.
_INVERSE_TOL_DEG = 1e-12
_INVERSE_MAX_ITER = 30

FloatArray = npt.NDArray[np.float64]


def out_of_china(lon: float, lat: float) -> bool:
    """Say whether a point lies outside the box where GCJ-02 applies (there it is the identity)."""
    return not (_MIN_LON <= lon <= _MAX_LON and _MIN_LAT <= lat <= _MAX_LAT)


def _delta(lon: float, lat: float) -> tuple[float, float]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at a WGS84 point."""
    x = lon - 105.0
    y = lat - 35.0
    x_pi = x * math.pi
    y_pi = y * math.pi
    common = (20.0 * math.sin(6.0 * x_pi) + 20.0 * math.sin(2.0 * x_pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += common
    dlat += (20.0 * math.sin(y_pi) + 40.0 * math.sin(y_pi / 3.0)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y_pi / 12.0) + 320.0 * math.sin(y_pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += common
    dlon += (20.0 * math.sin(x_pi) + 40.0 * math.sin(x_pi / 3.0)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x_pi / 12.0) + 300.0 * math.sin(x_pi / 30.0)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert a WGS84 point to GCJ-02 (identity outside China)."""
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert a GCJ-02 point to WGS84 exactly (iterative inverse, error far below 1e-7 degree)."""
    if out_of_china(lon, lat):
        return lon, lat
    # Fixed point of w = g - delta(w); the first step is the usual one-shot approximation.
    wlon, wlat = lon, lat
    for _ in range(_INVERSE_MAX_ITER):
        dlon, dlat = _delta(wlon, wlat)
        nlon, nlat = lon - dlon, lat - dlat
        done = abs(nlon - wlon) < _INVERSE_TOL_DEG and abs(nlat - wlat) < _INVERSE_TOL_DEG
        wlon, wlat = nlon, nlat
        if done:
            break
    return wlon, wlat


def _as_pair(lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Coerce inputs to equally shaped float64 arrays."""
    lon_arr = np.asarray(lons, dtype=np.float64)
    lat_arr = np.asarray(lats, dtype=np.float64)
    if lon_arr.shape != lat_arr.shape:
        raise ValueError(f"lons and lats differ in shape: {lon_arr.shape} vs {lat_arr.shape}")
    return lon_arr, lat_arr


def _out_of_china_many(lons: FloatArray, lats: FloatArray) -> npt.NDArray[np.bool_]:
    """Vectorised out_of_china (NaN counts as outside, so it passes through unchanged)."""
    inside = (lons >= _MIN_LON) & (lons <= _MAX_LON) & (lats >= _MIN_LAT) & (lats <= _MAX_LAT)
    return ~inside


def _delta_many(lons: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Vectorised _delta, written term for term like the scalar one so results match bit-wise."""
    x = lons - 105.0
    y = lats - 35.0
    x_pi = x * math.pi
    y_pi = y * math.pi
    common = (20.0 * np.sin(6.0 * x_pi) + 20.0 * np.sin(2.0 * x_pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y_pi) + 40.0 * np.sin(y_pi / 3.0)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y_pi / 12.0) + 320.0 * np.sin(y_pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x_pi) + 40.0 * np.sin(x_pi / 3.0)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x_pi / 12.0) + 300.0 * np.sin(x_pi / 30.0)) * 2.0 / 3.0
    rad_lat = lats / 180.0 * math.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02_many(lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Vectorised wgs84_to_gcj02 over arrays of equal shape; returns new float64 arrays."""
    lon_arr, lat_arr = _as_pair(lons, lats)
    outside = _out_of_china_many(lon_arr, lat_arr)
    # Offsetting NaN or far-away points is harmless arithmetic, but it may warn; mask them first.
    safe_lon = np.where(outside, 105.0, lon_arr)
    safe_lat = np.where(outside, 35.0, lat_arr)
    dlon, dlat = _delta_many(safe_lon, safe_lat)
    return (
        np.where(outside, lon_arr, lon_arr + dlon),
        np.where(outside, lat_arr, lat_arr + dlat),
    )


def gcj02_to_wgs84_many(lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Vectorised exact gcj02_to_wgs84 over arrays of equal shape; returns new float64 arrays."""
    lon_arr, lat_arr = _as_pair(lons, lats)
    outside = _out_of_china_many(lon_arr, lat_arr)
    glon = np.where(outside, 105.0, lon_arr)
    glat = np.where(outside, 35.0, lat_arr)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(_INVERSE_MAX_ITER):
        dlon, dlat = _delta_many(wlon, wlat)
        nlon, nlat = glon - dlon, glat - dlat
        step = np.maximum(np.abs(nlon - wlon), np.abs(nlat - wlat))
        wlon, wlat = nlon, nlat
        if step.size == 0 or float(step.max()) < _INVERSE_TOL_DEG:
            break
    return np.where(outside, lon_arr, wlon), np.where(outside, lat_arr, wlat)

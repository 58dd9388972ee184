"""Split a polygon into k child polygons that tile it exactly, deterministically, on a 1e-6° grid.

Why not just `voronoi cell ∩ parent` with `grid_size`: rounding the points where a cell edge
crosses the parent's boundary moves them off the parent's edges, so children would not add up to
their parent (relative area errors ~1e-5 for small grids) and neighbours could disagree.
Instead the division lines (clipped Voronoi edges) end exactly on existing parent vertices, and
their own vertices are rounded to the grid before the parent is cut along them: children then use
only parent vertices plus new interior vertices, so they tile the parent exactly and stay inside
it. Division lines are densified so that the next level down has vertices to end on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely import Geometry

DECIMALS = 6  # every written coordinate lives on this 1e-6 degree grid (about 0.1 m)
# Length of a degree of longitude relative to one of latitude around Chongqing (28-32.5°N);
# a single constant keeps all distances simple and deterministic (it varies by ±2% there).
KX = math.cos(math.radians(30.0))
SAMPLES_PER_CHILD = 32
MIN_SAMPLES = 128
MAX_SAMPLES = 12_000
LLOYD_STEPS = 6
MAX_ATTEMPTS = 12
MIN_SPACING = 5e-5  # degrees (~5 m): never densify division lines finer than this


class TilingError(RuntimeError):
    """Raised when a parent cannot be tiled into the requested number of children."""


def round_coords(coords: np.ndarray) -> np.ndarray:
    """Round coordinates to the 6-decimal grid (same result as parsing the written text)."""
    return np.round(coords, DECIMALS)


def _complex(coords: np.ndarray) -> np.ndarray:
    """View (n, 2) coordinates as complex numbers so that np.isin can compare points exactly."""
    return coords[:, 0] + 1j * coords[:, 1]


def densify_coverage(geoms: Sequence[Geometry], spacing: Sequence[float]) -> list[Geometry]:
    """Insert grid-rounded vertices along every edge of a coverage, identically on shared edges.

    `spacing[i]` is the wanted vertex spacing (latitude degrees) for polygon i; an edge shared by
    several polygons uses the smallest. Each edge is interpolated from its lexicographically
    smaller end, so both neighbours compute bit-identical new vertices.
    """
    rings_per_geom = [_rings(g) for g in geoms]
    edge_spacing: dict[tuple[float, float, float, float], float] = {}
    for rings, sp in zip(rings_per_geom, spacing, strict=True):
        for ring in rings:
            for key in _edge_keys(ring):
                edge_spacing[key] = min(sp, edge_spacing.get(key, math.inf))
    out = []
    for g, rings in zip(geoms, rings_per_geom, strict=True):
        new_rings = [_densify_ring(ring, edge_spacing) for ring in rings]
        out.append(_rebuild(g, new_rings))
    return out


def _rings(geom: Geometry) -> list[np.ndarray]:
    """All rings (exterior first, then holes, polygon by polygon) as coordinate arrays."""
    rings = []
    for poly in shapely.get_parts(geom):
        rings.append(shapely.get_coordinates(poly.exterior))
        rings.extend(shapely.get_coordinates(r) for r in poly.interiors)
    return rings


def _rebuild(geom: Geometry, rings: list[np.ndarray]) -> Geometry:
    """Rebuild a (Multi)Polygon with the same ring structure from new ring coordinates."""
    polys, i = [], 0
    for poly in shapely.get_parts(geom):
        n = 1 + len(poly.interiors)
        polys.append(shapely.Polygon(rings[i], rings[i + 1 : i + n]))
        i += n
    return polys[0] if geom.geom_type == "Polygon" else shapely.MultiPolygon(polys)


def _edge_keys(ring: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Direction-independent keys of a ring's edges."""
    keys = []
    for (ax, ay), (bx, by) in zip(ring[:-1].tolist(), ring[1:].tolist(), strict=True):
        keys.append((ax, ay, bx, by) if (ax, ay) <= (bx, by) else (bx, by, ax, ay))
    return keys


def _densify_ring(
    ring: np.ndarray, edge_spacing: dict[tuple[float, float, float, float], float]
) -> np.ndarray:
    """Densify one closed ring using the shared per-edge spacing."""
    pts = [ring[:1]]
    for a, b in zip(ring[:-1], ring[1:], strict=True):
        ax, ay, bx, by = float(a[0]), float(a[1]), float(b[0]), float(b[1])
        forward = (ax, ay) <= (bx, by)
        key = (ax, ay, bx, by) if forward else (bx, by, ax, ay)
        p0 = np.array(key[:2])
        p1 = np.array(key[2:])
        length = math.hypot((p1[0] - p0[0]) * KX, p1[1] - p0[1])
        n = math.ceil(length / edge_spacing[key]) if edge_spacing[key] > 0 else 1
        if n > 1:
            t = np.arange(1, n, dtype=float)[:, None] / n
            mid = round_coords(p0 + (p1 - p0) * t)
            pts.append(mid if forward else mid[::-1])
        pts.append(b[None, :])
    out = np.concatenate(pts)
    keep = np.ones(len(out), dtype=bool)
    keep[1:] = np.any(out[1:] != out[:-1], axis=1)  # drop points that rounded onto a neighbour
    return out[keep]


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances between every row of a (n, 2) and every row of b (k, 2): (n, k)."""
    dx = a[:, 0, None] - b[None, :, 0]
    dy = a[:, 1, None] - b[None, :, 1]
    return dx * dx + dy * dy


def tile(
    parent: Geometry,
    seed: int,
    weights: Sequence[float],
    finest: Sequence[int] | None = None,
    densify: float = 0.25,
) -> list[Geometry]:
    """Split `parent` into len(weights) children that tile it exactly, deterministically.

    `weights` are relative target areas. `finest[i]` is how many finest-level units (grids) child
    i will later hold: the division lines around it get vertices every `densify` times their
    expected size, so that the levels below have parent vertices to end their own lines on.
    None leaves the division lines straight (for the last level). The result depends only on
    the arguments (the RNG is seeded from `seed`).

    Division lines end on existing parent vertices, so the parent's boundary must have vertices
    at a spacing well below the children's size (see `densify_coverage`); raises TilingError
    if no exact tiling is found in MAX_ATTEMPTS tries.
    """
    k = len(weights)
    if k == 0:
        raise TilingError("no children requested")
    if k == 1:
        return [parent]
    if not parent.area > 0.0:
        raise TilingError(f"parent (seed {seed}) has no area")
    w = np.asarray(weights, dtype=float)
    w = w / w.mean()
    units = None if finest is None else np.asarray(finest, dtype=float)
    rng = np.random.Generator(np.random.PCG64(seed))
    shapely.prepare(parent)
    for _ in range(MAX_ATTEMPTS):
        children = _attempt(parent, rng, w, units, densify)
        if children is not None:
            return children
    raise TilingError(
        f"could not tile parent (seed {seed}) into {k} children; is its boundary dense enough?"
    )


def _attempt(
    parent: Geometry,
    rng: np.random.Generator,
    w: np.ndarray,
    units: np.ndarray | None,
    densify: float,
) -> list[Geometry] | None:
    """One randomized try at tiling; None if the result fails the exactness checks."""
    k = len(w)
    minx, miny, maxx, maxy = parent.bounds
    origin = np.array([minx, miny])
    scale = np.array([KX, 1.0])
    m = int(min(MAX_SAMPLES, max(MIN_SAMPLES, SAMPLES_PER_CHILD * k)))
    samples = _sample(parent, rng, m)
    xy = (samples - origin) * scale  # local, roughly isotropic frame

    seeds = _relax(xy, w, rng)
    if seeds is None:
        return None

    extent = shapely.box(0.0, 0.0, (maxx - minx) * KX, maxy - miny)
    edges = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, only_edges=True)
    )
    if len(edges) == 0:
        return None
    if units is not None:
        # Each child's expected area is its share of the samples under the (unweighted) Voronoi
        # split that the cells will be; a line gets the finer spacing of the two children it
        # separates.
        d2 = _sqdist(xy, seeds)
        share = np.bincount(d2.argmin(axis=1), minlength=k) / len(xy)
        unit_size = np.sqrt(share * parent.area * KX / np.maximum(units, 1.0))
        spacing = np.maximum(densify * unit_size, MIN_SPACING)
        mids = shapely.get_coordinates(shapely.line_interpolate_point(edges, 0.5, normalized=True))
        dm = _sqdist(mids, seeds)
        two = np.argsort(dm, axis=1, kind="stable")[:, :2]
        edges = shapely.segmentize(edges, np.minimum(spacing[two[:, 0]], spacing[two[:, 1]]))
    lines = shapely.transform(shapely.multilinestrings(edges), lambda c: c / scale + origin)
    line_coords = _complex(shapely.get_coordinates(lines))

    clipped = shapely.get_parts(shapely.intersection(lines, parent))
    pieces = clipped[shapely.get_type_id(clipped) == 1]  # touching points are not cuts
    if len(pieces) == 0:
        return None
    pcoords = shapely.get_coordinates(pieces)
    crossing = ~np.isin(_complex(pcoords), line_coords)
    parent_coords = shapely.get_coordinates(parent)
    new = round_coords(pcoords)
    if crossing.any():
        # End each division line on the nearest existing parent vertex, not on a new point.
        c = pcoords[crossing]
        dd = _sqdist(c * scale, parent_coords * scale)
        new[crossing] = parent_coords[dd.argmin(axis=1)]
    pieces = shapely.set_coordinates(pieces.copy(), new)
    pieces = pieces[shapely.length(pieces) > 0]

    net = shapely.union_all(np.concatenate([[shapely.boundary(parent)], pieces]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(net)))
    if len(faces) < k:
        return None
    reps = shapely.get_coordinates(shapely.point_on_surface(faces))
    inside = shapely.contains_xy(parent, reps[:, 0], reps[:, 1])
    faces, reps = faces[inside], reps[inside]

    # Exactness: no vertex may appear that was not a parent vertex or a rounded line vertex
    # (noding would add one where a snapped line crosses something), and areas must add up.
    allowed = np.concatenate([_complex(parent_coords), _complex(new)])
    if not np.isin(_complex(shapely.get_coordinates(faces)), allowed).all():
        return None
    total = parent.area
    if abs(shapely.area(faces).sum() - total) > 1e-9 * total:
        return None

    labels = _sqdist((reps - origin) * scale, seeds).argmin(axis=1)
    children = []
    for i in range(k):
        mine = faces[labels == i]
        if len(mine) == 0:
            return None
        children.append(mine[0] if len(mine) == 1 else shapely.coverage_union_all(mine))
    children = _reattach_detached(children)
    for child in children:
        if child.geom_type not in ("Polygon", "MultiPolygon") or not child.is_valid:
            return None
        if child.area <= 0.0:
            return None
    return children


def _reattach_detached(children: list[Geometry]) -> list[Geometry]:
    """Give each detached piece of a child to the neighbour it shares the longest border with.

    A Voronoi cell cut by a concave parent can leave a small piece cut off from the rest of its
    child; attaching it to the adjacent child keeps children in one piece where the parent
    allows (islands with no neighbour stay where they are). Pieces are unions of faces with
    identical edges, so the result is still an exact tiling.
    """
    if all(c.geom_type == "Polygon" for c in children):
        return children
    children = list(children)
    for i in range(len(children)):
        if children[i].geom_type != "MultiPolygon":
            continue
        parts = sorted(shapely.get_parts(children[i]), key=lambda p: -p.area)
        keep = [parts[0]]
        for part in parts[1:]:
            border = shapely.boundary(part)
            shared = [
                shapely.length(shapely.intersection(border, shapely.boundary(c))) if j != i else 0.0
                for j, c in enumerate(children)
            ]
            j = int(np.argmax(shared))
            if shared[j] > 0.0:
                children[j] = shapely.coverage_union_all([children[j], part])
            else:
                keep.append(part)
        children[i] = keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)
    return children


def _sample(parent: Geometry, rng: np.random.Generator, m: int) -> np.ndarray:
    """Draw m uniform random points inside `parent` by rejection from its bounding box."""
    minx, miny, maxx, maxy = parent.bounds
    box_area = (maxx - minx) * (maxy - miny)
    fill = max(parent.area / box_area, 1e-3) if box_area > 0 else 1.0
    got: list[np.ndarray] = []
    n = 0
    while n < m:
        batch = int((m - n) / fill * 1.25) + 16
        pts = rng.random((batch, 2)) * [maxx - minx, maxy - miny] + [minx, miny]
        pts = pts[shapely.contains_xy(parent, pts[:, 0], pts[:, 1])]
        got.append(pts)
        n += len(pts)
    return np.concatenate(got)[:m]


def _relax(xy: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """Weighted discrete Lloyd relaxation; returns k distinct seeds chosen among the samples."""
    k = len(w)
    centers = xy[rng.choice(len(xy), size=k, replace=False)].copy()
    for _ in range(LLOYD_STEPS):
        # Dividing squared distance by the weight gives heavier children larger clusters.
        labels = (_sqdist(xy, centers) / w).argmin(axis=1)
        count = np.bincount(labels, minlength=k)
        sx = np.bincount(labels, weights=xy[:, 0], minlength=k)
        sy = np.bincount(labels, weights=xy[:, 1], minlength=k)
        ok = count > 0
        centers[ok, 0] = sx[ok] / count[ok]
        centers[ok, 1] = sy[ok] / count[ok]
    d2 = _sqdist(xy, centers)
    labels = (d2 / w).argmin(axis=1)
    # Seed = the member sample nearest its cluster mean: a mean can fall outside a concave
    # parent, a sample cannot.
    masked = np.where(labels[:, None] == np.arange(k)[None, :], d2, np.inf)
    idx = masked.argmin(axis=0)
    if not np.isfinite(masked[idx, np.arange(k)]).all():
        return None
    return xy[idx]

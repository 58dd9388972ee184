"""The boundary layers as a picture, for the console's map at city zooms
(/tiles/boundaries/{z}/{x}/{y}.png).

At city level every one of the 65,000 grids is on screen at once. Drawn as vectors, the map
library re-draws each grid's outline and dot in every frame of a pan: with WebGL in software
(no GPU, as on many command-centre PCs and in bench/bench_console_map.py) that costs per
vertex, about twice an empty map's frame for the grids and half as much again for the
township and district lines. A picture of the same lines costs one textured square per tile,
whatever it shows. So up to MAX_ZOOM the console draws this picture, and keeps the vector
grid tiles (drawn fully transparent, which the map library skips) for what vectors are for:
finding the grid under a click.

The picture is drawn from the vector tiles at the same address, whichever database rendered
them: the same features, simplified the same way, so the two cannot disagree, and the picture
shares the tile cache and its invalidation when the geography changes. Colours, widths and
opacities are the console's vector styles (pwa/js/console/map.js).

Pure module: Pillow and mapbox_vector_tile's protobuf classes only.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass

from mapbox_vector_tile.Mapbox import vector_tile_pb2
from PIL import Image, ImageDraw

# Up to this zoom the console shows the boundaries as a picture; above it, as vectors. At
# z10 a 1920×1080 console shows about 15 tiles and some 10,000 grids in the city centre.
MAX_ZOOM = 10
# The map draws a picture over 512 CSS pixels; a 2× picture (for screens with twice as many
# pixels per CSS pixel) has lines and dots twice as many pixels wide.
CSS_PX = 512
# Drawn at 2× and halved: lines come out antialiased.
_SUPERSAMPLE = 2
_MOVE_TO, _CLOSE_PATH = 1, 7
_POINT = 1  # an MVT feature's type; the rest of ours are polygons


def _zoomed(z: int, *stops: float) -> float:
    """MapLibre's ['interpolate', ['linear'], ['zoom'], z0, v0, z1, v1, ...] at zoom z."""
    pairs = list(zip(stops[::2], stops[1::2], strict=True))
    if z <= pairs[0][0]:
        return pairs[0][1]
    for (z0, v0), (z1, v1) in zip(pairs, pairs[1:], strict=False):
        if z <= z1:
            return v0 + (v1 - v0) * (z - z0) / (z1 - z0)
    return pairs[-1][1]


@dataclass(frozen=True)
class Style:
    """How one layer is drawn at zoom z, as the console's vector layer draws it."""

    color: tuple[int, int, int]
    width: float  # line width, screen pixels
    opacity: float
    dot_radius: float = 0.0  # areas too small to draw come as points (app/geo/tiles.py)
    dot_opacity: float = 0.0


def style(layer: str, z: int) -> Style:
    """The console's style of a boundary layer (pwa/js/console/map.js) at zoom z."""
    if layer == "grid":
        return Style(
            (0x8F, 0xAE, 0x8F),
            1.0,
            _zoomed(z, 7, 0.35, 10, 0.7, 12, 1),
            dot_radius=_zoomed(z, 7, 0.6, 11, 1.5),
            dot_opacity=_zoomed(z, 7, 0.5, 10, 0.8),
        )
    if layer == "township":
        return Style((0x3D, 0x5A, 0x80), 1.5, 1.0)
    if layer == "district":
        return Style((0x1D, 0x35, 0x57), 2.5, 1.0)
    raise ValueError(f"no picture style for layer {layer!r}")


def render_png(layers: list[tuple[Style, bytes]], *, size: int) -> bytes:
    """A transparent `size`-pixel PNG of gzipped MVT tiles drawn in order, each in its style;
    b"" if there is nothing to draw."""
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    for layer_style, tile_gz in layers:
        if not tile_gz:
            continue
        lines, dots = _masks(tile_gz, size, layer_style)
        for mask, opacity in ((lines, layer_style.opacity), (dots, layer_style.dot_opacity)):
            if mask is None or opacity <= 0:
                continue
            alpha = mask.reduce(_SUPERSAMPLE)
            if opacity < 1:
                alpha = alpha.point(lambda a, k=opacity: round(a * k))
            paint = Image.new("RGBA", (size, size), (*layer_style.color, 0))
            paint.putalpha(alpha)
            canvas = Image.alpha_composite(canvas, paint)
    if canvas.getbbox() is None:
        return b""
    out = io.BytesIO()
    # A palette with alpha: a third of RGBA's bytes, and the few colours a boundary map has.
    canvas.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, "PNG", optimize=True)
    return out.getvalue()


def _masks(tile_gz: bytes, size: int, layer_style: Style):
    """A tile's outlines and dots as supersampled coverage masks (None where it has none)."""
    tile = vector_tile_pb2.tile()
    tile.ParseFromString(gzip.decompress(tile_gz))
    big = size * _SUPERSAMPLE
    lines = dots = None
    px_per_css_px = size / CSS_PX * _SUPERSAMPLE  # a 1024-pixel picture is for 2× screens
    width = max(1, round(layer_style.width * px_per_css_px))
    r = layer_style.dot_radius * px_per_css_px
    for layer in tile.layers:
        scale = big / layer.extent
        for feature in layer.features:
            for path in _paths(feature.geometry):
                points = [(x * scale, y * scale) for x, y in path]
                if feature.type == _POINT:
                    if dots is None:
                        dots = Image.new("L", (big, big), 0)
                        draw_dots = ImageDraw.Draw(dots)
                    for px, py in points:
                        draw_dots.ellipse((px - r, py - r, px + r, py + r), fill=255)
                else:
                    if lines is None:
                        lines = Image.new("L", (big, big), 0)
                        draw_lines = ImageDraw.Draw(lines)
                    draw_lines.line(
                        [*points, points[0]],
                        fill=255,
                        width=width,
                        joint="curve" if width > 2 else None,
                    )
    return lines, dots


def _paths(geometry) -> list[list[tuple[int, int]]]:
    """An MVT feature's geometry commands as paths: each MoveTo starts one (a point's path is
    the point alone, a ring's its vertices, closed by the caller)."""
    paths: list[list[tuple[int, int]]] = []
    x = y = 0
    i, n = 0, len(geometry)
    while i < n:
        command, count = geometry[i] & 7, geometry[i] >> 3
        i += 1
        if command == _CLOSE_PATH:
            continue
        for _ in range(count):
            dx, dy = geometry[i], geometry[i + 1]
            i += 2
            x += (dx >> 1) ^ -(dx & 1)
            y += (dy >> 1) ^ -(dy & 1)
            if command == _MOVE_TO or not paths:
                paths.append([(x, y)])
            else:
                paths[-1].append((x, y))
    return paths

"""Draw the web app's icons into pwa/icons/: a white 3×3 grid 网格 on green, drawn rather than
lettered so no CJK font is needed. Plain icons have rounded corners; maskable ones fill the
square and keep the mark inside the central safe circle (radius 40%) that launchers may crop to.

Usage: .venv/bin/python scripts/make_icons.py   (the PNGs are committed)
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "pwa" / "icons"
GREEN = (11, 110, 79, 255)
WHITE = (255, 255, 255, 255)
SCALE = 4  # draw large, then shrink: smooth edges without anti-aliasing support in ImageDraw


def icon(size: int, *, maskable: bool) -> Image.Image:
    """One icon of `size` pixels square."""
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=GREEN)
        mark = big * 0.52  # its diagonal (0.74) stays inside the 0.8 safe circle
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.2, fill=GREEN)
        mark = big * 0.62
    start = (big - mark) / 2
    line = max(SCALE, round(big * 0.045))
    for i in range(4):
        at = start + mark * i / 3
        draw.rectangle(
            (at - line / 2, start - line / 2, at + line / 2, start + mark + line / 2), WHITE
        )
        draw.rectangle(
            (start - line / 2, at - line / 2, start + mark + line / 2, at + line / 2), WHITE
        )
    # The reporting point: a dot in the centre cell.
    dot = mark * 0.11
    centre = big / 2
    draw.ellipse((centre - dot, centre - dot, centre + dot, centre + dot), fill=(255, 200, 40, 255))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size, maskable=False).save(OUT / f"icon-{size}.png")
        icon(size, maskable=True).save(OUT / f"maskable-{size}.png")
    print(f"icons written to {OUT}")


if __name__ == "__main__":
    main()

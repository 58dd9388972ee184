"""The console's city map in Chromium: all 65,000 grids at city level, the time to draw them,
and how smoothly the map pans and zooms, against a floor measured in the same run.

    .venv/bin/python bench/bench_console_map.py [--geodata DIR] [--rounds 2]
        [--chromium /usr/bin/chromium] [--json]

Setup: the full city (DIR, default instance/geodata as `flask geodata build` makes it; built
into a temporary directory when missing, ~30 s) is loaded into a fresh SQLite database in a
temporary instance directory, as `flask geodata load` does, with the categories, key kinds and
demo accounts. The real web server (gunicorn gthread, started as the browser tests start it)
serves it with the embedded Redis. Headless Debian Chromium (WebGL through SwiftShader, in
software) opens a 1920×1080 console, logs in as demo_dispatcher through the login screen and
drives the console's MapLibre map (window.wanggeMap). Everything is removed at the end.

Measured:
  city view   map.jumpTo the camera that fits the city's bounding box, timed until the map's
              'idle' event: the grid features rendered (queryRenderedFeatures on 'grids' and
              'grid-dots', the grids too small to draw as polygons: raw,
              which repeats a grid cut by a tile edge, and distinct), and the tile requests and
              bytes (Playwright's network events; bodies as sent, gzipped). Once with the
              server's tile cache empty (the first console after a geodata load), once in a
              fresh browser context with the server's cache full. Also the CPU time Chromium
              spent on it (see CPU below).
  pan/zoom    four animated panBy of 300 px, then zoomTo city → 9 → city (2 s each), with the
              start of every frame recorded by requestAnimationFrame in the page: frames,
              median, p95 and max frame interval, frames over 100 ms (freezes), then the time
              until 'idle'. The first pass fetches the z8/z9 tiles over the network (the
              server already has them). The next --rounds passes ask for tiles again, as
              MapLibre drops a source's tiles while its layers are hidden for the floor: the
              browser's HTTP cache answers some (which ones varies with the frame timing).
  pans only   the four pans alone, --rounds times, each from the city view once every tile in
              view is loaded and drawn: what drawing costs, without loading tiles.
CPU         CPU time of this run's Chromium GPU process (where SwiftShader rasterises WebGL)
            and renderer (MapLibre and its tile workers), from the OS: per frame drawn during a
            pass (frames until 'idle' included), and for the city view until 'idle'. On a
            shared 2-core machine, frame intervals also measure everyone else's load; CPU time
            per frame mostly does not, so it is the steadier figure to compare runs by.
Floor, same page, same run: every style layer but the background hidden (read from the map,
so a layer added later is hidden too), so no vector tile is drawn or fetched; the same city
jump and --rounds passes of the same script, alternated with the map's, so that a change in
the machine's load hits both alike. Reported as ratios: in software rendering even an empty
map costs a lot per frame, and that is this machine, not the map.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import psutil
from common import ROOT, city_geodata, make_app, report, temp_dir  # noqa: I001

from tests.support import CHROMIUM_ARGS  # exactly as the browser tests launch it

CHROMIUM = "/usr/bin/chromium"
USERNAME = "demo_dispatcher"
FREEZE_MS = 100.0
# The pan/zoom script at city level; "city" is the zoom that fits the whole city.
SCRIPT = [
    {"pan": [300, 0], "ms": 600},
    {"pan": [0, 300], "ms": 600},
    {"pan": [-300, 0], "ms": 600},
    {"pan": [0, -300], "ms": 600},
    {"zoom": 9, "ms": 2000},
    {"zoom": "city", "ms": 2000},
]
# Its pans alone, from the city view with every tile in view loaded: drawing, no tile loading.
PANS = SCRIPT[:4]
# The chromium processes whose CPU time is the map's cost (not the browser's network process).
CHROMIUM_WORKERS = ("--type=gpu-process", "--type=renderer")

# Every layer of the console's map but the background (what the floor hides), with the
# visibility the console gave it (what the map's passes restore).
JS_LAYERS = """async () => {
  const { map } = await window.wanggeMap;
  return Object.fromEntries(map.getStyle().layers.filter((l) => l.id !== 'background')
    .map((l) => [l.id, map.getLayoutProperty(l.id, 'visibility') || 'visible']));
}"""

# In the page: wait for the console's map and its first complete drawing.
JS_MAP_READY = """async () => {
  const { map } = await window.wanggeMap;
  if (!performance.getEntriesByName('wangge-map-idle').length) {
    await new Promise((resolve) => map.once('idle', resolve));
  }
  const canvas = map.getCanvas();
  return { width: canvas.clientWidth, height: canvas.clientHeight,
           dpr: window.devicePixelRatio, zoom: map.getZoom() };
}"""

# The camera that fits a bounding box in the map's container.
JS_CAMERA = """async (bbox) => {
  const { map } = await window.wanggeMap;
  const camera = map.cameraForBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 0 });
  return { center: [camera.center.lng, camera.center.lat], zoom: camera.zoom };
}"""

# A jump, timed until 'idle' (every tile in view loaded and drawn).
JS_JUMP = """async ({ camera }) => {
  const { map } = await window.wanggeMap;
  const idle = new Promise((resolve) => map.once('idle', resolve));
  const started = performance.now();
  map.jumpTo(camera);
  await idle;
  return { ms: performance.now() - started };
}"""

# The grids drawn in view, as polygons or dots.
JS_COUNT = """async () => {
  const { map } = await window.wanggeMap;
  const features = map.queryRenderedFeatures({ layers: ['grids', 'grid-dots'] });
  return { rendered: features.length, distinct: new Set(features.map((f) => f.id)).size,
           zoom: map.getZoom() };
}"""

# The pan/zoom script with every frame's start time, then the time until 'idle'.
JS_SCRIPT = """async ({ steps, cityZoom }) => {
  const { map } = await window.wanggeMap;
  const frames = [];
  let recording = true;
  let renders = 0;
  const count = () => { renders += 1; };
  map.on('render', count);
  const tick = (t) => { frames.push(t); if (recording) requestAnimationFrame(tick); };
  await new Promise((resolve) => requestAnimationFrame(resolve));
  requestAnimationFrame(tick);
  const started = performance.now();
  for (const step of steps) {
    const moved = new Promise((resolve) => map.once('moveend', resolve));
    // essential: animate even if the browser asks for reduced motion.
    const options = { duration: step.ms, essential: true };
    if (step.pan) map.panBy(step.pan, options);
    else map.zoomTo(step.zoom === 'city' ? cityZoom : step.zoom, options);
    await moved;
  }
  recording = false;
  const moving = performance.now() - started;
  const idle = new Promise((resolve) => map.once('idle', resolve));
  map.triggerRepaint();
  await idle;
  map.off('render', count);
  return { frames, renders, moving_ms: moving, settle_ms: performance.now() - started - moving };
}"""

JS_SHOW = """async (visibility) => {
  const { map } = await window.wanggeMap;
  for (const [id, value] of Object.entries(visibility)) {
    map.setLayoutProperty(id, 'visibility', value);
  }
}"""


def city_bbox(geodata: Path) -> list[float]:
    import shapely

    text = (geodata / "districts.geojson").read_text(encoding="utf-8")
    return shapely.total_bounds(shapely.from_geojson(text)).tolist()


def prepare(geodata: Path, instance: Path) -> tuple[str, str, float]:
    """A fresh SQLite database with the city and the demo accounts: (database URL, Redis URL,
    load seconds). The embedded Redis is started here and stopped when this process exits."""
    database_url = f"sqlite:///{instance / 'wangge.db'}"
    # Cheap hashing for the demo accounts, as the browser tests do: logins are not measured.
    app = make_app(
        database_url,
        instance,
        GEODATA_DIR=str(geodata),
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_KIB=1024,
        ARGON2_PARALLELISM=1,
    )
    with app.app_context():
        from app.accounts import demo
        from app.categories.service import seed_from_file
        from app.extensions import db
        from app.geo.loader import load
        from app.keys.service import load_kinds

        started = time.perf_counter()
        load(geodata, force=True)
        db.session.commit()
        load_s = time.perf_counter() - started
        seed_from_file()
        load_kinds()
        demo.seed(password=demo.DEMO_PASSWORD)
        db.session.commit()
        db.engine.dispose()
    return database_url, app.extensions["redis_url_resolver"](), load_s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    database_url: str, redis_url: str, instance: Path, geodata: Path
) -> tuple[subprocess.Popen, str, Path]:
    """gunicorn (gthread, one process, 8 threads), as tests/e2e/conftest.py starts it."""
    port = _free_port()
    log = instance / "web.log"
    env = {
        **os.environ,
        "WANGGE_INSTANCE": str(instance),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "GEODATA_DIR": str(geodata),
        "FLASK_APP": "wsgi.py",
        "WEB_THREADS": "8",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "8"]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return process, url, log
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            raise RuntimeError(f"the web server did not start\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def chromium_cpu() -> float:
    """CPU seconds used so far by this process's Chromium GPU and renderer processes."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            if any(arg in CHROMIUM_WORKERS for arg in child.cmdline()):
                times = child.cpu_times()
                total += times.user + times.system
        except psutil.Error:  # gone, or not ours to read: not part of the map
            continue
    return total


class TileLog:
    """Vector tile responses a browser context received over the network."""

    def __init__(self, context):
        self.entries: list[dict] = []
        self.failed = 0
        context.on("requestfinished", self._finished)
        context.on("requestfailed", self._failed)

    @staticmethod
    def _is_tile(url: str) -> bool:
        return urlsplit(url).path.startswith("/tiles/")

    def _failed(self, request) -> None:
        if self._is_tile(request.url):
            self.failed += 1

    def _finished(self, request) -> None:
        if not self._is_tile(request.url):
            return
        response = request.response()
        if response is None:
            return
        layer = urlsplit(request.url).path.split("/")[2]
        body = request.sizes()["responseBodySize"]  # as sent: gzipped
        self.entries.append({"layer": layer, "status": response.status, "bytes": max(body, 0)})

    def take(self) -> dict:
        """What arrived since the last take: requests, statuses and body bytes by layer."""
        entries, self.entries = self.entries, []
        failed, self.failed = self.failed, 0
        by_layer: dict[str, int] = {}
        statuses: dict[str, int] = {}
        for e in entries:
            by_layer[e["layer"]] = by_layer.get(e["layer"], 0) + e["bytes"]
            statuses[str(e["status"])] = statuses.get(str(e["status"]), 0) + 1
        return {
            "requests": len(entries),
            "failed": failed,
            "statuses": statuses,
            "bytes": sum(by_layer.values()),
            "bytes_by_layer": by_layer,
        }


def frame_stats(runs: list[dict]) -> dict:
    """Frame intervals of one or more passes of the script, pooled."""
    intervals = [b - a for r in runs for a, b in zip(r["frames"], r["frames"][1:], strict=False)]
    moving_ms = sum(r["moving_ms"] for r in runs)
    cpu_ms = 1000.0 * sum(r["cpu_s"] for r in runs)
    return {
        "passes": len(runs),
        "frames": len(intervals),
        "fps": len(intervals) / (moving_ms / 1000.0),
        "median_ms": statistics.median(intervals),
        "p95_ms": statistics.quantiles(intervals, n=100, method="inclusive")[94],
        "max_ms": max(intervals),
        "freezes": sum(1 for i in intervals if i > FREEZE_MS),
        "moving_ms": moving_ms,
        "settle_ms": statistics.fmean(r["settle_ms"] for r in runs),
        "cpu_ms_per_frame": cpu_ms / sum(r["renders"] for r in runs),
    }


def open_console(browser, url: str):
    """A 1920×1080 console signed in as the dispatcher, its map drawn; (context, page, log)."""
    from app.accounts.demo import DEMO_PASSWORD

    context = browser.new_context(
        viewport={"width": 1920, "height": 1080},
        base_url=url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="allow",
        reduced_motion="no-preference",
    )
    context.set_default_timeout(120_000)
    tiles = TileLog(context)
    page = context.new_page()
    page.goto("/")
    page.fill("#username", USERNAME)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login")
    page.wait_for_selector("header #live.live")
    page.evaluate(JS_MAP_READY)
    return context, page, tiles


def city_view(page, tiles: TileLog, camera: dict, home: dict, *, count: bool = True) -> dict:
    """Jump to the city from the township view, timed until idle, with the tiles fetched."""
    page.evaluate(JS_JUMP, {"camera": home})
    tiles.take()
    cpu = chromium_cpu()
    out = page.evaluate(JS_JUMP, {"camera": camera})
    out["cpu_ms"] = 1000.0 * (chromium_cpu() - cpu)
    if count:
        out |= page.evaluate(JS_COUNT)
    out["tiles"] = tiles.take()
    return out


def show(page, layers: dict[str, str], *, floor: bool) -> None:
    """The console's layers as it set them, or (the floor) all hidden."""
    page.evaluate(JS_SHOW, {k: "none" if floor else v for k, v in layers.items()})


def script_pass(
    page, tiles: TileLog, camera: dict, layers: dict[str, str], *, floor: bool, steps=SCRIPT
) -> dict:
    """One pass of the pan/zoom script (or `steps`) from the city view, once every tile in
    view is drawn; the floor's with `layers` hidden."""
    show(page, layers, floor=floor)
    page.evaluate(JS_JUMP, {"camera": camera})
    tiles.take()
    cpu = chromium_cpu()
    raw = page.evaluate(JS_SCRIPT, {"steps": steps, "cityZoom": camera["zoom"]})
    raw["cpu_s"] = chromium_cpu() - cpu
    raw["tiles"] = tiles.take()
    return raw


def pooled(passes: list[dict]) -> dict:
    """Frame statistics and tiles fetched over passes of the script."""
    fetched = {
        "requests": sum(p["tiles"]["requests"] for p in passes),
        "bytes": sum(p["tiles"]["bytes"] for p in passes),
    }
    return frame_stats(passes) | {"tiles": fetched}


def run(url: str, bbox: list[float], chromium: str, rounds: int) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            # 1. The first console after a geodata load: the server renders every tile.
            context, page, tiles = open_console(browser, url)
            out["canvas"] = page.evaluate(JS_MAP_READY)
            home = page.evaluate(
                "async () => { const { map } = await window.wanggeMap;"
                " const c = map.getCenter(); return { center: [c.lng, c.lat],"
                " zoom: map.getZoom() }; }"
            )
            camera = page.evaluate(JS_CAMERA, bbox)
            out["camera"] = camera
            print("city view, server cache cold ...", file=sys.stderr, flush=True)
            out["city_cold_server"] = city_view(page, tiles, camera, home)
            # Not measured: fills the server's cache with the tiles the script needs.
            page.evaluate(JS_SCRIPT, {"steps": SCRIPT, "cityZoom": camera["zoom"]})
            context.close()

            # 2. A console in a fresh browser: the server has the tiles, the browser has none.
            context, page, tiles = open_console(browser, url)
            print("city view, browser cold ...", file=sys.stderr, flush=True)
            out["city"] = city_view(page, tiles, camera, home)
            print("pan/zoom ...", file=sys.stderr, flush=True)
            layers = page.evaluate(JS_LAYERS)
            out["pass1"] = pooled([script_pass(page, tiles, camera, layers, floor=False)])
            # The floor: the same page with nothing but the background to draw. Floor and map
            # passes alternate, so that a change in the machine's load hits both alike.
            runs: dict[str, list] = {"floor": [], "pass2": [], "pans_floor": [], "pans": []}
            for _ in range(rounds):
                runs["floor"].append(script_pass(page, tiles, camera, layers, floor=True))
                runs["pass2"].append(script_pass(page, tiles, camera, layers, floor=False))
            for _ in range(rounds):
                for key, floor in (("pans_floor", True), ("pans", False)):
                    one = script_pass(page, tiles, camera, layers, floor=floor, steps=PANS)
                    runs[key].append(one)
            out |= {key: pooled(passes) for key, passes in runs.items()}
            print("floor city view ...", file=sys.stderr, flush=True)
            show(page, layers, floor=True)
            out["floor_city"] = city_view(page, tiles, camera, home, count=False)
            context.close()
        finally:
            browser.close()
    return out


def _kb(n: int) -> str:
    return f"{n / 1024:.0f} KB"


def summarise(r: dict) -> list[tuple[str, str]]:
    c = r["canvas"]
    cam = r["camera"]
    lines = [
        (
            "setup",
            f"geodata load {r['load_s']:.1f} s; map canvas {c['width']}×{c['height']} px "
            f"(dpr {c['dpr']}); city camera [{cam['center'][0]:.2f}, {cam['center'][1]:.2f}] "
            f"zoom {cam['zoom']:.2f} (bbox {', '.join(f'{v:.2f}' for v in r['bbox'])})",
        )
    ]
    for key, label in (("city_cold_server", "city view, server cold"), ("city", "city view")):
        v = r[key]
        t = v["tiles"]
        layers = ", ".join(f"{k} {_kb(b)}" for k, b in sorted(t["bytes_by_layer"].items()))
        statuses = ", ".join(f"{k}×{n}" for k, n in sorted(t["statuses"].items()))
        lines.append(
            (
                label,
                f"idle after {v['ms']:.0f} ms; grids rendered {v['rendered']} "
                f"({v['distinct']} distinct of {r['grids']}) at zoom {v['zoom']:.2f}",
            )
        )
        lines.append(
            (
                "",
                f"tiles {t['requests']} requests ({statuses}; {t['failed']} failed), "
                f"{_kb(t['bytes'])} gzip: {layers}",
            )
        )
    floor_city, city = r["floor_city"], r["city"]
    lines.append(
        (
            "city view, floor",
            f"idle after {floor_city['ms']:.0f} ms → city view "
            f"{city['ms'] / floor_city['ms']:.1f}× floor; chromium CPU {city['cpu_ms']:.0f} ms "
            f"vs {floor_city['cpu_ms']:.0f} ms ({city['cpu_ms'] / floor_city['cpu_ms']:.1f}×)",
        )
    )
    for key, label, floor in (
        ("pass1", "pan/zoom, tiles fetched", "floor"),
        ("pass2", "pan/zoom, again", "floor"),
        ("floor", "pan/zoom, floor", None),
        ("pans", "pans only", "pans_floor"),
        ("pans_floor", "pans only, floor", None),
    ):
        p = r[key]
        lines.append(
            (
                f"{label} ({p['passes']}×)",
                f"{p['frames']} frames in {p['moving_ms'] / 1000:.1f} s ({p['fps']:.1f} fps); "
                f"interval median {p['median_ms']:.1f} / p95 {p['p95_ms']:.1f} / max "
                f"{p['max_ms']:.1f} ms; {p['freezes']} over {FREEZE_MS:.0f} ms; "
                f"idle {p['settle_ms']:.0f} ms after; tiles {p['tiles']['requests']} "
                f"({_kb(p['tiles']['bytes'])}); chromium CPU {p['cpu_ms_per_frame']:.0f} ms/frame",
            )
        )
        if floor:
            f = r[floor]
            lines.append(
                (
                    "",
                    f"vs floor: p95 {p['p95_ms'] / f['p95_ms']:.1f}×, "
                    f"median {p['median_ms'] / f['median_ms']:.1f}×, "
                    f"max {p['max_ms'] / f['max_ms']:.1f}×, fps {p['fps'] / f['fps']:.2f}×, "
                    f"CPU/frame {p['cpu_ms_per_frame'] / f['cpu_ms_per_frame']:.1f}×",
                )
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--geodata", type=Path)
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--rounds", type=int, default=2, help="map and floor passes, alternated")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    geodata, built = city_geodata(args.geodata, "wangge-bench-map-geodata-")
    bbox = city_bbox(geodata)
    work = temp_dir("wangge-bench-map-")
    instance = work / "instance"
    server = None
    try:
        print("loading the city ...", file=sys.stderr, flush=True)
        database_url, redis_url, load_s = prepare(geodata, instance)
        server, url, _ = start_server(database_url, redis_url, instance, geodata)
        manifest = json.loads((geodata / "manifest.json").read_text(encoding="utf-8"))
        results = {
            "geodata": str(geodata),
            "grids": manifest["counts"]["grids"],
            "bbox": bbox,
            "load_s": load_s,
        }
        results |= run(url, bbox, args.chromium, args.rounds)
    finally:
        if server is not None:
            stop_server(server)
        from app.core.redis import stop_embedded

        stop_embedded()
        shutil.rmtree(work, ignore_errors=True)
        if built:
            shutil.rmtree(geodata, ignore_errors=True)
    title = "Console city map in Chromium (full city, WebGL in SwiftShader)"
    report(title, summarise(results), results, args.json)


if __name__ == "__main__":
    main()

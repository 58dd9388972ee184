"""The browser harness proven on the app shell: a phone installs the web app, starts it again
with no network, renders Chinese, and its first visit stays within the 1 MB budget; the
console's map library draws with WebGL in the same headless Chromium."""

from __future__ import annotations

import io

import pytest
from PIL import Image

pytestmark = pytest.mark.e2e

# The phone's whole first visit, compressed, the service worker's precache included (issue 4).
FIRST_LOAD_BUDGET = 1_000_000

# Two different characters and one no font has: with a CJK font all three draw differently;
# without one, every CJK character is the same empty box.
GLYPHS_DIFFER = """() => {
  const draw = (ch) => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 48;
    const ctx = canvas.getContext('2d');
    ctx.font = '40px sans-serif';
    ctx.fillText(ch, 2, 40);
    return canvas.toDataURL();
  };
  const [wang, ge, none] = [draw('网'), draw('格'), draw('\\u{10FFFD}')];
  return wang !== ge && wang !== none;
}"""


def test_phone_installs_the_app_and_starts_it_offline(phone, network_log, screenshot):
    log = network_log(phone)
    page = phone.new_page()
    page.goto("/")
    # A controller means the worker activated, so its install (the precache) completed.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "网格" in page.title()

    total = log.transferred()
    biggest = sorted(log.entries, key=lambda e: -e["body"])[:5]
    print(f"\nphone first load: {total:,} bytes in {len(log.entries)} responses; largest:")
    for entry in biggest:
        print(f"  {entry['body']:>9,}  {entry['url']}")
    assert total < FIRST_LOAD_BUDGET
    # The leaflet module came compressed: the server sent its gzip copy.
    leaflet = [e for e in log.entries if e["url"].endswith("/leaflet-src.esm.js")]
    assert leaflet and all(e["body"] < 150_000 for e in leaflet), leaflet
    assert page.evaluate(GLYPHS_DIFFER), "Chinese renders as boxes: install fonts-wqy-microhei"
    screenshot(page, "online")

    phone.set_offline(True)
    log.clear()
    response = page.reload()
    assert response.from_service_worker
    page.wait_for_load_state("load")
    assert "网格" in page.title()
    assert "网格" in page.locator("body").inner_text()
    assert page.evaluate("navigator.onLine") is False
    # Everything the page asked for came out of the cache: nothing failed, nothing fetched.
    assert log.failed == [] and log.entries == []
    screenshot(page, "offline")


def test_api_reads_fall_back_to_the_last_answer_offline(phone, live_server):
    token = live_server.login("demo_worker")
    page = phone.new_page()
    page.goto("/")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    fetch_me = """async (token) => {
      const r = await fetch('/api/v1/auth/me', { headers: { Authorization: 'Bearer ' + token } });
      return [r.status, (await r.json()).user.username];
    }"""
    assert page.evaluate(fetch_me, token) == [200, "demo_worker"]
    phone.set_offline(True)
    assert page.evaluate(fetch_me, token) == [200, "demo_worker"]
    # Another user's token gets no copy of someone else's answer.
    refused = page.evaluate(
        """async () => {
          try { await fetch('/api/v1/auth/me', { headers: { Authorization: 'Bearer other' } }); }
          catch (error) { return 'network error'; }
          return 'answered';
        }"""
    )
    assert refused == "network error"


def test_console_map_library_draws_with_webgl(console, screenshot):
    page = console.new_page()
    page.goto("/")
    version = page.evaluate(
        """async () => {
          const maplibregl = await import('/vendor/maplibre-gl/maplibre-gl.mjs');
          const box = document.createElement('div');
          box.style.cssText = 'position:fixed;inset:0;z-index:9';
          document.body.append(box);
          const square = [[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.6]];
          const polygon = { type: 'Polygon', coordinates: [[...square, square[0]]] };
          const map = new maplibregl.Map({
            container: box, center: [106.55, 29.55], zoom: 9, attributionControl: false,
            style: {
              version: 8,
              sources: { grid: { type: 'geojson', data: polygon } },
              layers: [
                { id: 'bg', type: 'background', paint: { 'background-color': '#ffffff' } },
                { id: 'grid', type: 'fill', source: 'grid', paint: { 'fill-color': '#c21818' } },
              ],
            },
          });
          await new Promise((resolve, reject) => {
            map.once('idle', resolve);
            map.once('error', (e) => reject(e.error));
          });
          return maplibregl.getVersion();
        }"""
    )
    assert version.startswith("6.")
    # The polygon (drawn by WebGL from data cut up in MapLibre's worker) is at the centre.
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    assert shot.getpixel((960, 540)) == (0xC2, 0x18, 0x18)
    assert shot.getpixel((20, 20)) == (255, 255, 255)
    screenshot(page, "maplibre")

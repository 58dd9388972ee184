"""A patrol 巡查 in Chromium: the phone starts one, walks, loses the network, keeps recording,
is closed and reopened, gets the network back and stops; the whole track arrives exactly once,
and the console's patrols pane shows the track and the grid's coverage."""

from __future__ import annotations

import math
import time

import pytest

from tests.support import log_in

pytestmark = pytest.mark.e2e

GRID = "500103003013001"
STEP_M = 25  # each move is more than the app's 20 m "moved" rule

KV_GET = """key => new Promise((resolve, reject) => {
  const open = indexedDB.open('wangge');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const get = open.result.transaction('kv').objectStore('kv').get(key);
    get.onsuccess = () => resolve(get.result);
    get.onerror = () => reject(get.error);
  };
})"""
QUEUE_ITEMS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('wangge');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const all = open.result.transaction('queue').objectStore('queue').getAll();
    all.onsuccess = () => resolve(all.result.map(i => ({kind: i.kind, status: i.status})));
  };
})"""


def position(origin: dict, east_m: float) -> dict:
    """A GPS fix `east_m` metres east of the origin (sphere; a few cm off over 100 m)."""
    kx = 6371008.8 * math.cos(math.radians(origin["latitude"])) * math.pi / 180
    return {
        "latitude": origin["latitude"],
        "longitude": origin["longitude"] + east_m / kx,
        "accuracy": 8,
    }


def recorded(page) -> int:
    text = page.locator("#patrol-points").inner_text()
    return int("".join(ch for ch in text if ch.isdigit()) or 0)


def walk_to(page, context, fix: dict) -> None:
    """Move the phone at a walking pace and wait until the app has recorded a fix there."""
    # 25 m in under 1.7 s after the last recorded fix would be faster than the server believes
    # anyone patrols (15 m/s): a jump, counting no distance. The app also records a fix at
    # every tick of its interval, so the wait runs from the last fix, not from the last move.
    while True:
        state = page.evaluate(KV_GET, "patrol")
        last = (state or {}).get("last")
        since_ms = page.evaluate("at => Date.now() - Date.parse(at)", last["at"]) if last else 1e9
        if since_ms >= 2500:
            break
        page.wait_for_timeout(min(250, 2500 - since_ms))
    before = recorded(page)
    context.set_geolocation(fix)
    page.wait_for_function(
        "n => Number((document.querySelector('#patrol-points')||{}).textContent"
        ".replace(/\\D/g, '')) > n",
        arg=before,
        timeout=15_000,
    )


def test_an_offline_patrol_arrives_whole_and_once_and_shows_on_the_console(
    phone, console, live_server, phone_position, screenshot
):
    origin = position(phone_position, -40)  # start 40 m west of the grid's middle
    phone.set_geolocation(origin)
    page = phone.new_page()
    log_in(page, "demo_worker")
    page.wait_for_selector("#patrol-button")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    screenshot(page, "phone-home")

    page.click("#patrol-button")
    page.select_option("#patrol-interval", "5")  # a short interval: the test cannot walk minutes
    screenshot(page, "phone-patrol-idle")
    page.click("#patrol-start")
    page.wait_for_selector("#patrol-elapsed")
    visited = [origin]

    # Online: two moves.
    for k in (1, 2):
        visited.append(position(origin, k * STEP_M))
        walk_to(page, phone, visited[-1])
    token = live_server.login("demo_worker")
    status, mine = live_server.api("GET", "/patrols?mine=true", token=token)
    assert status == 200 and mine["total"] == 1 and mine["items"][0]["status"] == "active"
    patrol_id = mine["items"][0]["id"]
    assert mine["items"][0]["grid"] == GRID
    screenshot(page, "phone-patrol-running")
    # Home shows the running patrol, and recording goes on whatever screen is open.
    page.click("nav.tabs a[data-tab='#/home']")
    button = page.locator("#patrol-button.running")
    button.wait_for()
    assert "巡查中" in button.inner_text() and "km" in button.inner_text()
    screenshot(page, "phone-home-running")
    button.click()
    page.wait_for_selector("#patrol-elapsed")

    # Offline: recording goes on.
    phone.set_offline(True)
    for k in (3, 4):
        visited.append(position(origin, k * STEP_M))
        walk_to(page, phone, visited[-1])
    page.wait_for_selector("#patrol-unsent.warn")
    screenshot(page, "phone-patrol-offline")

    # The app is closed and reopened, still offline: the patrol is there and recording resumes.
    page.close()
    page = phone.new_page()
    page.goto("/#/patrol")
    page.wait_for_selector("#patrol-elapsed")
    assert page.locator("#patrol-stop").is_visible()
    visited.append(position(origin, 5 * STEP_M))
    walk_to(page, phone, visited[-1])
    screenshot(page, "phone-patrol-reopened-offline")

    # The network returns; the worker walks back a little and stops.
    phone.set_offline(False)
    visited.append(position(origin, 4 * STEP_M + 5))
    walk_to(page, phone, visited[-1])
    page.click("#patrol-stop")
    page.click("#patrol-stop")
    page.wait_for_selector("#patrol-start")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the queue empties once the network is back
        queue = page.evaluate(QUEUE_ITEMS)
        if queue and all(i["status"] == "sent" for i in queue):
            break
        page.wait_for_timeout(250)
    last = page.evaluate(KV_GET, "patrol_last")
    queue = page.evaluate(QUEUE_ITEMS)
    assert {i["kind"] for i in queue} == {"patrol_start", "patrol_points", "patrol_stop"}
    assert not [i for i in queue if i["status"] != "sent"]
    # The phone's history follows once the stop has reached the server.
    page.wait_for_selector(f"#patrol-history .patrol-row[data-id='{patrol_id}']:not(:has(.state))")
    page.wait_for_selector(f"#patrol-cover .cover-line[data-code='{GRID}']")
    screenshot(page, "phone-patrol-stopped")

    # The server has the whole track, once.
    dispatcher = live_server.login("demo_dispatcher")
    status, detail = live_server.api("GET", f"/patrols/{patrol_id}", token=dispatcher)
    assert status == 200, detail
    assert detail["status"] == "stopped" and detail["stopped_by"] == "user"
    assert detail["point_count"] == last["count"]
    coords = {(round(x, 6), round(y, 6)) for x, y in detail["track"]["coordinates"]}
    for fix in visited:
        assert (round(fix["longitude"], 6), round(fix["latitude"], 6)) in coords
    walked = (5 * STEP_M) + (STEP_M - 5)  # out 125 m, back 20 m
    assert detail["distance_m"] == pytest.approx(walked, rel=0.05)
    assert last["distance_m"] == pytest.approx(detail["distance_m"], rel=0.02)
    with live_server.app.app_context():
        from sqlalchemy import func, select

        from app.core.scope import unscoped
        from app.extensions import db
        from app.patrols.models import Patrol, PatrolPoint

        with unscoped():
            patrols = db.session.scalar(select(func.count()).select_from(Patrol))
            points = db.session.scalar(
                select(func.count())
                .select_from(PatrolPoint)
                .where(PatrolPoint.patrol_id == patrol_id)
            )
        db.session.remove()
    assert (patrols, points) == (1, last["count"])

    # The township's console: the day's patrol, its track on the map, the grid's coverage.
    desk = console.new_page()
    log_in(desk, "demo_dispatcher")
    desk.wait_for_selector("header #live.live")
    desk.click("#patrols-tab")
    row = desk.locator(f"#patrol-list tr[data-id='{patrol_id}']")
    row.wait_for()
    assert "张网格" in row.inner_text()
    row.click()
    desk.wait_for_function(
        "() => window.wanggeMap.then(m => m.map.getSource('tracks').serialize().data)"
        ".then(d => d.geometry && d.geometry.coordinates.length >= 2)"
    )
    grid = desk.locator(f"#patrol-coverage tr[data-code='{GRID}']")
    grid.wait_for()
    assert float(grid.get_attribute("data-ratio")) > 0.1
    assert "%" in grid.inner_text()
    state = desk.evaluate(
        "code => window.wanggeMap.then(m => m.map.getFeatureState("
        "{source: 'grid', sourceLayer: 'grid', id: Number(code)}))",
        GRID,
    )
    assert state["coverage"] == pytest.approx(float(grid.get_attribute("data-ratio")))
    assert "巡查 1 次" in desk.locator("#patrol-totals").inner_text()
    desk.wait_for_timeout(1500)  # tiles and the track drawn
    screenshot(desk, "console-patrols")

"""Monitoring in Chromium: the console and the grid worker's phone are open, a device's readings
crossing red arrive through the ingest endpoint, the alarm banner appears live on the console
and a warning on the phone, and both chart the readings with the sensor coloured red."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.test_flows import open_console, open_phone

pytestmark = pytest.mark.e2e


def _ingest(live_server, sensor: dict, readings: list[dict]) -> dict:
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/sensors/readings",
        method="POST",
        data=json.dumps({"readings": readings}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Device {sensor['code']}:{sensor['secret']}",
        },
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_a_sensor_crossing_red_raises_the_alarm_live(
    console, phone, live_server, phone_position, screenshot
):
    dispatcher = live_server.login("demo_dispatcher")
    point = [phone_position["longitude"], phone_position["latitude"]]
    status, sensor = live_server.api(
        "POST",
        "/sensors",
        {
            "type": "water_level",
            "name": "较场口下穿道水位计",
            "location": {"type": "Point", "coordinates": point},
        },
        token=dispatcher,
    )
    assert status == 201, sensor
    # The live server's database has no type rules loaded: the site's own rule decides.
    status, rule = live_server.api(
        "POST",
        "/sensors/rules",
        {
            "sensor_id": sensor["id"],
            "kind": "level",
            "blue": 0.2,
            "yellow": 0.5,
            "orange": 1,
            "red": 1.5,
        },
        token=dispatcher,
    )
    assert status == 201, rule
    now = datetime.now(UTC)
    calm = [
        {"at": (now - timedelta(minutes=m)).isoformat(), "value": 0.05 + m / 1000}
        for m in range(180, 10, -10)
    ]
    assert _ingest(live_server, sensor, calm)["warning"]["level"] is None

    desk = open_console(console, "demo_dispatcher")
    banner = desk.locator("#alarm")
    assert banner.is_hidden()
    # The worker of the grid the sensor stands in, on the home screen: nothing in warning.
    field = open_phone(phone, "demo_worker")
    assert field.locator("#count-sensors .n").inner_text() == "0"

    result = _ingest(
        live_server,
        sensor,
        [
            {"at": (now - timedelta(minutes=5)).isoformat(), "value": 0.9},
            {"at": now.isoformat(), "value": 1.72},
        ],
    )
    assert result["accepted"] == 2 and result["warning"]["level"] == "red"

    banner.wait_for()
    assert "较场口下穿道水位计" in banner.inner_text() and "红色预警" in banner.inner_text()
    assert desk.evaluate("document.documentElement.dataset.alarmSound") == "on"

    # The sensors pane: the sensor is red, its chart shows the readings and the thresholds.
    desk.click("#sensors-tab")
    row = desk.locator(f"#sensor-list tr[data-id='{sensor['id']}']")
    row.wait_for()
    assert row.get_attribute("data-level") == "red"
    row.click()
    desk.locator("#sensor-svg path.readings").wait_for()
    # Waited for, not read at once: a live push (the warning) can redraw the pane meanwhile.
    desk.locator("#sensor-svg line.threshold[data-level='red']").wait_for(state="attached")
    desk.locator("#sensor-svg line.threshold[data-level='blue']").wait_for(state="attached")
    screenshot(desk, "console-sensors")

    # The phone is told live, counts the warning on its home screen and charts the readings.
    warning = field.locator(".toast.warn", has_text="较场口下穿道水位计")
    warning.wait_for()
    assert "红色预警" in warning.inner_text()
    field.locator("#count-sensors .n", has_text="1").wait_for()
    field.click("#count-sensors")
    phone_row = field.locator(f".sensor-row[data-id='{sensor['id']}']")
    assert phone_row.get_attribute("data-level") == "red"
    phone_row.click()
    field.locator("#sensor-svg path.readings").wait_for()
    width = field.evaluate("document.getElementById('sensor-svg').getBoundingClientRect().width")
    assert width <= field.viewport_size["width"]
    screenshot(field, "phone-sensor")

    # Acknowledged on the console, the banner goes; the warning itself lasts.
    desk.click("#acknowledge-alarm")
    banner.wait_for(state="hidden")
    status, again = live_server.api("GET", f"/sensors/{sensor['id']}", token=dispatcher)
    assert again["level"] == "red" and again["warning_event_id"] == result["warning"]["event_id"]

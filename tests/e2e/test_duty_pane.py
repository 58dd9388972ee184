"""The duty roster in the console: a supervisor puts the dispatcher on duty, hands over with
what is still open, and sees the next shift take over live."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_flows import open_console

pytestmark = pytest.mark.e2e


def test_roster_handover_and_take_over_on_the_console(console, live_server, screenshot):
    desk = open_console(console, "demo_supervisor_township")
    desk.click("#duty-tab")
    desk.wait_for_selector("#unstaffed")

    # The dispatcher on duty from now (the form's start is set to this minute).
    desk.select_option("#shift-user", label="赵调度")
    desk.evaluate(
        """() => {
          const d = new Date(Date.now() - 60e3), pad = (n) => String(n).padStart(2, '0');
          const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
          document.querySelector('#shift-start').value =
            `${day}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
        }"""
    )
    desk.fill("#shift-hours", "8")
    desk.click("#shift-add")
    desk.wait_for_selector("#on-duty li")
    assert "赵调度" in desk.inner_text("#on-duty")
    assert desk.locator("#roster tr").count() == 1

    desk.fill("#handover-note", "民生路滑坡点已派人值守，夜间注意回访")
    desk.click("#handover-send")
    card = desk.locator("#latest-handover")
    card.wait_for()
    assert "民生路滑坡点已派人值守" in card.inner_text()
    assert desk.locator("#take-over").count() == 0  # one does not take over one's own note
    screenshot(desk, "duty")

    # The dispatcher takes over from another screen while the supervisor is typing the next
    # note: the typing stays and the pane offers the change instead of redrawing under them.
    desk.fill("#handover-note", "夜班补充：")
    token = live_server.login("demo_dispatcher")
    status, now = live_server.api("GET", "/duty/now", token=token)
    assert status == 200 and now["latest_handover"]["note"].startswith("民生路")
    status, _ = live_server.api(
        "POST", f"/duty/handovers/{now['latest_handover']['id']}/receive", {}, token=token
    )
    assert status == 200
    desk.wait_for_selector(".pane-stale")
    assert desk.input_value("#handover-note") == "夜班补充："
    assert "已接班" not in desk.inner_text("#latest-handover")
    screenshot(desk, "duty-change-held")
    desk.click(".pane-stale")
    desk.wait_for_function(
        "() => document.querySelector('#latest-handover').innerText.includes('已接班')"
    )
    assert desk.locator(".pane-stale").count() == 0


def _unavailable_once(refused: list[str]):
    """A route handler: the first request gets a 503 with a message (noted in refused), the
    rest go through."""

    def handle(route):
        if refused:
            route.continue_()
            return
        refused.append(route.request.url)
        route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"error": {"code": "unavailable", "message": "服务暂时不可用"}}),
        )

    return handle


def test_a_pane_that_cannot_load_says_why_and_tries_again(console):
    desk = open_console(console, "demo_supervisor_township")
    refused: list[str] = []
    console.route("**/api/v1/duty/now", _unavailable_once(refused))
    try:
        desk.click("#duty-tab")
        desk.wait_for_selector("#pane-error")
        assert refused and "服务暂时不可用" in desk.inner_text("#pane-error")
        desk.click("#pane-retry")
        desk.wait_for_selector("#handover-note")
        assert desk.locator("#pane-error").count() == 0
    finally:
        console.unroute("**/api/v1/duty/now")


def test_a_live_update_that_cannot_load_keeps_the_pane_and_tries_again(
    console, live_server, screenshot
):
    supervisor = live_server.login("demo_supervisor_township")
    status, note = live_server.api(
        "POST", "/duty/handovers", {"note": "桥头堡路段积水已排，明早复查"}, token=supervisor
    )
    assert status == 201, note
    desk = open_console(console, "demo_supervisor_township")
    desk.click("#duty-tab")
    card = desk.locator("#latest-handover")
    card.wait_for()
    assert "桥头堡路段积水已排" in card.inner_text() and "已接班" not in card.inner_text()

    refused: list[str] = []
    console.route("**/api/v1/duty/now", _unavailable_once(refused))
    try:
        # The next shift takes over from another screen; the redraw this pushes cannot load.
        status, _ = live_server.api(
            "POST",
            f"/duty/handovers/{note['id']}/receive",
            {},
            token=live_server.login("demo_dispatcher"),
        )
        assert status == 200
        desk.wait_for_selector(".pane-stale.pane-failed")
        assert refused
        assert "服务暂时不可用" in desk.inner_text(".pane-failed")
        # What the supervisor was reading is still there, not an error in its place.
        assert desk.locator("#pane-error").count() == 0
        assert "桥头堡路段积水已排" in desk.inner_text("#latest-handover")
        screenshot(desk, "duty-update-failed")
        desk.click(".pane-failed")
        desk.wait_for_function(
            "() => document.querySelector('#latest-handover').innerText.includes('已接班')"
        )
        assert desk.locator(".pane-stale").count() == 0
    finally:
        console.unroute("**/api/v1/duty/now")

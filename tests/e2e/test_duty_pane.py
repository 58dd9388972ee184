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


def test_a_pane_that_cannot_load_says_why_and_tries_again(console):
    desk = open_console(console, "demo_supervisor_township")
    refused = []

    def unavailable_once(route):
        if refused:
            route.continue_()
            return
        refused.append(route.request.url)
        route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"error": {"code": "unavailable", "message": "服务暂时不可用"}}),
        )

    console.route("**/api/v1/duty/now", unavailable_once)
    try:
        desk.click("#duty-tab")
        desk.wait_for_selector("#pane-error")
        assert refused and "服务暂时不可用" in desk.inner_text("#pane-error")
        desk.click("#pane-retry")
        desk.wait_for_selector("#handover-note")
        assert desk.locator("#pane-error").count() == 0
    finally:
        console.unroute("**/api/v1/duty/now")

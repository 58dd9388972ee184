"""The evaluation pane 评价 in Chromium: a supervisor opens it, sees a ranking of units with a
bar chart, re-sorts by a column, and downloads the period's events as CSV."""

from __future__ import annotations

import uuid

import pytest

from tests.support import DEMO_PASSWORD

pytestmark = pytest.mark.e2e


def test_a_supervisor_sees_the_evaluation_ranking(console, live_server, phone_position, screenshot):
    token = live_server.login("demo_worker")
    point = [phone_position["longitude"], phone_position["latitude"]]
    status, event = live_server.api(
        "POST",
        "/events",
        {
            "client_uuid": str(uuid.uuid4()),
            "description": "评价页测试：路边树枝折断挡路",
            "subcategory": "SANITATION_PILED_MATERIALS",
            "location": {"type": "Point", "coordinates": point},
        },
        token=token,
    )
    assert status == 201 and event["assigned_unit"]["level"] == "grid", event

    desk = console.new_page()
    desk.goto("/")
    desk.fill("#username", "demo_supervisor_township")
    desk.fill("#password", DEMO_PASSWORD)
    desk.click("#login")
    desk.wait_for_selector(
        "#targets", state="attached"
    )  # a supervisor's console opens on supervision first
    desk.click("#evaluation-tab")
    desk.locator("#eval-ranking tbody tr").first.wait_for()
    grid = desk.locator(f"#eval-ranking tr[data-key='grid:{event['assigned_unit']['area']}']")
    assert int(grid.locator("td[data-measure='received']").inner_text()) >= 1
    assert desk.locator("#eval-chart rect").count() >= 1
    assert "受理" in desk.locator("#eval-ranking thead").inner_text()

    # Sorting by a column re-ranks (descending first) and re-titles the chart.
    desk.click("#eval-ranking th[data-measure='closure_rate']")
    desk.locator("#eval-ranking th[data-measure='closure_rate']:has-text('▼')").wait_for()
    assert "结案率" in desk.locator("#eval-body h3").inner_text()
    screenshot(desk, "console-evaluation")

    with desk.expect_download() as download:
        desk.click("#eval-export-csv")
    path = download.value.path()
    text = path.read_text(encoding="utf-8-sig")
    assert text.startswith("事件编号,")
    assert str(event["id"]) in text

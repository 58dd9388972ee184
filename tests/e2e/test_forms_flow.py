""" "一表通" in Chromium, end to end: the administrator builds a form in the console's form
builder (a prefilled figure, a required yes/no, an averaged score, a note) for the villages of
解放碑街道; the village's staff fill it on the phone with the known figure already there, and
submit; the township's console sees it rolled up and downloads the Excel workbook."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import openpyxl
import pytest

from tests.support import log_in

pytestmark = pytest.mark.e2e

TOWNSHIP = "500103003000"
VILLAGE = "500103003013"  # 民生路社区 (demo_village)
TITLE = "社区月度情况表（测试）"


def _fits(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.wait_for_timeout(150)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_form_built_in_the_console_is_filled_on_a_phone_and_rolled_up(
    console, phone, live_server, phone_position, screenshot
):
    # Something the system knows: an event in the village this month.
    token = live_server.login("demo_worker")
    status, event = live_server.api(
        "POST",
        "/events",
        {
            "client_uuid": str(uuid.uuid4()),
            "description": "一表通测试：小区门口路灯不亮",
            "subcategory": "MUNICIPAL_STREETLIGHT",
            "location": {
                "type": "Point",
                "coordinates": [phone_position["longitude"], phone_position["latitude"]],
            },
        },
        token=token,
    )
    assert status == 201, event

    # 1. The administrator builds and publishes the form in the console.
    admin = console.new_page()
    admin.on("dialog", lambda dialog: dialog.accept())
    log_in(admin, "demo_admin")
    # An administrator's console opens on supervision first; let it, then switch.
    admin.wait_for_selector("#targets", state="attached")
    admin.click("#forms-tab")
    admin.click("#fm-new")
    admin.fill("#fm-title", TITLE)
    admin.fill("#fm-description", "请核对系统预填的受理事件数。")
    admin.fill("#fm-due", (date.today() + timedelta(days=20)).isoformat())
    admin.select_option("#fm-fill-level", "village")
    admin.fill("#fm-area", TOWNSHIP)
    card = "#fm-builder-fields .fm-field-card[data-n='{}'] {}"
    admin.select_option(card.format(0, ".fm-f-source"), "events.received")
    assert admin.input_value(card.format(0, ".fm-f-label")) == "受理事件数"
    admin.fill(card.format(0, ".fm-f-unit"), "件")
    admin.click("#fm-add-field")
    admin.select_option(card.format(1, ".fm-f-type"), "yesno")
    admin.fill(card.format(1, ".fm-f-label"), "开展安全检查")
    admin.check(card.format(1, ".fm-f-required"))
    admin.click("#fm-add-field")
    admin.select_option(card.format(2, ".fm-f-type"), "decimal")
    admin.select_option(card.format(2, ".fm-f-aggregate"), "avg")
    admin.fill(card.format(2, ".fm-f-label"), "群众满意度")
    admin.fill(card.format(2, ".fm-f-unit"), "分")
    admin.click("#fm-add-field")
    admin.select_option(card.format(3, ".fm-f-type"), "text")
    admin.fill(card.format(3, ".fm-f-label"), "需协调事项")
    screenshot(admin, "console-form-builder")
    admin.click("#fm-save-publish")
    admin.wait_for_selector("#fm-rollup")
    assert admin.locator("#fm-form-title").inner_text() == TITLE
    assert admin.locator("#fm-rollup tr.fm-row").count() == 9  # the township's communities

    # 2. The village's staff fill it on the phone: the known figure is already there.
    hand = phone.new_page()
    log_in(hand, "demo_village")
    hand.wait_for_selector("#count-forms")
    assert hand.locator("#count-forms .n").inner_text() == "1"
    hand.click("#count-forms")
    hand.click("#forms-todo a.form-item")
    hand.wait_for_selector("#form-title")
    assert hand.locator("#form-title").inner_text() == TITLE
    received = hand.locator(".fl-field[data-key='f1']")
    assert received.locator("input").input_value() == "1"
    assert "系统预填 1" in received.locator(".fl-source").inner_text()
    # Submitting without the required answer is stopped on the phone, with the reason.
    hand.click("#form-submit")
    assert "必填" in hand.locator(".fl-field[data-key='f2'] .fl-error").inner_text()
    hand.click(".fl-field[data-key='f2'] .chip[data-value='true']")
    hand.fill(".fl-field[data-key='f3'] input", "92.5")
    hand.fill(".fl-field[data-key='f4'] textarea", "=1+1 路灯维修需街道协调")
    screenshot(hand, "phone-form-filled", full_page=True)
    _fits(hand, 360)
    hand.set_viewport_size({"width": 412, "height": 915})
    # No signal in the village office: the submission waits in the queue, shown as such.
    phone.set_offline(True)
    hand.click("#form-submit")
    hand.wait_for_selector("#forms-done .form-item .fs-waiting")
    assert hand.locator("#forms-none").count() == 1
    screenshot(hand, "phone-forms-list-offline")
    phone.set_offline(False)
    dispatcher = live_server.login("demo_dispatcher")
    for _ in range(100):  # the queue flushes when the network returns
        status, mine = live_server.api("GET", f"/filings?area={VILLAGE}", token=dispatcher)
        if status == 200 and mine["items"] and mine["items"][0]["status"] == "submitted":
            break
        hand.wait_for_timeout(100)
    assert mine["items"][0]["status"] == "submitted", mine
    assert mine["items"][0]["values"]["f1"] == 1 and mine["items"][0]["corrected"] == []

    # 3. The township's console sees it rolled up and exports the workbook.
    # Same browser profile: the administrator logs out first.
    desk = admin
    desk.click("header button:has-text('退出')")
    desk.wait_for_selector("#username")
    log_in(desk, "demo_dispatcher")
    desk.wait_for_selector("header #live.live")
    desk.click("#forms-tab")
    desk.click(f"#fm-forms tr.fm-form:has-text('{TITLE}')")
    row = desk.locator(f"#fm-rollup tr.fm-row[data-area='{VILLAGE}']")
    row.wait_for()
    assert row.locator("td").nth(2).inner_text() == "1"  # submitted
    assert row.locator("td[data-key='f1']").inner_text() == "1"
    assert row.locator("td[data-key='f3']").inner_text() == "92.5"
    total = desk.locator("#fm-rollup tr.fm-total")
    assert total.locator("td").nth(1).inner_text() == "9"
    assert (
        desk.locator(f"#fm-filings tr.fm-filing[data-area='{VILLAGE}']").get_attribute(
            "data-status"
        )
        == "submitted"
    )
    screenshot(desk, "console-form-rollup")

    with desk.expect_download() as download:
        desk.click("#fm-export")
    assert download.value.suggested_filename == f"{TITLE}-解放碑街道.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
    rows = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    header = rows[2]
    body = {r[0]: r for r in rows[3:]}
    assert rows[0][0] == f"{TITLE}（解放碑街道汇总）"
    assert body["合计"][2:5] == [9, 1, 8]
    assert body["合计"][header.index("受理事件数（件）")] == 1
    assert body["合计"][header.index("群众满意度（分）（平均）")] == 92.5
    assert body[VILLAGE][header.index("开展安全检查（“是”的个数）")] == 1
    detail = [list(r) for r in book["填报明细"].iter_rows(values_only=True)]
    note = detail[0].index("需协调事项")
    filled = next(r for r in detail[1:] if r[0] == VILLAGE)
    assert filled[note] == "'=1+1 路灯维修需街道协调"

    # The township returns the filing with a reason; the village sees why on the phone.
    desk.click(f"#fm-filings tr.fm-filing[data-area='{VILLAGE}'] button")
    desk.wait_for_selector("#fm-return")
    assert desk.locator(".fl-field[data-key='f1'] input").is_disabled()
    desk.fill("#fm-return-reason", "满意度请附测评依据")
    desk.click("#fm-return-send")
    desk.wait_for_selector(
        f"#fm-filings tr.fm-filing[data-area='{VILLAGE}'][data-status='returned']"
    )
    hand.goto("/#/home")
    hand.wait_for_selector("#count-forms")
    assert hand.locator("#count-forms .n").inner_text() == "1"
    hand.click("#count-forms")
    hand.wait_for_selector("#forms-todo .form-item[data-status='returned']")
    assert "满意度请附测评依据" in hand.locator("#forms-todo").inner_text()
    hand.click("#forms-todo .form-item")
    assert "满意度请附测评依据" in hand.locator("#return-reason").inner_text()
    assert hand.locator(".fl-field[data-key='f3'] input").input_value() == "92.5"
    assert (
        hand.locator(".fl-field[data-key='f4'] textarea").input_value() == "=1+1 路灯维修需街道协调"
    )
    screenshot(hand, "phone-form-returned")

"""Checklist dispatch in Chromium: the township dispatcher builds a checklist in the console and
sends it to two grids (one clicked on the map, one ticked in the tree); the worker's open phone
hears of it, goes offline, answers a photo, a GPS check-in (with a note typed first) and a
failing yes/no (its note added after), is closed and reopened still offline; back online the
answers and notes arrive exactly once; one tap raises the event; the console's progress shows the
assignment done, the failed item with its event, and the notes beside their answers.

Then a second checklist is changed and withdrawn from the console: the phone hears of the
change; an answer typed offline meanwhile is refused with the reason when the network returns,
and the checklist leaves the worker's list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.e2e.test_flows import jpeg, open_console, open_phone

pytestmark = pytest.mark.e2e

GRID_2 = "500103003013002"  # demo_worker's second grid
VILLAGE = "500103003013"  # 民生路社区
TITLE = "暴雨前危岩巡查"
GPS_NOTE = "定位在巷口，信号弱"
CRACK_NOTE = "裂缝比上周宽了"
SECOND = "台风过境后排查"


def _answers_in_db(live_server, assignment_id: int) -> int:
    from app.checklists.models import ChecklistAnswer
    from app.core.scope import unscoped
    from app.extensions import db

    with live_server.app.app_context(), unscoped():
        try:
            return db.session.scalar(
                select(func.count())
                .select_from(ChecklistAnswer)
                .where(ChecklistAnswer.assignment_id == assignment_id)
            )
        finally:
            db.session.remove()


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def build_and_send(desk, phone_position) -> None:
    """The dispatcher's clicks: items, one grid on the map, one in the tree, send."""
    desk.click("#checklists-tab")
    desk.click("#new-checklist")
    builder = desk.locator("#checklist-builder")
    builder.wait_for()
    desk.fill("#cl-title", TITLE)
    desk.fill("#cl-instructions", "强降雨预警，请今天之内逐项检查")
    editors = builder.locator(".cl-item-editor")
    editors.nth(0).locator(".cl-item-label").fill("拍摄现场照片")  # the first item is a photo
    desk.click("#cl-add-item")
    editors.nth(1).locator(".cl-item-kind").select_option("gps")
    editors.nth(1).locator(".cl-item-label").fill("到场定位")
    desk.click("#cl-add-item")
    editors.nth(2).locator(".cl-item-label").fill("是否有新增裂缝")
    editors.nth(2).locator(".cl-item-fail").select_option("true")  # "yes" fails

    # The demo grid, clicked on the map where the worker stands.
    point = [phone_position["longitude"], phone_position["latitude"]]
    desk.wait_for_function(
        """async (point) => {
          const { map } = await window.wanggeMap;
          if (!map.loaded()) return false;
          return map.queryRenderedFeatures(map.project(point), { layers: ['grids'] }).length > 0;
        }""",
        arg=point,
    )
    box = desk.evaluate(
        """async (point) => {
          const { map } = await window.wanggeMap;
          const p = map.project(point);
          const r = map.getCanvas().getBoundingClientRect();
          return { x: r.left + p.x, y: r.top + p.y };
        }""",
        point,
    )
    desk.mouse.click(box["x"], box["y"])
    desk.locator("#cl-picked:has-text('已选 1 处')").wait_for()
    # The second grid, ticked in the tree under its village.
    desk.click(f"#cl-tree li[data-code='{VILLAGE}'] > .cl-toggle")
    desk.check(f"#cl-tree input[data-code='{GRID_2}']")
    desk.locator("#cl-picked:has-text('已选 2 处')").wait_for()
    desk.locator(
        "#cl-preview-count:has-text('将派发 2 份任务（2 个网格），1 名网格员收到')"
    ).wait_for()


def test_a_checklist_goes_out_is_answered_offline_and_rolls_up(
    phone, console, live_server, phone_position, screenshot
):
    page = open_phone(phone, "demo_worker")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    desk = open_console(console, "demo_dispatcher")
    build_and_send(desk, phone_position)
    screenshot(desk, "console-builder")
    desk.click("#cl-send")
    desk.locator("#checklist-builder").wait_for(state="detached")
    desk.locator(f"#checklist-table tr.cl-row:has-text('{TITLE}')").wait_for()

    # The worker's open phone hears of it; the home count is every item of both grids.
    page.locator(".toast:has-text('清单任务')").first.wait_for()
    page.locator("#count-checklists .n:text-is('6')").wait_for()
    dispatcher = live_server.login("demo_dispatcher")
    status, listed = live_server.api("GET", "/checklists", token=dispatcher)
    [checklist] = [c for c in listed["items"] if c["title"] == TITLE]
    status, assignments = live_server.api(
        "GET", f"/checklist-assignments?checklist_id={checklist['id']}", token=dispatcher
    )
    assert status == 200 and len(assignments["items"]) == 2
    [mine] = [a for a in assignments["items"] if a["grid_code"] == "500103003013001"]

    page.click("#count-checklists")
    page.locator(f"#checklist-list .checklist-row[data-id='{mine['id']}']").wait_for()
    screenshot(page, "phone-checklists")
    page.click(f"#checklist-list .checklist-row[data-id='{mine['id']}']")
    page.locator("#checklist-title").wait_for()

    # No signal on the hillside: every answer waits in the phone.
    phone.set_offline(True)
    with page.expect_file_chooser() as chooser:
        page.click("#photo-item1")
    chooser.value.set_files(jpeg(11))
    page.locator("#item-item1 .cl-status[data-state='waiting']").wait_for()
    # A note typed before the check-in goes with it.
    page.fill("#note-item2", GPS_NOTE)
    page.click("#gps-item2")
    page.locator("#item-item2 .cl-status[data-state='waiting']").wait_for()
    page.click("#yes-item3")
    crack = page.locator("#item-item3 .cl-status[data-state='waiting'][data-failed='true']")
    crack.wait_for()
    assert "不合格" in crack.inner_text()
    # A note added after answering rides in the answer still waiting to be sent.
    assert page.locator("#save-note-item3").is_disabled()
    page.fill("#note-item3", CRACK_NOTE)
    page.click("#save-note-item3")
    page.locator("#save-note-item3:disabled").wait_for()
    assert page.input_value("#note-item2") == GPS_NOTE
    page.locator("#checklist-progress:has-text('已完成')").wait_for()
    assert "不合格 1" in page.locator("#checklist-progress").inner_text()
    _no_sideways_scroll(page)
    screenshot(page, "phone-checklist-offline", full_page=True)
    page.close()  # the app is closed with the answers still waiting

    page = phone.new_page()
    page.goto(f"/#/checklist/{mine['id']}")
    for key in ("item1", "item2", "item3"):
        page.locator(f"#item-{key} .cl-status[data-state='waiting']").wait_for()
    assert _answers_in_db(live_server, mine["id"]) == 0
    assert page.input_value("#note-item3") == CRACK_NOTE  # kept in the queue, offline
    page.set_viewport_size({"width": 360, "height": 780})
    _no_sideways_scroll(page)
    screenshot(page, "phone-checklist-reopened-360", full_page=True)

    phone.set_offline(False)  # the network returns: 'online' flushes the write queue
    for key in ("item1", "item2", "item3"):
        page.locator(f"#item-{key} .cl-status[data-state='sent']").wait_for(timeout=20_000)
    assert _answers_in_db(live_server, mine["id"]) == 3
    status, answered = live_server.api(
        "GET", f"/checklist-assignments/{mine['id']}", token=dispatcher
    )
    assert answered["completed_at"] is not None and answered["failed_count"] == 1
    by_key = {a["item_key"]: a for a in answered["answers"]}
    photo, gps, crack = by_key["item1"], by_key["item2"], by_key["item3"]
    assert len(photo["photos"]) == 1 and gps["failed"] is False
    assert gps["location"]["accuracy_m"] == 8
    assert crack["failed"] is True and crack["fail_reason"] == "回答为“是”"
    assert (gps["note"], crack["note"], photo["note"]) == (GPS_NOTE, CRACK_NOTE, "")

    # One tap raises the event; it lands once, linked to the answer.
    page.click("#raise-item3")
    raised = page.locator("#event-item3:has-text('已上报事件')")
    raised.wait_for(timeout=20_000)
    status, events = live_server.api("GET", "/events?source=checklist", token=dispatcher)
    assert status == 200 and events["total"] == 1, events
    [event] = events["items"]
    assert f"#{event['id']}" in raised.inner_text()
    assert event["description"].startswith(f"【清单检查】{TITLE}：是否有新增裂缝")
    screenshot(page, "phone-checklist-event", full_page=True)

    # Another start of the app with the network sends nothing again.
    page.reload()
    page.locator("#event-item3").wait_for()
    assert _answers_in_db(live_server, mine["id"]) == 3
    status, events = live_server.api("GET", "/events?source=checklist", token=dispatcher)
    assert events["total"] == 1

    # A note changed after its answer was sent: the same answer again, with the new note.
    page.fill("#note-item2", GPS_NOTE + "，已复核")
    page.click("#save-note-item2")
    page.locator(".toast:has-text('备注已保存')").first.wait_for()
    for _ in range(100):
        status, again = live_server.api(
            "GET", f"/checklist-assignments/{mine['id']}", token=dispatcher
        )
        [checked] = [a for a in again["answers"] if a["item_key"] == "item2"]
        if checked["note"] != GPS_NOTE:
            break
        page.wait_for_timeout(200)
    assert checked["note"] == GPS_NOTE + "，已复核"
    # Still the answer it was: the same fix, the same time, judged the same.
    assert (checked["location"], checked["answered_at"]) == (gps["location"], gps["answered_at"])
    assert checked["failed"] is False and _answers_in_db(live_server, mine["id"]) == 3

    # The console's progress followed live: one of two done, the failed item and its event.
    desk.locator("#checklist-totals:has-text('完成 1/2')").wait_for()
    assert "不合格 1" in desk.locator("#checklist-totals").inner_text()
    failure = desk.locator(f"#checklist-failures .cl-failure[data-assignment='{mine['id']}']")
    failure.wait_for()
    assert "是否有新增裂缝" in failure.inner_text() and "回答为“是”" in failure.inner_text()
    link = failure.locator(f".cl-event-link[data-event='{event['id']}']")
    link.wait_for()
    failure.locator(".photos img").wait_for()  # the site photo, through the assignment
    desk.locator(f"#checklist-progress tr.cl-node[data-code='{VILLAGE}']").wait_for()
    assert CRACK_NOTE in failure.inner_text()
    # Every note beside its answer, passing ones too.
    noted = desk.locator(f"#checklist-notes .cl-noted[data-assignment='{mine['id']}']")
    noted.first.wait_for()
    gps_note = noted.and_(desk.locator("[data-key='item2']"))
    assert GPS_NOTE in gps_note.inner_text() and "已定位" in gps_note.inner_text()
    assert gps_note.locator(".ok").inner_text() == "合格"
    assert noted.count() == 2
    assert desk.evaluate("window.sameConsolePage") is True
    screenshot(desk, "console-progress")
    link.click()
    desk.locator(f"#detail .event-title:has-text('#{event['id']}')").wait_for()
    screenshot(desk, "console-event-from-checklist")


def test_a_changed_then_withdrawn_checklist_leaves_the_phone_and_refuses_a_late_answer(
    phone, console, live_server, screenshot
):
    dispatcher = live_server.login("demo_dispatcher")
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    status, sent = live_server.api(
        "POST",
        "/checklists",
        {
            "title": SECOND,
            "due_at": due,
            "items": [
                {"label": "是否有积水", "kind": "yes_no", "fail_on": True},
                {"label": "积水深度", "kind": "value", "unit": "cm", "required": False},
            ],
            "targets": {"areas": ["500103003013001"]},
        },
        token=dispatcher,
    )
    assert status == 201, sent
    status, listed = live_server.api(
        "GET", f"/checklist-assignments?checklist_id={sent['id']}", token=dispatcher
    )
    [assignment] = listed["items"]

    page = open_phone(phone, "demo_worker")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    # Every item of my open checklists: this one's two and what the first test left open.
    count = int(page.locator("#count-checklists .n").inner_text())
    assert count >= 2
    page.click("#count-checklists")
    row = page.locator(f"#checklist-list .checklist-row[data-id='{assignment['id']}']")
    row.click()
    page.locator(f"#checklist-title:text-is('{SECOND}')").wait_for()

    # The centre renames it: the open phone is told and shows the new title.
    desk = open_console(console, "demo_dispatcher")
    desk.click("#checklists-tab")
    desk.click(f"#checklist-table tr.cl-row[data-id='{sent['id']}']")
    desk.click("#checklist-edit")
    desk.fill("#cl-edit-title", SECOND + "（积水）")
    desk.click("#cl-edit-save")
    desk.locator("#checklist-due:has-text('赵调度')").wait_for()
    page.locator(".toast:has-text('清单已修改')").first.wait_for()
    page.locator(f"#checklist-title:text-is('{SECOND}（积水）')").wait_for()

    # Offline, the worker answers with a note and goes back to the list, which still has it.
    phone.set_offline(True)
    page.fill("#note-item1", "路口积水没过脚踝")
    page.click("#yes-item1")
    page.locator("#item-item1 .cl-status[data-state='waiting']").wait_for()
    page.click("a.back")
    row.wait_for()

    # Meanwhile the storm has passed: the centre withdraws it, with the reason.
    desk.click("#checklist-withdraw")
    desk.fill("#cl-withdraw-reason", "台风已过境，排查取消")
    screenshot(desk, "console-withdraw-form")
    desk.click("#cl-withdraw-confirm")
    banner = desk.locator("#checklist-withdrawn")
    banner.wait_for()
    assert "台风已过境，排查取消" in banner.inner_text() and "赵调度" in banner.inner_text()
    listed = desk.locator(f"#checklist-table tr.cl-row.withdrawn[data-id='{sent['id']}']")
    listed.locator(".cl-tag:text-is('已撤回')").wait_for()
    assert "台风已过境，排查取消" in listed.inner_text() and "赵调度" in listed.inner_text()
    # No more changing it: the detail that says so has no buttons (one look at one drawing).
    desk.wait_for_function(
        "document.querySelector('#checklist-withdrawn') && !document.querySelector('.cl-manage')"
    )
    screenshot(desk, "console-withdrawn")

    # Back online: the late answer is refused with the reason (not retried), the checklist
    # leaves the list, and nothing of it reached the server.
    phone.set_offline(False)
    row.wait_for(state="detached", timeout=20_000)
    page.locator(".toast:has-text('清单已撤回')").first.wait_for(timeout=20_000)
    screenshot(page, "phone-checklists-after-withdrawal", full_page=True)
    assert _answers_in_db(live_server, assignment["id"]) == 0
    page.click("nav.tabs a[data-tab='#/outbox']")
    refused = page.locator(".queue-item.rejected .reason")
    refused.wait_for()
    assert "已撤回" in refused.inner_text() and "台风已过境" in refused.inner_text()
    page.click("nav.tabs a[data-tab='#/home']")
    page.locator(f"#count-checklists .n:text-is('{count - 2}')").wait_for()

    # Reopened with no network, the stale copy does not bring it back.
    phone.set_offline(True)
    page.close()
    page = phone.new_page()
    page.goto("/#/checklists")
    page.locator("h1:text-is('清单任务')").wait_for()
    assert page.locator(f".checklist-row[data-id='{assignment['id']}']").count() == 0
    phone.set_offline(False)

"""The web app's main flows in Chromium: an offline report arrives exactly once and live on the
console; the console dispatches, a phone handles, the loop closes; an emergency alarm flashes
and sounds until acknowledged; a supervisor supervises many overdue events in one click.

All tests of this module share one live server (and its database): each uses its own
subcategories and descriptions so that none mistakes another's event for a duplicate."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from PIL import Image

from tests.support import log_in

pytestmark = pytest.mark.e2e

# A routine report from the home screen (issue 4): report button, photo button, the camera's
# shutter, the description field, the suggested category, send.
TAP_BUDGET = 6
# Every step of a closed loop that the console dispatched again, on the timeline in order.
CLOSED_LOOP = ["report", "file", "dispatch", "dispatch", "accept", "handle", "verify", "close"]


def jpeg(seed: int, size=(1600, 1200)) -> dict:
    """A camera-sized JPEG, different for every seed (the server deduplicates same photos)."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    for x in range(seed + 1):
        image.putpixel((x, 0), (255, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return {"name": f"photo{seed}.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


class Taps:
    """Clicks a user makes on the screen, counted."""

    def __init__(self, page):
        self.page = page
        self.count = 0

    def tap(self, selector: str) -> None:
        self.count += 1
        self.page.locator(selector).click()


def open_console(context, username: str):
    """A console page signed in, live, and marked so a reload would show (the mark is lost)."""
    desk = context.new_page()
    log_in(desk, username)
    desk.wait_for_selector("header #live.live")
    desk.evaluate("window.sameConsolePage = true")
    return desk


def open_phone(context, username: str):
    page = context.new_page()
    log_in(page, username)
    page.wait_for_selector("#report-button")
    page.wait_for_selector("#live.live")
    return page


def report_from_home(page, description: str, photo: dict) -> int:
    """A routine report from the home screen, as a worker makes it; returns the taps used."""
    taps = Taps(page)
    taps.tap("#report-button")
    with page.expect_file_chooser() as chooser:
        taps.tap("#add-photo")
    chooser.value.set_files(photo)
    taps.count += 1  # the camera's shutter, outside the app
    page.wait_for_selector(".thumbs img")
    page.wait_for_selector("#where:has-text('精度')")  # the GPS fix, no tap needed
    taps.tap("#description")
    page.keyboard.type(description)
    page.wait_for_selector("#suggestions .chip.best")
    taps.tap("#suggestions .chip.best")
    taps.tap("#send")
    page.wait_for_selector("#report-button")
    return taps.count


def events_described(live_server, description: str) -> list[dict]:
    token = live_server.login("demo_dispatcher")
    status, body = live_server.api("GET", "/events?page_size=200", token=token)
    assert status == 200, body
    return [e for e in body["items"] if e["description"] == description]


def test_offline_report_arrives_once_and_live_on_the_console(
    phone, console, live_server, screenshot
):
    desk = open_console(console, "demo_dispatcher")
    page = open_phone(phone, "demo_worker")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    screenshot(page, "phone-home")

    phone.set_offline(True)
    description = "民生路人行道上路灯不亮，晚上行人看不清"
    taps = report_from_home(page, description, jpeg(1))
    print(f"\nroutine report: {taps} taps from the home screen")
    assert taps <= TAP_BUDGET
    page.wait_for_selector("#outbox-line:has-text('等待网络 1')")
    screenshot(page, "phone-home-waiting")
    page.close()  # the app is closed with the report still waiting

    page = phone.new_page()
    page.goto("/#/outbox")
    item = page.locator(".outbox-item.waiting")
    item.wait_for()
    assert description in item.inner_text()
    phone.set_offline(False)  # the network returns: 'online' flushes the outbox
    sent = page.locator(".outbox-item.sent")
    sent.wait_for(timeout=20_000)
    screenshot(page, "phone-outbox")

    arrived = events_described(live_server, description)
    assert len(arrived) == 1, arrived
    event = arrived[0]
    assert f"#{event['id']}" in sent.inner_text()
    assert event["subcategory"] == "MUNICIPAL_STREETLIGHT"  # the chip the worker accepted
    assert event["location"]["accuracy_m"] == 8
    assert event["grid_code"] == "500103003013001"

    # The console heard of it without a reload.
    row = desk.locator(f"#queue .row[data-id='{event['id']}']")
    row.wait_for()
    assert description in row.inner_text()
    assert desk.evaluate("window.sameConsolePage") is True
    screenshot(desk, "console-queue")

    # Another start of the app with the network sends nothing again.
    page.reload()
    page.wait_for_selector(".outbox-item.sent")
    assert len(events_described(live_server, description)) == 1


def test_console_dispatches_the_phone_handles_and_the_loop_closes(
    phone, console, live_server, screenshot
):
    desk = open_console(console, "demo_dispatcher")
    page = open_phone(phone, "demo_worker")
    description = "民生路小区门口井盖不见了，晚上容易摔跤"
    report_from_home(page, description, jpeg(2))
    page.wait_for_selector("#outbox-line:has-text('已送达 1')")
    [event] = events_described(live_server, description)
    # Accepting the category sends it to its department at once; the dispatcher decides the
    # grid can handle it on the spot and dispatches it there.
    assert event["assigned_unit"]["level"] == "department"

    row = desk.locator(f"#queue .row[data-id='{event['id']}']")
    row.click()
    detail = desk.locator("#detail")
    detail.locator(f".event-title:has-text('#{event['id']}')").wait_for()
    detail.locator("#photos figure[data-purpose='report'] img").wait_for()
    desk.click("#act-dispatch")
    desk.select_option("#dispatch-level", "grid")
    desk.click("#confirm-dispatch")
    detail.locator("#event-unit:has-text('网格自处置')").wait_for()
    assert "张网格" in detail.locator("#event-unit").inner_text()  # demo_worker, by least work
    screenshot(desk, "console-detail-dispatched")

    # The handler's phone hears of the new task while it is open.
    page.locator(".toast:has-text('待处置')").wait_for()
    page.click(f"#tasks .task[data-id='{event['id']}']")
    screenshot(page, "phone-task")
    page.click("#act-accept")
    page.locator("#act-handle").wait_for()
    with page.expect_file_chooser() as chooser:
        page.click("#task-add-photo")
    chooser.value.set_files(jpeg(3))
    page.wait_for_selector("#task-thumbs img")
    page.fill("#task-note", "已放置警示锥并通知城管更换井盖")
    screenshot(page, "phone-task-handling")
    page.click("#act-handle")
    page.wait_for_selector("#report-button")

    # The console's open detail follows live; the command centre verifies and closes.
    desk.locator("#act-verify").click()
    desk.locator("#act-close").click()
    detail.locator(".event-title .state.closed").wait_for()
    detail.locator("#photos figure[data-purpose='handle'] img").wait_for()
    steps = detail.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.action)")
    assert steps == CLOSED_LOOP
    timeline = detail.locator("#timeline").inner_text()
    steps_named = ("上报", "立案", "派遣", "接收", "处置反馈", "核查通过", "结案")
    for word in (*steps_named, "系统", "demo_dispatcher"):
        assert word in timeline
    assert "已放置警示锥并通知城管更换井盖" in timeline  # the handler's result, on its step
    assert desk.evaluate("window.sameConsolePage") is True
    screenshot(desk, "console-detail-closed")
    # Closed events leave the open queue.
    desk.locator(f"#queue .row[data-id='{event['id']}']").wait_for(state="detached")

    # Reopened, the phone catches up from where it was (the live dot turns on once it has)
    # and does not announce the task it already heard of again.
    page.close()
    page = phone.new_page()
    page.goto("/")
    page.wait_for_selector("#live.live")
    assert page.locator(f".toast:has-text('#{event['id']}')").count() == 0


def test_an_emergency_flashes_and_sounds_until_acknowledged(
    console, live_server, phone_position, screenshot
):
    # Count the tones the console plays (headless Chromium has a silent audio device).
    console.add_init_script(
        """(() => {
          const Real = window.AudioContext;
          window.alarmAudio = { contexts: 0, tones: 0 };
          window.AudioContext = class extends Real {
            constructor(...args) { super(...args); window.alarmAudio.contexts += 1; }
            createOscillator() {
              const oscillator = super.createOscillator();
              const start = oscillator.start.bind(oscillator);
              oscillator.start = (...args) => {
                window.alarmAudio.tones += 1;
                return start(...args);
              };
              return oscillator;
            }
          };
        })()"""
    )
    desk = open_console(console, "demo_dispatcher")
    banner = desk.locator("#alarm")
    assert banner.is_hidden()

    token = live_server.login("demo_worker")
    point = [phone_position["longitude"], phone_position["latitude"]]
    status, event = live_server.api(
        "POST",
        "/events",
        {
            "client_uuid": str(uuid.uuid4()),
            "description": "民生路12号楼道里燃气泄漏，味道很浓",
            "subcategory": "SAFETY_GAS",
            "location": {"type": "Point", "coordinates": point},
        },
        token=token,
    )
    assert status == 201, event and event["emergency"]

    banner.wait_for()
    assert "燃气泄漏" in banner.inner_text()
    # Flashing: the banner's colour changes from frame to frame.
    desk.wait_for_function(
        """() => {
          const colour = getComputedStyle(document.getElementById('alarm')).backgroundColor;
          (window.alarmColours = window.alarmColours || new Set()).add(colour);
          return window.alarmColours.size >= 2;
        }"""
    )
    assert desk.evaluate("document.documentElement.dataset.alarmSound") == "on"
    # Sounding, and again: a tone every second until someone acknowledges.
    desk.wait_for_function("window.alarmAudio.contexts >= 1 && window.alarmAudio.tones >= 2")
    assert desk.locator(f"#queue .row.emergency[data-id='{event['id']}']").is_visible()
    screenshot(desk, "console-alarm")

    desk.click("#acknowledge-alarm")
    banner.wait_for(state="hidden")
    assert desk.evaluate("document.documentElement.dataset.alarmSound") == "off"
    dispatcher = live_server.login("demo_dispatcher")
    status, alarms = live_server.api("GET", "/alarms?active=true", token=dispatcher)
    assert status == 200 and alarms["items"] == []
    assert desk.evaluate("window.sameConsolePage") is True


def _make_overdue(live_server, event_ids: list[int]) -> None:
    """Their deadlines passed an hour ago, and the minute's sweep noticed."""
    from sqlalchemy import update

    from app.core.db import utcnow
    from app.core.scope import unscoped
    from app.events.models import Event
    from app.extensions import db
    from app.sla.sweep import sweep

    with live_server.app.app_context(), unscoped():
        past = utcnow() - timedelta(hours=1)
        db.session.execute(
            update(Event).where(Event.id.in_(event_ids)).values(due_at=past, warn_at=past)
        )
        db.session.commit()
        result = sweep()
        assert result.overdue >= len(event_ids)


def test_a_supervisor_supervises_overdue_events_in_one_click(
    phone, console, live_server, phone_position, screenshot
):
    token = live_server.login("demo_worker")
    point = [phone_position["longitude"], phone_position["latitude"]]
    late = []
    # Grid-level work, dispatched to demo_worker's grid (one subcategory each: no duplicates).
    for text, code in (
        ("楼道里堆满纸箱杂物", "SANITATION_PILED_MATERIALS"),
        ("单元门口贴满小广告", "SANITATION_ILLEGAL_ADS"),
        ("消防通道被私家车堵住", "SAFETY_FIRE_ACCESS"),
    ):
        status, event = live_server.api(
            "POST",
            "/events",
            {
                "client_uuid": str(uuid.uuid4()),
                "description": text,
                "subcategory": code,
                "location": {"type": "Point", "coordinates": point},
            },
            token=token,
        )
        assert status == 201 and event["assigned_unit"]["level"] == "grid", event
        late.append(event["id"])
    _make_overdue(live_server, late)

    page = open_phone(phone, "demo_worker")
    desk = open_console(console, "demo_supervisor_township")
    listed = desk.locator("#overdue-list")
    listed.wait_for()
    for event_id in late:
        desk.locator(f"#overdue-list tr[data-id='{event_id}']").wait_for()
    assert desk.locator("#overdue-count").inner_text() == str(len(late))
    # The counters can be read: their text is not drawn in their own colour.
    for counter in ("#near-due-count", "#overdue-count"):
        text, fill = desk.evaluate(
            """(sel) => { const s = getComputedStyle(document.querySelector(sel).parentElement);
                          return [s.color, s.backgroundColor]; }""",
            counter,
        )
        assert text != fill, (counter, text)
    chosen = late[:2]
    for event_id in chosen:
        desk.check(f"#overdue-list input[data-id='{event_id}']")
    assert "已选 2 件" in desk.locator("#selected-count").inner_text()
    screenshot(desk, "console-supervisor")
    desk.click("#supervise-selected")  # the one click

    # The handler's open phone hears of it and lists the notices.
    page.locator(".toast:has-text('督办')").first.wait_for()
    for event_id in chosen:
        page.locator(f"#notices .notice[data-event='{event_id}']").wait_for()
    assert page.locator(f"#notices .notice[data-event='{late[2]}']").count() == 0
    screenshot(page, "phone-notice")

    # The handler answers one; the supervisor's list shows the reply without a reload.
    page.click(f"#notices .notice[data-event='{chosen[0]}']")
    page.locator(".notice-message:has-text('请抓紧办理')").wait_for()
    page.fill("#reply", "已联系物业，今天下午清理完毕")
    page.click("#send-reply")
    desk.locator(f"#targets tr[data-event='{chosen[0]}'][data-state='replied']").wait_for()
    assert "今天下午清理完毕" in desk.locator("#targets").inner_text()
    assert desk.evaluate("window.sameConsolePage") is True
    screenshot(desk, "console-supervisor-replied")


def test_console_map_draws_the_township_grids(console, live_server, phone_position, screenshot):
    # A hazardous-rock site registered by the grid worker shows on the console's map.
    point = [phone_position["longitude"], phone_position["latitude"]]
    status, place = live_server.api(
        "POST",
        "/keys/places",
        {
            "kind": "hazardous_rock",
            "name": "民生路危岩点",
            "location": {"type": "Point", "coordinates": point},
            "risk_level": "high",
        },
        token=live_server.login("demo_worker"),
    )
    assert status == 201, place
    desk = open_console(console, "demo_dispatcher")
    desk.reload()  # a console starting with its saved session: the time to a drawn map
    desk.wait_for_selector("header #live.live")
    drawn = desk.evaluate(
        """async () => {
          const { map } = await window.wanggeMap;
          window.consoleMap = map;
          if (!performance.getEntriesByName('wangge-map-idle').length) {
            await new Promise((resolve) => map.once('idle', resolve));
          }
          return {
            ms: performance.getEntriesByName('wangge-map-idle')[0].startTime,
            grids: map.queryRenderedFeatures({ layers: ['grids'] }).length,

            zoom: map.getZoom(),
          };
        }"""
    )
    print(
        f"\nconsole map: township grids drawn {drawn['ms']:.0f} ms after navigation "
        f"({drawn['grids']} grid features in view at zoom {drawn['zoom']:.1f})"
    )
    assert drawn["grids"] > 0
    shown = "window.consoleMap.queryRenderedFeatures({ layers: ['key-places'] })"
    desk.wait_for_function(f"{shown}.length > 0")
    assert desk.evaluate(f"{shown}.map((f) => f.properties.name)") == ["民生路危岩点"]
    screenshot(desk, "console-map")

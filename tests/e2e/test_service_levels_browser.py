"""Issue 17 in headless chromium (1920×1080): the floor dashboard's red/green service levels and the clerk's
emergency alarm, raised on the console with its hotkey and acknowledged by a manager on the dashboard."""
from __future__ import annotations

import re

import pytest
import requests

from tests.e2e.browser import api_call, demo_server, end_server, login, require_chromium, shot, staff_token

require_chromium()

from playwright.sync_api import expect

FLOOR = {"width": 1920, "height": 1080}
DESK = {"width": 1366, "height": 768}
AREA = "service-levels"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("service-levels"), timeout=180)  # more time on a busy machine
    yield srv
    end_server(srv)


def test_dashboard_shows_levels_red_and_green_and_the_emergency_alarm(server, browser):
    hall_id = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    r = requests.patch(f"{server.url}/api/v1/halls/{hall_id}/settings", json={"sl_max_queue_len": 1},
                       headers={"Authorization": f"Bearer {manager}"}, timeout=10)
    assert r.status_code == 200, r.text
    catalog = requests.get(f"{server.url}/api/v1/halls/{hall_id}/catalog", timeout=10).json()
    item = next(i["id"] for i in catalog["items"] if i["code"] == "SS001")
    first = api_call(server, "POST", f"/api/v1/halls/{hall_id}/tickets", server.tokens["kiosk"], {"item_ids": [item]})
    api_call(server, "POST", f"/api/v1/halls/{hall_id}/tickets", server.tokens["kiosk"], {"item_ids": [item]})
    busy_queue = first["queue_id"]

    floor = browser.new_context(viewport=FLOOR, locale="zh-CN").new_page()
    login(floor, server, "manager")
    floor.goto(server.url + "/admin/dashboard")
    red_row = floor.locator(f"#sl-queues tr[data-queue='{busy_queue}']")
    expect(red_row).to_have_attribute("data-state", "red")
    expect(red_row).to_contain_text("超标")
    expect(floor.locator("#sl-hall")).to_have_attribute("data-state", "red")
    expect(floor.locator("#sl-queues tr[data-state='green']").first).to_be_visible()  # the other queues
    expect(floor.locator("#sl-windows tr").first).to_be_visible()
    # The server's duties raise the breach as an alert within a round (every 5 s).
    expect(floor.locator("#alerts li[data-kind='sl_queue_len']")).to_contain_text("排队过长", timeout=15_000)
    badges = " ".join(floor.locator("#service-levels .sl-badge").all_inner_texts())
    assert badges and not re.search(r"[A-Za-z_]", badges), badges
    shot(floor, AREA, "dashboard-levels-red-green-1920x1080")

    desk = browser.new_context(viewport=DESK, locale="zh-CN").new_page()
    login(desk, server, "clerk01")
    desk.goto(server.url + "/admin/console")
    windows = api_call(server, "GET", f"/api/v1/halls/{hall_id}/windows", server.tokens["screen"])["items"]
    w1 = next(w for w in windows if w["number"] == 1)
    desk.click(f"[data-window='{w1['id']}']")
    expect(desk.locator("#desk")).to_be_visible()
    expect(desk.locator("#btn-emergency")).to_contain_text("紧急求助")
    desk.keyboard.press("F10")
    expect(desk.locator("#emergency-state")).to_contain_text("已发出紧急求助")
    shot(desk, AREA, "console-emergency-sent-1366x768")

    # Window 1 is staffed, idle, and its queue has visitors waiting: the idle-while-waiting time runs.
    idle_cell = floor.locator(f"#sl-windows tr[data-window='{w1['id']}'] td").nth(2)
    expect(idle_cell).to_contain_text(re.compile(r"(秒|分钟) / 3分钟"), timeout=10_000)
    alarm = floor.locator("#emergencies [data-alarm]")
    expect(alarm).to_be_visible(timeout=10_000)
    expect(alarm).to_contain_text("1号窗口")
    expect(alarm).to_contain_text(re.compile(r"\d{2}:\d{2}紧急求助"))
    expect(floor.locator("#alerts li[data-kind='emergency']")).to_contain_text("紧急求助")
    shot(floor, AREA, "dashboard-emergency-alarm-1920x1080")
    floor.click("#emergencies [data-act='acknowledge']")
    expect(floor.locator("#emergencies")).to_be_hidden()
    expect(floor.locator("#alerts li[data-kind='emergency']")).to_have_count(0, timeout=10_000)
    shot(floor, AREA, "dashboard-emergency-acknowledged-1920x1080")

    audit = api_call(server, "GET", f"/api/v1/halls/{hall_id}/audit", manager)["items"]
    actions = [a["action"] for a in audit]
    assert "alarm.emergency" in actions and "alarm.acknowledge" in actions


def test_levels_and_guards_are_set_on_the_configuration_page(server, browser):
    hall_id = server.tokens["hall_id"]
    page = browser.new_context(viewport=FLOOR, locale="zh-CN").new_page()
    login(page, server, "manager")
    page.goto(server.url + "/admin/config")
    page.wait_for_selector("#settings-form[data-loaded='1']")
    page.click("#levels-guards summary")  # folded by default: the hall's everyday settings stay in one screen
    expect(page.locator("#guards")).to_contain_text("同一证件同一事项每天最多取号次数")
    expect(page.locator("#service-levels")).to_contain_text("有人等候时窗口最长空闲")
    expect(page.locator("#sl_max_queue_len")).to_have_value("1")  # set over the API by the test above
    page.fill("#id_daily_ticket_cap", "3")
    page.fill("#cancelled_slot_hold_min", "30")
    page.fill("#recall_min_gap_s", "20")
    page.fill("#sl_max_idle_s", "240")
    page.click("#settings-form button[type=submit]")
    expect(page.locator("#toast")).to_contain_text("大厅设置已保存")
    s = api_call(server, "GET", f"/api/v1/halls/{hall_id}/settings", staff_token(server, "manager"))
    assert (s["id_daily_ticket_cap"], s["cancelled_slot_hold_min"], s["recall_min_gap_s"], s["sl_max_idle_s"]) == \
        (3, 30, 20, 240)
    page.locator("#service-levels").scroll_into_view_if_needed()
    shot(page, AREA, "config-levels-and-guards-1920x1080")

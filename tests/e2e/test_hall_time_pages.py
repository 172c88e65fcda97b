"""Times on pages are the hall's (Asia/Shanghai in the demo), never the zone of the browser's machine: a kiosk,
a phone or a manager's PC set to New York still reads the hall's clock (the kiosk's header clock, the phone
page's "updated" time, a hall notice that ends "today", the bookings page's refresh time)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.e2e.browser import catalog_items, kiosk_ticket, require_chromium, shot, staff_page

require_chromium()

from playwright.sync_api import expect

AREA = "hall-time"
HALL = ZoneInfo("Asia/Shanghai")
ELSEWHERE = "America/New_York"  # 12 or 13 hours behind the hall: every clock would read another hour


def _hall_clock_now(seconds: bool = False) -> re.Pattern:
    """The hall's wall clock now or a minute on (the page may tick between our read and its own)."""
    now = datetime.now(HALL)
    fmt = "%H:%M:%S" if seconds else "%H:%M"
    if seconds:  # hh:mm of now or the next minute, any seconds
        return re.compile("|".join(re.escape((now + timedelta(minutes=k)).strftime("%H:%M")) + r":\d\d"
                                   for k in (0, 1)))
    return re.compile("|".join(re.escape((now + timedelta(minutes=k)).strftime(fmt)) for k in (0, 1)))


def test_the_kiosk_clock_reads_the_halls_time(server, browser):
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN", timezone_id=ELSEWHERE)
    page = ctx.new_page()
    page.goto(f"{server.url}/kiosk/")
    expect(page.locator("#hall-name")).to_have_text("示例市政务服务中心")
    expect(page.locator("#clock")).to_have_text(_hall_clock_now())
    ctx.close()


def test_the_phone_page_says_when_it_was_updated_in_the_halls_time(server, browser):
    mine = kiosk_ticket(server, {"item_ids": [catalog_items(server)[0]["id"]]})
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", timezone_id=ELSEWHERE)
    phone = ctx.new_page()
    phone.goto(f"{server.url}/t/{mine['follow_code']}")
    expect(phone.locator("#updated")).to_contain_text(_hall_clock_now(seconds=True))
    ctx.close()


def test_a_notice_for_today_ends_at_the_halls_midnight(server, browser):
    ctx, page = staff_page(browser, server, timezone_id=ELSEWHERE)
    expect(page.locator("#live-state")).to_have_text("实时连接正常")
    page.fill("#notice-text", "今日午间部分窗口轮休")
    page.select_option("#notice-until", "today")
    page.click("#notice-send")
    tomorrow = datetime.now(HALL).date() + timedelta(days=1)
    row = page.locator("#notices li", has_text="今日午间部分窗口轮休")
    expect(row).to_contain_text(f"显示到 {tomorrow.month}月{tomorrow.day}日 00:00")
    shot(page, AREA, "dashboard-notice-today-new-york-pc")
    page.on("dialog", lambda d: d.accept())
    row.locator("[data-act=withdraw]").click()
    expect(row).to_have_count(0)
    # The bookings page says when it last refreshed, in the hall's time too.
    page.goto(f"{server.url}/admin/appointments")
    expect(page.locator("#live")).to_contain_text(_hall_clock_now(seconds=True), timeout=15_000)
    ctx.close()

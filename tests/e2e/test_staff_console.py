"""Issue 21, staff side: the clerk console at its real size (1366×768) — 指定呼叫 from the waiting list, 过号
only after a recall and with a confirmation, the no-show list with 过号重排, a bundle's materials merged once
under the bundle's name, the visitor's wait so far, today's served count at this window, stale toasts cleared."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.e2e.browser import api_call, login, require_chromium, shot, staff_token

require_chromium()

from playwright.sync_api import expect

DESK = {"width": 1366, "height": 768}
AREA = "staff-console"


def _issue(srv, body):
    return api_call(srv, "POST", f"/api/v1/halls/{srv.tokens['hall_id']}/tickets", srv.tokens["kiosk"], body)


def test_console_lists_call_by_name_no_show_and_requeue(server, browser):
    hall = server.tokens["hall_id"]
    catalog = api_call(server, "GET", f"/api/v1/halls/{hall}/catalog", None)
    item = next(i["id"] for i in catalog["items"] if i["code"] == "SS001")
    bundle = next(b for b in catalog["bundles"] if b["code"] == "B01")  # 企业开办一件事: five matters
    plain = [_issue(server, {"item_ids": [item]}) for _ in range(2)]
    wanted = _issue(server, {"bundle_id": bundle["id"], "name": "张三丰", "id_number": "110101194503071234"})
    clerk = staff_token(server, "clerk01")
    windows = {w["number"]: w["id"] for w in api_call(server, "GET", f"/api/v1/halls/{hall}/windows", clerk)["items"]}

    # The clerk's PC sits in another time zone than the hall (Asia/Shanghai): times on the desk are the hall's.
    page = browser.new_context(viewport=DESK, locale="zh-CN", timezone_id="America/New_York").new_page()
    page.set_default_timeout(10000)
    login(page, server, "clerk01")
    page.goto(server.url + "/admin/console")
    page.click(f"[data-window='{windows[1]}']")
    expect(page.locator("#live-state")).to_have_text("实时连接正常")
    rows = page.locator("#waiting tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#waiting-count")).to_have_text("3")
    expect(page.locator("#today-served")).to_have_text("0")
    expect(rows.nth(2)).to_contain_text("张*丰")          # masked, never the full name
    assert "张三丰" not in page.content()
    shot(page, AREA, "console-waiting-list-1366x768")

    # 指定呼叫: the third in line, out of turn; every other call button greys out while a ticket is in hand.
    page.click(f"[data-call='{wanted['id']}']")
    expect(page.locator("#t-number")).to_have_text(wanted["number"])
    expect(page.locator("#t-reason")).to_have_text("指定呼叫")
    expect(page.locator("#toast")).to_have_text(f"已指定呼叫 {wanted['number']}")
    expect(page.locator(f"[data-call='{plain[0]['id']}']")).to_be_disabled()
    expect(page.locator("#t-waited")).to_contain_text("已等候")
    # The bundle's materials once, under the bundle's name (shared ones are not repeated per matter).
    expect(page.locator("#t-materials-head")).to_contain_text("企业开办一件事")
    names = page.locator("#t-materials li").all_inner_texts()
    assert len(names) == len(bundle["materials"]) and len(set(names)) == len(names), names
    assert page.locator("#t-items h3").count() == 1
    shot(page, AREA, "console-bundle-called-by-name-1366x768")

    # 过号 at once is refused on the desk (no recall yet, within the hall's minimum time): said, no dialog.
    page.keyboard.press("F3")
    expect(page.locator("#toast")).to_contain_text("请先重呼")
    expect(page.locator("#noshow-dlg")).not_to_be_visible()
    page.keyboard.press("F2")
    expect(page.locator("#toast")).to_have_text(f"已重呼 {wanted['number']}")
    page.keyboard.press("F3")
    expect(page.locator("#noshow-dlg")).to_be_visible()
    expect(page.locator("#ns-text")).to_contain_text(wanted["number"])
    shot(page, AREA, "console-no-show-confirm-1366x768")
    page.click("#ns-confirm")
    expect(page.locator("#toast")).to_have_text(f"{wanted['number']} 已过号")
    expect(page.locator("#ticket-empty")).to_be_visible()
    expect(page.locator("#noshow-count")).to_have_text("1")

    # The no-show list: 过号重排 puts the late visitor back in the waiting list.
    page.click("#tab-noshows")
    expect(page.locator("#tab-noshows")).to_have_class("tab active")
    expect(page.locator("#pane-waiting")).to_be_hidden()
    shot(page, AREA, "console-no-show-list-1366x768")
    lists = api_call(server, "GET", f"/api/v1/windows/{windows[1]}/desk-lists", clerk)
    closed = datetime.fromisoformat(lists["no_shows"][0]["closed_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    expect(page.locator(f"#noshows tr[data-ticket='{wanted['id']}'] td").nth(1)).to_have_text(closed.strftime("%H:%M"))
    page.click(f"[data-requeue='{wanted['id']}']")
    expect(page.locator("#toast")).to_contain_text(f"{wanted['number']} 已过号重排")
    expect(page.locator("#noshows tbody tr")).to_have_count(0)
    page.click("#tab-waiting")
    expect(page.locator(f"#waiting [data-ticket='{wanted['id']}']")).to_be_visible()

    # A stale toast goes when the ticket in hand changes (here: finished from elsewhere by the same clerk).
    page.keyboard.press("F1")
    expect(page.locator("#t-number")).to_have_text(plain[0]["number"])
    page.keyboard.press("F3")
    expect(page.locator("#toast")).to_contain_text("请先重呼")
    api_call(server, "POST", f"/api/v1/tickets/{plain[0]['id']}/finish", clerk, {"outcome": "completed"})
    expect(page.locator("#ticket-empty")).to_be_visible()
    expect(page.locator("#toast")).to_be_hidden()
    # Today's figures at this window follow the finish.
    expect(page.locator("#today-served")).to_have_text("1")
    expect(page.locator("#today-avg")).not_to_have_text("—")
    shot(page, AREA, "console-after-finish-1366x768")
    page.context.close()

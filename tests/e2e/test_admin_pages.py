"""Browser tests of the staff pages against a real server: the clerk console with the rating pad, and the
floor dashboard receiving a live empty-post alert with its sound. Screenshots go to test-artifacts/admin/."""
from __future__ import annotations

import pytest

from tests.e2e.browser import (
    api_call,
    call_next,
    catalog_items,
    hall_windows,
    kiosk_ticket,
    login,
    require_chromium,
    shot,
    staff_page,
    staff_token,
    take_window,
)

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")


def test_console_call_finish_and_rate_on_the_pad(server, browser):
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    windows = hall_windows(server, manager)
    pad = api_call(server, "POST", f"/api/v1/windows/{windows[1]}/pad-token", manager, {})
    item = catalog_items(server)[0]["id"]
    issued = kiosk_ticket(server, {"item_ids": [item], "name": "张三丰", "id_number": "220102199001011234"})

    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    pad_page = browser.new_context(viewport={"width": 1024, "height": 700}).new_page()
    pad_page.goto(pad["url"])
    pad_page.wait_for_selector("body[data-state=idle]")

    page = ctx.new_page()
    login(page, server, "clerk01")
    page.wait_for_url("**/admin/console")
    page.wait_for_selector(f"button[data-window='{windows[1]}']")
    shot(page, "admin", "console-pick")
    page.click(f"button[data-window='{windows[1]}']")
    page.wait_for_selector("#desk:not([hidden])")
    page.wait_for_selector("#live-state:has-text('实时连接正常')")
    call_next(page, issued["number"])
    assert page.inner_text("#t-id") == "220102********1234"
    assert page.inner_text("#t-reason").strip() not in ("", "—")
    assert page.locator("#t-items li").count() > 0  # the item's material list from the catalogue
    page.keyboard.press("F4")
    page.wait_for_selector("#t-status:has-text('办理中')")
    page.once("dialog", lambda d: d.accept())
    page.keyboard.press("F8")
    page.wait_for_selector("#t-id-revealed:has-text('220102199001011234')")
    shot(page, "admin", "console-serving")
    page.keyboard.press("F5")
    page.wait_for_selector("#finish-dlg[open]")
    page.select_option("#f-outcome", "notice")
    page.locator("#f-missing-list input").first.check()
    shot(page, "admin", "console-finish-notice")
    page.click("#f-submit")
    page.wait_for_selector("#print-notice")
    page.wait_for_selector("#ticket-empty:not([hidden])")
    shot(page, "admin", "console-finished")

    # The pad, in the window room, asks the visitor right after finish.
    pad_page.wait_for_selector(f"body[data-state=ask] #ask-number:has-text('{issued['number']}')")
    shot(pad_page, "admin", "pad-ask")
    pad_page.click("button[data-score='1']")
    pad_page.wait_for_selector("body[data-state=why]")
    pad_page.check("input[value=notice]")
    pad_page.fill("#comment", "材料要求没有一次说清")
    shot(pad_page, "admin", "pad-why")
    pad_page.click("#why-submit")
    pad_page.wait_for_selector("body[data-state=thanks]")
    shot(pad_page, "admin", "pad-thanks")
    cases = api_call(server, "GET", f"/api/v1/halls/{hall}/rectifications?status=pending", manager)["items"]
    assert [(c["ticket_id"], c["rating"]["score"], c["rating"]["reasons"]) for c in cases] == \
        [(issued["id"], 1, ["notice"])]

    with page.expect_popup() as popup:
        page.click("#print-notice")
    notice = popup.value
    notice.wait_for_load_state()
    assert "一次性告知书" in notice.inner_text("#notice")
    shot(notice, "admin", "notice-print")
    page.once("dialog", lambda d: d.accept())
    page.keyboard.press("F9")
    page.wait_for_selector("#pick:not([hidden])")
    ctx.close()
    pad_page.context.close()


def test_dashboard_shows_a_live_empty_post_alert_with_sound(server, browser):
    clerk = staff_token(server, "clerk03")
    windows = hall_windows(server, clerk)
    api_call(server, "POST", f"/api/v1/windows/{windows[3]}/sign-in", clerk)

    ctx, page = staff_page(browser, server, size=(1440, 1000))
    page.wait_for_selector("#live-state:has-text('实时连接正常')")
    page.wait_for_selector(f"[data-window='{windows[3]}'][data-status=idle]")
    page.click("#sound-on")
    page.wait_for_selector("body[data-sound-enabled='1']")
    assert page.locator("#alerts [data-kind=empty_post]:has-text('3号窗口空岗')").count() == 0
    played_before = int(page.get_attribute("body", "data-sound-played"))

    # The A clerk leaves and the B clerk (clerk04) is not in: an empty post (002 §6.9).
    api_call(server, "POST", f"/api/v1/windows/{windows[3]}/sign-out", clerk)
    page.wait_for_selector("#alerts [data-kind=empty_post]:has-text('3号窗口空岗')")
    page.wait_for_selector(f"[data-window='{windows[3]}'][data-status=empty]")
    assert int(page.get_attribute("body", "data-sound-played")) > played_before
    shot(page, "admin", "dashboard-empty-post")

    # The manager makes window 5 (not window 3's B clerk) cover it; the alert goes away.
    clerk5 = staff_token(server, "clerk05")
    api_call(server, "POST", f"/api/v1/windows/{windows[5]}/sign-in", clerk5)
    page.wait_for_selector(f"[data-window='{windows[5]}'][data-status=idle]")
    page.click(f"[data-window='{windows[3]}'] button[data-act=cover]")
    page.wait_for_selector("#cover-dlg[open]")
    page.select_option("#v-by", str(windows[5]))
    page.click("#v-submit")
    page.wait_for_selector(f"[data-window='{windows[3]}'][data-status=covered]")
    page.wait_for_function("![...document.querySelectorAll('#alerts [data-kind=empty_post]')]"
                           ".some((li) => li.textContent.includes('3号窗口空岗'))")
    page.fill("#notice-text", "午间12:00-13:00部分窗口轮休")
    page.click("#notice-send")
    page.wait_for_selector("#toast:has-text('公告已发布')")
    shot(page, "admin", "dashboard-covered")
    ctx.close()


def _issue(srv, code: str) -> dict:
    item = next(i["id"] for i in catalog_items(srv) if i["code"] == code)
    return kiosk_ticket(srv, {"item_ids": [item]})


def test_console_serves_with_every_action(server, browser):
    """Issue 6 "done when": every console action by its key — call, recall, no-show, start, transfer, finish,
    pause and resume, sign out — on a real window (F8 and the notice are in the test above)."""
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    windows = hall_windows(server, manager)
    queues = {q["prefix"]: q["id"] for q in api_call(server, "GET", f"/api/v1/halls/{hall}/queues", manager)["items"]}
    first, second, third = (_issue(server, "HZ002") for _ in range(3))  # 户口迁移: queue A only

    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(10000)
    take_window(page, server, "clerk06", windows[6])
    page.wait_for_selector("#live-state:has-text('实时连接正常')")
    call_next(page, first["number"])
    page.keyboard.press("F2")
    page.wait_for_selector(f"#toast:has-text('已重呼 {first['number']}')")
    assert api_call(server, "GET", f"/api/v1/tickets/{first['id']}", manager)["recall_count"] == 1
    page.keyboard.press("F3")
    page.wait_for_selector("#noshow-dlg[open]")  # 过号 asks for a confirmation
    page.click("#ns-confirm")
    page.wait_for_selector(f"#toast:has-text('{first['number']} 已过号')")
    page.wait_for_selector("#ticket-empty:not([hidden])")
    assert api_call(server, "GET", f"/api/v1/tickets/{first['id']}", manager)["status"] == "no_show"

    call_next(page, second["number"])
    page.keyboard.press("F4")
    page.wait_for_selector("#t-status:has-text('办理中')")
    page.keyboard.press("F6")
    page.wait_for_selector("#transfer-dlg[open]")
    page.select_option("#x-queue", str(queues["E"]))
    page.fill("#x-note", "需跨省通办窗口办理")
    shot(page, "admin", "console-transfer")
    page.click("#x-submit")
    page.wait_for_selector("#toast:has-text('已转办')")
    page.wait_for_selector("#ticket-empty:not([hidden])")
    # The ticket in hand is closed as transferred; a follow-up ticket waits in queue E (nothing else waits there).
    assert api_call(server, "GET", f"/api/v1/tickets/{second['id']}", manager)["status"] == "transferred"
    snapshot = api_call(server, "GET", f"/api/v1/halls/{hall}/snapshot", manager)
    assert next(q["waiting"] for q in snapshot["queues"] if q["prefix"] == "E") == 1

    call_next(page, third["number"])
    page.keyboard.press("F4")
    page.wait_for_selector("#t-status:has-text('办理中')")
    page.keyboard.press("F5")
    page.wait_for_selector("#finish-dlg[open]")
    page.select_option("#f-outcome", "completed")
    page.click("#f-submit")
    page.wait_for_selector("#ticket-empty:not([hidden])")
    assert api_call(server, "GET", f"/api/v1/tickets/{third['id']}", manager)["status"] == "done"

    page.keyboard.press("F7")
    page.wait_for_selector("#pause-dlg[open]")
    page.fill("#p-reason", "用餐")
    page.click("#p-submit")
    page.wait_for_selector("#state-banner:has-text('暂停服务中：用餐')")
    assert page.is_disabled("#btn-call")
    shot(page, "admin", "console-paused")
    page.keyboard.press("F7")
    page.wait_for_selector("#state-banner", state="hidden")
    assert page.is_enabled("#btn-call")
    page.once("dialog", lambda d: d.accept())
    page.keyboard.press("F9")
    page.wait_for_selector("#pick:not([hidden])")
    assert api_call(server, "GET", f"/api/v1/halls/{hall}/windows", manager)["items"][5]["clerk_id"] is None
    ctx.close()


def test_dashboard_empty_post_when_a_and_b_both_sign_out(server, browser):
    """Issue 6 "done when": A leaves and B (signed in at their own window) covers; then B leaves too and the
    manager's dashboard raises the empty-post alert (002 §6.9 不得空岗) live, with its sound."""
    a, b = staff_token(server, "clerk09"), staff_token(server, "clerk10")  # window 9: A clerk09, B clerk10 (A of window 10)
    windows = hall_windows(server, a)
    api_call(server, "POST", f"/api/v1/windows/{windows[9]}/sign-in", a)
    api_call(server, "POST", f"/api/v1/windows/{windows[10]}/sign-in", b)

    ctx, page = staff_page(browser, server, size=(1440, 1000), timeout_ms=10000)
    page.wait_for_selector("#live-state:has-text('实时连接正常')")
    page.click("#sound-on")
    page.wait_for_selector("body[data-sound-enabled='1']")
    page.wait_for_selector(f"[data-window='{windows[9]}'][data-status=idle]")
    empty9 = "#alerts [data-kind=empty_post]:has-text('9号窗口空岗')"

    api_call(server, "POST", f"/api/v1/windows/{windows[9]}/sign-out", a)
    page.wait_for_selector(f"[data-window='{windows[9]}'][data-status=covered]")
    assert page.locator(empty9).count() == 0  # B covers from window 10: not an empty post
    played = int(page.get_attribute("body", "data-sound-played"))

    api_call(server, "POST", f"/api/v1/windows/{windows[10]}/sign-out", b)
    page.wait_for_selector(empty9)
    page.wait_for_selector(f"[data-window='{windows[9]}'][data-status=empty]")
    page.wait_for_selector("#alerts [data-kind=empty_post]:has-text('10号窗口空岗')")
    assert int(page.get_attribute("body", "data-sound-played")) > played
    shot(page, "admin", "dashboard-both-posts-empty")
    ctx.close()


def test_manager_handles_a_low_rating_in_the_browser(server, browser):
    """Issue 6 "done when": a 非常不满意 rating opens a case; the manager assigns, records the fix and the
    feedback, and closes it on the ratings page (003 §10.4)."""
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    clerk = staff_token(server, "clerk02")
    windows = hall_windows(server, manager)
    pad = api_call(server, "POST", f"/api/v1/windows/{windows[2]}/pad-token", manager, {})["token"]
    ticket = _issue(server, "HZ002")
    api_call(server, "POST", f"/api/v1/windows/{windows[2]}/sign-in", clerk)
    called = api_call(server, "POST", f"/api/v1/windows/{windows[2]}/call-next", clerk)["ticket"]
    assert called["id"] == ticket["id"]
    api_call(server, "POST", f"/api/v1/tickets/{ticket['id']}/start", clerk)
    api_call(server, "POST", f"/api/v1/tickets/{ticket['id']}/finish", clerk, {"outcome": "completed"})
    rated = api_call(server, "POST", f"/api/v1/tickets/{ticket['id']}/rating", pad,
                     {"score": 1, "reasons": ["attitude"], "comment": "态度生硬"})
    case = rated["rectification_id"]
    clerk02 = next(s["id"] for s in api_call(server, "GET", f"/api/v1/halls/{hall}/staff", manager)["items"]
                   if s["username"] == "clerk02")

    ctx, page = staff_page(browser, server, size=(1366, 900), timeout_ms=10000, start="/admin/ratings")
    row = page.locator(f"#cases tr[data-case='{case}']")
    row.locator("button").click()
    page.wait_for_selector("#case-dlg[open]")
    assert "态度生硬" in page.inner_text("#d-rating")
    page.select_option("#d-clerk", str(clerk02))
    page.fill("#d-plan", "学习文明用语规范")
    page.click("#d-assign-btn")
    page.wait_for_selector(f"#cases tr[data-case='{case}'] [data-status=assigned]")
    page.fill("#d-fix-text", "已组织窗口服务礼仪培训")
    page.click("#d-fix-btn")
    page.wait_for_selector(f"#cases tr[data-case='{case}'] [data-status=fixed]")
    page.fill("#d-feedback-text", "已电话回访办事人并致歉")
    page.click("#d-feedback-btn")
    page.wait_for_selector("#d-close-btn:not([hidden])")
    shot(page, "admin", "rectification-fixed")
    page.click("#d-close-btn")
    page.wait_for_selector(f"#cases tr[data-case='{case}']", state="detached")
    done = next(c for c in api_call(server, "GET", f"/api/v1/halls/{hall}/rectifications", manager)["items"]
                if c["id"] == case)
    assert (done["status"], done["responsible_clerk_id"], done["fix"], done["feedback"]) == \
        ("closed", clerk02, "已组织窗口服务礼仪培训", "已电话回访办事人并致歉")
    ctx.close()

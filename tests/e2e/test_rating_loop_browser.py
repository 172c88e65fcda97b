"""Browser tests of the 好差评 loop against a real server: the slip's QR rates the service on a phone
(390×844) once the ticket is finished, once; the call-back list (1366×768) records a call. Screenshots in
test-artifacts/ratings/."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.browser import (
    api_call,
    assert_absent,
    catalog_items,
    demo_server,
    end_server,
    hall_windows,
    kiosk_ticket,
    require_chromium,
    shot,
    staff_page,
    staff_token,
)

require_chromium()
pytest.importorskip("playwright.sync_api")
ENGLISH = ("undefined", "null", "Error", "pending", "reached", "§", "qr", "pad")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("ratings-e2e"))
    yield srv
    end_server(srv)


def _visit(server, clerk: str, window_id: int, item: int, phone: str) -> dict:
    issued = kiosk_ticket(server, {"item_ids": [item], "name": "张三丰", "id_number": "220102199001011234", "phone": phone})
    called = api_call(server, "POST", f"/api/v1/windows/{window_id}/call-next", clerk)
    assert called["ticket"]["id"] == issued["id"]
    api_call(server, "POST", f"/api/v1/tickets/{issued['id']}/finish", clerk, {"outcome": "completed"})
    return issued


def test_phone_rates_once_and_staff_record_a_call_back(server, browser):
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    clerk = staff_token(server, "clerk01")
    windows = hall_windows(server, manager)
    item = next(i["id"] for i in catalog_items(server) if i["code"] == "SB001")
    api_call(server, "POST", f"/api/v1/windows/{windows[1]}/sign-in", clerk)
    issued = _visit(server, clerk, windows[1], item, "13912345678")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                device_scale_factor=2)
    p = phone.new_page()
    p.goto(server.url + f"/t/{issued['follow_code']}")
    p.wait_for_selector("#rate-card:not([hidden])")
    p.click("#rate")
    p.wait_for_selector("section[data-ticket] button[data-score='2']")
    p.click("section[data-ticket] button[data-score='2']")
    p.wait_for_selector(".reasons:not([hidden])")
    p.click("text=排队等候时间长")
    p.fill("textarea", "等了四十分钟")
    shot(p, "ratings", "phone-rating")
    assert_absent(p.inner_text("body"), ENGLISH)
    assert p.evaluate("document.documentElement.scrollWidth") <= 390
    p.click(".submit")
    p.wait_for_selector("text=感谢您的评价")
    shot(p, "ratings", "phone-rated")
    p.reload()
    p.wait_for_selector("#empty:has-text('您已评价')")
    assert p.locator("section[data-ticket]").count() == 0  # once
    phone.close()
    rect = api_call(server, "GET", f"/api/v1/halls/{hall}/rectifications?status=pending", manager)["items"]
    assert [r["rating"]["channel"] for r in rect] == ["qr"]

    # Two more completed cases; the manager samples every case (rate 100 %) onto the call-back list.
    _visit(server, clerk, windows[1], item, "13900000002")
    _visit(server, clerk, windows[1], item, "13900000003")
    requests.put(server.url + f"/api/v1/halls/{hall}/rating-settings", json={"callback_rate_pct": 100},
                 headers={"Authorization": f"Bearer {manager}"}, timeout=10).raise_for_status()
    ctx, page = staff_page(browser, server, start="/admin/callbacks")
    page.click("#sample")
    # After midnight on a working day the duty may already have put the first case on the list (at the default
    # rate) before the page loaded: wait for the list the sample redraws, not for the first row.
    page.locator("#list tbody tr[data-callback]").nth(2).wait_for()
    assert page.locator("#list tbody tr").count() == 3
    assert "张*丰" in page.inner_text("#list") and "220102" not in page.inner_text("main")
    shot(page, "ratings", "callbacks-list")
    page.locator("#list tbody tr").first.locator("button").click()
    page.wait_for_selector("#cb-dlg[open]")
    page.click("#d-phone-btn")
    page.wait_for_selector("#d-phone:has-text('139')")
    page.select_option("#d-score", "4")
    page.fill("#d-remarks", "对办理结果满意，建议增加周末窗口")
    shot(page, "ratings", "callbacks-record")
    page.click("#d-save")
    page.wait_for_selector("#cb-dlg", state="hidden")
    page.locator("#list tbody tr").nth(2).wait_for(state="detached")  # the recorded one leaves the pending list
    page.wait_for_selector("#stats:has-text('已回访')")
    assert "1 件" in page.inner_text("#stats")
    assert_absent(page.inner_text("main"), ENGLISH)
    shot(page, "ratings", "callbacks-after")

    # The rated clerk appeals the phone's bad rating; the manager reviews it on the 好差评 page.
    api_call(server, "POST", f"/api/v1/ratings/{rect[0]['rating']['id']}/appeal", clerk,
             {"kind": "mistaken", "reason": "办事人误将等候时间算作窗口办理时间"})
    counted = api_call(server, "GET", f"/api/v1/halls/{hall}/ratings", manager)["total"]  # the demo's 30 days too
    page.goto(server.url + "/admin/ratings")
    page.wait_for_selector("#loop:has-text('实名差评')")
    assert "1 条" in page.inner_text("#loop")
    page.click("#appeals tbody tr[data-appeal] button")
    page.wait_for_selector("#appeal-dlg[open]")
    page.click("#a-upheld")
    page.wait_for_selector("#a-error:has-text('请填写复核意见')")
    page.fill("#a-reason", "调阅叫号记录，窗口办理仅用时六分钟，属误评")
    shot(page, "ratings", "appeal-review")
    page.click("#a-upheld")
    page.wait_for_selector("#appeals td[data-status='upheld']:has-text('申诉成立')")
    page.wait_for_selector("#loop:has-text('申诉成立不计入')")
    assert api_call(server, "GET", f"/api/v1/halls/{hall}/ratings", manager)["total"] == counted - 1  # taken out
    assert_absent(page.inner_text("main"), ENGLISH)
    shot(page, "ratings", "ratings-page")
    ctx.close()

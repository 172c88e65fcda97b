"""Browser test of the console's 下一位 with a ticket in hand: the finish dialog, then one request that
finishes the ticket and calls the next (POST /windows/<id>/finish-and-call-next)."""
from __future__ import annotations

import pytest

from tests.e2e.browser import (
    api_call,
    call_next,
    catalog_items,
    hall_windows,
    kiosk_ticket,
    require_chromium,
    staff_token,
    take_window,
)

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")


def test_next_with_a_ticket_in_hand_finishes_it_and_calls_the_next(server, browser):
    manager = staff_token(server, "manager")
    windows = hall_windows(server, manager)
    item = catalog_items(server)[0]["id"]
    first, second = (kiosk_ticket(server, {"item_ids": [item]}) for _ in range(2))
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    take_window(page, server, "clerk02", windows[2])
    call_next(page, first["number"])
    assert page.is_enabled("#btn-call")  # 下一位 stays available with a ticket in hand
    page.keyboard.press("F1")
    page.wait_for_selector("#finish-dlg[open]")
    assert page.inner_text("#f-submit") == "办结并呼叫下一位"
    page.select_option("#f-outcome", "completed")
    page.click("#f-submit")
    page.wait_for_selector(f"#t-number:has-text('{second['number']}')")
    page.wait_for_selector(f"#toast:has-text('已呼叫 {second['number']}')")
    ctx.close()
    assert api_call(server, "GET", f"/api/v1/tickets/{first['id']}", manager)["status"] == "done"
    assert api_call(server, "GET", f"/api/v1/tickets/{second['id']}", manager)["status"] == "called"

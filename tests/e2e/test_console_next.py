"""Browser test of the console's 下一位 with a ticket in hand: the finish dialog, then one request that
finishes the ticket and calls the next (POST /windows/<id>/finish-and-call-next)."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.browser import ARGS, CHROMIUM, api_call, login, require_chromium, staff_token

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")


def test_next_with_a_ticket_in_hand_finishes_it_and_calls_the_next(server):
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    windows = {w["number"]: w["id"] for w in api_call(server, "GET", f"/api/v1/halls/{hall}/windows", manager)["items"]}
    item = requests.get(server.url + f"/api/v1/halls/{hall}/catalog", timeout=10).json()["items"][0]["id"]
    first, second = (api_call(server, "POST", f"/api/v1/halls/{hall}/tickets", server.tokens["kiosk"],
                              {"item_ids": [item]}) for _ in range(2))
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = b.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN").new_page()
        login(page, server, "clerk02")
        page.wait_for_url("**/admin/console")
        page.click(f"button[data-window='{windows[2]}']")
        page.wait_for_selector("#desk:not([hidden])")
        page.keyboard.press("F1")
        page.wait_for_selector(f"#t-number:has-text('{first['number']}')")
        assert page.is_enabled("#btn-call")  # 下一位 stays available with a ticket in hand
        page.keyboard.press("F1")
        page.wait_for_selector("#finish-dlg[open]")
        assert page.inner_text("#f-submit") == "办结并呼叫下一位"
        page.select_option("#f-outcome", "completed")
        page.click("#f-submit")
        page.wait_for_selector(f"#t-number:has-text('{second['number']}')")
        page.wait_for_selector(f"#toast:has-text('已呼叫 {second['number']}')")
        b.close()
    assert api_call(server, "GET", f"/api/v1/tickets/{first['id']}", manager)["status"] == "done"
    assert api_call(server, "GET", f"/api/v1/tickets/{second['id']}", manager)["status"] == "called"

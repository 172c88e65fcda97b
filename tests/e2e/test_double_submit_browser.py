"""A double click on a public form's submit button files one complaint (the hall-day scenario's finding): the form's
one-use token keys the filing on the server, so both requests answer with the same number."""
from __future__ import annotations

import pytest

from tests.e2e.browser import api_call, require_chromium, staff_token

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")

CONTENT = "双击提交测试：窗口人员未一次性告知所需材料。"


def test_a_double_clicked_complaint_form_files_one_complaint(server, browser):
    ctx = browser.new_context(viewport={"width": 900, "height": 1000})
    page = ctx.new_page()
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(server.url + "/complaints/new")
    page.select_option("#kind", "attitude")
    page.fill("#content", CONTENT)
    page.fill("#complainant_name", "韩梅梅")
    page.fill("#contact", "13700002222")
    # A phone on a slow network: the first answer is still on its way when the visitor taps again.
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 1500, "downloadThroughput": -1,
                                                   "uploadThroughput": -1})
    page.evaluate("() => { const b = document.getElementById('submit'); b.click(); setTimeout(() => b.click(), 300); }")
    page.wait_for_selector("#complaint-number", timeout=15000)
    number = page.locator("#complaint-number").inner_text()
    assert len(posts) == 2  # the browser did send the form twice
    hall = server.tokens["hall_id"]
    filed = [c["number"] for c in api_call(server, "GET", f"/api/v1/halls/{hall}/complaints",
                                           staff_token(server, "manager"))["items"] if c.get("content") == CONTENT
             or c["number"] == number]
    assert filed == [number]
    ctx.close()

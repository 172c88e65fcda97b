"""Issue 21: what a clerk meets on the console (1366×768) — the pages the visitor scanned at the kiosk
reach the desk (thumbnails, full view, page count); the call reason and the finish dialog speak
Chinese, with no clause numbers."""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
import requests

from tests.e2e.browser import ARGS, CHROMIUM, api_call, demo_server, login, require_chromium, shot

require_chromium()

from playwright.sync_api import expect, sync_playwright

DESK = {"width": 1366, "height": 768}
AREA = "console-moments"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("console-moments"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _page_jpeg(label: str) -> bytes:
    """An A4-shaped scanned page (white sheet, a few lines of dark text)."""
    img = np.full((1123, 794, 3), 255, np.uint8)
    for i, line in enumerate((label, "ID card copy", "Application form")):
        cv2.putText(img, line, (60, 140 + 90 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (20, 20, 20), 3)
    ok, data = cv2.imencode(".jpg", img)
    assert ok
    return data.tobytes()


def test_scanned_pages_reach_the_clerk_console(server, browser):
    hall_id = server.tokens["hall_id"]
    catalog = requests.get(f"{server.url}/api/v1/halls/{hall_id}/catalog", timeout=10).json()
    item = next(i["id"] for i in catalog["items"] if i["code"] == "SS001")
    ticket = api_call(server, "POST", f"/api/v1/halls/{hall_id}/tickets", server.tokens["kiosk"], {"item_ids": [item]})
    for n in (1, 2):
        r = requests.post(f"{server.url}/api/v1/tickets/{ticket['id']}/attachments?page_size=A4",
                          data=_page_jpeg(f"PAGE {n}"), timeout=10,
                          headers={"Authorization": f"Bearer {server.tokens['kiosk']}", "Content-Type": "image/jpeg"})
        assert r.status_code == 201, r.text

    page = browser.new_context(viewport=DESK, locale="zh-CN").new_page()
    login(page, server, "clerk01")
    page.goto(server.url + "/admin/console")
    windows = api_call(server, "GET", f"/api/v1/halls/{hall_id}/windows", server.tokens["screen"])["items"]
    w1 = next(w["id"] for w in windows if w["number"] == 1)
    page.click(f"[data-window='{w1}']")
    expect(page.locator("#desk")).to_be_visible()
    page.click("#btn-call")
    expect(page.locator("#t-number")).to_have_text(ticket["number"])
    expect(page.locator("#t-pages-count")).to_have_text("2 页")
    thumbs = page.locator("#t-thumbs img")
    expect(thumbs).to_have_count(2)
    # Functions, not expressions: the page's CSP forbids eval.
    page.wait_for_function("() => [...document.querySelectorAll('#t-thumbs img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    # The call reason is said in Chinese: no English, no codes.
    reason = page.locator("#t-reason").inner_text()
    assert reason and not re.search(r"[A-Za-z]", reason), reason
    shot(page, AREA, "console-ticket-with-pages-1366x768")
    page.click("#t-thumbs [data-page='1']")
    expect(page.locator("#page-dlg")).to_be_visible()
    expect(page.locator("#pv-title")).to_have_text("第 2 / 2 页")
    page.wait_for_function("() => { const i = document.getElementById('pv-img');"
                           " return i.complete && i.naturalHeight > i.naturalWidth; }")
    shot(page, AREA, "console-page-full-view-1366x768")
    page.click("#pv-prev")
    expect(page.locator("#pv-title")).to_have_text("第 1 / 2 页")
    page.click("#page-dlg [data-close]")
    # The finish dialog: no clause numbers, no "a) … e)" labels.
    page.click("#btn-finish")
    expect(page.locator("#finish-dlg")).to_be_visible()
    for outcome in ("notice", "deferred"):
        page.select_option("#f-outcome", outcome)
        text = page.locator("#finish-dlg").inner_text()
        assert "§" not in text and not re.search(r"\b\d{3} ", text), text
    shot(page, AREA, "console-finish-dialog-1366x768")
    page.context.close()

"""Browser tests of 统一出件 (001 §7.3) against a real demo server: the handover clerk's console (1366×768) lists
the results a handover ticket came for, refuses a card that does not match, records the sign-off and the
courier; the kiosk's 领取办理结果 entry finds results by a typed acceptance number (1080×1920) and by the
receipt's QR as the scanner types it (1920×1080). Screenshots in test-artifacts/cases/."""
from __future__ import annotations

import requests

from devices.idcard.simulator import SAMPLE_CARDS
from tests.e2e.browser import (
    api_call,
    assert_absent,
    call_next,
    hall_windows,
    require_chromium,
    shot,
    staff_token,
    take_window,
)

require_chromium()
# The same module-scoped fixtures: a demo hall with `demo-cases` (its own server for this module), a chromium.
from tests.e2e import test_cases_browser as _cases  # noqa: E402

server = _cases.server  # the chromium is the shared one (tests/e2e/conftest.py)
ENGLISH = ("result_ready", "handed_over", "pickup", "courier", "undefined", "null", "Error", "§", "card_mismatch")
RESIDENT = SAMPLE_CARDS["resident"].id_number  # the demo's ready results are this simulated card's
STRANGER = "220102198512120021"


def _ready(server) -> list[dict]:
    manager = staff_token(server, "manager")
    return api_call(server, "GET", f"/api/v1/halls/{server.tokens['hall_id']}/cases?state=result_ready", manager)["items"]


def test_handover_clerk_checks_the_card_and_signs_off_or_sends_by_courier(server, browser):
    hall = server.tokens["hall_id"]
    ready = sorted(_ready(server), key=lambda c: c["id"])
    assert len(ready) == 2
    issued = api_call(server, "POST", f"/api/v1/halls/{hall}/pickups", server.tokens["kiosk"],
                      {"id_number": RESIDENT, "name": "张晓三"})
    windows = hall_windows(server, staff_token(server, "manager"))

    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    page.on("dialog", lambda d: d.accept())
    take_window(page, server, "clerk12", windows[12])
    call_next(page, issued["number"])
    page.wait_for_selector("#t-pickup:not([hidden])")
    rows = page.locator("#h-cases tbody tr")
    assert rows.count() == 2 and page.inner_text("#h-count") == "2 件"
    first, second = (f"#h-cases tr[data-case='{c['id']}']" for c in ready)
    text = page.inner_text(first)
    assert ready[0]["acceptance_no"] in text and "张*三" in text and "出件柜A-03" in text and "结果待领取" in text
    assert "出件柜B-11" in page.inner_text(second)
    assert RESIDENT not in page.content()
    page.locator("#ticket-card").scroll_into_view_if_needed()
    shot(page, "cases", "handover-console-list")

    # Another person's card: a clear Chinese error, nothing handed over.
    page.fill("#h-id", STRANGER)
    page.click(f"{first} button[data-pickup]")
    page.wait_for_selector("#h-error:not([hidden])")
    assert "身份证与申请人不一致" in page.inner_text("#h-error")
    assert "结果待领取" in page.inner_text(f"{first} .h-state")
    shot(page, "cases", "handover-console-mismatch")
    assert api_call(server, "GET", f"/api/v1/cases/{ready[0]['id']}", staff_token(server, "clerk12"))["state"] \
        == "result_ready"

    # The right card: signed for.
    page.fill("#h-id", RESIDENT)
    page.click(f"{first} button[data-pickup]")
    page.wait_for_selector(f"{first} .h-state:has-text('已签收')")
    assert page.is_hidden("#h-error")

    # The other result goes by courier: the tracking number is required.
    page.click(f"{second} button[data-courier]")
    page.fill(f"{second} .h-company", "中国邮政EMS")
    page.click(f"{second} button[data-courier-confirm]")
    page.wait_for_selector("#h-error:has-text('运单号')")
    page.fill(f"{second} .h-company", "中国邮政EMS")
    page.fill(f"{second} .h-tracking", "1187654321")
    page.click(f"{second} button[data-courier-confirm]")
    page.wait_for_selector(f"{second} .h-state:has-text('已邮寄')")
    page.wait_for_selector("#h-done:not([hidden])")
    assert_absent(page.inner_text("#ticket-card"), ENGLISH)
    shot(page, "cases", "handover-console-done")
    token = staff_token(server, "clerk12")
    assert [api_call(server, "GET", f"/api/v1/cases/{c['id']}", token)["state"] for c in ready] == \
        ["handed_over", "handed_over"]

    # Now the ticket is finished.
    page.keyboard.press("F5")
    page.wait_for_selector("#finish-dlg[open]")
    page.select_option("#f-outcome", "completed")
    page.click("#f-submit")
    page.wait_for_selector("#ticket-empty:not([hidden])")
    ctx.close()


def _kiosk(browser, server, width, height):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url + "/kiosk/")
    page.wait_for_selector("#go-pickup")
    return ctx, page


def test_kiosk_finds_results_by_typed_acceptance_number_portrait_and_by_receipt_qr_landscape(server, browser):
    hall = server.tokens["hall_id"]
    token = staff_token(server, "dept-ss")
    # Two more results ready for the kiosk (the demo's were handed over above).
    cases = api_call(server, "GET", f"/api/v1/halls/{hall}/cases?state=decided", token)["items"]
    mine = [c for c in cases if c["parent_id"] is None][:1]
    approved = [c for c in api_call(server, "GET", f"/api/v1/halls/{hall}/cases?state=in_review", token)["items"]
                if c["parent_id"] is None]
    for c in mine:
        api_call(server, "POST", f"/api/v1/cases/{c['id']}/result-ready", staff_token(server, "manager"),
                 {"location": "出件柜C-01"})
    for c in approved[:1]:
        manager = staff_token(server, "manager")
        api_call(server, "POST", f"/api/v1/cases/{c['id']}/decide", manager, {"decision": "approved"})
        api_call(server, "POST", f"/api/v1/cases/{c['id']}/result-ready", manager, {})
    ready = _ready(server)
    assert len(ready) >= 2, ready
    typed, scanned = ready[0], ready[1]

    # Portrait 1080×1920: the home entry, a wrong number, the right one typed on the keys.
    ctx, page = _kiosk(browser, server, 1080, 1920)
    shot(page, "cases", "kiosk-home-pickup-portrait")
    page.click("#go-pickup")
    page.wait_for_selector("#s-pickup:not(.hidden)")
    for ch in "DEMO2026999999":
        page.click(f"#pickup-keys button[data-key='{ch}']")
    page.click("#pickup-find")
    page.wait_for_selector("#pickup-msg:not(.hidden)")
    assert "没有查到可领取的办理结果" in page.inner_text("#pickup-msg")
    assert page.is_hidden("#pickup-found")
    shot(page, "cases", "kiosk-pickup-wrong-number-portrait")
    for _ in range(len("DEMO2026999999")):
        page.click("#pickup-keys button[data-key='⌫']")
    for ch in typed["acceptance_no"]:
        page.click(f"#pickup-keys button[data-key='{ch}']")
    page.click("#pickup-find")
    page.wait_for_selector("#pickup-found:not(.hidden)")
    assert page.inner_text("#pickup-found-count") == "您有 1 件办理结果可领取"
    body = page.inner_text("#s-pickup")
    assert typed["title"] not in body and "张" not in body  # a typed number shows nothing but "ready"
    shot(page, "cases", "kiosk-pickup-number-portrait")
    page.click("#pickup-found-take")
    page.wait_for_selector("#s-result:not(.hidden)")
    number = page.inner_text("#r-number")
    assert number.startswith("G")
    shot(page, "cases", "kiosk-pickup-number-ticket-portrait")
    assert_absent(page.inner_text("main"), ENGLISH)
    ctx.close()

    # Landscape 1920×1080: the scanner types the receipt's QR (its progress URL) and Enter into the field.
    detail = api_call(server, "GET", f"/api/v1/cases/{scanned['id']}", staff_token(server, "clerk12"))
    ctx, page = _kiosk(browser, server, 1920, 1080)
    shot(page, "cases", "kiosk-home-pickup-landscape")
    box = page.locator("#go-pickup").bounding_box()
    assert box["y"] + box["height"] <= page.locator(".foot").bounding_box()["y"]  # in view above the footer
    page.click("#go-pickup")
    page.wait_for_selector("#s-pickup:not(.hidden)")
    assert page.evaluate("document.activeElement.id") == "pickup-input"
    page.keyboard.type(server.url + detail["progress_path"])
    page.keyboard.press("Enter")
    page.wait_for_selector("#pickup-found:not(.hidden)")
    assert page.inner_text("#pickup-found-count") == "您有 1 件办理结果可领取"
    assert page.input_value("#pickup-input") == ""  # the look-up code does not stay on the screen
    take = page.locator("#pickup-found-take").bounding_box()
    assert take["y"] + take["height"] <= page.locator("#s-pickup .actions").bounding_box()["y"]
    shot(page, "cases", "kiosk-pickup-qr-landscape")
    page.click("#pickup-found-take")
    page.wait_for_selector("#s-result:not(.hidden)")
    assert page.inner_text("#r-number").startswith("G")
    shot(page, "cases", "kiosk-pickup-qr-ticket-landscape")
    ctx.close()

    # The handover window sees each ticket's own result.
    clerk = staff_token(server, "clerk12")
    windows = hall_windows(server, clerk)
    called = api_call(server, "POST", f"/api/v1/windows/{windows[12]}/call-next", clerk, {})["ticket"]
    assert called["number"] == number
    attached = api_call(server, "GET", f"/api/v1/tickets/{called['id']}/pickup-cases", clerk)["items"]
    assert [c["id"] for c in attached] == [typed["id"]]
    requests.post(server.url + "/kiosk/agent/sim/remove", timeout=5)

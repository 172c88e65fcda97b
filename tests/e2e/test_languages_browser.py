"""Issue 21, English beyond the kiosk and the phone follow page, in chromium at the surfaces' real sizes: the
hall screen in English and bilingual (1920×1080), a window screen in English (800×480), the booking pages and
the complaint form in English on a phone (390×844); the language switch goes back to Chinese."""
from __future__ import annotations

import re

from tests.e2e.browser import require_chromium, shot

require_chromium()

from playwright.sync_api import expect

AREA = "languages"
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True, "device_scale_factor": 2}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _screen(browser, server, path, size, lang):
    page = browser.new_context(viewport=size, locale="zh-CN").new_page()
    page.goto(f"{server.url}{path}?token={server.tokens['screen']}&lang={lang}")
    page.wait_for_selector("body[data-conn=live]", timeout=30_000)
    return page


def test_hall_screen_in_english_and_bilingual(server, browser):
    hall = server.tokens["hall_id"]
    page = _screen(browser, server, f"/display/hall/{hall}", {"width": 1920, "height": 1080}, "en")
    expect(page.locator("#now-window")).to_have_text("Please watch for your number")
    expect(page.locator("[data-t=now_calling]")).to_have_text("Now calling")
    expect(page.locator(".win-tile").first).to_contain_text("Window 1")
    expect(page.locator(".q-waiting").first).to_contain_text("waiting")
    assert page.evaluate("document.documentElement.lang") == "en"
    # Only names from the configuration (hall, queues) may stay Chinese on an English screen.
    texts = page.locator(".win-tile, .q-waiting, .q-est, #now, .missed").all_inner_texts()
    assert not any(CJK.search(t) for t in texts), texts
    shot(page, AREA, "hall-screen-en-1920x1080")

    page = _screen(browser, server, f"/display/hall/{hall}", {"width": 1920, "height": 1080}, "bi")
    expect(page.locator("#now-window")).to_have_text("请留意叫号Please watch for your number")
    expect(page.locator("#now-window small.en")).to_have_text("Please watch for your number")
    tile = page.locator(".win-tile").first
    expect(tile.locator("small.en").first).to_have_text("Window 1")
    # Bilingual lines stay inside their tiles (no text runs out of a window tile).
    assert page.evaluate("""[...document.querySelectorAll('.win-tile')].every(t =>
        t.scrollWidth <= t.clientWidth + 1 && t.scrollHeight <= t.clientHeight + 1)""")
    shot(page, AREA, "hall-screen-bilingual-1920x1080")


def test_window_screen_in_english(server, browser):
    page = _screen(browser, server, "/display/window/1", {"width": 800, "height": 480}, "en")
    expect(page.locator("#win-label")).to_have_text("No clerk")
    expect(page.locator("#win-ticket")).to_have_text("Empty")
    expect(page.locator("#win-detail")).to_have_text("Ask the hall staff")
    shot(page, AREA, "window-screen-en-800x480")


def test_booking_and_complaints_in_english_on_a_phone(server, browser):
    hall = server.tokens["hall_id"]
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{server.url}/book/{hall}")
    expect(page.locator("#lang-switch")).to_have_text("English")
    page.click("#lang-switch")
    expect(page.locator("ol.steps li.on")).to_have_text("Service")
    shot(page, AREA, "booking-choose-en-390x844")
    page.locator("a.matter").first.click()
    expect(page.locator("ol.steps li.on")).to_have_text("Time")      # the cookie keeps English
    shot(page, AREA, "booking-slots-en-390x844")
    page.locator("a.slot").first.click()
    page.click("button.primary")                                      # nothing filled in: every error at once
    expect(page.locator("#errors")).to_contain_text("Please correct these 4 fields")
    expect(page.locator("#errors li")).to_have_count(4)
    assert not CJK.search(page.locator("#errors").inner_text())
    shot(page, AREA, "booking-errors-en-390x844")
    page.click("#lang-switch")
    expect(page.locator("ol.steps li.on")).to_have_text("填写信息")

    page.goto(f"{server.url}/complaints/new?hall=demo&lang=en")
    expect(page.locator("h1")).to_have_text("Complaint or report")
    expect(page.locator("#kind option").nth(1)).to_have_text("Attitude of staff")
    shot(page, AREA, "complaint-form-en-390x844")

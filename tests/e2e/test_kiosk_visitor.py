"""Issue 21, the kiosk's visitor surfaces (portrait 1080×1920 and landscape 1920×1080) in headless chromium
against a real server with simulated devices: a visitor 60 or older is offered the green channel and 适老
mode; the ticket screen and the slip say where to wait (the windows' areas); the phone number left for the
SMS is said back masked."""
from __future__ import annotations

import re

import requests

from tests.e2e.test_kiosk_browser import LANDSCAPE, PORTRAIT, _last_printout, _page, server  # noqa: F401

from playwright.sync_api import expect


def test_an_elderly_visitor_is_offered_the_green_channel_and_told_where_to_wait(server, browser):  # noqa: F811
    page, shot = _page(browser, server.url, "visitor-elderly-portrait", viewport=PORTRAIT)
    # Portrait uses the whole height: no band of empty space under the home screen's buttons.
    page.wait_for_timeout(300)
    gap = page.evaluate("""() => { const main = document.querySelector('main').getBoundingClientRect();
        const last = document.querySelector('#s-home .hint').getBoundingClientRect();
        return main.bottom - last.bottom; }""")
    shot("home")
    assert 0 <= gap < 160, gap
    page.click("#go-card")
    # 欧阳明月, born 1960-11-15: 60 or older on any day this test can run.
    requests.post(server.url + "/kiosk/agent/sim/swipe", json={"card": "resident_long_term"}, timeout=5)
    expect(page.locator("#elder-offer")).to_be_visible()
    expect(page.locator("#elder-offer-text")).to_have_text("您已年满60周岁，可以走绿色通道优先办理。")
    assert "1960" not in page.content()          # the birth date itself never reaches the page
    page.click("#elder-mode")
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    shot("offer")
    page.click("#elder-green")
    page.click("[data-category]:has-text('商事登记')")
    page.click("[data-item='SS001']")
    page.click("#btn-phone")
    for digit in "13812341234":
        page.click(f"#phone-keys [data-key='{digit}']")
    page.click("#phone-ok")
    expect(page.locator("#phone-shown")).to_contain_text("138****1234")
    page.click("#btn-issue")
    expect(page.locator("#s-result")).to_be_visible()
    expect(page.locator("#r-tag")).to_contain_text("老年人")
    expect(page.locator("#r-where")).to_have_text("请到A区 1–6号窗口等候")
    expect(page.locator("#r-phone")).to_have_text("快到号时将短信提醒 138****1234")
    assert "13812341234" not in page.content()
    shot("issued")
    # The whole ticket screen fits the portrait kiosk, its button above the footer.
    fits = page.evaluate("""() => { const b = document.getElementById('r-done').getBoundingClientRect();
        const f = document.querySelector('footer') ? document.querySelector('footer').getBoundingClientRect().top : innerHeight;
        return b.bottom <= f + 1; }""")
    assert fits
    # 适老模式 speaks; headless chromium has no Chinese voice, so the server's espeak-ng voice plays.
    page.wait_for_function("() => window.onevisitKioskVoice().some(v => v.method === 'audio' && v.played)",
                           timeout=15_000)
    lines = _last_printout(server.url)["text_lines"]
    assert any("请到A区 1–6号窗口等候" in line for line in lines), lines
    requests.post(server.url + "/kiosk/agent/sim/remove", timeout=5)
    page.context.close()


def test_a_younger_visitor_gets_no_offer_and_english_says_where_to_wait(server, browser):  # noqa: F811
    page, shot = _page(browser, server.url, "visitor-landscape", viewport=LANDSCAPE)
    page.click("#go-card")
    requests.post(server.url + "/kiosk/agent/sim/swipe", json={"card": "resident"}, timeout=5)
    expect(page.locator("#card-identity")).to_contain_text("张*三")
    expect(page.locator("#elder-offer")).to_be_hidden()
    page.click("#btn-lang")
    page.click("#card-walkin")
    page.click("[data-category]:has-text('Social')" if page.locator("[data-category]:has-text('Social')").count()
               else "[data-category] >> nth=1")
    page.locator("[data-item]").first.click()
    page.click("#btn-issue")
    expect(page.locator("#r-where")).to_contain_text("Please wait near")
    expect(page.locator("#r-where")).to_contain_text("window")
    shot("issued-english")
    requests.post(server.url + "/kiosk/agent/sim/remove", timeout=5)
    page.context.close()

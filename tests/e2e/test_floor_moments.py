"""Issue 21: the moments visitors meet at the kiosk, in headless chromium at the kiosk's real sizes,
against a real ``onevisit run`` on the demo hall with simulated devices.

Each test is one defect of the issue: an error that stays, the next visitor starting clean, check-in
pointing the right way, no action under the footer, credible waiting figures, no codes on the footer.
"""
from __future__ import annotations

import re

import pytest
import requests

from tests.e2e.browser import require_chromium, shot, staff_token

require_chromium()

from playwright.sync_api import expect

PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}
AREA = "kiosk-moments"


def _kiosk(browser, srv, viewport=PORTRAIT, query: str = ""):
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    page.goto(f"{srv.url}/kiosk/{query}")
    expect(page.locator("#hall-name")).to_have_text("示例市政务服务中心")
    return page


def _state_polls(page, n: int) -> None:
    """Let the page poll the agent's /state ``n`` more times (the poll that used to wipe the banner)."""
    for _ in range(n):
        with page.expect_response(lambda r: r.url.endswith("/kiosk/agent/state"), timeout=10_000):
            pass


def _actions_in_sight(page) -> list[str]:
    """Return the visible action buttons of the current screen that are NOT fully in sight
    (below the page area, i.e. under the footer, scrolled away, or covered by another element)."""
    return page.evaluate("""() => {
        const main = document.querySelector('main').getBoundingClientRect();
        const foot = document.querySelector('footer').getBoundingClientRect();
        const bottom = Math.min(main.bottom, foot.top);
        return [...document.querySelectorAll('.screen:not(.hidden) .actions button, .screen:not(.hidden) .actions a')]
          .filter(b => b.offsetParent !== null)
          .filter(b => { const r = b.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return r.top < main.top || r.bottom > bottom + 0.5 || !(hit && (hit === b || b.contains(hit))); })
          .map(b => b.id || b.textContent.trim());
    }""")


def test_a_wrong_booking_code_message_stays_until_the_visitor_acts(server, browser):
    page = _kiosk(browser, server)
    page.click("#go-code")
    for key in "99999999":
        page.click(f"#code-keys [data-key='{key}']")
    page.click("#code-ok")
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("操作未成功")
    _state_polls(page, 2)       # two /state polls later the message is still there
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("操作未成功")
    shot(page, AREA, "code-error-stays-portrait")
    page.click("#code-keys [data-key='1']")   # the visitor acts: the message goes
    expect(banner).to_be_hidden()
    page.context.close()


def test_idle_reset_returns_to_chinese_and_ordinary_mode(server, browser):
    page = _kiosk(browser, server, query="?idle=2")
    page.click("#btn-lang")
    page.click("#btn-elder")
    expect(page.locator("#go-take")).to_contain_text("Take a ticket")
    expect(page.locator("body")).to_have_class(re.compile("elder"))
    page.click("#go-take")
    expect(page.locator("#s-browse")).to_be_visible()
    expect(page.locator("#s-home")).to_be_visible(timeout=10_000)   # nobody touched it: back home
    expect(page.locator("#go-take")).to_contain_text("取号")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert "elder" not in (page.locator("body").get_attribute("class") or "")
    expect(page.locator("#btn-elder")).not_to_have_class(re.compile(r"\bon\b"))
    shot(page, AREA, "after-idle-reset-portrait")
    page.context.close()


def test_a_failed_re_read_forgets_the_card_read_before(server, browser):
    page = _kiosk(browser, server)
    page.click("#go-card")
    page.click("#sim-swipe")
    expect(page.locator("#card-identity")).to_contain_text("张*三")
    page.click("#sim-bad")
    expect(page.locator("#card-msg")).to_contain_text("读卡失败")
    expect(page.locator("#card-identity")).to_be_hidden()
    assert "张*三" not in page.locator("main").inner_text()
    assert requests.get(server.url + "/kiosk/agent/state", timeout=5).json()["card"] is None
    shot(page, AREA, "failed-re-read-portrait")
    requests.post(server.url + "/kiosk/agent/sim/remove", timeout=5)
    page.context.close()


@pytest.mark.parametrize("viewport,name", [(PORTRAIT, "portrait"), (LANDSCAPE, "landscape")])
def test_no_action_hides_under_the_footer(server, browser, viewport, name):
    page = _kiosk(browser, server, viewport)
    page.click("#go-bundles")
    page.click("[data-bundle='B01']")            # seven merged materials: the longest notice
    expect(page.locator("#notice-materials tr")).to_have_count(7)
    expect(page.locator("#notice-materials")).to_contain_text("可后补")   # never the insiders' 可容缺
    expect(page.locator("#notice-defer")).to_contain_text("先受理")
    assert "可容缺" not in page.locator("main").inner_text()
    assert _actions_in_sight(page) == []
    shot(page, AREA, f"bundle-notice-{name}")
    page.click("#btn-scan")
    expect(page.locator("#scan-confirm")).to_be_visible(timeout=20_000)
    assert _actions_in_sight(page) == []          # 清晰，保留这页 / 重拍 / 扫描完成
    shot(page, AREA, f"scan-confirm-{name}")
    page.click("#scan-back")
    page.evaluate("window.kiosk.idleReset()")
    # The closed screen, as the kiosk shows it when the hall refuses a ticket.
    page.evaluate("""() => { document.querySelectorAll('.screen').forEach(s => s.classList.add('hidden'));
        document.getElementById('s-closed').classList.remove('hidden'); }""")
    assert _actions_in_sight(page) == []          # 返回首页
    page.context.close()


def test_waiting_figures_are_credible_and_live(server, browser):
    hall_id = server.tokens["hall_id"]
    page = _kiosk(browser, server, LANDSCAPE, query="?refresh=1")
    page.click("#go-take")
    card = page.locator("[data-item='SB001'] .wait")   # queue B: nobody signed in at its windows yet
    expect(card).to_have_text("暂无窗口办理")
    shot(page, AREA, "items-no-window-landscape")
    page.click("[data-item='SB001']")
    page.click("#btn-issue")
    expect(page.locator("#s-result")).to_be_visible()
    page.click("#r-done")
    page.click("#go-take")
    page.click("[data-item='SB001']")
    page.click("#btn-issue")
    ahead = page.locator("#r-ahead")
    expect(ahead).to_contain_text("暂无窗口办理")       # people ahead, nobody serving: no minutes at all
    assert not re.search(r"约 ?0 ?分钟", ahead.inner_text())
    shot(page, AREA, "ticket-no-window-landscape")
    page.click("#r-done")
    # A clerk signs in at window 7 (社保医保即办, queue B): the card shows the count, without a reload.
    clerk = staff_token(server, "clerk07")
    windows = requests.get(f"{server.url}/api/v1/halls/{hall_id}/windows", timeout=5,
                           headers={"Authorization": f"Bearer {clerk}"}).json()["items"]
    w7 = next(w["id"] for w in windows if w["number"] == 7)
    r = requests.post(f"{server.url}/api/v1/windows/{w7}/sign-in", timeout=5,
                      headers={"Authorization": f"Bearer {clerk}"})
    assert r.ok, r.text
    page.click("#go-take")
    expect(card).to_have_text(re.compile(r"等候 \d+ 人"))
    catalog = requests.get(f"{server.url}/api/v1/halls/{hall_id}/catalog", timeout=5).json()
    sb001 = next(i["id"] for i in catalog["items"] if i["code"] == "SB001")
    r = requests.post(f"{server.url}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [sb001]}, timeout=5,
                      headers={"Authorization": f"Bearer {server.tokens['kiosk']}"})
    assert r.status_code == 201, r.text    # someone ahead, in the same queue the kiosk's ticket goes to
    page.click("[data-item='SB001']")
    page.click("#btn-issue")
    expect(ahead).to_contain_text(re.compile(r"预计等待(约 ?[1-9]\d*(–[1-9]\d*)? ?分钟|[1-9]\d* 分钟以内)"))
    shot(page, AREA, "ticket-estimate-landscape")
    requests.post(f"{server.url}/api/v1/windows/{w7}/sign-out", timeout=5,
                  headers={"Authorization": f"Bearer {clerk}"})
    page.context.close()


def test_the_footer_speaks_chinese_not_device_codes(server, browser):
    page = _kiosk(browser, server)
    page.click("#sim-paper")
    expect(page.locator("#foot-devices")).to_contain_text("打印机：暂停使用")
    foot = page.locator("#foot-devices").inner_text()
    assert not re.search(r"[a-z_]{3,}", foot), foot
    shot(page, AREA, "footer-paper-out-portrait")
    page.click("#sim-paper-ok")
    expect(page.locator("#foot-devices")).to_contain_text("打印机：正常")
    page.context.close()


def test_english_mode_names_items_in_english_or_says_it_cannot(server, browser):
    page = _kiosk(browser, server, LANDSCAPE)
    page.click("#btn-lang")
    page.click("#go-take")
    named = page.locator("[data-item='SB002']")
    expect(named.locator("b")).to_have_text("Social security card application")
    expect(named).to_contain_text("Done on the spot")
    unnamed = page.locator("[data-item='SB003']")          # no English name: the Chinese one, marked
    expect(unnamed.locator("b")).to_contain_text("医保关系转移接续")
    expect(unnamed.locator("b")).to_contain_text("name in Chinese only")
    expect(unnamed).to_contain_text("Done within 15 working days")
    assert "即办件" not in page.locator("#items").inner_text() and "承诺件" not in page.locator("#items").inner_text()
    shot(page, AREA, "english-items-landscape")
    page.click("[data-item='SB002']")
    expect(page.locator("#notice-matter")).to_have_text("Social security card application")
    page.context.close()


def test_an_expired_link_opens_a_friendly_chinese_page_on_a_phone(server, browser):
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                               device_scale_factor=2).new_page()
    for path in ("/t/expired-or-unknown-code", f"/guide/{server.tokens['hall_id']}/999999"):
        r = page.goto(server.url + path)
        assert r.status == 404
        expect(page.locator("h1")).to_have_text("链接已失效或页面不存在")
        assert page.locator("meta[name=viewport]").count() == 1
        text = page.locator("body").inner_text()
        assert "Not Found" not in text and not re.search(r"[A-Za-z]{4,}", text), text
        assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)") >= 20
    shot(page, AREA, "expired-link-phone")
    page.context.close()


def test_the_phone_follow_page_is_credible_and_says_what_to_bring(server, browser):
    hall_id = server.tokens["hall_id"]
    catalog = requests.get(f"{server.url}/api/v1/halls/{hall_id}/catalog", timeout=5).json()
    hz = next(i["id"] for i in catalog["items"] if i["code"] == "HZ002")   # 户口迁移: queue A
    kiosk = {"Authorization": f"Bearer {server.tokens['kiosk']}"}
    first = requests.post(f"{server.url}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [hz]}, headers=kiosk,
                          timeout=5).json()
    mine = requests.post(f"{server.url}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [hz]}, headers=kiosk,
                         timeout=5).json()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                device_scale_factor=2).new_page()
    phone.goto(f"{server.url}/t/{mine['follow_code']}")
    ahead = phone.locator("#ahead")
    expect(ahead).to_contain_text("暂无窗口办理")          # nobody serves queue A yet: no minutes
    expect(phone.locator("#matter")).to_have_text("户口迁移（市内）")
    expect(phone.locator("#materials li").first).to_be_visible()
    expect(phone.locator("#hours")).to_contain_text("办公")
    expect(phone.locator("#enable-note")).to_contain_text("前面还剩 3 人")
    # A clerk signs in and calls the first visitor: the phone says who is called where, and a real estimate.
    clerk = {"Authorization": f"Bearer {staff_token(server, 'clerk01')}"}
    windows = requests.get(f"{server.url}/api/v1/halls/{hall_id}/windows", headers=clerk, timeout=5).json()["items"]
    w1 = next(w["id"] for w in windows if w["number"] == 1)
    assert requests.post(f"{server.url}/api/v1/windows/{w1}/sign-in", headers=clerk, timeout=5).ok
    called = requests.post(f"{server.url}/api/v1/windows/{w1}/call-next", headers=clerk, timeout=5).json()["ticket"]
    expect(phone.locator("#now")).to_contain_text(f"{called['number']} 号 · 请到 1 号窗口", timeout=10_000)
    expect(ahead).to_contain_text(re.compile(r"预计(等待)?(约 ?[1-9]\d*(–[1-9]\d*)? ?分钟|[1-9]\d* 分钟以内)|马上就到您了"))
    assert not re.search(r"约 0 分钟", ahead.inner_text())
    shot(phone, AREA, "follow-phone")
    requests.post(f"{server.url}/api/v1/tickets/{called['id']}/finish", json={"outcome": "completed"}, headers=clerk,
                  timeout=5)
    requests.post(f"{server.url}/api/v1/windows/{w1}/sign-out", headers=clerk, timeout=5)
    assert first["number"] != mine["number"]
    phone.context.close()


def test_home_says_whether_the_hall_is_open_and_who_waits(server, browser):
    page = _kiosk(browser, server)
    status = page.locator("#hall-status")
    expect(status).to_contain_text("正在办公 · 今日办公时间 00:00–24:00")   # the demo hall never closes
    expect(page.locator("#queue-strip [data-queue='A']")).to_contain_text(re.compile(r"\d+ 人等候|暂无窗口办理"))
    shot(page, AREA, "home-open-portrait")
    page.context.close()
    # The hall closes today (the next opening is tomorrow at 09:00): the home screen says so, with that time.
    hall_id = server.tokens["hall_id"]
    manager = {"Authorization": f"Bearer {staff_token(server, 'manager')}"}
    before = requests.get(f"{server.url}/api/v1/halls/{hall_id}/settings", headers=manager, timeout=5).json()
    hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    today = requests.get(f"{server.url}/api/v1/halls/{hall_id}/snapshot", headers=manager, timeout=5).json()
    import datetime as dt
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[dt.date.fromisoformat(today["hall"]["service_day"]).weekday()]
    hours[weekday] = []
    try:
        r = requests.patch(f"{server.url}/api/v1/halls/{hall_id}/settings", json={"opening_hours": hours},
                           headers=manager, timeout=5)
        assert r.ok, r.text
        page = _kiosk(browser, server, LANDSCAPE)
        expect(page.locator("#hall-status")).to_contain_text(
            re.compile(r"现在不在办公时间 · 下次办公：\d+月\d+日（周[一二三四五六日]）09:00"))
        shot(page, AREA, "home-closed-landscape")
        page.context.close()
    finally:
        requests.patch(f"{server.url}/api/v1/halls/{hall_id}/settings",
                       json={"opening_hours": before["opening_hours"]}, headers=manager, timeout=5)

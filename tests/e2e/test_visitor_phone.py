"""Issue 21, a visitor's phone (390×844) in headless chromium against a real server.

The follow page (the slip's QR): where to wait, the number being called and where, the matter and its
materials, the hall's address and hours, giving up my place with a confirmation, a 好差评 link once
finished, friendly pages for bad links. Booking and complaints: past slots folded away, every validation
error at once, a success page that lists the materials and the hall's address, and a complaint's look-up
code sent by SMS through the outbox.
"""
from __future__ import annotations

import re
import sqlite3

import pytest
import requests

from tests.e2e.browser import artifacts, require_chromium, staff_token

require_chromium()

from playwright.sync_api import expect

pytestmark = pytest.mark.browser
AREA = "visitor-phone"
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True, "device_scale_factor": 2}




def _shot(page, name: str) -> None:
    artifacts(AREA).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts(AREA) / f"{name}-390x844.png"), full_page=True)


def _outbox(server, kind: str) -> list[tuple]:
    with sqlite3.connect(server.instance / "onevisit.db") as db:
        return db.execute("SELECT kind, dedup_key, text FROM notifications WHERE kind = ?", (kind,)).fetchall()


def _issue(server, code: str = "HZ002") -> dict:
    hall_id = server.tokens["hall_id"]
    catalog = requests.get(f"{server.url}/api/v1/halls/{hall_id}/catalog", timeout=5).json()
    item = next(i["id"] for i in catalog["items"] if i["code"] == code)
    r = requests.post(f"{server.url}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]},
                      headers={"Authorization": f"Bearer {server.tokens['kiosk']}"}, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_follow_page_says_where_to_wait_and_lets_the_visitor_give_up_their_place(server, browser):
    mine = _issue(server)
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{server.url}/t/{mine['follow_code']}")
    expect(phone.locator("#status")).to_have_text("等候中")
    expect(phone.locator("#where")).to_have_text("请到A区 1–6号窗口等候")
    expect(phone.locator("#matter")).to_have_text("户口迁移（市内）")
    expect(phone.locator("#materials li").first).to_be_visible()
    expect(phone.locator("#address")).to_have_text("示例市人民大道88号 市民中心一楼")
    expect(phone.locator("#hours")).to_contain_text("今日办公时间")
    expect(phone.locator("#rate-card")).to_be_hidden()
    _shot(phone, "follow-waiting")
    # Giving up asks first; "继续排队" keeps the place.
    phone.click("#cancel")
    expect(phone.locator("#confirm")).to_be_visible()
    expect(phone.locator("#confirm h2")).to_have_text("确定放弃排队吗？")
    _shot(phone, "follow-confirm")
    phone.click("#confirm-no")
    expect(phone.locator("#confirm")).to_be_hidden()
    assert requests.get(f"{server.url}/api/v1/follow/{mine['follow_code']}", timeout=5).json()["ticket"]["status"] \
        == "waiting"
    phone.click("#cancel")
    phone.click("#confirm-yes")
    expect(phone.locator("#cancel-msg")).to_have_text("已为您放弃排队。还要办理请重新取号。")
    expect(phone.locator("#status")).to_have_text("已取消", timeout=10_000)
    expect(phone.locator("#cancel")).to_be_hidden()
    _shot(phone, "follow-given-up")
    text = phone.locator("body").inner_text()
    assert not re.search(r"[A-Za-z]{4,}", text), text      # no English or codes to a Chinese visitor
    # Once cancelled it stays cancelled: a second try is refused, in the API's usual error shape.
    again = requests.post(f"{server.url}/api/v1/follow/{mine['follow_code']}/cancel", timeout=5)
    assert again.status_code == 409 and again.json()["error"]["code"]
    assert requests.post(f"{server.url}/api/v1/follow/no-such-code/cancel", timeout=5).status_code == 404
    phone.context.close()


def test_a_finished_visit_offers_the_rating_link_and_english_phones_read_english(server, browser):
    mine = _issue(server)
    clerk = {"Authorization": f"Bearer {staff_token(server, 'clerk03')}"}
    hall_id = server.tokens["hall_id"]
    windows = requests.get(f"{server.url}/api/v1/halls/{hall_id}/windows", headers=clerk, timeout=5).json()["items"]
    w3 = next(w["id"] for w in windows if w["number"] == 3)
    assert requests.post(f"{server.url}/api/v1/windows/{w3}/sign-in", headers=clerk, timeout=5).ok
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{server.url}/t/{mine['follow_code']}")
    called = None
    while called is None or called["id"] != mine["id"]:          # earlier tickets of queue A first
        if called is not None:
            requests.post(f"{server.url}/api/v1/tickets/{called['id']}/finish", json={"outcome": "completed"},
                          headers=clerk, timeout=5)
        called = requests.post(f"{server.url}/api/v1/windows/{w3}/call-next", headers=clerk, timeout=5).json()["ticket"]
    expect(phone.locator("#status")).to_have_text("请到 3 号窗口办理", timeout=10_000)
    requests.post(f"{server.url}/api/v1/tickets/{called['id']}/finish", json={"outcome": "completed"}, headers=clerk,
                  timeout=5)
    expect(phone.locator("#status")).to_have_text("已办结", timeout=10_000)
    expect(phone.locator("#rate")).to_be_visible()
    expect(phone.locator("#rate")).to_have_attribute("href", f"/r/{mine['follow_code']}")
    _shot(phone, "follow-finished")
    # The link opens the phone rating page (好差评 by the visitor).
    r = phone.goto(f"{server.url}/r/{mine['follow_code']}")
    assert r.status == 200
    # An unknown code lands on the friendly page, never a server error.
    r = phone.goto(f"{server.url}/r/no-such-code")
    assert r.status == 404
    expect(phone.locator("h1")).to_have_text("链接已失效或页面不存在")
    assert phone.locator("meta[name=viewport]").count() == 1
    phone.context.close()
    english = browser.new_context(**{**PHONE, "locale": "en-US"}).new_page()
    english.goto(f"{server.url}/t/{mine['follow_code']}")
    expect(english.locator("#status")).to_have_text("Finished")
    expect(english.locator("#rate")).to_have_text("Rate this service")
    _shot(english, "follow-finished-english")
    english.context.close()
    requests.post(f"{server.url}/api/v1/windows/{w3}/sign-out", headers=clerk, timeout=5)


def test_book_with_every_error_at_once_then_see_what_to_bring_and_where(server, browser):
    hall_id = server.tokens["hall_id"]
    catalog = requests.get(f"{server.url}/api/v1/halls/{hall_id}/catalog", timeout=5).json()
    item = next(i for i in catalog["items"] if i["code"] == "SS001")
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{server.url}/book/{hall_id}/slots?matter=i{item['id']}")
    page.wait_for_selector("#open-slots, .notice")
    # Past slots never stand among the bookable ones: folded, closed, behind one line.
    outside = page.evaluate("""() => [...document.querySelectorAll('.slot')]
        .filter(s => !s.closest('#past-slots') && s.textContent.includes('已截止')).length""")
    assert outside == 0
    if page.locator("#past-slots").count():
        assert page.locator("#past-slots").get_attribute("open") is None
        expect(page.locator("#past-slots summary")).to_contain_text("个时段")
    _shot(page, "booking-slots")
    if not page.locator("a.slot").count():                   # today is over: book on the next open day
        page.locator("a.day:not(.on):not(.closed)").first.click()
    page.locator("a.slot").first.click()
    page.wait_for_selector("form.form")
    page.fill("#name", "")
    page.fill("#id_number", "12")
    page.fill("#phone", "1380")
    page.click("button[type=submit]")
    expect(page.locator("#errors")).to_be_visible()
    expect(page.locator("#errors p")).to_have_text("请修改以下 4 处后再提交")
    assert sorted(page.locator("#errors li").evaluate_all("els => els.map(e => e.dataset.field)")) == \
        ["consent", "id_number", "name", "phone"]
    for field in ("name", "id_number", "phone"):
        assert page.get_attribute(f"#{field}", "aria-invalid") == "true"
    _shot(page, "booking-all-errors")
    page.fill("#name", "李小红")
    page.fill("#id_number", "110101199003071233")
    page.fill("#phone", "13900001111")
    page.check("#consent")
    page.click("button[type=submit]")
    expect(page.locator(".success h1")).to_have_text("预约成功")
    expect(page.locator("#hall-address")).to_contain_text("示例市人民大道88号 市民中心一楼")
    expect(page.locator("#materials li").first).to_be_visible()
    names = page.locator("#materials li").all_inner_texts()
    assert any("居民身份证" in n for n in names) and len(names) == len(set(names))
    _shot(page, "booking-done")
    page.context.close()


def test_a_complaint_look_up_code_is_sent_by_sms(server, browser):
    page = browser.new_context(**PHONE).new_page()
    page.goto(server.url + "/complaints/new")
    page.select_option("#kind", "efficiency")
    page.fill("#content", "排队两小时没有叫号，也没有人解释原因。")
    page.fill("#complainant_name", "韩梅梅")
    page.fill("#contact", "13700002222")
    page.click("#submit")
    page.wait_for_selector("#complaint-number")
    number, code = page.locator("#complaint-number").inner_text(), page.locator("#lookup-code").inner_text()
    page.fill("#sms-phone", "1370000")
    page.click("#sms-send")
    expect(page.locator("#sms-error")).to_have_text("请填写11位手机号码。")
    assert _outbox(server, "complaint_code") == []
    page.fill("#sms-phone", "13700002222")
    page.click("#sms-send")
    expect(page.locator("#sms-sent")).to_have_text("已将受理编号和查询码发送到 137****2222。")
    expect(page.locator("#lookup-code")).to_have_text(code)
    _shot(page, "complaint-sms")
    sent = _outbox(server, "complaint_code")
    assert len(sent) == 1 and number in sent[0][2] and code in sent[0][2]
    # A wrong code sends nothing; the same complaint's code goes out once however often it is asked.
    forged = requests.post(f"{server.url}/complaints/sms", data={"number": number, "code": "WRONG123",
                                                                  "phone": "13700002222"}, timeout=5)
    assert forged.status_code in (400, 422) and len(_outbox(server, "complaint_code")) == 1
    page.goto(server.url + "/complaints/new")                # a fresh CSRF token of this browser's session
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    again = page.request.post(server.url + "/complaints/sms", form={"csrf_token": csrf, "number": number,
                                                                    "code": code, "phone": "13700002222"})
    assert again.status == 200 and len(_outbox(server, "complaint_code")) == 1
    page.context.close()

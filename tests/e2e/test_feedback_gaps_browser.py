"""Browser tests of the issue-18 gaps against a real server: the phone rating page in English (390×844), the
online question form and its look-up on a phone, the call-back results on the statistics page and the
managers' withholding of a published measure (1366×768). Screenshots in test-artifacts/feedback/."""
from __future__ import annotations

import re

import pytest
import requests

from tests.e2e.browser import api_call, demo_server, end_server, require_chromium, shot, staff_page, staff_token

require_chromium()
pytest.importorskip("playwright.sync_api")
CJK = re.compile(r"[\u4e00-\u9fff]")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}
ENGLISH = ("undefined", "null", "Error", "pending", "reached", "§", "complaint", "rectification", "NaN")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("feedback-e2e"))
    yield srv
    end_server(srv)


def _no_english(text: str) -> None:
    for word in ENGLISH:
        assert word not in text, word


def _finished_visit(server, clerk: str, window_id: int, item: int) -> dict:
    issued = api_call(server, "POST", f"/api/v1/halls/{server.tokens['hall_id']}/tickets", server.tokens["kiosk"],
                      {"item_ids": [item], "name": "张三丰", "id_number": "220102199001011234", "phone": "13912345678"})
    assert api_call(server, "POST", f"/api/v1/windows/{window_id}/call-next", clerk)["ticket"]["id"] == issued["id"]
    api_call(server, "POST", f"/api/v1/tickets/{issued['id']}/finish", clerk, {"outcome": "completed"})
    return issued


def test_the_phone_rating_page_speaks_english_on_an_english_phone(server, browser):
    hall = server.tokens["hall_id"]
    manager, clerk = staff_token(server, "manager"), staff_token(server, "clerk01")
    windows = {w["number"]: w["id"] for w in api_call(server, "GET", f"/api/v1/halls/{hall}/windows", manager)["items"]}
    catalog = requests.get(server.url + f"/api/v1/halls/{hall}/catalog", timeout=10).json()
    item = next(i["id"] for i in catalog["items"] if i["code"] == "SB001")
    api_call(server, "POST", f"/api/v1/windows/{windows[1]}/sign-in", clerk)
    issued = _finished_visit(server, clerk, windows[1], item)

    ctx = browser.new_context(locale="en-US", **PHONE)
    p = ctx.new_page()
    p.goto(server.url + f"/r/{issued['follow_code']}")
    p.wait_for_selector("section[data-ticket] button[data-score='2']")
    assert p.evaluate("document.documentElement.lang") == "en"
    assert p.inner_text("button[data-score='5']") == "Very satisfied"
    p.click("section[data-ticket] button[data-score='2']")
    p.wait_for_selector(".reasons:not([hidden])")
    p.click("text=Long wait in the queue")
    p.fill("textarea", "Forty minutes in the queue")
    main = p.inner_text("main")
    assert not CJK.search(main), main  # everything but the hall's name in the header
    assert "Window 1" in main and f"Ticket {issued['number']}" in main
    assert p.evaluate("document.documentElement.scrollWidth") <= 390
    shot(p, "feedback", "phone-rating-en")
    p.click(".submit")
    p.wait_for_selector("text=Thank you for your rating!")
    shot(p, "feedback", "phone-rated-en")
    p.reload()
    p.wait_for_selector("#empty:has-text('You have rated')")
    ctx.close()
    # The same page on a Chinese phone stays Chinese.
    ctx = browser.new_context(locale="zh-CN", **PHONE)
    p = ctx.new_page()
    p.goto(server.url + f"/r/{issued['follow_code']}")
    p.wait_for_selector("#empty:has-text('您已评价')")
    assert "号码" in p.inner_text("#intro")
    ctx.close()


def test_a_visitor_asks_online_and_reads_the_answer_on_a_phone(server, browser):
    ctx = browser.new_context(locale="zh-CN", **PHONE)
    p = ctx.new_page()
    p.goto(server.url + "/consult/new?hall=demo")
    p.fill("#question", "短")
    p.click("#submit")  # the browser's own check stops a too-short question first
    assert p.url.endswith("/consult/new?hall=demo")
    p.fill("#question", "营业执照遗失了，补办需要带什么材料？身份证号220102199001011234")
    p.select_option("#item_id", index=1)
    p.fill("#contact", "13800138000")
    shot(p, "feedback", "consult-form")
    assert p.evaluate("document.documentElement.scrollWidth") <= 390
    p.click("#submit")
    p.wait_for_selector("#consult-number")
    number, code = p.inner_text("#consult-number"), p.inner_text("#lookup-code")
    assert number.startswith("ZX") and len(code) == 8
    _no_english(p.inner_text("main"))
    shot(p, "feedback", "consult-asked")
    # The hall answers it from the usual pending list.
    manager = staff_token(server, "manager")
    pending = api_call(server, "GET", f"/api/v1/halls/{server.tokens['hall_id']}/consultations?status=pending",
                       manager)["items"]
    mine = next(c for c in pending if c["number"] == number)
    assert "220102199001011234" not in mine["question"]
    api_call(server, "POST", f"/api/v1/consultations/{mine['id']}/answer", manager,
             {"answer": "请带身份证原件到3号窗口，当场补办。"})
    p.click("#status-link")
    p.wait_for_selector("#status-label:has-text('已答复')")
    assert "请带身份证原件" not in p.inner_text("main")  # the number alone shows the status only
    p.fill("#code", code)
    p.click("#status-form button")
    p.wait_for_selector("#answer")
    assert "请带身份证原件到3号窗口" in p.inner_text("#answer") and "220102********1234" in p.inner_text("#question")
    _no_english(p.inner_text("main"))
    assert p.evaluate("document.documentElement.scrollWidth") <= 390
    shot(p, "feedback", "consult-answer")
    ctx.close()


def test_call_back_results_on_the_statistics_page_and_a_withheld_measure(server, browser):
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    requests.put(server.url + f"/api/v1/halls/{hall}/rating-settings", json={"callback_rate_pct": 100},
                 headers={"Authorization": f"Bearer {manager}"}, timeout=10).raise_for_status()
    clerk = staff_token(server, "clerk02")
    windows = {w["number"]: w["id"] for w in api_call(server, "GET", f"/api/v1/halls/{hall}/windows", manager)["items"]}
    catalog = requests.get(server.url + f"/api/v1/halls/{hall}/catalog", timeout=10).json()
    api_call(server, "POST", f"/api/v1/windows/{windows[2]}/sign-in", clerk)
    _finished_visit(server, clerk, windows[2], next(i["id"] for i in catalog["items"] if i["code"] == "SB001"))
    api_call(server, "POST", f"/api/v1/halls/{hall}/callbacks/sample", manager)
    listed = api_call(server, "GET", f"/api/v1/halls/{hall}/callbacks?status=pending", manager)["items"]
    assert listed
    api_call(server, "POST", f"/api/v1/callbacks/{listed[0]['id']}/result", manager,
             {"reached": True, "satisfaction": 5, "remarks": "满意"})
    # A closed complaint with corrective measures, published.
    filed = api_call(server, "POST", f"/api/v1/halls/{hall}/complaints/record", manager, {
        "kind": "attitude", "content": "窗口工作人员态度生硬。", "complainant_name": "赵小明",
        "contact": "13812345678", "channel": "phone"})
    api_call(server, "POST", f"/api/v1/complaints/{filed['id']}/answer", manager,
             {"answer": "已核实并致歉。", "measures": "全员服务规范培训；高峰时段增设引导员。"})
    api_call(server, "POST", f"/api/v1/complaints/{filed['id']}/close", manager)

    ctx, page = staff_page(browser, server, start="/admin/stats")
    page.wait_for_selector("body[data-loaded='1']")
    page.wait_for_selector("#callbacks-months tbody tr")
    months = page.inner_text("#callbacks-months")
    assert "合计" in months and "%" in months
    assert page.locator("#callbacks-departments tbody tr").count() >= 2
    page.locator("#callbacks-card").scroll_into_view_if_needed()
    _no_english(page.inner_text("#callbacks-card"))
    shot(page, "feedback", "stats-callbacks")

    page.goto(server.url + "/admin/measures")
    page.wait_for_selector("body[data-loaded='1']")
    row = page.locator(f"#measures tr[data-source='complaint'][data-id='{filed['id']}']")
    assert "公示中" in row.inner_text() and "赵小明" not in page.inner_text("main")
    row.locator("button").click()
    page.wait_for_selector("#withhold-dialog[open]")
    page.click("#withhold-form button[type=submit]")
    page.wait_for_selector("#w-error:has-text('请填写撤下原因')")
    page.fill("#w-reason", "内容可辨认出当事窗口")
    shot(page, "feedback", "measures-withhold")
    page.click("#withhold-form button[type=submit]")
    page.wait_for_selector(f"#measures tr.withheld[data-id='{filed['id']}']")
    assert "已撤下" in row.inner_text() and "内容可辨认出当事窗口" in row.inner_text()
    _no_english(page.inner_text("main"))
    shot(page, "feedback", "measures-withheld")
    public = requests.get(server.url + "/measures?hall=demo", timeout=10).text
    assert "高峰时段增设引导员" not in public
    row.locator("button").click()
    page.wait_for_selector(f"#measures tr:not(.withheld)[data-id='{filed['id']}']")
    assert "高峰时段增设引导员" in requests.get(server.url + "/measures?hall=demo", timeout=10).text
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    ctx.close()

"""Browser tests of cases (办件) against a real server: the clerk accepts and gets the receipt, the department
works its inbox, the applicant's phone shows the progress page (390×844). Screenshots in test-artifacts/cases/."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.browser import (
    api_call,
    assert_absent,
    call_next,
    catalog_items,
    demo_server,
    end_server,
    hall_windows,
    kiosk_ticket,
    login,
    require_chromium,
    shot,
    staff_token,
    take_window,
)

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")
ENGLISH = ("accepted", "dispatched", "in_review", "result_ready", "undefined", "null", "Error", "§")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("cases-e2e"))
    srv.cli("demo-cases")  # what `make demo` adds: cases in every state
    yield srv
    end_server(srv)


def test_clerk_accepts_and_gets_the_receipt_department_works_the_inbox_applicant_follows_on_the_phone(server, browser):
    manager = staff_token(server, "manager")
    windows = hall_windows(server, manager)
    item = next(i["id"] for i in catalog_items(server) if i["code"] == "SS003")
    issued = kiosk_ticket(server, {"item_ids": [item], "name": "张三丰", "id_number": "220102199001011234", "phone": "13912345678"})

    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    take_window(page, server, "clerk01", windows[1])
    call_next(page, issued["number"])
    page.keyboard.press("F5")
    page.wait_for_selector("#finish-dlg[open]")
    page.select_option("#f-outcome", "accepted")
    page.click("#f-submit")
    receipt = page.wait_for_selector(".case-receipt")
    text = receipt.inner_text()
    assert "受理号" in text and "企业注销登记" in text and "承诺办结日期" in text
    assert_absent(text, ENGLISH)
    number = page.inner_text(".case-receipt strong")
    shot(page, "cases", "console-receipt")
    pdf = page.request.get(server.url + page.get_attribute(".case-receipt a[data-doc=acceptance_notice]", "href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
    page.click(".case-receipt button[data-receipt]")
    page.wait_for_selector("#toast:has-text('受理小票已发送到窗口打印机')")
    ctx.close()

    # The department: its inbox, take, supplement, decide, result ready.
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    login(page, server, "dept-ss")
    page.goto(server.url + "/admin/cases")
    row = page.wait_for_selector(f"#inbox tbody tr:has-text('{number}')")
    assert "企业注销登记" in row.inner_text() and "已分办" in row.inner_text()
    assert page.locator("#inbox tbody tr").count() > 1  # the demo's cases of this department are there too
    shot(page, "cases", "department-inbox")
    row.click()
    page.wait_for_selector("#d-title:has-text('企业注销登记')")
    assert page.inner_text("#d-id") == "220102********1234"
    page.click("button[data-step='take']")
    page.wait_for_selector("#d-state:has-text('审查中')")
    page.click("button[data-step='request-supplement']")
    page.fill("#d-input", "清算报告（补签字）")
    page.click("#d-submit")
    page.wait_for_selector("#d-state:has-text('补正中')")
    page.click("button[data-step='supplement-received']")
    page.wait_for_selector("#d-state:has-text('审查中')")
    page.click("button[data-step='decide:approved']")
    page.wait_for_selector("#d-state:has-text('已作出决定')")
    page.click("button[data-step='result-ready']")
    page.fill("#d-input", "出件柜A-05")  # where the handover window finds it
    page.click("#d-submit")
    page.wait_for_selector("#d-state:has-text('结果待领取')")
    shot(page, "cases", "department-case")
    assert_absent(page.inner_text("main"), ENGLISH)
    case_id = int(page.get_attribute(f"#inbox tbody tr:has-text('{number}')", "data-case"))
    ctx.close()

    # The applicant's phone: the receipt's QR opens the progress page.
    token = staff_token(server, "clerk01")
    detail = api_call(server, "GET", f"/api/v1/cases/{case_id}", token)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                device_scale_factor=2)
    p = phone.new_page()
    p.goto(server.url + detail["progress_path"])
    p.wait_for_selector("#state:has-text('结果待领取')")
    body = p.inner_text("body")
    assert "出件" in p.inner_text("#collect") and "企业注销登记" in body and "张*丰" in body
    assert "220102" not in body
    assert_absent(body, ENGLISH)
    # Nothing sticks out of a 390-pixel-wide phone.
    assert p.evaluate("document.documentElement.scrollWidth") <= 390
    shot(p, "cases", "progress-phone")
    phone.close()


def test_manager_sees_the_case_indicators_with_their_definitions(server, browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    login(page, server, "manager")
    page.goto(server.url + "/admin/stats")
    page.wait_for_selector("#case-indicators tbody tr[data-key='on_time_rate']")
    text = page.inner_text("#case-indicators-card")
    for label in ("当场受理率", "按时办结率", "即办件比率", "容缺补正按时率", "平均办理用时", "超期未办结", "人均跑动次数",
                  "一次办成率", "口径说明"):
        assert label in text, label
    assert "市场监督管理局" in page.inner_text("#case-indicators tr[data-key='overdue_by_department']")
    assert_absent(text, ENGLISH)
    page.locator("#case-indicators-card").screenshot(path=str(__import__("tests.e2e.browser", fromlist=["x"])
                                                            .artifacts("cases") / "stats-indicators.png"))
    page.goto(server.url + "/admin/cases")
    page.wait_for_selector("#inbox tbody tr")
    shot(page, "cases", "manager-cases")
    ctx.close()


def test_kiosk_pickup_with_the_simulated_id_card_issues_a_handover_ticket(server, browser):
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url + "/kiosk/")
    page.click("#go-card")
    page.click("#sim-swipe")  # the demo kiosk's simulated card: the demo's ready results are this person's
    page.wait_for_selector("#pickup-box:not(.hidden)")
    assert page.inner_text("#pickup-count") == "您有 2 件办理结果可领取"
    page.locator("#s-card").screenshot(path=str(__import__("tests.e2e.browser", fromlist=["x"])
                                               .artifacts("cases") / "kiosk-pickup.png"))
    page.click("#pickup-take")
    page.wait_for_selector("#s-result:not(.hidden)")
    number = page.inner_text("#r-number")
    assert number.startswith("G")             # the handover window's queue (出件)
    shot(page, "cases", "kiosk-pickup-ticket")
    assert "110101199003071233" not in page.content()
    requests.post(server.url + "/kiosk/agent/sim/remove", timeout=5)
    ctx.close()
    # The handover window sees which results this ticket came for.
    token = staff_token(server, "clerk12")
    windows = hall_windows(server, token)
    api_call(server, "POST", f"/api/v1/windows/{windows[12]}/sign-in", token, {})
    called = api_call(server, "POST", f"/api/v1/windows/{windows[12]}/call-next", token, {})["ticket"]
    assert called["number"] == number
    attached = api_call(server, "GET", f"/api/v1/tickets/{called['id']}/pickup-cases", token)["items"]
    assert len(attached) == 2 and {c["state"] for c in attached} == {"result_ready"}

"""Browser tests of issue 18 parts 4–7 on a real demo server (with `onevisit demo-cases`): the consultation page
(1366×768), the audit viewer and the leadership page (1920×1080 and 1366×768), the public measures page on a
phone (390×844) and a desktop. Screenshots in test-artifacts/supervision/."""
from __future__ import annotations

import re

import pytest

from tests.e2e.browser import api_call, demo_server, end_server, require_chromium, shot, staff_page, staff_token

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")
# Words a Chinese staff page must never show: codes, English, clause numbers, script leftovers.
ENGLISH = re.compile(r"undefined|null|NaN|Error|ticket\.|case\.|walk_up|pending|answered|empty_post|§|\[object")


def _chinese_only(page) -> None:
    text = page.inner_text("body")
    found = ENGLISH.search(text)
    assert found is None, found.group(0)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("supervision-e2e"))
    srv.cli("demo-cases")
    hall = srv.tokens["hall_id"]
    m = staff_token(srv, "manager")
    filed = api_call(srv, "POST", f"/api/v1/halls/{hall}/complaints/record", m, {
        "kind": "efficiency", "content": "上午排队两个小时，窗口只开了一个。", "complainant_name": "周大伟",
        "contact": "13811112222", "channel": "phone"})
    api_call(srv, "POST", f"/api/v1/complaints/{filed['id']}/answer", m, {
        "answer": "经核实情况属实，已向您致歉。", "measures": "高峰时段（9:00–11:00）增开两个综合窗口；已电话告知周大伟"
                                                   "（13811112222）整改情况。"})
    api_call(srv, "POST", f"/api/v1/complaints/{filed['id']}/close", m)
    srv.hall = hall
    yield srv
    end_server(srv)


def test_consultation_page_logs_answers_and_shows_the_rates(server, browser):
    ctx, page = staff_page(browser, server)
    page.click("nav a[data-nav='consultations']")
    page.wait_for_url("**/admin/consultations")
    # Walk-up, answered at once.
    page.select_option("#channel", "walk_up")
    page.fill("#question", "社保卡丢失后怎么补办？")
    page.fill("#answer", "带身份证到社保窗口当场补办，工本费按规定收取。")
    page.click("#ask-submit")
    page.wait_for_selector("#answered tbody tr")
    # A phone question promised for later: without a contact the page says what is missing.
    page.select_option("#channel", "phone")
    page.fill("#question", "个体工商户注销需要带哪些材料？")
    page.check("input[name=mode][value=later]")
    page.click("#ask-submit")
    page.wait_for_selector("#ask-error:not([hidden])")
    assert "联系方式" in page.inner_text("#ask-error")
    page.fill("#asker", "张三丰")
    page.fill("#contact", "13800138000")
    page.click("#ask-submit")
    page.wait_for_selector("#pending tbody tr")
    row = page.inner_text("#pending tbody tr")
    assert "张*丰" in row and "138****8000" in row and "张三丰" not in row and "13800138000" not in row
    assert page.inner_text("#pending-count") == "1"
    page.wait_for_selector("#rates tbody tr")
    rates = page.inner_text("#rates")
    assert "咨询回复率" in rates and "50.0%" in rates and "计算口径" in rates
    shot(page, "supervision", "consultations-1366x768")
    _chinese_only(page)
    # Answer it from the pending list.
    page.click("#pending tbody tr button")
    page.fill("#reply-text", "营业执照正副本、清税证明和经营者身份证。")
    page.click("#reply-submit")
    page.wait_for_selector("#pending-empty:not([hidden])")
    page.wait_for_function("() => document.querySelector('#rates').innerText.includes('100.0%')")
    shot(page, "supervision", "consultations-answered-1366x768")
    ctx.close()


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_audit_viewer_chain_violations_and_filters(server, browser, size):
    ctx, page = staff_page(browser, server, size=size, start="/admin/audit")
    page.wait_for_selector("#chain.ok, #chain.bad")
    assert "操作记录完整" in page.inner_text("#chain")
    page.wait_for_selector(".vtile")
    labels = page.locator(".vtile .k").all_inner_texts()
    assert labels == ["空岗", "逾期未办结", "办理结果未送达", "不予受理"]
    # Too long a range is refused in words; the demo cases lie in the last weeks: drill into the refusals.
    page.fill("#v-from", "2000-01-01")
    page.click("#v-form button[type=submit]")
    page.wait_for_selector("#v-error:not([hidden])")
    assert "400天" in page.inner_text("#v-error")
    page.fill("#v-from", "2026-01-01")
    page.click("#v-form button[type=submit]")
    page.wait_for_selector("#v-error", state="hidden")
    page.wait_for_function("() => document.querySelector('.vtile[data-key=refusal] .v').innerText !== '0'")
    page.click(".vtile[data-key=refusal]")
    page.wait_for_selector("#drill:not([hidden])")
    assert "不予受理理由" in page.inner_text("#drill-table thead")
    assert page.locator("#drill-table tbody tr").count() >= 1
    shot(page, "supervision", f"audit-violations-{size[0]}x{size[1]}")
    # The log, filtered to one action.
    page.wait_for_selector("#log tbody tr")
    page.select_option("#a-action", "ticket.finish")
    page.click("#a-form button[type=submit]")
    page.wait_for_function("() => [...document.querySelectorAll('#log tbody tr td:nth-child(3)')]"
                           ".every(td => td.innerText === '办结')")
    assert page.locator("#log tbody tr").count() >= 1
    _chinese_only(page)
    shot(page, "supervision", f"audit-log-{size[0]}x{size[1]}")
    ctx.close()


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_leadership_page_every_indicator_with_definition_and_trend(server, browser, size):
    ctx, page = staff_page(browser, server, size=size)
    page.click("nav a[data-nav='leadership']")
    page.wait_for_url("**/admin/leadership")
    page.wait_for_selector(".lead-card")
    titles = page.locator(".lead-card h2").all_inner_texts()
    for label in ("当场受理率", "按时办结率", "即办件比率", "网上办结率", "咨询回复率", "咨询及时率"):
        assert any(label in t for t in titles), label
    platform = page.locator(".lead-card.platform")
    assert platform.count() == 3
    assert "省级政务服务平台" in platform.first.inner_text() and "0.0%" not in platform.first.inner_text()
    page.wait_for_selector(".lead-card[data-key=on_time_rate] canvas")  # the trend, drawn by ECharts
    assert page.locator(".lead-card .def").count() == len(titles)
    assert page.locator("#l-table tbody tr").count() == len(titles)
    shot(page, "supervision", f"leadership-{size[0]}x{size[1]}")
    _chinese_only(page)
    ctx.close()


@pytest.mark.parametrize("size,name", [((390, 844), "phone"), ((1366, 768), "desktop")])
def test_published_measures_public_page(server, browser, size, name):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN",
                              is_mobile=name == "phone", device_scale_factor=2 if name == "phone" else 1)
    page = ctx.new_page()
    page.goto(server.url + "/measures?hall=demo")
    page.wait_for_selector(".measure")
    text = page.inner_text("#measures")
    assert "高峰时段" in text and "投诉处理" in text and "办事效率" in text
    assert "周大伟" not in text and "13811112222" not in text and "群众" in text
    # Fits the phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
    shot(page, "supervision", f"measures-{name}")
    ctx.close()

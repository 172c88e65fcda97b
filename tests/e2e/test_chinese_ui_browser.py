"""The Chinese pages say refusals in Chinese, never in the API's English, codes or clause numbers: the phone
complaint form (390×844), the capacity calendar, the 403 page and the statistics' time zone (1366×768), a hall
screen's token error (800×480; English only on ?lang=bi). Screenshots in test-artifacts/chinese-ui/."""
from __future__ import annotations

import re

import pytest

from tests.e2e.browser import (
    demo_server,
    end_server,
    login,
    require_chromium,
    shot,
    staff_page,
)

require_chromium()
pytest.importorskip("playwright.sync_api")
AREA = "chinese-ui"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}
# An English word (3+ letters), a snake_case code, a clause number or an ISO timestamp.
FOREIGN = re.compile(r"[A-Za-z]{3,}|\b[a-z]+_[a-z_]+\b|§|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ALLOWED = {"OneVisit", "English", "CSV"}  # the product's name, the language switch, a file format


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("chinese-ui-e2e"))
    yield srv
    end_server(srv)


def _chinese_only(text: str) -> None:
    foreign = sorted({m for m in FOREIGN.findall(text) if m not in ALLOWED})
    assert not foreign, (foreign, text)


def test_a_refused_complaint_form_says_what_to_fix_in_chinese(server, browser):
    ctx = browser.new_context(locale="zh-CN", **PHONE)
    p = ctx.new_page()
    p.goto(server.url + "/complaints/new?hall=demo")
    p.locator("select[name=kind]").select_option(index=1)
    p.fill("[name=content]", "窗口工作人员让我等了很久")
    p.fill("[name=complainant_name]", "张三")
    p.fill("[name=contact]", "abc")  # passes the browser's check, not the server's
    p.locator("button[type=submit]").first.click()
    p.wait_for_load_state()
    main = p.inner_text("main")
    assert "有误的项目：联系电话或邮箱" in main, main
    _chinese_only(main)
    shot(p, AREA, "complaint-refused-390x844")
    ctx.close()


def test_the_capacity_calendar_takes_and_refuses_in_chinese(server, browser):
    ctx, p = staff_page(browser, server, start="/admin/appointments/capacity")
    _chinese_only(p.inner_text("main") + p.get_attribute("#day", "placeholder"))
    for day, time, capacity, said in (("monday", "*", "5", "日期或星期请填写"), ("*", "25:99", "5", "时段开始请填写"),
                                      ("*", "*", "5000", "号源数请填写 0 至 999")):
        p.fill("#day", day)
        p.fill("#time", time)
        p.fill("#capacity", capacity)
        p.click("text=保存规则")
        p.wait_for_load_state()
        main = p.inner_text("main")
        assert said in main, main
        _chinese_only(main)
    p.fill("#day", "周一")
    p.fill("#time", "*")
    p.fill("#capacity", "7")
    p.click("text=保存规则")
    p.wait_for_load_state()
    assert "号源规则已保存" in p.inner_text("main")
    assert p.locator("#rules td", has_text="周一").count() == 1
    _chinese_only(p.inner_text("main"))
    shot(p, AREA, "capacity-1366x768")
    ctx.close()


def test_a_clerk_on_a_managers_page_and_a_manager_on_statistics_read_chinese(server, browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    p = ctx.new_page()
    login(p, server, "clerk01")  # a clerk lands on the console, not the dashboard staff_page waits for
    p.wait_for_url("**/admin/console")
    p.goto(server.url + "/admin/config")
    main = p.inner_text("main")
    assert "需要的角色：管理员 / 大厅管理" in main, main
    _chinese_only(main)
    ctx.close()
    ctx, p = staff_page(browser, server, start="/admin/stats")
    p.wait_for_function("() => document.getElementById('range').textContent.includes('服务日')")
    assert "北京时间（东八区）" in p.inner_text("#range")
    _chinese_only(p.inner_text("#range"))
    ctx.close()


def test_a_screen_with_a_bad_token_says_so_in_chinese_and_bilingual_on_request(server, browser):
    ctx = browser.new_context(viewport={"width": 800, "height": 480}, locale="zh-CN")
    p = ctx.new_page()
    p.goto(server.url + f"/display/hall/{server.tokens['hall_id']}?token=wrong")
    assert "令牌无效" in p.inner_text("body")
    _chinese_only(p.inner_text("body"))
    shot(p, AREA, "screen-bad-token-800x480")
    p.goto(server.url + f"/display/hall/{server.tokens['hall_id']}?token=wrong&lang=bi")
    assert "Invalid, expired or revoked screen token." in p.inner_text("body")
    ctx.close()

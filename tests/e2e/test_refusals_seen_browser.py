"""A second look at pages as their users see them: a refusal or a lost connection is said in Chinese where the
user is looking, a double click does one thing, and nothing needed sits off screen. The visitor's rating page
(390×844) and the rating pad (800×480), the case pages, consultations, the leadership page (1366×768), the
booking pages on a phone and the clerk console after a few calls. Screenshots in test-artifacts/second-look/."""
from __future__ import annotations

import pytest

from tests.e2e.browser import (
    api_call,
    assert_absent,
    catalog_items,
    demo_server,
    end_server,
    hall_windows,
    kiosk_ticket,
    login,
    require_chromium,
    shot,
    staff_page,
    staff_token,
    take_window,
)

require_chromium()
pytest.importorskip("playwright.sync_api")
AREA = "second-look"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}
ENGLISH = ("undefined", "null", "Error", "validation", "§", "String should")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("second-look-e2e"))
    srv.cli("demo-cases")  # cases in every state, some past their promised date
    yield srv
    end_server(srv)


def _served(server, clerk: str, window_id: int) -> dict:
    """A ticket issued at the kiosk, called and finished at ``window_id`` (whatever waited before it first)."""
    item = next(i["id"] for i in catalog_items(server) if i["code"] == "SB001")
    issued = kiosk_ticket(server, {"item_ids": [item], "name": "张三丰", "id_number": "220102199001011234",
                                   "phone": "13912345678"})
    while True:
        called = api_call(server, "POST", f"/api/v1/windows/{window_id}/call-next", clerk)["ticket"]
        api_call(server, "POST", f"/api/v1/tickets/{called['id']}/finish", clerk, {"outcome": "completed"})
        if called["id"] == issued["id"]:
            return issued


def _rated_badly(server, clerk_name: str, window_number: int, score: int) -> tuple[dict, dict, str, str]:
    """A visit served at ``window_number`` and rated ``score`` on the slip's QR: (slip, its rectification,
    the manager's and the clerk's tokens)."""
    manager, clerk = staff_token(server, "manager"), staff_token(server, clerk_name)
    window = hall_windows(server, manager)[window_number]
    api_call(server, "POST", f"/api/v1/windows/{window}/sign-in", clerk)
    slip = _served(server, clerk, window)
    api_call(server, "POST", f"/api/v1/follow/{slip['follow_code']}/rating", None,
             {"ticket_id": slip["id"], "score": score, "reasons": ["attitude"], "comment": ""})
    case = next(r for r in api_call(server, "GET", f"/api/v1/halls/{server.tokens['hall_id']}/rectifications",
                                    manager)["items"] if r["ticket_id"] == slip["id"])
    return slip, case, manager, clerk


def test_the_phone_answer_to_a_rectification_survives_a_lost_connection(server, browser):
    slip, case, manager, clerk = _rated_badly(server, "clerk03", 3, score=1)
    clerk_id = api_call(server, "GET", "/api/v1/auth/me", clerk)["staff"]["id"]
    api_call(server, "POST", f"/api/v1/rectifications/{case['id']}/assign", manager,
             {"responsible_clerk_id": clerk_id, "fix_plan": "窗口服务礼仪培训"})
    api_call(server, "POST", f"/api/v1/rectifications/{case['id']}/fix", manager, {"fix": "已完成培训"})
    api_call(server, "POST", f"/api/v1/rectifications/{case['id']}/feedback", manager, {"feedback": "已电话致歉并说明整改"})

    ctx = browser.new_context(locale="zh-CN", **PHONE)
    p = ctx.new_page()
    p.goto(server.url + f"/r/{slip['follow_code']}")
    p.wait_for_selector(".answer button.no")
    ctx.set_offline(True)
    p.click(".answer button.no")
    # Said in red on the card, both answers still there to try again (not a green "done" line without buttons).
    p.wait_for_selector(".answer .error:not([hidden])")
    assert "网络" in p.inner_text(".answer .error")
    assert p.locator(".answer .done").count() == 0
    assert p.locator(".answer button:not([disabled])").count() == 2
    shot(p, AREA, "rating-answer-offline-390x844")
    ctx.set_offline(False)
    p.click(".answer button.no")
    p.wait_for_selector(".answer .done:has-text('重新整改')")
    assert_absent(p.inner_text("body"), ENGLISH)
    ctx.close()
    reopened = next(r for r in api_call(server, "GET", f"/api/v1/halls/{server.tokens['hall_id']}/rectifications",
                                        manager)["items"] if r["id"] == case["id"])
    assert reopened["rater_answer"] is not None and reopened["reopened"] == 1


def test_a_visitor_who_rates_too_often_is_told_so_not_to_check_the_network(server, browser):
    """The rating API answers 429 ``rate_limited`` to a flood from one address: the phone page says 过于频繁, and
    keeps the submit button for a later try (it said 请检查网络)."""
    clerk = staff_token(server, "clerk04")
    window = hall_windows(server, staff_token(server, "manager"))[4]
    api_call(server, "POST", f"/api/v1/windows/{window}/sign-in", clerk)
    slip = _served(server, clerk, window)
    ctx = browser.new_context(locale="zh-CN", **PHONE)
    p = ctx.new_page()
    p.route("**/rating", lambda route: route.fulfill(
        status=429, content_type="application/json",
        body='{"error": {"code": "rate_limited", "message": "too many requests"}}')
        if route.request.method == "POST" else route.continue_())
    p.goto(server.url + f"/r/{slip['follow_code']}")
    p.click(".card .scores button[data-score='1']")
    assert p.is_visible(".card .reasons")  # a bad score asks why
    p.click(".card .scores button[data-score='5']")
    assert not p.is_visible(".card .reasons")  # a good one does not (the grid's display showed them anyway)
    p.click(".card button.submit")
    p.wait_for_selector(".card .error:not([hidden])")
    said = p.inner_text(".card .error")
    assert "频繁" in said and "网络" not in said
    assert p.locator(".card button.submit:not([disabled])").count() == 1
    assert_absent(p.inner_text("body"), ENGLISH)
    shot(p, AREA, "rating-too-often-390x844")
    ctx.close()


def test_the_pad_says_a_refusal_on_the_screen_the_visitor_sees_and_keeps_submit_on_a_small_pad(server, browser):
    manager, clerk = staff_token(server, "manager"), staff_token(server, "clerk04")
    window = hall_windows(server, manager)[4]
    api_call(server, "POST", f"/api/v1/windows/{window}/sign-in", clerk)
    pad = api_call(server, "POST", f"/api/v1/windows/{window}/pad-token", manager)["token"]
    ctx = browser.new_context(viewport={"width": 800, "height": 480}, locale="zh-CN")
    p = ctx.new_page()
    p.goto(server.url + f"/admin/pad/{window}?token={pad}")
    # The visit served at this window by the test before was never rated: the pad may open asking for it
    # (its snapshot's rating prompt), so either first state is right; what matters is that it asks for ours.
    p.wait_for_selector("body[data-state='idle'], body[data-state='ask']")
    slip = _served(server, clerk, window)
    p.wait_for_selector(f"#ask:not([hidden]) #ask-number:text-is('{slip['number']}')")
    ctx.set_offline(True)
    p.wait_for_selector("#live-state:has-text('连接中断')")
    p.click("button[data-score='5']")  # a good score is sent from the faces: its failure is said there
    p.wait_for_selector("#ask-error:not([hidden])")
    assert "网络" in p.inner_text("#ask-error")
    shot(p, AREA, "pad-offline-800x480")
    p.click("button[data-score='1']")
    p.wait_for_selector("#why:not([hidden])")
    p.click(".reason >> nth=2")
    ctx.set_offline(False)
    # The reconnect asks the server again: the visitor stays on the reasons with their tick, not back at the faces.
    p.wait_for_function("() => document.getElementById('live-state').textContent === ''")
    p.wait_for_timeout(500)  # the snapshot's rating prompt comes back after the reconnect
    assert p.evaluate("document.body.dataset.state") == "why"
    assert p.locator("input[name=reason]:checked").count() == 1
    p.click(".reason >> nth=2")
    p.click("#why-submit")
    assert p.inner_text("#why-error") == "请选择不满意的原因，或写下您的意见"
    box = p.locator("#why-submit").bounding_box()
    assert box["y"] + box["height"] <= 480, box  # on screen without scrolling, under eight reason tiles
    api_call(server, "POST", f"/api/v1/windows/{window}/pad-token", manager)  # a new link: this pad's stops
    p.click(".reason >> nth=0")
    p.click("#why-submit")
    p.wait_for_selector("#why-error:has-text('评价器链接已失效，请告知窗口工作人员')")
    assert_absent(p.inner_text("body"), ENGLISH + ("登录",))
    shot(p, AREA, "pad-revoked-800x480")
    ctx.close()


def test_a_case_past_its_date_and_refused_steps_read_plainly(server, browser):
    manager = staff_token(server, "manager")
    listed = api_call(server, "GET", f"/api/v1/halls/{server.tokens['hall_id']}/cases?limit=200", manager)["items"]
    cases = [api_call(server, "GET", f"/api/v1/cases/{c['id']}", manager) for c in listed
             if c["state"] in ("dispatched", "in_review", "result_ready")]
    single = [c for c in cases if not c.get("children")]
    late = next(c for c in single if c["clock"]["running"] and c["clock"]["working_days_left"] < 0)
    review = next(c for c in single if c["state"] == "in_review")
    ready = next(c for c in single if c["state"] == "result_ready")
    ctx, p = staff_page(browser, server, start="/admin/cases")

    def find(case):
        p.fill("#find-no", case["acceptance_no"])
        p.click("#find-btn")
        p.wait_for_selector(f"#d-no:text-is('{case['acceptance_no']}')")

    def step(name, first, second=None):
        p.click(f"button[data-step='{name}']")
        p.fill("#d-input", first)
        if second is not None:
            p.fill("#d-input2", second)
        p.click("#d-submit")
        p.wait_for_selector("#d-error:not([hidden])")
        said = p.inner_text("#d-error")
        p.evaluate("document.getElementById('d-error').hidden = true")
        return said

    p.fill("#find-no", "DEMO9999999999")
    p.click("#find-btn")
    p.wait_for_selector("#toast:has-text('未找到该受理号的办件')")  # the page had no toast box: said to nobody
    find(late)
    assert "已超期" in p.inner_text("#d-clock") and "-" not in p.inner_text("#d-clock"), p.inner_text("#d-clock")
    find(review)
    assert step("special-procedure/start", "专家评审", "999") == "特别程序所需工作日请填写 1 至 365 的整数。"
    find(ready)
    assert step("hand-over:pickup", "") == "请刷领取人身份证。"
    assert step("hand-over:pickup", "123") == "身份证号格式不正确，请刷卡或输入18位身份证号。"
    assert step("hand-over:courier", "顺丰速运", "SF" + "1" * 70) == "运单号最多60字。"
    assert_absent(p.inner_text("main"), ENGLISH + ("操作失败",))
    shot(p, AREA, "case-refused-1366x768")
    ctx.close()

    # The handover window's clerk has no department: no 部门 filter that names one and changes nothing.
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    p = ctx.new_page()
    login(p, server, "clerk12")
    p.wait_for_url("**/admin/console")
    p.goto(server.url + "/admin/cases")
    p.wait_for_selector("#inbox tbody tr")
    assert p.is_hidden("#dept")
    assert "结果待领取" in p.inner_text("#inbox")
    ctx.close()


def test_a_double_click_logs_one_consultation_and_a_short_reply_is_said_to_be_short(server, browser):
    manager = staff_token(server, "manager")
    pending = f"/api/v1/halls/{server.tokens['hall_id']}/consultations?status=pending"
    before = len(api_call(server, "GET", pending, manager)["items"])
    ctx, p = staff_page(browser, server, start="/admin/consultations")
    p.fill("#question", "个体工商户变更经营场所需要哪些材料")
    p.check("[name=mode][value=later]")
    p.dblclick("#ask-submit")
    p.wait_for_selector("#pending tbody tr")
    p.wait_for_function("() => !document.getElementById('ask-submit').disabled")
    assert len(api_call(server, "GET", pending, manager)["items"]) == before + 1
    p.locator("#pending tbody tr button").first.click()
    p.wait_for_selector("#reply-dialog[open]")
    p.fill("#reply-text", "好")
    p.click("#reply-submit")
    p.wait_for_selector("#reply-error:not([hidden])")
    assert p.inner_text("#reply-error") == "请填写答复内容（至少2个字）。"
    shot(p, AREA, "consultation-short-reply-1366x768")
    ctx.close()


def test_the_leadership_trend_lines_read_in_per_cent(server, browser):
    ctx, p = staff_page(browser, server, start="/admin/leadership")
    p.wait_for_selector(".lead-card .echart")
    # The axis and the tooltip of a rate: 0–100 %, not 0–1 (the charts' "count" kind).
    said = p.evaluate("""() => {
      const chart = echarts.getInstanceByDom(document.querySelector('.lead-card .echart'));
      const o = chart.getOption();
      return [o.yAxis[0].max, o.yAxis[0].axisLabel.formatter(0.5), o.tooltip[0].valueFormatter(0.284)];
    }""")
    assert said == [1, "50%", "28.4%"], said
    ctx.close()


def test_booking_on_a_phone_wraps_a_long_name_and_an_empty_cancel_says_what_to_fill(server, browser):
    ctx = browser.new_context(locale="zh-CN", **PHONE)
    p = ctx.new_page()
    hall = server.tokens["hall_id"]
    p.goto(server.url + f"/book/{hall}")
    p.locator("a.matter").nth(3).click()
    p.locator("a.slot").first.click()
    p.fill("[name=name]", "王" * 50)  # the longest the form takes
    p.fill("[name=id_number]", "110101199003075555")
    p.fill("[name=phone]", "13912340000")
    p.check("[name=consent]")
    p.locator("button[type=submit]").first.click()
    p.wait_for_selector("#code")
    assert p.evaluate("document.documentElement.scrollWidth") <= 390  # the masked name wraps on the phone
    shot(p, AREA, "booking-long-name-390x844")
    p.goto(server.url + f"/book/{hall}/cancel")
    p.locator("button[type=submit]").first.click()
    p.wait_for_selector(".error")
    assert p.inner_text(".error") == "请填写预约确认码和预约时填写的身份证号码。"
    ctx.close()


def test_finishing_a_ticket_takes_down_the_message_about_it(server, browser):
    manager = staff_token(server, "manager")
    window = hall_windows(server, manager)[5]
    item = next(i["id"] for i in catalog_items(server) if i["code"] == "SB001")
    for _ in range(2):
        kiosk_ticket(server, {"item_ids": [item]})
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    p = ctx.new_page()
    take_window(p, server, "clerk05", window)
    p.keyboard.press("F1")
    p.wait_for_selector("#ticket:not([hidden])")
    for _ in range(6):  # up to the hall's recall limit, and once more
        p.keyboard.press("F2")
        p.wait_for_timeout(300)
    p.wait_for_selector("#toast:has-text('重呼次数已达上限')")
    p.keyboard.press("F5")
    p.wait_for_selector("#finish-dlg[open]")
    p.dblclick("#f-submit")
    p.wait_for_selector("#last-finished:not([hidden])")
    assert p.is_hidden("#toast"), p.inner_text("#toast")  # not 重呼次数已达上限 over an empty desk
    assert p.is_hidden("#f-error")
    shot(p, AREA, "console-finished-1366x768")

    # The next visitor: each dialog's refusal in the clerk's words, not the API's English or its generic line.
    p.keyboard.press("F1")
    p.wait_for_selector("#ticket:not([hidden])")
    p.keyboard.press("F5")
    p.wait_for_selector("#finish-dlg[open]")
    p.select_option("#f-outcome", "notice")
    p.click("#f-submit")  # no missing material picked: the API's "a one-time notice (一次性告知) needs detail…"
    p.wait_for_selector("#f-error:not([hidden])")
    assert p.inner_text("#f-error") == "请选择缺少的材料"
    p.keyboard.press("Escape")
    p.keyboard.press("F6")
    p.wait_for_selector("#transfer-dlg[open]")
    p.click("#x-submit")
    assert p.inner_text("#x-error") == "请选择转办到的窗口或队列"
    p.keyboard.press("Escape")
    p.keyboard.press("F5")
    p.wait_for_selector("#finish-dlg[open]")
    p.select_option("#f-outcome", "completed")
    p.click("#f-submit")
    p.wait_for_selector("#ticket-empty:not([hidden])")
    p.keyboard.press("F7")
    p.wait_for_selector("#pause-dlg[open]")
    p.click("#p-submit")
    assert p.inner_text("#p-error") == "请填写暂停原因"
    assert_absent(p.inner_text("body"), ENGLISH + ("填写的内容",))
    ctx.close()


def test_the_rectification_dialog_says_which_field_in_its_own_words(server, browser):
    _, case, _, _ = _rated_badly(server, "clerk06", 6, score=2)
    ctx, p = staff_page(browser, server, start="/admin/ratings")
    p.click(f"#cases tr[data-case='{case['id']}'] button")
    p.wait_for_selector("#case-dlg[open]")

    def refused(button):
        p.click(button)
        p.wait_for_selector("#d-error:not([hidden])")
        # Said where the manager looks: inside the dialog's visible part, which scrolls on a 768-pixel screen.
        p.wait_for_function("""() => { const d = document.getElementById('case-dlg').getBoundingClientRect();
          const e = document.getElementById('d-error').getBoundingClientRect();
          return e.top >= d.top && e.bottom <= d.bottom; }""", timeout=3000)
        said = p.inner_text("#d-error")
        p.evaluate("document.getElementById('d-error').hidden = true")
        return said

    p.fill("#d-plan", "")
    assert refused("#d-assign-btn") == "请填写整改要求。"  # not 填写的内容有误，请检查后重试
    p.fill("#d-plan", "窗口服务礼仪培训")
    p.fill("#d-deadline", "2020-01-01")
    assert refused("#d-assign-btn") == "整改期限不能早于今天。"  # not 补正期限有误 (a case's 补正)
    p.fill("#d-deadline", "")
    p.click("#d-assign-btn")
    p.wait_for_selector("#d-fix:not([hidden])")
    assert refused("#d-fix-btn") == "请填写整改措施。"
    shot(p, AREA, "rectification-refused-1366x768")
    ctx.close()

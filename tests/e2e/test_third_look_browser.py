"""A third look at pages as their users see them, at their real sizes: the kiosk (1080×1920) and the phone's follow
page (390×844) when a ticket is first in line but no window serves its queue; the appointment pages' refused saves
(1366×768), said in red with the setting's limits; the holiday list with a long name; the configuration forms'
empty required fields. Screenshots in test-artifacts/third-look/."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browser import (
    api_call,
    assert_absent,
    hall_windows,
    require_chromium,
    shot,
    staff_page,
    staff_token,
)

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

AREA = "third-look"
PORTRAIT = {"width": 1080, "height": 1920}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}
ENGLISH = ("undefined", "null", "NaN", "Error", "validation", "String should")
ERROR_RED = "rgb(253, 236, 234)"  # admin.css's .error background


def test_first_in_line_with_no_window_serving_is_not_told_it_is_next(server, browser):
    """The demo hall opens with nobody signed in at 综合受理's windows: the first ticket there has nobody ahead,
    yet nobody will call it; the kiosk and the phone say so (as the slip does) instead of 马上就到您了."""
    ctx = browser.new_context(viewport=PORTRAIT, locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url + "/kiosk/")
    page.click("#go-take")
    page.click("[data-category]:has-text('商事登记')")
    page.click("[data-item='SS001']")
    page.click("#btn-issue")
    expect(page.locator("#s-result")).to_be_visible()
    expect(page.locator("#r-ahead")).to_have_text("暂无窗口办理，请留意叫号")
    shot(page, AREA, "kiosk-first-no-window")
    follow = parse_qs(urlparse(page.locator("#r-qr").get_attribute("src")).query)["path"][0]
    ctx.close()

    ctx = browser.new_context(locale="zh-CN", **PHONE)
    phone = ctx.new_page()
    phone.goto(server.url + follow)
    expect(phone.locator("#ahead")).to_have_text("暂无窗口办理，请留意叫号")
    assert "马上就到您了" not in phone.inner_text("body")
    shot(phone, AREA, "phone-first-no-window")
    ctx.close()


def test_a_refused_booking_setting_is_said_in_red_with_its_limits(server, browser):
    ctx, page = staff_page(browser, server, "manager", start="/admin/appointments/capacity")
    page.fill("#slot_minutes", "0")
    page.click("form:has(#reminder_minutes) button[type=submit]")
    flash = page.locator(".flash").first
    expect(flash).to_have_text("时段长度（分钟）：请填写 5 至 240 的整数")
    expect(flash).to_have_attribute("role", "alert")
    # Not the blue of "预约设置已保存": a refusal reads as one.
    assert flash.evaluate("e => getComputedStyle(e).backgroundColor") == ERROR_RED
    shot(page, AREA, "capacity-refused")
    page.fill("#reminder_minutes", "-60")
    page.click("form:has(#reminder_minutes) button[type=submit]")
    expect(page.locator(".flash").first).to_have_text("提醒时间：最多 5 个 1 至 10080 的分钟数，用逗号分隔，如 1440,60")
    page.goto(server.url + "/admin/appointments/holidays")
    page.fill("#day", "2031-05-02")
    page.select_option("#kind", "workday")
    page.fill("#hours", "9点到12点")
    page.click("form button:has-text('添加')")
    expect(page.locator(".flash").first).to_contain_text("调休办公时间请写成 08:30-12:00,13:00-17:30")
    assert_absent(page.inner_text("body"), ENGLISH)
    ctx.close()


def _lines(locator, pick: str) -> list[int]:
    """How many lines the text of each element that ``pick`` (a JS function of the located element) names takes."""
    # A text box that starts below the bottom of every box before it starts a new line (mixed font sizes
    # share a line without sharing a top).
    return locator.evaluate(f"""e => ({pick})(e).map(x => {{ const r = document.createRange(); r.selectNodeContents(x);
        const boxes = [...r.getClientRects()].filter(q => q.width > 0).sort((a, b) => a.top - b.top);
        let lines = 0, bottom = -Infinity;
        for (const q of boxes) {{ if (q.top >= bottom - 1) lines++; bottom = Math.max(bottom, q.bottom); }}
        return lines; }})""")


def test_a_long_holiday_name_wraps_alone(server, browser):
    """A name of a hundred characters (what the hall keeps) wraps in its own column; the date, the kind and the
    row's 删除 stay on one line each."""
    ctx, page = staff_page(browser, server, "manager", start="/admin/appointments/holidays")
    expect(page.locator("#name")).to_have_attribute("maxlength", "100")
    page.fill("#day", "2031-05-01")
    page.fill("#name", "劳动节" * 34)
    page.click("form button:has-text('添加')")
    row = page.locator("#holidays tr:has-text('2031-05-01')")
    expect(row).to_be_visible()
    lines = _lines(row, "tr => [tr.cells[0], tr.cells[1], tr.cells[4].querySelector('button')]")
    assert lines == [1, 1, 1], lines
    shot(page, AREA, "holiday-long-name")
    ctx.close()


def _new_saved(browser, server, kind: str, fill: dict[str, str]):
    """Open 配置's form for a new ``kind`` (items, windows…), fill it and press 保存: (context, page, dialog)."""
    ctx, page = staff_page(browser, server, "manager", start="/admin/config")
    page.click(f"[data-tab={kind}]")
    expect(page.locator(f"#tab-{kind} .config-table tbody tr").first).to_be_visible()  # lists loaded: a new
    page.click(f"[data-new={kind}]")                                                    # window's number is free
    dialog = page.locator(f"#dlg-{kind}")
    for selector, value in fill.items():
        dialog.locator(selector).fill(value)
    dialog.locator("button[type=submit]").first.click()
    return ctx, page, dialog


def test_an_empty_required_field_of_a_config_form_says_it_is_required(server, browser):
    ctx, page, dialog = _new_saved(browser, server, "items", {})
    expect(dialog.locator(".field:has(#items-code) .field-error")).to_have_text("必填")
    expect(dialog.locator(".field:has(#items-name) .field-error")).to_have_text("必填")
    shot(page, AREA, "config-item-empty")
    ctx.close()


def test_a_field_refused_twice_shows_its_note_once(server, browser):
    """A window's break plan that is no time range fails its start and its end: one 格式不对 beside the field."""
    ctx, page, dialog = _new_saved(browser, server, "windows", {"[name=break_plan]": "午休"})
    notes = dialog.locator(".field:has([name=break_plan]) .field-error")
    expect(notes.first).to_be_visible()
    assert notes.all_inner_texts() == ["格式不对"], notes.all_inner_texts()
    shot(page, AREA, "config-window-break-plan")
    ctx.close()


def test_a_device_is_listed_with_the_halls_time_not_the_pcs(server, browser):
    """The manager's PC may sit in another zone (here New York's): 登记时间 is the hall's (Beijing) time, as every
    other page has it."""
    hall = server.tokens["hall_id"]
    device = api_call(server, "GET", f"/api/v1/halls/{hall}/devices", staff_token(server, "manager"))["items"][0]
    created = datetime.fromisoformat(device["created_at"].removesuffix("Z")).replace(tzinfo=UTC)
    expected = created.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y/%m/%d %H:%M")
    ctx, page = staff_page(browser, server, "manager", start="/admin/config", timezone_id="America/New_York")
    page.click("[data-tab=devices]")
    row = page.locator("#device-table tr", has_text=device["name"]).first
    expect(row).to_contain_text(expected)
    shot(page, AREA, "devices-hall-time")
    ctx.close()


def test_a_long_device_name_wraps_alone(server, browser):
    """Only the name of a device with a long name wraps: its kind, window, time, state and the heads stay whole."""
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    api_call(server, "POST", f"/api/v1/halls/{hall}/devices", manager, {"role": "kiosk", "name": "东区自助取号机" * 14})
    ctx, page = staff_page(browser, server, "manager", start="/admin/config")
    page.click("[data-tab=devices]")
    table = page.locator("#device-table")
    expect(table).to_contain_text("东区自助取号机东区")
    heads = _lines(table, "t => [...t.querySelectorAll('th')].filter(h => h.textContent)")
    cells = _lines(table.locator("tr", has_text="东区自助取号机东区"), "tr => [...tr.cells].slice(1, 5)")
    assert set(heads) == {1} and cells == [1, 1, 1, 1], (heads, cells)
    shot(page, AREA, "devices-long-name")
    ctx.close()


def test_a_window_without_queues_says_so_on_the_floor_view(server, browser):
    """A window saved with no queue ticked calls nobody: 配置 and 现场管理 say so instead of a bare 队列：; a helping
    queue reads 协办 on both (as the window form has it)."""
    ctx, page, dialog = _new_saved(browser, server, "windows", {"[name=name]": "临时窗口"})
    expect(dialog).to_be_hidden()
    expect(page.locator("#tab-windows tr", has_text="临时窗口")).to_contain_text("未设置")
    page.goto(server.url + "/admin/dashboard")
    card = page.locator("#windows .win", has_text="临时窗口")
    expect(card).to_contain_text("队列：未设置，叫不到号")
    expect(page.locator("#windows .win", has_text="综合受理5")).to_contain_text("队列：A E（协办）")
    shot(page, AREA, "floor-window-without-queues")
    ctx.close()


def test_a_field_the_browser_refuses_is_said_in_chinese(server, browser):
    """Staff forms the browser checks itself (好差评 settings, holidays) say why in Chinese whatever the browser's
    language (headless chromium's is English)."""
    ctx, page = staff_page(browser, server, "manager", start="/admin/ratings")
    refused = "e => e.validationMessage"
    expect(page.locator("#s-days")).not_to_have_value("")  # the saved settings are in: they would overwrite ours
    page.fill("#s-days", "99")
    page.click("#settings button[type=submit]")
    assert page.locator("#s-days").evaluate(refused) == "不能大于 30"
    page.fill("#s-days", "5")
    page.fill("#s-region", "北京")
    page.click("#settings button[type=submit]")
    assert page.locator("#s-region").evaluate(refused) == "格式不对：12位数字"
    page.fill("#s-region", "110101000000")  # corrected: the browser's check passes again
    assert page.locator("#s-region").evaluate(refused) == ""
    page.goto(server.url + "/admin/appointments/holidays")
    page.click("form button:has-text('添加')")
    assert page.locator("#day").evaluate(refused) == "请选择日期"
    shot(page, AREA, "holiday-no-date")
    ctx.close()


def test_the_public_complaint_form_says_its_refusals_in_the_pages_language(server, browser):
    """The complaint and consultation forms a visitor opens on a phone: an empty required field is said in Chinese
    on the Chinese page (the browser's own words were English here), in the browser's words on the English one."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = ctx.new_page()
    refused = "e => e.validationMessage"
    page.goto(server.url + "/complaints/new?hall=demo")
    page.fill("#content", "太慢")
    page.click("#complaint-form button[type=submit]")
    assert page.locator("#content").evaluate(refused) == "至少 5 个字"
    page.fill("#content", "窗口人员态度不好")
    page.click("#complaint-form button[type=submit]")
    assert page.locator("#complainant_name").evaluate(refused) == "请填写此项"
    assert page.url.endswith("/complaints/new?hall=demo")  # nothing was sent
    page.goto(server.url + "/consult/new?hall=demo")
    page.click("#consult-form button[type=submit]")
    assert page.locator("#question").evaluate(refused) == "请填写此项"
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=en]")
    page.click("#consult-form button[type=submit]")
    said = page.locator("#question").evaluate(refused)
    assert said and not re.search(r"[\u4e00-\u9fff]", said), said
    ctx.close()


def test_a_long_window_name_keeps_the_counter_screen_whole(server, browser):
    """On an 800×480 counter screen a long window name stays on one line: 11号窗口 is one piece and the clerk's
    A岗 line is above the footer, not behind it. (Window 11 serves queue F only: the kiosk test above needs nobody
    serving queue A, whichever runs first.)"""
    manager = staff_token(server, "manager")
    window = hall_windows(server, manager)[11]
    api_call(server, "PATCH", f"/api/v1/windows/{window}", manager, {"name": "社会保障卡申领补换及医保关系转移接续综合窗口"})
    api_call(server, "POST", f"/api/v1/windows/{window}/sign-in", staff_token(server, "clerk11"))
    ctx = browser.new_context(viewport={"width": 800, "height": 480}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{server.url}/display/window/{window}?token={server.tokens['screen']}&layout=small")
    expect(page.locator(".clerk-post")).to_contain_text("A岗")
    assert page.evaluate("document.documentElement.scrollWidth") <= 800   # nothing pushed off the screen's side
    assert page.locator(".win-number small").evaluate("e => e.getClientRects().length") == 1  # 号窗口 not broken
    assert _lines(page.locator(".win-id"), "e => [e.querySelector('.win-name')]") == [1]
    post, foot = (page.locator(s).bounding_box() for s in (".clerk-post", ".win-foot"))
    assert post["y"] + post["height"] <= foot["y"] + 1, (post, foot)
    shot(page, AREA, "window-screen-long-name")
    ctx.close()


def test_an_empty_rectification_list_says_so(server, browser):
    """差评整改 with nothing to do says 暂无…, as every other list does, instead of a bare head row."""
    ctx, page = staff_page(browser, server, "manager", start="/admin/ratings")
    expect(page.locator("#cases tbody")).to_have_text("暂无待办的差评整改")
    page.check("#show-closed")
    expect(page.locator("#cases tbody")).to_contain_text(re.compile(r"暂无差评整改|#\d+"))
    ctx.close()


@pytest.mark.parametrize("size", [PORTRAIT, {"width": 1920, "height": 1080}], ids=["portrait", "landscape"])
def test_senior_mode_home_fits_above_the_footer(server, browser, size):
    """适老模式's home entries and the line under them (不需要预约也可以直接取号办理) are all on the screen, above the
    device footer: an older visitor does not scroll."""
    ctx = browser.new_context(viewport=size, locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url + "/kiosk/")
    page.click("#btn-elder")
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    cut = page.evaluate("""() => { const f = document.querySelector('footer');
        const limit = f ? f.getBoundingClientRect().top : innerHeight;
        return [...document.querySelectorAll('#s-home button.big, #s-home .hint')].filter(b => b.offsetParent)
          .filter(b => b.getBoundingClientRect().bottom > limit + 1).map(b => b.id || b.textContent); }""")
    assert cut == [], cut  # 不需要预约也可以直接取号办理 too: read without scrolling
    shot(page, AREA, f"kiosk-senior-home-{size['width']}x{size['height']}")
    ctx.close()


def _held(page, pattern: str) -> list:
    """Hold the page's requests matching ``pattern`` until the test lets them go (``route.continue_()``)."""
    held: list = []
    page.route(pattern, lambda route: held.append(route) if route.request.method == "GET" else route.continue_())
    return held


def test_a_new_window_waits_for_the_list_before_choosing_its_number(server, browser):
    """新建窗口 pressed while the window list is still on its way does not offer number 1 (taken in the demo hall):
    the form opens with the next free number once the list is in, and that number is saved."""
    ctx, page = staff_page(browser, server, "manager", start="/admin/config")
    held = _held(page, "**/api/v1/halls/*/windows")
    page.click("[data-tab=windows]")
    expect(page.locator("#tab-windows")).to_have_attribute("data-loaded", "0")
    page.click("[data-new=windows]")
    number = page.locator("#dlg-windows [name=number]")
    assert not page.locator("#dlg-windows").is_visible() or number.input_value() != "1"
    while not held:
        page.wait_for_timeout(50)
    for route in held:
        route.continue_()
    page.unroute("**/api/v1/halls/*/windows")
    expect(page.locator("#dlg-windows")).to_be_visible()
    taken = hall_windows(server, staff_token(server, "manager"))
    expect(number).to_have_value(str(max(taken) + 1))
    shot(page, AREA, "config-new-window-number")
    page.locator("#dlg-windows button[type=submit]").first.click()
    expect(page.locator("#dlg-windows")).to_be_hidden()
    expect(page.locator("#tab-windows tr", has_text=f"综合窗口{max(taken) + 1}")).to_be_visible()
    ctx.close()


def test_rating_settings_typed_before_they_load_are_kept(server, browser):
    """What the manager types into 好差评设置 before the saved settings arrive stays; untouched fields get the saved
    values, and the form says 加载中… meanwhile."""
    manager = staff_token(server, "manager")
    saved = api_call(server, "GET", f"/api/v1/halls/{server.tokens['hall_id']}/rating-settings", manager)
    ctx, page = staff_page(browser, server, "manager")
    held = _held(page, "**/rating-settings")
    page.goto(server.url + "/admin/ratings")
    expect(page.locator("#s-secret-note")).to_have_text("加载中…")
    typed = "7" if saved["rectify_working_days"] != 7 else "8"
    page.fill("#s-days", typed)
    while not held:
        page.wait_for_timeout(50)
    for route in held:
        route.continue_()
    page.unroute("**/rating-settings")
    expect(page.locator("#s-secret-note")).to_contain_text("签名密钥")  # the saved settings are in
    expect(page.locator("#s-days")).to_have_value(typed)
    expect(page.locator("#s-rate")).to_have_value(str(saved["callback_rate_pct"]))
    shot(page, AREA, "ratings-typed-before-load")
    ctx.close()

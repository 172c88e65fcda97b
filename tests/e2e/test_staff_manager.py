"""Issue 21, staff side: the manager's pages at 1920×1080 and 1366×768 — statistics charts drawn by ECharts over
the demo hall's 30 days of history (integer ticks, tooltips, PNG export, no clause numbers), the KPI strip on
the floor view, configuration widgets, the rating pad, the appointment tabs and the 办件 filter row."""
from __future__ import annotations

import re

import pytest

from tests.e2e.browser import api_call, require_chromium, shot, staff_page, staff_token

require_chromium()

from playwright.sync_api import expect

SIZES = {"1920x1080": {"width": 1920, "height": 1080}, "1366x768": {"width": 1366, "height": 768}}
AREA = "staff-manager"


def _page(browser, server, size, username="manager", start=None):
    """A logged-in page of ``size`` (the dashboard, or ``start``) and the list its script errors go to."""
    errors: list[str] = []
    _ctx, page = staff_page(browser, server, username, size=(SIZES[size]["width"], SIZES[size]["height"]),
                            timeout_ms=15000, errors=errors, start=start, accept_downloads=True)
    page.wait_for_load_state()
    return page, errors


# The axis ticks and option of one chart, read from the ECharts instance (functions: the CSP forbids eval).
_TICKS = ("([id, axis]) => echarts.getInstanceByDom(document.getElementById(id)).getModel()"
          ".getComponent('yAxis', axis).axis.scale.getTicks().map((t) => t.value)")
_POINTS = "(id) => echarts.getInstanceByDom(document.getElementById(id)).getOption().series[0].data.length"


@pytest.mark.parametrize("size", list(SIZES))
def test_statistics_charts_by_echarts_over_thirty_days(server, browser, size):
    page, errors = _page(browser, server, size, start="/admin/stats")
    page.wait_for_selector("body[data-loaded='1']")
    text = page.locator("main").inner_text()
    assert "§" not in text and not re.search(r"\b00\d\b", text), "clause numbers on the statistics page"
    int(page.locator("[data-kpi='取号'] .v").inner_text())  # the history: thousands of tickets
    assert int(page.locator("[data-kpi='取号'] .v").inner_text()) > 1000
    assert page.evaluate(_POINTS, "chart-volume") == 30
    for box, axis in (("chart-volume", 0), ("chart-windows", 0)):
        ticks = page.evaluate(_TICKS, [box, axis])
        assert ticks and all(float(t).is_integer() for t in ticks), (box, ticks)  # no "2.5 tickets"
    rates = page.evaluate(_TICKS, ["chart-rates", 0])
    assert rates[0] == 0 and rates[-1] == 1
    # A tooltip names the day and the figures.
    box = page.locator("#chart-volume").bounding_box()
    page.locator("#chart-volume").scroll_into_view_if_needed()
    box = page.locator("#chart-volume").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6, steps=8)
    tip = page.locator("#chart-volume > div").filter(has_text="取号").last
    expect(tip).to_be_visible()
    assert re.search(r"\d{2}-\d{2}", tip.inner_text()), tip.inner_text()
    shot(page, AREA, f"statistics-tooltip-{size}")
    # 保存为图片: the toolbox button downloads a PNG of the chart.
    with page.expect_download() as dl:
        page.mouse.click(box["x"] + box["width"] - 24, box["y"] + 18)  # the toolbox icon (right 8, padding 5)
    assert dl.value.suggested_filename == "取号与办件趋势.png"
    with open(dl.value.path(), "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    page.mouse.move(0, 0)
    shot(page, AREA, f"statistics-{size}")
    assert not errors, errors
    page.context.close()


def _issue(server, code="SS001"):
    hall = server.tokens["hall_id"]
    catalog = api_call(server, "GET", f"/api/v1/halls/{hall}/catalog", None)
    item = next(i["id"] for i in catalog["items"] if i["code"] == code)
    return api_call(server, "POST", f"/api/v1/halls/{hall}/tickets", server.tokens["kiosk"], {"item_ids": [item]})


def test_floor_view_kpi_strip_is_live(server, browser):
    """The KPI strip counts today only (the 30 days of history stay out) and follows the hall's events."""
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    clerk = staff_token(server, "clerk03")
    windows = {w["number"]: w["id"] for w in api_call(server, "GET", f"/api/v1/halls/{hall}/windows", manager)["items"]}
    api_call(server, "POST", f"/api/v1/windows/{windows[3]}/sign-in", clerk)
    before = api_call(server, "GET", f"/api/v1/halls/{hall}/snapshot", manager)
    waiting_before = sum(q["waiting"] for q in before["queues"])
    pad = api_call(server, "POST", f"/api/v1/windows/{windows[3]}/pad-token", manager, {})["token"]
    for size in SIZES:
        page, errors = _page(browser, server, size)   # on the dashboard
        page.wait_for_selector("body[data-kpis-loaded]")
        # Live before the ticket is issued: an event sent before the page's connection is up never reaches it.
        expect(page.locator("#live-state")).to_have_text("实时连接正常")
        issued = int(page.locator("#kpi-issued").inner_text())
        served = int(page.locator("#kpi-served").inner_text())
        assert issued < 100, "history counted as today"
        t = _issue(server)
        expect(page.locator("#kpi-issued")).to_have_text(str(issued + 1))
        expect(page.locator("#kpi-waiting")).to_have_text(str(waiting_before + 1))
        expect(page.locator("#kpi-wait-longest")).not_to_have_text("—")
        called = api_call(server, "POST", f"/api/v1/windows/{windows[3]}/call-next", clerk)["ticket"]
        api_call(server, "POST", f"/api/v1/tickets/{called['id']}/finish", clerk, {"outcome": "completed"})
        api_call(server, "POST", f"/api/v1/tickets/{called['id']}/rating", pad, {"score": 5})
        expect(page.locator("#kpi-served")).to_have_text(str(served + 1))
        expect(page.locator("#kpi-waiting")).to_have_text(str(waiting_before))
        expect(page.locator("#kpi-satisfaction")).to_have_text("100.0%")
        assert t["id"] == called["id"]
        # The strip is one row across the top at both desk sizes.
        tops = {round(b["y"]) for b in (page.locator(f"#kpis .kpi >> nth={i}").bounding_box() for i in range(6))}
        assert len(tops) == 1, tops
        shot(page, AREA, f"dashboard-kpis-{size}")
        assert not errors, errors
        page.context.close()


def test_configuration_time_zone_select_and_24_hour_times(server, browser):
    page, errors = _page(browser, server, "1366x768", start="/admin/config")
    expect(page.locator("#timezone")).to_have_value("Asia/Shanghai")
    assert page.locator("#timezone").evaluate("(e) => e.tagName") == "SELECT"
    labels = page.locator("#timezone option").all_inner_texts()
    assert "北京时间（东八区）" in labels and not any(re.search(r"[A-Za-z]", x) for x in labels), labels
    # The service-day boundary is a 24-hour field (no 上午/下午): 23:30 stays 23:30.
    assert page.get_attribute("#day_boundary", "type") == "text"
    expect(page.locator("#day_boundary")).to_have_value("03:00")
    page.fill("#day_boundary", "02:30")
    page.select_option("#timezone", "Asia/Urumqi")
    page.fill("#no_show_min_s", "90")
    page.fill("#address", "示例市人民路 1 号政务服务中心一楼")
    page.fill("#elderly_age", "65")
    shot(page, AREA, "config-settings-1366x768")
    page.click("#settings-form button[type=submit]")
    manager = staff_token(server, "manager")
    hall = server.tokens["hall_id"]
    expect(page.locator("#toast")).to_have_text("大厅设置已保存")  # the save ended (the error hides as it starts)
    expect(page.locator("#settings-error")).to_be_hidden()
    settings = api_call(server, "GET", f"/api/v1/halls/{hall}/settings", manager)
    assert (settings["timezone"], settings["day_boundary"], settings["no_show_min_s"]) == ("Asia/Urumqi", "02:30", 90)
    assert (settings["address"], settings["elderly_age"]) == ("示例市人民路 1 号政务服务中心一楼", 65)
    page.fill("#day_boundary", "25:00")
    assert page.locator("#day_boundary").evaluate("(e) => e.checkValidity()") is False
    api_call(server, "PATCH", f"/api/v1/halls/{hall}/settings", manager,
             {"timezone": "Asia/Shanghai", "day_boundary": "03:00", "no_show_min_s": 120})
    assert not errors, errors
    page.context.close()


def test_rating_pad_faces_and_touch_size_reasons(server, browser):
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    windows = {w["number"]: w["id"] for w in api_call(server, "GET", f"/api/v1/halls/{hall}/windows", manager)["items"]}
    pad = api_call(server, "POST", f"/api/v1/windows/{windows[4]}/pad-token", manager, {})
    clerk = staff_token(server, "clerk04")
    api_call(server, "POST", f"/api/v1/windows/{windows[4]}/sign-in", clerk)
    page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
    page.goto(pad["url"])
    page.wait_for_selector("body[data-state=idle]")
    t = _issue(server, "HZ002")  # queue A only
    called = api_call(server, "POST", f"/api/v1/windows/{windows[4]}/call-next", clerk)["ticket"]
    api_call(server, "POST", f"/api/v1/tickets/{called['id']}/finish", clerk, {"outcome": "completed"})
    page.wait_for_selector("body[data-state=ask]")
    faces = page.locator("#scores button.score")
    expect(faces).to_have_count(5)
    for i in range(5):
        b = faces.nth(i).bounding_box()
        assert b["width"] >= 150 and b["height"] >= 180, b  # big enough for a finger
        assert faces.nth(i).locator("svg.face").bounding_box()["width"] >= 80
    assert faces.nth(0).locator(".stars").inner_text().startswith("★★★★★")
    shot(page, AREA, "pad-faces-1280x800")
    page.click("button[data-score='2']")
    page.wait_for_selector("body[data-state=why]")
    reasons = page.locator(".reasons label.reason")
    assert reasons.count() >= 4
    for i in range(reasons.count()):
        assert reasons.nth(i).bounding_box()["height"] >= 56  # touch size
    reasons.nth(0).click()  # the whole tile toggles the reason
    assert reasons.nth(0).locator("input").is_checked()
    shot(page, AREA, "pad-reasons-1280x800")
    page.click("#why-submit")
    page.wait_for_selector("body[data-state=thanks]")
    assert t["id"] == called["id"]
    page.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_appointment_tabs_show_the_page_you_are_on(server, browser, size):
    page, errors = _page(browser, server, size)
    for path, label in (("/admin/appointments", "今日预约与签到"), ("/admin/appointments/holidays", "节假日与调休")):
        page.goto(server.url + path)
        current = page.locator(".appt-tabs a[aria-current='page']")
        expect(current).to_have_count(1)
        expect(current).to_have_text(label)
        colour = current.evaluate("(e) => getComputedStyle(e).borderBottomColor")
        other = page.locator(".appt-tabs a:not([aria-current])").first.evaluate(
            "(e) => getComputedStyle(e).borderBottomColor")
        assert colour != other, (colour, other)
    shot(page, AREA, f"appointment-tabs-{size}")
    assert not errors, errors
    page.context.close()


def test_cases_filter_row_is_one_aligned_line(server, browser):
    page, errors = _page(browser, server, "1366x768", username="manager", start="/admin/cases")
    row = page.locator(".filter-row")
    expect(row).to_be_visible()
    boxes = [row.locator(sel).bounding_box() for sel in ("#dept", "#state-filter", "#find-no", "#find-btn")]
    centres = [b["y"] + b["height"] / 2 for b in boxes]
    assert max(centres) - min(centres) <= 4, centres  # one line, centred on one axis
    shot(page, AREA, "cases-filter-row-1366x768")
    assert not errors, errors
    page.context.close()

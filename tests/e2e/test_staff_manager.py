"""Issue 21, staff side: the manager's pages at 1920×1080 and 1366×768 — statistics charts drawn by ECharts over
the demo hall's 30 days of history (integer ticks, tooltips, PNG export, no clause numbers), the KPI strip on
the floor view, configuration widgets, the rating pad, the appointment tabs and the 办件 filter row."""
from __future__ import annotations

import re

import pytest

from tests.e2e.browser import ARGS, CHROMIUM, api_call, demo_server, login, require_chromium, shot, staff_token

require_chromium()

from playwright.sync_api import expect, sync_playwright

SIZES = {"1920x1080": {"width": 1920, "height": 1080}, "1366x768": {"width": 1366, "height": 768}}
AREA = "staff-manager"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("staff-manager"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _page(browser, server, size, username="manager"):
    ctx = browser.new_context(viewport=SIZES[size], locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, server, username)
    page.wait_for_load_state()
    return page, errors


# The axis ticks and option of one chart, read from the ECharts instance (functions: the CSP forbids eval).
_TICKS = ("([id, axis]) => echarts.getInstanceByDom(document.getElementById(id)).getModel()"
          ".getComponent('yAxis', axis).axis.scale.getTicks().map((t) => t.value)")
_POINTS = "(id) => echarts.getInstanceByDom(document.getElementById(id)).getOption().series[0].data.length"


@pytest.mark.parametrize("size", list(SIZES))
def test_statistics_charts_by_echarts_over_thirty_days(server, browser, size):
    page, errors = _page(browser, server, size)
    page.goto(server.url + "/admin/stats")
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
    assert open(dl.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
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
        page, errors = _page(browser, server, size)
        page.goto(server.url + "/admin/dashboard")
        page.wait_for_selector("body[data-kpis-loaded]")
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

"""Issue 21: the manager's blind spots on the floor view (1366×768): a window open for service that
nobody signed into is an empty post with its alert (002 §6.9 不得空岗, counted from opening time);
hall notices are listed with their end time and can be withdrawn from the page."""
from __future__ import annotations

import json
import re

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.e2e.browser import api_call, demo_server, end_server, require_chromium, shot, staff_page, staff_token

require_chromium()

from playwright.sync_api import expect

AREA = "manager-moments"


def _open_around_the_clock(instance) -> None:
    engine = create_engine(f"sqlite:///{instance / 'onevisit.db'}")
    hours = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    with engine.begin() as conn:
        conn.execute(text("UPDATE halls SET opening_hours = :h"), {"h": json.dumps(hours)})
    engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo hall, open around the clock, so the post check runs whatever the hour of the test."""
    srv = demo_server(tmp_path_factory.mktemp("manager-moments"), prepare=_open_around_the_clock)
    yield srv
    end_server(srv)


def test_an_open_window_nobody_signed_into_is_an_empty_post(server, browser):
    hall = server.tokens["hall_id"]
    clerk = staff_token(server, "clerk03")
    windows = {w["number"]: w["id"] for w in api_call(server, "GET", f"/api/v1/halls/{hall}/windows", clerk)["items"]}
    api_call(server, "POST", f"/api/v1/windows/{windows[3]}/sign-in", clerk)
    _ctx, page = staff_page(browser, server)
    alert5 = page.locator("#alerts [data-kind=empty_post]:has-text('5号窗口空岗')")
    expect(alert5).to_have_count(1, timeout=20_000)     # the post check runs every few seconds
    expect(alert5).to_contain_text("无人签到")
    expect(page.locator(f"[data-window='{windows[5]}'][data-status=empty]")).to_have_count(1)
    # Every red 空岗 card has its alert; the staffed window 3 has none.
    empty_cards = page.locator(".win[data-status=empty]").count()
    expect(page.locator("#alerts [data-kind=empty_post]")).to_have_count(empty_cards)
    assert page.locator("#alerts [data-kind=empty_post]:has-text('3号窗口空岗')").count() == 0
    shot(page, AREA, "dashboard-empty-posts-1366x768")
    # Statistics count them too, from opening time.
    manager = staff_token(server, "manager")
    alerts = api_call(server, "GET", f"/api/v1/halls/{hall}/alerts", manager)["items"]
    assert len([a for a in alerts if a["kind"] == "empty_post"]) == empty_cards
    # A clerk signs in at window 5: its alert goes.
    clerk5 = staff_token(server, "clerk05")
    api_call(server, "POST", f"/api/v1/windows/{windows[5]}/sign-in", clerk5)
    expect(alert5).to_have_count(0, timeout=10_000)
    page.context.close()


def test_notices_are_listed_with_their_end_and_withdrawn_from_the_page(server, browser):
    hall = server.tokens["hall_id"]
    _ctx, page = staff_page(browser, server, timezone_id="Asia/Shanghai")
    expect(page.locator("#live-state")).to_have_text("实时连接正常")
    page.fill("#notice-text", "午间12:00-13:00部分窗口轮休")
    page.select_option("#notice-until", "d7")
    page.click("#notice-send")
    row = page.locator("#notices li", has_text="午间12:00-13:00部分窗口轮休")
    expect(row).to_contain_text(re.compile(r"显示到 \d+月\d+日 \d\d:\d\d"))
    page.fill("#notice-text", "今日不动产登记窗口延时服务至18:00")
    page.click("#notice-send")
    expect(page.locator("#notices li")).to_have_count(2)
    expect(page.locator("#notices li", has_text="延时服务")).to_contain_text("一直显示")
    shot(page, AREA, "dashboard-notices-1366x768")
    page.on("dialog", lambda d: d.accept())
    row.locator("[data-act=withdraw]").click()
    expect(page.locator("#notices li")).to_have_count(1)
    screen = server.tokens["screen"]
    on_screen = requests.get(f"{server.url}/api/v1/halls/{hall}/notices", timeout=5,
                             headers={"Authorization": f"Bearer {screen}"}).json()["items"]
    assert [n["text"] for n in on_screen] == ["今日不动产登记窗口延时服务至18:00"]
    page.context.close()


def test_staff_pages_show_no_clause_numbers_or_letter_labels(server, browser):
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    filed = api_call(server, "POST", f"/api/v1/halls/{hall}/complaints/record", manager, {
        "channel": "phone", "kind": "attitude", "target_unit": "商事登记窗口",
        "content": "工作人员未一次性告知需要补充的材料，导致跑了两次。", "request": "希望改进告知方式",
        "complainant_name": "韩梅梅", "contact": "13700002222"})
    _ctx, page = staff_page(browser, server)
    for path in ("/admin/complaints", f"/admin/complaints/{filed['id']}", "/admin/ratings", "/admin/stats",
                 "/admin/appointments/capacity", "/admin/appointments/no-shows"):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        text = page.locator("body").inner_text()
        assert "§" not in text, (path, text)
        assert not re.search(r"(^|\s)[a-e]\) ", text, re.MULTILINE), (path, text)
        if "complaints/" in path:
            expect(page.locator("table.form-table")).to_contain_text("投诉举报人的要求")
            shot(page, AREA, "complaint-detail-1366x768")
    page.context.close()

"""Browser tests of the staff pages against a real server: the clerk console with the rating pad, and the
floor dashboard receiving a live empty-post alert with its sound. Screenshots go to test-artifacts/admin/."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine

from hall_queue.demo import DEMO_PASSWORD
from hall_queue.models import Base
from tests.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "admin"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

if not Path(CHROMIUM).exists():
    if os.environ.get("ONEVISIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{CHROMIUM} is missing and ONEVISIT_REQUIRE_BROWSER=1", pytrace=False)
    pytest.skip(f"browser tests need Debian chromium at {CHROMIUM}", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("admin-e2e")
    # Plain http on 127.0.0.1: the dev setting that turns the Secure cookie flag off (docs/staff.md).
    srv = ServerProcess(instance, env={"ONEVISIT_COOKIE_SECURE": "0"})
    srv.cli("init")
    srv.cli("demo")
    # Tables added since the last migration (the lead generates it): create what is missing.
    engine = create_engine(f"sqlite:///{instance / 'onevisit.db'}")
    Base.metadata.create_all(engine)
    engine.dispose()
    srv.start()
    srv.tokens = json.loads((instance / "demo-tokens.json").read_text())
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def bearer(srv: ServerProcess, username: str) -> str:
    r = requests.post(srv.url + "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD},
                      timeout=10)
    r.raise_for_status()
    return r.json()["token"]


def call_api(srv, method: str, path: str, token: str, body=None):
    r = requests.request(method, srv.url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.ok, r.text
    return r.json()


def login(page, srv, username: str) -> None:
    page.goto(srv.url + "/admin/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-submit")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_console_call_finish_and_rate_on_the_pad(server, browser):
    hall = server.tokens["hall_id"]
    manager = bearer(server, "manager")
    windows = {w["number"]: w["id"] for w in call_api(server, "GET", f"/api/v1/halls/{hall}/windows", manager)["items"]}
    pad = call_api(server, "POST", f"/api/v1/windows/{windows[1]}/pad-token", manager, {})
    catalog = requests.get(server.url + f"/api/v1/halls/{hall}/catalog", timeout=10).json()
    item = catalog["items"][0]["id"]
    issued = call_api(server, "POST", f"/api/v1/halls/{hall}/tickets", server.tokens["kiosk"],
                      {"item_ids": [item], "name": "张三丰", "id_number": "220102199001011234"})

    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    pad_page = browser.new_context(viewport={"width": 1024, "height": 700}).new_page()
    pad_page.goto(pad["url"])
    pad_page.wait_for_selector("body[data-state=idle]")

    page = ctx.new_page()
    login(page, server, "clerk01")
    page.wait_for_url("**/admin/console")
    page.wait_for_selector(f"button[data-window='{windows[1]}']")
    shot(page, "console-pick")
    page.click(f"button[data-window='{windows[1]}']")
    page.wait_for_selector("#desk:not([hidden])")
    page.wait_for_selector("#live-state:has-text('实时连接正常')")
    page.keyboard.press("F1")
    page.wait_for_selector(f"#t-number:has-text('{issued['number']}')")
    assert page.inner_text("#t-id") == "220102********1234"
    assert page.inner_text("#t-reason").strip() not in ("", "—")
    assert page.locator("#t-items li").count() > 0  # the item's material list from the catalogue
    page.keyboard.press("F4")
    page.wait_for_selector("#t-status:has-text('办理中')")
    page.once("dialog", lambda d: d.accept())
    page.keyboard.press("F8")
    page.wait_for_selector("#t-id-revealed:has-text('220102199001011234')")
    shot(page, "console-serving")
    page.keyboard.press("F5")
    page.wait_for_selector("#finish-dlg[open]")
    page.select_option("#f-outcome", "notice")
    page.locator("#f-missing-list input").first.check()
    shot(page, "console-finish-notice")
    page.click("#f-submit")
    page.wait_for_selector("#print-notice")
    page.wait_for_selector("#ticket-empty:not([hidden])")
    shot(page, "console-finished")

    # The pad, in the window room, asks the visitor right after finish.
    pad_page.wait_for_selector(f"body[data-state=ask] #ask-number:has-text('{issued['number']}')")
    shot(pad_page, "pad-ask")
    pad_page.click("button[data-score='1']")
    pad_page.wait_for_selector("body[data-state=why]")
    pad_page.check("input[value=notice]")
    pad_page.fill("#comment", "材料要求没有一次说清")
    shot(pad_page, "pad-why")
    pad_page.click("#why-submit")
    pad_page.wait_for_selector("body[data-state=thanks]")
    shot(pad_page, "pad-thanks")
    cases = call_api(server, "GET", f"/api/v1/halls/{hall}/rectifications?status=pending", manager)["items"]
    assert [(c["ticket_id"], c["rating"]["score"], c["rating"]["reasons"]) for c in cases] == \
        [(issued["id"], 1, ["notice"])]

    with page.expect_popup() as popup:
        page.click("#print-notice")
    notice = popup.value
    notice.wait_for_load_state()
    assert "一次性告知书" in notice.inner_text("#notice")
    shot(notice, "notice-print")
    page.once("dialog", lambda d: d.accept())
    page.keyboard.press("F9")
    page.wait_for_selector("#pick:not([hidden])")
    ctx.close()
    pad_page.context.close()


def test_dashboard_shows_a_live_empty_post_alert_with_sound(server, browser):
    hall = server.tokens["hall_id"]
    clerk = bearer(server, "clerk03")
    windows = {w["number"]: w["id"] for w in call_api(server, "GET", f"/api/v1/halls/{hall}/windows", clerk)["items"]}
    call_api(server, "POST", f"/api/v1/windows/{windows[3]}/sign-in", clerk)

    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    login(page, server, "manager")
    page.wait_for_url("**/admin/dashboard")
    page.wait_for_selector("#live-state:has-text('实时连接正常')")
    page.wait_for_selector(f"[data-window='{windows[3]}'][data-status=idle]")
    page.click("#sound-on")
    page.wait_for_selector("body[data-sound-enabled='1']")
    assert page.locator("#alerts [data-kind=empty_post]:has-text('3号窗口空岗')").count() == 0
    played_before = int(page.get_attribute("body", "data-sound-played"))

    # The A clerk leaves and the B clerk (clerk04) is not in: an empty post (002 §6.9).
    call_api(server, "POST", f"/api/v1/windows/{windows[3]}/sign-out", clerk)
    page.wait_for_selector("#alerts [data-kind=empty_post]:has-text('3号窗口空岗')")
    page.wait_for_selector(f"[data-window='{windows[3]}'][data-status=empty]")
    assert int(page.get_attribute("body", "data-sound-played")) > played_before
    shot(page, "dashboard-empty-post")

    # The manager makes window 5 (not window 3's B clerk) cover it; the alert goes away.
    clerk5 = bearer(server, "clerk05")
    call_api(server, "POST", f"/api/v1/windows/{windows[5]}/sign-in", clerk5)
    page.wait_for_selector(f"[data-window='{windows[5]}'][data-status=idle]")
    page.click(f"[data-window='{windows[3]}'] button[data-act=cover]")
    page.wait_for_selector("#cover-dlg[open]")
    page.select_option("#v-by", str(windows[5]))
    page.click("#v-submit")
    page.wait_for_selector(f"[data-window='{windows[3]}'][data-status=covered]")
    page.wait_for_function("![...document.querySelectorAll('#alerts [data-kind=empty_post]')]"
                           ".some((li) => li.textContent.includes('3号窗口空岗'))")
    page.fill("#notice-text", "午间12:00-13:00部分窗口轮休")
    page.click("#notice-send")
    page.wait_for_selector("#toast:has-text('公告已发布')")
    shot(page, "dashboard-covered")
    ctx.close()

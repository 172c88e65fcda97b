"""The kiosk touch pages in headless chromium against a real server (``onevisit run``) with simulated
devices: take a ticket (item, bundle), swipe an ID card, scan a page, printer out of paper, idle reset,
and a queue server that goes away (exactly one ticket after the retries)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.browser import end_server, fresh_demo_instance
from tests.server import ServerProcess, free_port

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "kiosk"
PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}
FULL_ID = "110101199003071233"  # the simulator's sample resident card (made up)

if not os.path.exists(CHROMIUM):
    if os.environ.get("ONEVISIT_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"{CHROMIUM} is missing and ONEVISIT_REQUIRE_BROWSER=1")
    pytest.skip(f"{CHROMIUM} is not installed: browser tests need Debian's chromium", allow_module_level=True)

from playwright.sync_api import expect


def _create_tables(instance: Path) -> None:
    """Tests build the newest tables with create_all (migrations for them come from the lead)."""
    from sqlalchemy import create_engine

    from hall_queue.domain.models import Base

    engine = create_engine(f"sqlite:///{instance / 'onevisit.db'}")
    Base.metadata.create_all(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("kiosk-e2e")
    srv = ServerProcess(instance, env={"ONEVISIT_KIOSK_SCANNER": "sim://?width=960&height=540",
                                       "ONEVISIT_KIOSK_HEALTH_S": "1"})
    fresh_demo_instance(instance)
    _create_tables(instance)
    srv.start()
    srv.tokens = __import__("json").loads((instance / "demo-tokens.json").read_text())
    r = requests.post(srv.url + "/api/v1/auth/login", json={"username": "manager", "password": "onevisit-demo"})
    srv.manager = r.json()["token"]
    yield srv
    end_server(srv)


class Shots:
    def __init__(self, page, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page, self.name, self.n = page, name, 0

    def __call__(self, step: str) -> None:
        self.n += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.n:02d}-{step}.png"))


def _page(browser, base: str, name: str, viewport=PORTRAIT, query: str = ""):
    ctx = browser.new_context(viewport=viewport, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{base}/kiosk/{query}")
    expect(page.locator("#hall-name")).to_have_text("示例市政务服务中心")
    return page, Shots(page, name)


def _last_printout(base: str) -> dict:
    return requests.get(base + "/kiosk/agent/sim/last-printout", timeout=5).json()


def _manager_get(server, path: str):
    return requests.get(server.url + path, headers={"Authorization": f"Bearer {server.manager}"}, timeout=5).json()


def test_take_a_ticket_for_an_item(server, browser):
    page, shot = _page(browser, server.url, "item-portrait")
    shot("home")
    page.click("#go-take")
    page.click("[data-category]:has-text('商事登记')")
    shot("items")
    page.click("[data-item='SS001']")
    notice = page.locator("#s-notice")
    expect(notice).to_be_visible()
    for material in ("居民身份证", "公司章程", "住所使用证明", "申请表（现场可领取）"):
        expect(page.locator("#notice-materials")).to_contain_text(material)
    shot("one-time-notice")
    page.click("#btn-issue")
    expect(page.locator("#s-result")).to_be_visible()
    number = page.locator("#r-number").inner_text()
    assert re.fullmatch(r"A\d{3}", number)
    expect(page.locator("#r-print")).to_contain_text("凭条已打印")
    expect(page.locator("#r-qr")).to_have_attribute("src", re.compile(r"qr\.svg\?path=%2Ft%2F"))
    shot("issued")
    printed = _last_printout(server.url)
    assert Path(printed["png"]).exists() and Path(printed["png"]).parent == server.instance / "printouts"
    assert any(number in line for line in printed["text_lines"])
    assert any("企业设立登记" in line for line in printed["text_lines"])
    assert printed["qr_codes"][0].startswith(server.url + "/t/")
    # The QR opens the follow page on a phone.
    follow = requests.get(printed["qr_codes"][0], timeout=5)
    assert follow.status_code == 200 and number in follow.text
    page.context.close()


def test_take_a_ticket_for_a_bundle_by_pinyin_and_landscape(server, browser):
    page, shot = _page(browser, server.url, "bundle-landscape", LANDSCAPE)
    page.click("#go-bundles")
    expect(page.locator("[data-bundle='B01']")).to_contain_text("企业开办一件事")
    shot("bundles")
    page.click("[data-bundle='B01']")
    rows = page.locator("#notice-materials tr")
    expect(rows).to_have_count(7)  # the merged set of five items' materials (003 §3.8)
    expect(page.locator("#notice-items")).to_contain_text("公章刻制备案")
    shot("merged-notice")
    page.click("#btn-issue")
    expect(page.locator("#s-result")).to_be_visible()
    number = page.locator("#r-number").inner_text()
    shot("issued")
    lines = _last_printout(server.url)["text_lines"]
    assert any(number in line for line in lines) and any("企业开办一件事" in line for line in lines)
    assert any("7 项材料" in line for line in lines)
    # Search by pinyin initials in English mode.
    page.click("#r-done")
    page.click("#btn-lang")
    expect(page.locator("#go-take")).to_contain_text("Take a ticket")
    page.click("#go-take")
    page.click("#search")
    for key in "shbzk":
        page.click(f"#letter-keys [data-key='{key}']")
    expect(page.locator("#items .item")).to_have_count(1)
    expect(page.locator("#items .item")).to_contain_text("Social security card application")  # its English name
    shot("search-english")
    page.context.close()


def test_swipe_card_identity_is_masked_everywhere(server, browser):
    page, shot = _page(browser, server.url, "idcard")
    page.click("#go-card")
    expect(page.locator("#card-wait")).to_be_visible()
    shot("place-card")
    page.click("#sim-swipe")  # the visible 模拟刷身份证 control of the demo kiosk
    expect(page.locator("#card-identity")).to_contain_text("张*三")
    expect(page.locator("#card-identity")).to_contain_text("110101********1233")
    expect(page.locator("#appt-list")).not_to_be_empty()
    shot("card-read")
    assert FULL_ID not in page.content() and "张晓三" not in page.content()
    page.click("#card-walkin")  # no booking needed (004 §8.2)
    page.click("[data-category]:has-text('社保医保')")
    page.click("[data-item='SB002']")
    expect(page.locator("#notice-identity")).to_contain_text("张*三")
    page.click("#btn-issue")
    expect(page.locator("#r-identity")).to_contain_text("110101********1233")
    shot("issued-with-identity")
    assert FULL_ID not in page.content() and "张晓三" not in page.content()
    lines = _last_printout(server.url)["text_lines"]
    assert any("110101********1233" in line for line in lines)
    assert not any(FULL_ID in line or "张晓三" in line for line in lines)
    assert FULL_ID not in (server.instance / f"server-{server.port}.log").read_text()
    requests.post(server.url + "/kiosk/agent/sim/remove", timeout=5)
    page.context.close()


def test_bad_card_read_offers_retry_and_manual_path(server, browser):
    page, shot = _page(browser, server.url, "idcard-bad-read")
    page.click("#go-card")
    page.click("#sim-bad")
    expect(page.locator("#card-msg")).to_contain_text("读卡失败")
    expect(page.locator("#card-manual")).to_be_visible()
    shot("bad-read")
    page.click("#sim-swipe")  # lifted and laid again: read this time
    expect(page.locator("#card-identity")).to_contain_text("张*三")
    shot("read-on-retry")
    requests.post(server.url + "/kiosk/agent/sim/remove", timeout=5)
    page.context.close()


def test_scan_a_page_and_the_clerk_sees_it(server, browser):
    page, shot = _page(browser, server.url, "scan", LANDSCAPE)
    page.click("#go-take")
    page.click("[data-item='HZ004']")
    page.click("#btn-scan")
    expect(page.locator("#s-scan")).to_be_visible()
    expect(page.locator("#scan-confirm")).to_be_visible(timeout=15000)
    expect(page.locator("#scan-status")).to_contain_text("请确认")
    # The flattened, cropped page is shown for confirmation.
    page.wait_for_function("document.getElementById('scan-pending').naturalWidth > 0")
    assert page.evaluate("document.getElementById('scan-pending').naturalHeight") > page.evaluate(
        "document.getElementById('scan-pending').naturalWidth")  # an upright A4 sheet
    shot("captured-page")
    page.click("#scan-ok")
    expect(page.locator("#scan-thumbs figure")).to_have_count(1)
    shot("page-kept")
    page.click("#scan-done")
    expect(page.locator("#scan-summary")).to_contain_text("已扫描 1 页")
    page.click("#btn-issue")
    expect(page.locator("#r-pages")).to_contain_text("已将 1 页材料提交给窗口")
    shot("issued")
    number = page.locator("#r-number").inner_text()
    snap = _manager_get(server, f"/api/v1/halls/{server.tokens['hall_id']}/audit")["items"]
    ticket_id = next(a["ticket_id"] for a in snap if a["action"] == "ticket.issue" and a["detail"]["number"] == number)
    pages = _manager_get(server, f"/api/v1/tickets/{ticket_id}/attachments")["items"]
    assert len(pages) == 1 and pages[0]["page_size_name"] == "A4"
    img = requests.get(server.url + pages[0]["url"], headers={"Authorization": f"Bearer {server.manager}"}, timeout=5)
    assert img.headers["Content-Type"] == "image/jpeg" and img.content[:2] == b"\xff\xd8"
    (ARTIFACTS / "scan-attached-page.jpg").write_bytes(img.content)
    page.context.close()


def test_printer_out_of_paper_shows_the_ticket_and_alerts_managers(server, browser):
    page, shot = _page(browser, server.url, "paper-out")
    page.click("#sim-paper")
    expect(page.locator("#banner")).to_contain_text("打印机暂时无法出票")
    page.click("#go-take")
    page.click("[data-item='SB001']")
    page.click("#btn-issue")
    expect(page.locator("#s-result")).to_be_visible()
    expect(page.locator("#r-print")).to_contain_text("打印机暂时无法出票")
    number = page.locator("#r-number").inner_text()
    assert re.fullmatch(r"[A-Z]\d{3}", number)
    expect(page.locator("#s-result .ticket")).to_have_class(re.compile("big-qr"))
    shot("shown-on-screen")
    alerts = _manager_get(server, f"/api/v1/halls/{server.tokens['hall_id']}/alerts")["items"]
    assert any(a["kind"] == "device_fault" and "缺纸" in a["message"] for a in alerts)
    page.click("#r-done")
    page.click("#sim-paper-ok")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        alerts = _manager_get(server, f"/api/v1/halls/{server.tokens['hall_id']}/alerts")["items"]
        if not any(a["kind"] == "device_fault" for a in alerts):
            break
        time.sleep(0.2)
    assert not any(a["kind"] == "device_fault" for a in alerts)
    page.context.close()


def test_idle_screen_returns_home_and_forgets_the_visitor(server, browser):
    page, shot = _page(browser, server.url, "idle", query="?idle=2")
    page.click("#go-card")
    page.click("#sim-swipe")
    expect(page.locator("#card-identity")).to_contain_text("张*三")
    shot("card-shown")
    requests.post(server.url + "/kiosk/agent/sim/remove", timeout=5)
    expect(page.locator("#s-home")).to_be_visible(timeout=6000)
    assert page.locator("#card-identity").inner_text() == ""
    assert "张*三" not in page.content()
    shot("back-home")
    assert requests.get(server.url + "/kiosk/agent/state", timeout=5).json()["card"] is None
    page.context.close()


def test_elder_mode_is_bigger_and_has_fewer_choices(server, browser):
    page, shot = _page(browser, server.url, "elder")
    normal = page.locator("#go-take").bounding_box()["height"]
    page.click("#btn-elder")
    expect(page.locator("body")).to_have_class(re.compile("elder"))
    expect(page.locator("#go-guide")).to_be_hidden()
    assert page.locator("#go-take").bounding_box()["width"] > 900
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 40
    assert normal > 0
    shot("elder-home")
    page.context.close()


# ---------------------------------------------------------------- the queue server goes away

class FlakyProxy:
    """A TCP proxy between the kiosk PC and the server; in "drop" mode the server gets each request
    but its answer is lost on the way back, as on a broken network link."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.mode = "pass"
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        drop = self.mode == "drop"

        def pump_up():
            try:
                while data := client.recv(65536):
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=pump_up, daemon=True).start()
        try:
            while data := upstream.recv(65536):
                if drop:
                    self.dropped += 1
                    break  # the server answered; the answer never arrives
                client.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # a plain close leaves a blocked recv holding the line open
                except OSError:
                    pass
                sock.close()

    def close(self) -> None:
        self.sock.close()


def test_server_unreachable_pauses_and_never_issues_twice(server, browser, tmp_path):
    proxy = FlakyProxy(server.port)
    port = free_port()
    log = open(tmp_path / "kiosk.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hall_queue.entrypoints.cli", "kiosk", "--server", f"http://127.0.0.1:{proxy.port}",
         "--token", server.tokens["kiosk"], "--idcard", "", "--scanner", "",
         "--printer", f"virtual://?dir={tmp_path / 'printouts'}", "--port", str(port), "--retry", "1",
         "--name", "测试取号机"],
        env={**os.environ, "ONEVISIT_INSTANCE": str(tmp_path)}, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90  # a loaded 2-core machine takes its time to import OpenCV
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                assert proc.poll() is None, (tmp_path / "kiosk.log").read_text(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "the kiosk agent did not start"
                time.sleep(0.1)
        page, shot = _page(browser, base, "server-unreachable")
        page.click("#go-take")
        page.click("[data-item='GJJ001']")
        expect(page.locator("#s-notice")).to_be_visible()
        audit_path = f"/api/v1/halls/{server.tokens['hall_id']}/audit"
        before = sum(1 for a in _manager_get(server, audit_path)["items"] if a["action"] == "ticket.issue")

        proxy.mode = "drop"
        page.click("#btn-issue")
        expect(page.locator("#s-paused")).to_be_visible(timeout=15000)
        expect(page.locator("#s-paused")).to_contain_text("暂停取号，请稍候")
        shot("paused")
        time.sleep(1.5)  # the page keeps retrying with the same request; every answer is lost
        assert proxy.dropped >= 2
        proxy.mode = "pass"
        expect(page.locator("#s-result")).to_be_visible(timeout=15000)
        number = page.locator("#r-number").inner_text()
        shot("issued-after-retry")

        issued = [a for a in _manager_get(server, audit_path)["items"] if a["action"] == "ticket.issue"]
        assert len(issued) == before + 1  # the request landed several times: one ticket
        assert issued[0]["detail"]["number"] == number
        page.context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        proxy.close()

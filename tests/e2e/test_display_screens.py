"""Hall and window screens in headless chromium against a real ``onevisit run`` server (issue 5).

One server and one browser for the module; the tests run in order on the same hall, as a hall's
morning would: calls and a recall, then a pause and an A/B cover, then a server restart.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import pytest
import requests

from hall_queue.queueing import calling
from hall_queue.access.audit import SYSTEM
from hall_queue.queueing.calling import ticket_in_hand
from hall_queue.domain.clock import SystemClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, issue_demo_tokens, load_demo_hall
from hall_queue.domain.models import Base, Window
from tests.e2e.browser import end_server
from tests.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "display"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
VISITOR_NAME, VISITOR_ID = "张三丰", "220102199003071234"

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("ONEVISIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and ONEVISIT_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium); set ONEVISIT_REQUIRE_BROWSER=1 to fail instead")


class Hall:
    """The live server, its demo hall and the API calls clerks, kiosks and managers make."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        info = json.loads((server.instance / "demo-tokens.json").read_text())
        self.hall_id, self.kiosk, self.screen = info["hall_id"], info["kiosk"], info["screen"]
        self._tokens: dict[str, str] = {}
        self.windows: dict[int, int] = {}
        self.db_url = f"sqlite:///{server.instance / 'onevisit.db'}"
        self.starting: Future | None = None

    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = requests.post(f"{self.server.url}/api/v1/auth/login",
                              json={"username": username, "password": DEMO_PASSWORD}, timeout=30)
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    def req(self, method: str, path: str, token: str, json_body=None, expect: int = 200) -> dict:
        r = requests.request(method, f"{self.server.url}/api/v1{path}", json=json_body, timeout=30,
                             headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == expect, r.text
        return r.json()

    def ready(self) -> None:
        self.starting.result(timeout=60)
        if not self.windows:
            self.load_windows()

    def load_windows(self) -> None:
        items = self.req("GET", f"/halls/{self.hall_id}/windows", self.screen)["items"]
        self.windows = {w["number"]: w["id"] for w in items}

    def issue(self, **extra) -> dict:
        catalog = requests.get(f"{self.server.url}/api/v1/halls/{self.hall_id}/catalog", timeout=30).json()
        item = next(i["id"] for i in catalog["items"] if i["code"] == "SS001")
        return self.req("POST", f"/halls/{self.hall_id}/tickets", self.kiosk, {"item_ids": [item], **extra}, 201)

    def window_action(self, clerk: str, number: int, action: str, body=None) -> dict:
        return self.req("POST", f"/windows/{self.windows[number]}/{action}", self.token(clerk), body)

    def ticket_action(self, clerk: str, ticket_id: int, action: str, body=None) -> dict:
        return self.req("POST", f"/tickets/{ticket_id}/{action}", self.token(clerk), body)

    def page_url(self, kind: str, ident: int, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"token": self.screen, **params}.items())
        return f"{self.server.url}/display/{kind}/{ident}?{query}"


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    _require_browser()
    instance = tmp_path_factory.mktemp("display-e2e")
    # A quicker voice keeps the announcement queue short; a hall keeps the default 175 wpm.
    server = ServerProcess(instance, env={"ONEVISIT_VOICE_SPEED": "400"})
    # The demo hall, built in the server's SQLite file as `onevisit demo` does (schema by create_all,
    # like every test, so tables still waiting for their migration exist too).
    db = Database(f"sqlite:///{instance / 'onevisit.db'}")
    Base.metadata.create_all(db.writer)
    now = SystemClock().now()

    def build(s):
        h = load_demo_hall(s, now=now)
        return {"hall_id": h.id, **issue_demo_tokens(s, h, now=now)}

    (instance / "demo-tokens.json").write_text(json.dumps(db.run_write(build)))
    db.dispose()
    h = Hall(server)
    # The server boots while chromium starts (see `screens`); `h.ready()` waits for it.
    h.starting = ThreadPoolExecutor(1).submit(server.start)
    yield h
    h.starting.result()
    end_server(server)


@pytest.fixture(scope="module")
def browser(_playwright):
    """A chromium of its own (screens play sound without a click), from the worker's Playwright driver."""
    _require_browser()
    b = _playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def screens(hall, browser):
    """The hall screen at 1920×1080 and window 1's and 2's screens (wide and small)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    hall.ready()
    pages = {}
    for name, url, size in (
            ("hall", hall.page_url("hall", hall.hall_id), (1920, 1080)),
            ("w1", hall.page_url("window", hall.windows[1], layout="wide"), (1920, 540)),
            ("w2", hall.page_url("window", hall.windows[2], layout="small"), (800, 480))):
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        page.goto(url)
        page.wait_for_selector("body[data-conn=live]", timeout=15_000)
        page.evaluate("window.__loaded = 'once'")   # survives only if the page is never reloaded
        pages[name] = page
    yield pages
    for p in pages.values():
        p.close()


def _text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def _wait_text(page, selector: str, expected: str, timeout: float = 10_000) -> None:
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return e && e.textContent.includes(t); }",
                           arg=[selector, expected], timeout=timeout)


def _announcements(page) -> dict:
    return page.evaluate("""() => { const a = window.onevisitAnnouncer;
        return {history: a.history, queue: a.queue, current: a.current}; }""")


def test_a_call_shows_on_both_screens_and_a_recall_is_announced_again(hall, screens):
    hall_page, w1 = screens["hall"], screens["w1"]
    assert _text(hall_page, "#hall-name") == "示例市政务服务中心"
    assert _text(w1, "#win-number") == "1" and "空岗" in _text(w1, "#win-ticket")
    notice = hall.req("POST", f"/halls/{hall.hall_id}/notices", hall.token("manager"),
                      {"text": "本大厅午间不休息，12:00—13:30 正常办理业务"}, 201)
    _wait_text(hall_page, "#notices", "午间不休息")

    hall.window_action("clerk01", 1, "sign-in")
    _wait_text(w1, "#clerk-name", "王丽")
    ticket = hall.issue(name=VISITOR_NAME, id_number=VISITOR_ID)
    called = hall.window_action("clerk01", 1, "call-next")["ticket"]
    assert called["id"] == ticket["id"]
    number = called["number"]
    _wait_text(hall_page, "#now-number", number)
    assert _text(hall_page, "#now-window") == "请到 1 号窗口"
    _wait_text(w1, "#win-ticket", number)
    assert "status-serving" in w1.get_attribute("body", "class")
    assert "正在呼叫" in _text(w1, "#win-label")
    waiting = hall_page.inner_text(".queue-card[data-prefix=A] .q-count")
    assert waiting.isdigit()

    hall.ticket_action("clerk01", ticket["id"], "recall")
    # The recall waits its turn behind the first announcement: never two at once.
    hall_page.wait_for_function("""() => { const a = window.onevisitAnnouncer;
        return [...a.history, ...(a.current ? [a.current] : []), ...a.queue].some(e => e.kind === 'recall'); }""",
                                timeout=10_000)
    ann = _announcements(hall_page)
    everything = ann["history"] + ([ann["current"]] if ann["current"] else []) + ann["queue"]
    assert [e["kind"] for e in everything] == ["call", "recall"]
    assert {e["text"] for e in everything} == {f"请 {number} 号到 1 号窗口办理"}
    assert everything[0]["spoken"] == "请A零零一号到一号窗口办理"

    hall_page.screenshot(path=str(ARTIFACTS / "hall-calling.png"))
    w1.screenshot(path=str(ARTIFACTS / "window-1-wide-calling.png"))
    for page in (hall_page, w1):
        html = page.content()
        assert VISITOR_NAME not in html and "张*丰" not in html and VISITOR_ID not in html
    hall.req("DELETE", f"/notices/{notice['id']}", hall.token("manager"))
    hall_page.wait_for_selector("#notices-bar", state="hidden", timeout=10_000)

    # The recall is said in full once the call has been: chime, then twice, never over the call.
    hall_page.wait_for_function("() => window.onevisitAnnouncer.history.some(e => e.kind === 'recall')",
                                timeout=30_000)
    call, recall = _announcements(hall_page)["history"][:2]
    assert (call["kind"], recall["kind"]) == ("call", "recall") and recall["started_at"] >= call["ended_at"]
    for e in (call, recall):
        # Headless chromium has no zh-CN voice: the server's espeak-ng WAV is played, twice, after the chime.
        assert e["method"] == "audio" and e["spoken_times"] == 2 and e["chime"] is True, e
        assert "error" not in e and not e.get("cancelled")


def test_pause_and_ab_cover_render_on_window_screens(hall, screens):
    hall_page, w1, w2 = screens["hall"], screens["w1"], screens["w2"]
    in_hand = hall.req("GET", f"/windows/{hall.windows[1]}", hall.screen)["ticket"]
    hall.ticket_action("clerk01", in_hand["id"], "finish", {"outcome": "completed"})
    _wait_text(w1, "#win-label", "空闲")

    hall.window_action("clerk01", 1, "pause", {"reason": "系统维护"})
    _wait_text(w1, "#win-label", "暂停服务")
    assert _text(w1, "#win-detail") == "原因：系统维护"
    assert w1.get_attribute("body", "data-status") == "paused"
    w1.screenshot(path=str(ARTIFACTS / "window-1-wide-paused.png"))
    hall.window_action("clerk01", 1, "resume")
    _wait_text(w1, "#win-label", "空闲")

    # Window 1's B clerk (李强) works at window 2; when 王丽 signs out, window 2 covers window 1 (AB岗).
    hall.window_action("clerk02", 2, "sign-in")
    _wait_text(w2, "#clerk-name", "李强")
    hall.window_action("clerk01", 1, "sign-out")
    _wait_text(w1, "#win-detail", "1号窗口由2号窗口顶岗")
    assert _text(w1, "#win-ticket") == "请到 2 号窗口" and w1.is_hidden("#win-clerk")
    _wait_text(w2, "#win-detail", "同时办理1号窗口业务")
    _wait_text(hall_page, "#covers", "1号窗口由2号窗口顶岗")
    w1.screenshot(path=str(ARTIFACTS / "window-1-wide-covered.png"))
    w2.screenshot(path=str(ARTIFACTS / "window-2-small-covering.png"))
    hall_page.screenshot(path=str(ARTIFACTS / "hall-cover.png"))


def _offline_call_next(db_url: str, window_id: int) -> str:
    """While the server is down, finish window 1's ticket and call the next one straight in the database."""
    db = Database(db_url)
    now = SystemClock().now()

    def do(s):
        w = s.get(Window, window_id)
        calling.finish(s, ticket_in_hand(s, w), outcome="completed", now=now, actor=SYSTEM)
        t, _ = calling.call_next(s, w, now=now, actor=SYSTEM)
        return t.number

    try:
        return db.run_write(do)
    finally:
        db.dispose()


def test_screens_resynchronise_after_a_server_restart(hall, screens):
    hall_page, w1 = screens["hall"], screens["w1"]
    hall.window_action("clerk01", 1, "sign-in")
    _wait_text(w1, "#clerk-name", "王丽")
    hall.issue()
    hall.issue()
    before = hall.window_action("clerk01", 1, "call-next")["ticket"]["number"]
    _wait_text(w1, "#win-ticket", before)
    _wait_text(hall_page, "#now-number", before)
    snapshots = int(hall_page.get_attribute("body", "data-snapshots"))

    hall.server.kill()
    for page in (hall_page, w1):
        page.wait_for_selector("#conn", state="visible", timeout=10_000)
        assert page.get_attribute("body", "data-conn") == "reconnecting"
    w1.screenshot(path=str(ARTIFACTS / "window-1-wide-reconnecting.png"))
    after = _offline_call_next(hall.db_url, hall.windows[1])
    assert after != before

    hall.server.start()
    # No reload: the same pages reconnect, join again and take the fresh snapshot over what they had.
    for page in (hall_page, w1):
        page.wait_for_selector("body[data-conn=live]", timeout=20_000)
        assert page.evaluate("window.__loaded") == "once"
    _wait_text(w1, "#win-ticket", after)
    _wait_text(hall_page, "#now-number", after)
    assert int(hall_page.get_attribute("body", "data-snapshots")) > snapshots
    assert before not in _text(hall_page, "#now-number")
    assert hall_page.is_hidden("#conn") and w1.is_hidden("#conn")
    # Nothing about the old call is still being said or waiting to be; the call missed while the screen
    # was cut off is announced now.
    hall_page.wait_for_function("""([old, fresh]) => { const a = window.onevisitAnnouncer;
        const pending = [...a.queue, ...(a.current ? [a.current] : [])];
        return !pending.some(e => e.number === old) && [...a.history, ...pending].some(e => e.number === fresh); }""",
                                arg=[before, after], timeout=10_000)
    if hall_page.is_visible("#announce-banner"):
        assert before not in _text(hall_page, "#announce-banner")
    hall_page.screenshot(path=str(ARTIFACTS / "hall-after-restart.png"))
    w1.screenshot(path=str(ARTIFACTS / "window-1-wide-after-restart.png"))
    screens["w2"].screenshot(path=str(ARTIFACTS / "window-2-small-after-restart.png"))


def test_announcements_never_overlapped(screens):
    played = [e for e in _announcements(screens["hall"])["history"] if e["started_at"]]
    assert len(played) >= 3
    played.sort(key=lambda e: e["started_at"])
    for before, after in pairwise(played):
        assert after["started_at"] >= before["ended_at"], (before, after)

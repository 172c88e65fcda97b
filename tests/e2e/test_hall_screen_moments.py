"""Issue 21: the hall screen (综合屏) at 1920×1080 in headless chromium against a real ``onevisit run``.

The big number, its caption and the voice always tell the same call; at peak (every window calling)
each call is seen large and a call others wait behind is said once; the recent-calls list never runs
under the queue tiles, even with a notice and a cover line on screen; a queue nobody serves shows no
invented wait.
"""
from __future__ import annotations

import pytest
import requests

from tests.e2e.browser import artifacts, demo_server, require_chromium
from tests.e2e.test_display_screens import Hall

require_chromium()


pytestmark = pytest.mark.browser
AREA = "hall-screen-moments"

# Every change of the big number, its caption and the spoken caption, as the screen showed it.
WATCH = """() => {
  window.__now = [];
  const snap = () => {
    const a = document.getElementById('announce-text');
    window.__now.push({number: document.getElementById('now-number').textContent,
                       window: document.getElementById('now-window').textContent,
                       caption: a.hidden ? null : a.textContent,
                       speaking: window.onevisitAnnouncer.current && window.onevisitAnnouncer.current.number});
  };
  new MutationObserver(snap).observe(document.getElementById('now'),
    {subtree: true, childList: true, characterData: true, attributes: true});
}"""
IDLE = """n => { const a = window.onevisitAnnouncer;
  return a.current === null && a.queue.length === 0 && a.history.filter(e => !e.cancelled).length >= n; }"""


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("hall-moments"))
    h = Hall(srv)
    h.load_windows()
    yield h
    srv.stop()


def _hall_page(browser, hall, **params):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(hall.page_url("hall", hall.hall_id, **params))
    page.wait_for_selector("body[data-conn=live]", timeout=15_000)
    page.evaluate(WATCH)
    return page


def _items_by_prefix(hall) -> dict[str, int]:
    catalog = requests.get(f"{hall.server.url}/api/v1/halls/{hall.hall_id}/catalog", timeout=10).json()
    prefixes = {q["id"]: q["prefix"] for q in catalog["queues"]}
    out: dict[str, int] = {}
    for item in catalog["items"]:
        for qid in item.get("queue_ids") or []:
            out.setdefault(prefixes[qid], item["id"])
    return out


def _issue(hall, item_id: int) -> dict:
    return hall.req("POST", f"/halls/{hall.hall_id}/tickets", hall.kiosk, {"item_ids": [item_id]}, 201)


def _sign_out(hall, number: int) -> None:
    """The clerk of window ``number`` finishes the ticket in hand and signs out."""
    clerk = f"clerk{number:02d}"
    in_hand = hall.req("GET", f"/windows/{hall.windows[number]}", hall.screen).get("ticket")
    if in_hand:
        hall.ticket_action(clerk, in_hand["id"], "finish", {"outcome": "completed"})
    hall.window_action(clerk, number, "sign-out")


def _consistent(log: list[dict]) -> None:
    """Whenever a caption is on screen, the big number and the window line tell the same call."""
    for row in log:
        if row["caption"] is None:
            continue
        assert row["number"] and f"请 {row['number']} 号到" in row["caption"], row
        window = row["caption"].split("号到 ")[1].split(" 号窗口")[0]
        assert row["window"] == f"请到 {window} 号窗口", row
        assert row["speaking"] == row["number"], row


def test_two_calls_a_second_apart_show_and_say_the_same_call(hall, browser):
    page = _hall_page(browser, hall)
    item_a = _items_by_prefix(hall)["A"]
    for clerk, number in (("clerk01", 1), ("clerk02", 2)):
        hall.window_action(clerk, number, "sign-in")
    _issue(hall, item_a), _issue(hall, item_a)
    first = hall.window_action("clerk01", 1, "call-next")["ticket"]["number"]
    second = hall.window_action("clerk02", 2, "call-next")["ticket"]["number"]
    page.wait_for_timeout(1500)
    artifacts(AREA).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts(AREA) / "two-calls-hall-1920x1080.png"))
    page.wait_for_function(IDLE, arg=2, timeout=60_000)
    log = page.evaluate("window.__now")
    _consistent(log)
    shown = [r["number"] for r in log if r["caption"]]
    assert first in shown and second in shown             # the first call was seen large too
    assert shown.index(first) < shown.index(second)
    page.close()


def test_at_peak_every_call_is_seen_large_and_the_voice_keeps_up(hall, browser):
    page = _hall_page(browser, hall)
    items = _items_by_prefix(hall)
    windows = hall.req("GET", f"/halls/{hall.hall_id}/windows", hall.screen)["items"]
    for w in windows:
        if w["number"] > 2:
            hall.window_action(f"clerk{w['number']:02d}", w["number"], "sign-in")
    for prefix, item in items.items():
        for _ in range(6 if prefix == "A" else 2):
            _issue(hall, item)
    called = []
    for w in sorted(windows, key=lambda w: w["number"]):
        in_hand = hall.req("GET", f"/windows/{w['id']}", hall.screen).get("ticket")
        clerk = f"clerk{w['number']:02d}"
        if in_hand:
            hall.ticket_action(clerk, in_hand["id"], "finish", {"outcome": "completed"})
        t = hall.window_action(clerk, w["number"], "call-next").get("ticket")
        if t:
            called.append(t["number"])
    assert len(called) >= 10
    page.wait_for_timeout(2000)
    page.screenshot(path=str(artifacts(AREA) / "peak-hall-1920x1080.png"))
    page.wait_for_function(IDLE, arg=len(called), timeout=180_000)
    _consistent(page.evaluate("window.__now"))
    shown = {r["number"] for r in page.evaluate("window.__now") if r["caption"]}
    assert set(called) <= shown                          # every call appeared large
    history = [e for e in page.evaluate("window.onevisitAnnouncer.history") if not e.get("cancelled")]
    behind = [e for e in history if e["number"] in called and e["behind"] > 0]
    assert behind and all(e["spoken_times"] == 1 for e in behind)   # others waiting: said once
    print("peak: calls", len(called), "max calls waiting behind the voice", max(e["behind"] for e in history))
    page.close()


def test_recent_calls_never_run_under_the_queue_tiles(hall, browser):
    page = _hall_page(browser, hall)
    manager = hall.token("manager")
    hall.req("POST", f"/halls/{hall.hall_id}/notices", manager,
             {"text": "今天下午三点起不动产登记窗口系统升级，请提前取号"}, 201)
    # Window 1's B clerk works at window 2 already; when 王丽 signs out, window 2 covers window 1.
    _sign_out(hall, 1)
    page.wait_for_selector("#covers:not([hidden])", timeout=10_000)
    page.wait_for_selector("#notices-bar:not([hidden])", timeout=10_000)
    page.wait_for_timeout(500)
    geometry = page.evaluate("""() => {
        const r = s => document.querySelector(s).getBoundingClientRect();
        const rows = [...document.querySelectorAll('#recent-rows tr')];
        return {rows: rows.length, last: rows.length ? rows[rows.length - 1].getBoundingClientRect().bottom : 0,
                panel: r('.recent').bottom, queues: r('.queues').top, covers: r('#covers').bottom,
                notices: r('#notices-bar').top, height: window.innerHeight};
    }""")
    page.screenshot(path=str(artifacts(AREA) / "notice-and-cover-hall-1920x1080.png"))
    assert geometry["rows"] >= 3
    assert geometry["last"] <= geometry["panel"] <= geometry["queues"]
    assert geometry["covers"] <= geometry["notices"] <= geometry["height"]
    page.close()


def test_a_queue_nobody_serves_shows_no_invented_wait(hall, browser):
    page = _hall_page(browser, hall)
    # Queues F and G are served by windows 11 and 12 only (each other's B post); both clerks sign out.
    items = _items_by_prefix(hall)
    prefix = next(p for p in ("F", "G") if p in items)
    for number in (11, 12):
        _sign_out(hall, number)
    _issue(hall, items[prefix])
    card = page.locator(f".queue-card[data-prefix='{prefix}'] .q-est")
    page.wait_for_function("([p]) => { const e = document.querySelector(`.queue-card[data-prefix='${p}'] .q-est`);"
                           " return e && e.textContent === '暂无窗口办理'; }", arg=[prefix], timeout=10_000)
    assert "分钟" not in card.inner_text()
    page.close()

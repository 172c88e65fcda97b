"""Issue 21 §2: the hall screen's voice at peak, read from its announcement queue in headless chromium.

The rule: the voice never has more than one announcement waiting behind the one being said. Calls made
together are said as one announcement (the first "请A一零一号到一号窗口", the others "A一零二，二号窗口"),
each once; calls made while one is said gather in the single waiting announcement; a call is repeated only
when nothing else waits; the big numbers are the calls being said. Checked on the queue's own state after
every call (``window.onevisitAnnouncer``), never on timings. Headless chromium has no Chinese voice, so
every word is a real espeak-ng WAV from the server (rendered fast here to keep the test short).
"""
from __future__ import annotations

import json
import shutil

import pytest

from tests.e2e.browser import artifacts, end_server, fresh_demo_instance, require_chromium
from tests.e2e.test_hall_screen_moments import WATCH, _consistent
from tests.server import ServerProcess

require_chromium()

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (Debian package)")]
AREA = "hall-voice-peak"

# Every call handed to the queue is followed by a look at how many announcements wait.
RECORD = """() => { const a = window.onevisitAnnouncer; window.__waiting = [];
  const announce = a.announce.bind(a);
  a.announce = (c) => { const e = announce(c); window.__waiting.push(a.queue.length); return e; }; }"""
CALL = """calls => calls.forEach(([number, win, id]) =>
  window.onevisitAnnouncer.announce({number, windowNumber: win, kind: 'call', ticketId: id}))"""
IDLE = """n => { const a = window.onevisitAnnouncer; return !a.current && !a.queue.length
  && a.history.reduce((k, e) => k + e.calls.length, 0) >= n; }"""
STATE = """() => { const a = window.onevisitAnnouncer;
  const calls = e => e && e.calls.map(c => c.number);
  return {history: a.history, current: calls(a.current), waiting: a.queue.map(calls), maxWaiting: a.maxWaiting,
          afterEachCall: window.__waiting}; }"""


@pytest.fixture(scope="module")
def screen(tmp_path_factory):
    """A demo hall on a real server whose espeak-ng speaks fast, and its hall screen's URL."""
    instance = tmp_path_factory.mktemp("hall-voice-peak")
    srv = ServerProcess(instance, env={"ONEVISIT_COOKIE_SECURE": "0", "ONEVISIT_VOICE_SPEED": "450"})
    fresh_demo_instance(instance)
    srv.start()
    tokens = json.loads((instance / "demo-tokens.json").read_text())
    yield f"{srv.url}/display/hall/{tokens['hall_id']}?token={tokens['screen']}"
    end_server(srv)


@pytest.fixture
def page(browser, screen):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(screen)
    page.wait_for_selector("body[data-conn=live]", timeout=15_000)
    page.evaluate(WATCH)
    page.evaluate(RECORD)
    yield page
    page.close()


def _calls(first: int, windows: range) -> list[list]:
    return [[f"A{first + i:03d}", w, 900_000 + first + i] for i, w in enumerate(windows)]


def _spoken(number: str) -> str:
    return "A" + "".join("零一二三四五六七八九"[int(d)] for d in number[1:])


def _window(n: int) -> str:
    return {10: "十", 11: "十一", 12: "十二"}.get(n) or "零一二三四五六七八九"[n]


def test_twelve_calls_at_once_are_one_announcement_each_said_once_and_shown_large(page):
    burst = _calls(101, range(1, 13))
    page.evaluate(CALL, burst)
    state = page.evaluate(STATE)
    # Nothing has been said yet (the chime plays): all twelve are the announcement in hand, none waits.
    assert state["current"] == [n for n, _, _ in burst] and state["waiting"] == []
    assert state["afterEachCall"] == [0] * 12
    page.wait_for_function("() => document.querySelectorAll('#now-grid .now-call').length === 12", timeout=10_000)
    artifacts(AREA).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts(AREA) / "twelve-at-once-hall-1920x1080.png"))
    # While the fourth call is said, its tile is the lit one and the three before it are dimmed.
    lit = page.wait_for_function("""() => { const c = window.onevisitAnnouncer.current;
        if (!c || c.saying !== 3) return false;
        const ids = s => [...document.querySelectorAll(`#now-grid .now-call${s}`)].map(t => Number(t.dataset.ticketId));
        return {saying: ids('.saying'), said: ids('.said'), tiles: ids('')}; }""", timeout=60_000, polling=50).json_value()
    page.screenshot(path=str(artifacts(AREA) / "twelve-at-once-fourth-said-hall-1920x1080.png"))
    ids = [i for _, _, i in burst]
    assert lit == {"saying": [ids[3]], "said": ids[:3], "tiles": ids}
    page.wait_for_function(IDLE, arg=12, timeout=120_000)
    state = page.evaluate(STATE)
    [said] = state["history"]
    assert said["chime"] is True and said["spoken_times"] == 1 and said["method"] == "audio" and "error" not in said
    assert said["said"] == ["请A一零一号到一号窗口"] + [f"{_spoken(n)}，{_window(w)}号窗口" for n, w, _ in burst[1:]]
    assert len(said["clauses_at"]) == 12                 # every call's own words were played
    shown = _consistent(page.evaluate("window.__now"))
    assert {n for n, _, _ in burst} <= set(shown)        # and seen large while they were said
    assert state["maxWaiting"] <= 1


def test_calls_made_while_one_is_said_gather_in_the_one_waiting_announcement(page):
    page.evaluate(CALL, _calls(201, range(1, 2)))
    page.wait_for_function("() => { const c = window.onevisitAnnouncer.current; return c && c.said; }", timeout=15_000)
    # The first call is being said: every later call waits, all in one announcement.
    later = _calls(202, range(2, 8))
    for i, call in enumerate(later):
        page.evaluate(CALL, [call])
        state = page.evaluate(STATE)
        assert state["current"] == ["A201"] and state["waiting"] == [[n for n, _, _ in later[:i + 1]]]
    # A recall of a waiting call changes nothing; window 7's newer call replaces its older one.
    page.evaluate(CALL, [later[2], ["A299", 7, 900_299]])
    assert page.evaluate(STATE)["waiting"] == [["A202", "A203", "A204", "A205", "A206", "A299"]]
    page.wait_for_function(IDLE, arg=7, timeout=120_000)
    state = page.evaluate(STATE)
    assert set(state["afterEachCall"]) == {0, 1} and state["maxWaiting"] == 1
    first, merged = state["history"]
    # Others waited: the first call was not repeated; the merged one was said once, the later calls terse.
    assert first["said"] == ["请A二零一号到一号窗口办理"] and first["spoken_times"] == 1 and first["behind"] == 0
    assert [c["number"] for c in merged["calls"]] == ["A202", "A203", "A204", "A205", "A206", "A299"]
    assert merged["said"][0] == "请A二零二号到二号窗口" and merged["said"][-1] == "A二九九，七号窗口"
    assert merged["spoken_times"] == 1 and merged["chime"] is False and merged["behind"] == 0
    shown = _consistent(page.evaluate("window.__now"))
    assert {"A201", "A202", "A206", "A299"} <= set(shown) and "A207" not in shown


def test_a_call_alone_is_chimed_said_in_full_and_repeated(page):
    page.evaluate(CALL, _calls(301, range(3, 4)))
    page.wait_for_function(IDLE, arg=1, timeout=60_000)
    [alone] = page.evaluate(STATE)["history"]
    assert alone["chime"] is True and alone["spoken_times"] == 2 and alone["said"] == ["请A三零一号到三号窗口办理"]
    shown = _consistent(page.evaluate("window.__now"))
    assert shown and set(shown) == {"A301"}


def test_a_call_no_longer_true_is_skipped_in_the_announcement_being_said(page):
    burst = _calls(401, range(1, 5))
    page.evaluate(CALL, burst)
    page.wait_for_function("() => { const c = window.onevisitAnnouncer.current; return c && c.saying === 0; }",
                           timeout=30_000, polling=50)
    # A403's visitor is served (or sent elsewhere) while A401 is said: hall.js hands the queue this rule.
    page.evaluate("id => window.onevisitAnnouncer.retain(c => c.ticket_id !== id)", burst[2][2])
    page.wait_for_function(IDLE, arg=4, timeout=60_000)
    [said] = page.evaluate(STATE)["history"]
    assert not said.get("cancelled") and [c.get("dropped", False) for c in said["calls"]] == [False, False, True, False]
    heard = said["clauses_at"]
    assert heard[2] is None and all(heard[i] for i in (0, 1, 3))    # A401, A402, A404 said; A403 not

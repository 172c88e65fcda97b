"""Voice burst benchmark: how long the hall screen takes to say a burst of simultaneous calls; prints JSON last.

    python -m bench.voice_burst_bench              # 10 calls at once, then 12, each with a cold and a warm WAV cache
    python -m bench.voice_burst_bench --calls 12 --rounds 1

Starts a real ``onevisit run`` on a fresh demo hall, opens the hall screen (1920×1080) in Debian's headless
chromium, which has no Chinese voice, so every word is the server's espeak-ng WAV, as on most kiosk Linux
images. It hands the screen's announcement queue (``window.onevisitAnnouncer``) N calls at the same instant
(A001 at window 1, A002 at window 2, …) and waits until all have been said. ``burst_s`` is the time from the
calls to the end of the last word; ``announcements`` how the calls were grouped; ``max_waiting`` the most
announcements that ever waited behind the voice; ``heard_s`` when each call's own words began (screens
that record it). The first round renders every WAV (cold cache), the next
says the same numbers again (warm).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.harness import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

BURST = """([n, start]) => { const a = window.onevisitAnnouncer; a.history.length = 0; a.maxWaiting = 0;
  window.__t0 = Date.now();
  for (let i = 0; i < n; i++) a.announce({number: 'A' + String(start + i).padStart(3, '0'), windowNumber: i + 1,
                                           kind: 'call', ticketId: 100000 + start + i}); }"""
IDLE = "n => { const a = window.onevisitAnnouncer; return !a.current && !a.queue.length && a.history.length > 0 " \
       "&& a.history.reduce((k, e) => k + e.calls.length, 0) >= n; }"
RESULT = """() => { const a = window.onevisitAnnouncer, t0 = window.__t0;
  return {burst_s: (Math.max(...a.history.map(e => e.ended_at)) - t0) / 1000, max_waiting: a.maxWaiting,
          announcements: a.history.map(e => ({calls: e.calls.length, method: e.method, chime: e.chime,
            spoken_times: e.spoken_times, said: e.said, begun_s: (e.started_at - t0) / 1000,
            length_s: (e.ended_at - e.started_at) / 1000, error: e.error || null,
            heard_s: (e.clauses_at || []).map(t => (t - t0) / 1000)}))}; }"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, nargs="*", default=[10, 12])
    ap.add_argument("--rounds", type=int, default=2, help="1 = cold WAV cache only; 2 = cold, then warm")
    opts = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        srv = ServerProcess(Path(tmp))
        srv.cli("init")
        srv.cli("demo")
        srv.start()
        tokens = json.loads((Path(tmp) / "demo-tokens.json").read_text())
        out = []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(f"{srv.url}/display/hall/{tokens['hall_id']}?token={tokens['screen']}")
                page.wait_for_selector("body[data-conn=live]", timeout=30_000)
                start = 1
                for n in opts.calls:
                    for r in range(opts.rounds):
                        page.evaluate(BURST, [n, start])
                        page.wait_for_function(IDLE, arg=n, timeout=300_000, polling=100)
                        res = page.evaluate(RESULT)
                        res.update(calls=n, cache="cold" if r == 0 else "warm")
                        out.append(res)
                        print(f"{n} calls ({res['cache']}): {res['burst_s']:.1f} s, announcements "
                              f"{[a['calls'] for a in res['announcements']]}, max waiting {res['max_waiting']}",
                              flush=True)
                        page.wait_for_timeout(1500)
                    start += n
                browser.close()
        finally:
            srv.stop()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Instructions per request of the hot paths, counted by callgrind: a figure no other load on the machine moves.

Builds a 8-window hall in a fresh database (SQLite file, or ``--url`` for PostgreSQL), drives the app in this
process through Flask's test client, and — when run under ``valgrind --tool=callgrind --instr-atstart=no`` —
switches instrumentation on only around each phase (``callgrind_control``), dumping one file per phase:
``bare`` (``GET /healthz``), ``issue`` (a kiosk's ticket, ``--line`` tickets already waiting; its wait range from
the queue's kept reads, as in a busy hall: under valgrind's slowdown their second would lapse between issues, so
here they last the phase), ``call1`` (the clerk's 下一位 with a ticket in hand, one request) and ``issue_cold``
(an issue with no kept reads, so with the read after commit; measured last, so the queue's last half hour holds
``call1``'s calls, which that read converts row by row). Prints the instructions per request of each phase as a
JSON line (the ``totals:`` of each dump divided by its requests). PostgreSQL's own instructions are not counted.

Usage: ``python -m bench.instructions [--url URL] [--line 150]`` (it starts valgrind itself unless ``--inner``).
"""
from __future__ import annotations

import argparse
import gc
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PHASES = (("bare", 200), ("issue", 60), ("call1", 40), ("issue_cold", 40))  # call1 on the line the earlier rounds measured


def inner(url: str | None, line: int) -> None:
    from hall_queue import create_app
    from hall_queue.access.auth import issue_token
    from hall_queue.domain.clock import SystemClock
    from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, load_simple_hall
    from hall_queue.infrastructure.db import Database
    from hall_queue.queueing import wait_range

    tmp = Path(tempfile.mkdtemp(prefix="ov-instr-"))
    os.environ["ONEVISIT_INSTANCE"] = str(tmp)
    url = url or f"sqlite:///{tmp / 'onevisit.db'}"
    subprocess.run([sys.executable, "-m", "hall_queue.entrypoints.cli", "init"], env={**os.environ, "DATABASE_URL": url},
                   check=True, capture_output=True)
    db, now = Database(url), SystemClock().now()

    def build(s):
        hall = load_simple_hall(s, code="bench", now=now, windows=8)
        return hall.id, issue_token(s, kind="kiosk", hall_id=hall.id, now=now)
    hall_id, kiosk = db.run_write(build)
    db.dispose()
    c = create_app({"DATABASE_URL": url}).test_client()

    def ok(r):
        if r.status_code >= 400:
            raise RuntimeError(f"{r.status_code}: {r.get_data()[:200]!r}")
        return r.get_json()
    item = ok(c.get(f"/api/v1/halls/{hall_id}/catalog"))["items"][0]["id"]
    kh = {"Authorization": f"Bearer {kiosk}"}
    ch = {"Authorization": "Bearer " + ok(c.post("/api/v1/auth/login", json={"username": "bench-c01",
                                                                         "password": DEMO_PASSWORD}))["token"]}
    win = ok(c.get(f"/api/v1/halls/{hall_id}/windows", headers=ch))["items"][0]["id"]
    ok(c.post(f"/api/v1/windows/{win}/sign-in", headers=ch))
    held: dict = {}

    def bare():
        ok(c.get("/healthz"))

    keys = iter(range(10**9))

    def issue():  # as a kiosk asks: with an Idempotency-Key per visitor request (kiosk/agent.py)
        ok(c.post(f"/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]},
                  headers={**kh, "Idempotency-Key": f"issue-{next(keys)}"}))

    def call1():
        held["t"] = ok(c.post(f"/api/v1/windows/{win}/finish-and-call-next",
                              json={"outcome": "completed", "ticket_id": held["t"]["id"]}, headers=ch))["ticket"]
    def issue_cold():
        wait_range._kept.clear()
        issue()
    # Instrumented, a request runs ~50× slower: the kept reads' second (``WAIT_READS_KEPT_S``) would lapse between
    # issues that a hall makes within it. The miss is measured on its own (``issue_cold``).
    wait_range.WAIT_READS_KEPT_S = 3600.0
    for _ in range(line):
        issue()
    held["t"] = ok(c.post(f"/api/v1/windows/{win}/call-next", headers=ch))["ticket"]
    me = str(os.getpid())

    def ctl(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, me], check=True, capture_output=True)
    for name, n in PHASES:
        fn = {"bare": bare, "issue": issue, "issue_cold": issue_cold, "call1": call1}[name]
        for _ in range(5):  # warm: caches, compiled statements
            fn()
        # A full collection of the heap so far, then that heap set aside: a phase is not charged with a
        # collection that the previous phases' garbage happened to trigger inside it.
        gc.collect()
        gc.freeze()
        ctl("-z")
        ctl("-i", "on")
        for _ in range(n):
            fn()
        ctl("-i", "off")
        ctl("-d", name)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    p.add_argument("--line", type=int, default=150, help="tickets waiting before the phases")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.inner:
        inner(args.url, args.line)
        return 0
    out_dir = Path(tempfile.mkdtemp(prefix="ov-callgrind-"))
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_dir}/cg.%p",
           sys.executable, "-m", "bench.instructions", "--inner", "--line", str(args.line)]
    if args.url:
        cmd += ["--url", args.url]
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    result: dict = {"line": args.line}
    for path in glob.glob(f"{out_dir}/cg.*.*"):
        text = Path(path).read_text(errors="replace")
        phase = re.search(r"^desc: Trigger: dump (\w+)", text, re.MULTILINE)
        totals = re.search(r"^totals: (\d+)", text, re.MULTILINE)
        if phase and totals:
            result[f"instructions_per_{phase.group(1)}"] = int(totals.group(1)) // dict(PHASES)[phase.group(1)]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

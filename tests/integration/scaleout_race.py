"""The two-process race of issue 8, shared by test_scaleout.py (one SQLite file) and
test_scaleout_postgresql.py (PostgreSQL + Redis): two real server processes on one database, 16 kiosks and
64 clerks against both. The engines are two files so that `make test` runs them on different workers: the
race on one engine is the suite's longest file, and both in one file made the run's tail."""
from __future__ import annotations

import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from hall_queue.access.auth import issue_token
from hall_queue.domain.clock import SystemClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.queueing.ticketing import IssueRequest, issue_ticket
from hall_queue.access.audit import SYSTEM
from hall_queue.access.identity import IdentityVault
from hall_queue.domain.models import Hall
from tests.server import ServerProcess, bearer_session, clerk_tokens, prepared_instance, serve_until_empty

# 64 clerks race on a backlog; issue 8's drill used 5,000 tickets (15,000 calls over the two processes,
# three minutes of this 2-core machine). What the race proves — no number twice, no ticket called twice —
# comes from 64 clerks contending at once, not from the backlog's length: every clerk is signed in before
# any calls (a barrier), so all 64 call, recall and mark no-show against each other from the first call to
# the last. `make test` runs a 500-ticket backlog (80 of them issued by 16 kiosk threads racing over the two
# processes) on each engine; ONEVISIT_RACE_SCALE=1 restores the full 5,000 (800 from kiosks) on both.
CLERKS = 64
KIOSK_THREADS = 16


def sizes() -> tuple[int, int]:
    """(backlog, tickets issued by the kiosk threads) at ``ONEVISIT_RACE_SCALE`` (default 0.1 of issue 8's drill)."""
    scale = float(os.environ.get("ONEVISIT_RACE_SCALE", "0.1"))
    return int(5000 * scale), int(800 * scale) // KIOSK_THREADS * KIOSK_THREADS


def redis_available() -> bool:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
        return True
    except Exception:  # noqa: BLE001
        return False


def setup(tmp_path, url: str, env: dict):
    """Two servers on the database at ``url`` (SQLite: made here; PostgreSQL: already migrated) with the race hall."""
    if url.startswith("sqlite"):
        prepared_instance(tmp_path)  # as `onevisit init`
    first = ServerProcess(tmp_path, env=env, args=("--no-duties",))
    db = Database(url)
    now = SystemClock().now()

    def build(s):
        hall = load_simple_hall(s, code="race", now=now, windows=CLERKS)
        return (hall.id, issue_token(s, kind="kiosk", hall_id=hall.id, now=now),
                issue_token(s, kind="screen", hall_id=hall.id, now=now),
                clerk_tokens(s, hall.id, "race", CLERKS, now=now))

    hall_id, kiosk, screen, clerks = db.run_write(build)
    second = ServerProcess(tmp_path, env=env, args=("--no-duties",))
    return db, hall_id, kiosk, screen, clerks, [first.start(), second.start()]


def race(db: Database, hall_id: int, kiosk: str, clerks: list[str], servers: list[ServerProcess], first: int = 1
          ) -> None:
    BACKLOG, KIOSK_TICKETS = sizes()
    bases = [s.url for s in servers]
    item = requests.get(f"{bases[0]}/api/v1/halls/{hall_id}/catalog", timeout=10).json()["items"][0]["id"]
    numbers: list[str] = []
    lock = threading.Lock()
    kiosks_ready = threading.Barrier(KIOSK_THREADS)

    def kiosk_worker(i: int) -> None:
        s = bearer_session(kiosk)
        kiosks_ready.wait(timeout=60)  # all 16 start issuing at once
        for n in range(KIOSK_TICKETS // KIOSK_THREADS):
            base = bases[(i + n) % 2]  # alternate processes
            r = s.post(f"{base}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]}, timeout=60)
            assert r.status_code == 201, r.text
            with lock:
                numbers.append(r.json()["number"])

    with ThreadPoolExecutor(KIOSK_THREADS) as pool:
        list(pool.map(kiosk_worker, range(KIOSK_THREADS)))
    assert sorted(int(n[1:]) for n in numbers) == list(range(first, first + KIOSK_TICKETS))

    # Top the backlog up to BACKLOG through the domain service (fast), then call it all over HTTP.
    vault = IdentityVault("unused")

    def top_up(s):
        hall = s.get(Hall, hall_id)
        for _ in range(BACKLOG - KIOSK_TICKETS):
            issue_ticket(s, hall, IssueRequest(item_ids=[item]), now=SystemClock().now(), vault=vault, actor=SYSTEM)
    db.run_write(top_up)

    windows = bearer_session(clerks[0]).get(f"{bases[0]}/api/v1/halls/{hall_id}/windows",
                                            timeout=30).json()["items"]
    called: list[int] = []
    signed_in = threading.Barrier(CLERKS)

    def clerk(i: int) -> None:
        base = bases[i % 2]
        s = bearer_session(clerks[i])
        other = bases[(i + 1) % 2]  # alternate the finishing process too: the other process must see the call

        def no_show(ticket_id: int) -> None:
            assert s.post(f"{other}/api/v1/tickets/{ticket_id}/recall", timeout=300).status_code == 200  # 过号 after a recall
            f = s.post(f"{other}/api/v1/tickets/{ticket_id}/no-show", timeout=300)
            assert f.status_code == 200, f.text
        serve_until_empty(s, base, windows[i]["id"], called=called, lock=lock, end=no_show, timeout=300,
                          ready=signed_in)

    with ThreadPoolExecutor(CLERKS) as pool:
        list(pool.map(clerk, range(CLERKS)))
    twice = [k for k, v in Counter(called).items() if v > 1]
    assert twice == [] and len(called) == BACKLOG

"""Concurrency and restart over real HTTP against a real server process on one SQLite file."""
from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from hall_queue.access.auth import issue_token
from hall_queue.domain.clock import SystemClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.domain.models import Hall
from tests.server import ServerProcess, serve_until_empty, staff_session


def _prepare(tmp_path, windows: int):
    server = ServerProcess(tmp_path)
    server.cli("init")
    db = Database(f"sqlite:///{tmp_path / 'onevisit.db'}")
    now = SystemClock().now()

    def build(s):
        hall = load_simple_hall(s, code="load", now=now, windows=windows)
        return hall.id, issue_token(s, kind="kiosk", hall_id=hall.id, now=now)

    hall_id, kiosk = db.run_write(build)
    db.dispose()
    return server, hall_id, kiosk


def _item_id(base, hall_id):
    return requests.get(f"{base}/api/v1/halls/{hall_id}/catalog", timeout=10).json()["items"][0]["id"]


def test_16_kiosks_2000_tickets_then_16_windows_call_each_exactly_once(tmp_path):
    server, hall_id, kiosk = _prepare(tmp_path, windows=16)
    server.start()
    try:
        base = server.url
        item = _item_id(base, hall_id)
        numbers: list[str] = []
        lock = threading.Lock()

        def kiosk_worker(n: int) -> None:
            s = requests.Session()
            s.headers["Authorization"] = f"Bearer {kiosk}"
            for _ in range(n):
                r = s.post(f"{base}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]}, timeout=60)
                assert r.status_code == 201, r.text
                with lock:
                    numbers.append(r.json()["number"])

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(kiosk_worker, [125] * 16))
        seqs = sorted(int(n[1:]) for n in numbers)
        assert seqs == list(range(1, 2001))                       # no gap, no duplicate
        assert "A1000" in numbers and "A999" in numbers            # display widens past 999

        windows = staff_session(base, "load-c01").get(f"{base}/api/v1/halls/{hall_id}/windows",
                                                      timeout=10).json()["items"]
        called: list[int] = []

        def clerk_worker(i: int) -> None:
            s = staff_session(base, f"load-c{i + 1:02d}")

            def finish(ticket_id: int) -> None:
                f = s.post(f"{base}/api/v1/tickets/{ticket_id}/finish", json={"outcome": "completed"}, timeout=60)
                assert f.status_code == 200, f.text
            serve_until_empty(s, base, windows[i]["id"], called=called, lock=lock, end=finish, timeout=60)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(clerk_worker, range(16)))
        dup = [k for k, v in Counter(called).items() if v > 1]
        assert dup == [] and len(called) == 2000
    finally:
        server.stop()


def test_restart_keeps_every_ticket_and_the_queue_order(tmp_path):
    server, hall_id, kiosk = _prepare(tmp_path, windows=2)
    server.start()
    base = server.url
    item = _item_id(base, hall_id)
    h = {"Authorization": f"Bearer {kiosk}"}
    issued = []
    for i in range(40):
        body = {"item_ids": [item]}
        if i % 5 == 0:
            body.update(priority_class="green", green_reason="elderly")
        r = requests.post(f"{base}/api/v1/halls/{hall_id}/tickets", json=body, headers=h, timeout=10)
        assert r.status_code == 201
        issued.append(r.json())
    server.kill()                     # SIGKILL: no clean shutdown
    server.start()
    try:
        s = staff_session(server.url, "load-c01")
        for t in issued:
            r = s.get(f"{server.url}/api/v1/tickets/{t['id']}", timeout=10).json()
            assert (r["number"], r["status"]) == (t["number"], "waiting")
        wid = s.get(f"{server.url}/api/v1/halls/{hall_id}/windows", timeout=10).json()["items"][0]["id"]
        called: list[int] = []

        def finish(ticket_id: int) -> None:
            s.post(f"{server.url}/api/v1/tickets/{ticket_id}/finish", json={"outcome": "completed"}, timeout=10)
        serve_until_empty(s, server.url, wid, called=called, lock=threading.Lock(), end=finish, timeout=10)
        number = {t["id"]: t["number"] for t in issued}
        order = [number[i] for i in called]
        green = [t["number"] for t in issued if t["priority_class"] == "green"]
        ordinary = [t["number"] for t in issued if t["priority_class"] == "ordinary"]
        # Same 1 green : 2 ordinary order as before the crash, each class in issue order.
        assert [n for n in order if n in green] == green and [n for n in order if n in ordinary] == ordinary
        assert order[:6] == [green[0], ordinary[0], ordinary[1], green[1], ordinary[2], ordinary[3]]
        assert len(order) == 40
    finally:
        server.stop()

"""The real server as a subprocess for tests (shared with the benchmarks), and its clerks over HTTP."""
from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from bench.harness import ServerProcess, free_port
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD

__all__ = ["ServerProcess", "free_port", "serve_until_empty", "staff_session"]


def staff_session(base: str, username: str, *, timeout: float = 30) -> requests.Session:
    """A session logged in as staff member ``username`` (demo password) at ``base``, bearer token in its headers."""
    r = requests.post(f"{base}/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD},
                      timeout=timeout)
    assert r.status_code == 200, r.text
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return s


def serve_until_empty(s: requests.Session, base: str, window_id: int, *, called: list[int], lock: threading.Lock,
                      end: Callable[[int], None], timeout: float) -> None:
    """Sign in at ``window_id`` and call until its queues are empty: each called ticket's id goes into ``called``
    (under ``lock``), then ``end(ticket_id)`` ends the visit (finish, no-show…) and checks the answers."""
    assert s.post(f"{base}/api/v1/windows/{window_id}/sign-in", timeout=timeout).status_code == 200
    while True:
        r = s.post(f"{base}/api/v1/windows/{window_id}/call-next", timeout=timeout)
        assert r.status_code == 200, r.text
        t = r.json()["ticket"]
        if t is None:
            return
        with lock:
            called.append(t["id"])
        end(t["id"])

"""Drill: the Redis message queue goes away on the scale-out path and comes back (issue 9).

Two real server processes on one SQLite file share events through a private ``redis-server`` started
on a free port for this test (the machine's Redis on 6379 is never touched). With Redis killed, a
call made on process 1 still reaches the screen on process 1 and both APIs keep answering; a screen
that reconnects gets its snapshot. With Redis restarted on the same port, the screen is resynced
from a fresh snapshot and a call made on process 2 reaches the screen on process 1 again.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests

from hall_queue.access.auth import issue_token
from hall_queue.domain.clock import SystemClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, load_simple_hall
from tests.conftest import REQUIRE_SERVICES
from tests.server import ServerProcess, free_port, prepared_instance

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


class PrivateRedis:
    """A throw-away redis-server on its own port, with no persistence."""

    def __init__(self, port: int, workdir) -> None:
        self.port, self.workdir, self.proc = port, workdir, None

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


class Screen:
    """A Socket.IO client like a hall screen: records every event it receives."""

    def __init__(self, url: str, token: str, hall_id: int) -> None:
        import socketio

        self.events: list[tuple[str, dict]] = []
        self.cond = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._any)
        self.client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=20)
        ack = self.client.call("join", {"hall": hall_id}, timeout=20)
        assert ack["ok"] is True, ack

    def _any(self, event: str, data: dict) -> None:
        with self.cond:
            self.events.append((event, data))
            self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for name, data in self.events:
                    if predicate(name, data):
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def close(self) -> None:
        self.client.disconnect()


def _login(base: str, username: str) -> dict:
    r = requests.post(f"{base}/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _called(number: str):
    return lambda name, data: name == "ticket_called" and data["ticket"]["number"] == number


@pytest.fixture
def redis_server(tmp_path):
    if not os.path.exists(REDIS):
        if REQUIRE_SERVICES:
            pytest.fail("redis-server is required (ONEVISIT_REQUIRE_SERVICES=1)")
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(free_port(), tmp_path).start()
    yield server
    server.kill()


def test_redis_outage_keeps_local_delivery_and_resyncs_screens(tmp_path, redis_server):
    env = {"SOCKETIO_MESSAGE_QUEUE": f"redis://127.0.0.1:{redis_server.port}/0", "SOCKETIO_CHANNEL": "drill"}
    first = ServerProcess(prepared_instance(tmp_path), env=env)  # as `onevisit init`
    db = Database(f"sqlite:///{tmp_path / 'onevisit.db'}")
    now = SystemClock().now()

    def build(s):
        hall = load_simple_hall(s, code="mq", now=now, windows=2)
        return (hall.id, issue_token(s, kind="kiosk", hall_id=hall.id, now=now),
                issue_token(s, kind="screen", hall_id=hall.id, now=now))

    hall_id, kiosk, screen_token = db.run_write(build)
    db.dispose()
    second = ServerProcess(tmp_path, env=env, args=("--no-duties",))
    servers = [first.start(), second.start()]
    p1, p2 = (s.url for s in servers)
    screens: list[Screen] = []
    try:
        kh = {"Authorization": f"Bearer {kiosk}"}
        item = requests.get(f"{p1}/api/v1/halls/{hall_id}/catalog", timeout=10).json()["items"][0]["id"]
        c1, c2 = _login(p1, "mq-c01"), _login(p2, "mq-c02")
        wins = requests.get(f"{p1}/api/v1/halls/{hall_id}/windows", headers=c1, timeout=10).json()["items"]
        assert requests.post(f"{p1}/api/v1/windows/{wins[0]['id']}/sign-in", headers=c1, timeout=10).ok
        assert requests.post(f"{p2}/api/v1/windows/{wins[1]['id']}/sign-in", headers=c2, timeout=10).ok

        def issue(base: str) -> str:
            r = requests.post(f"{base}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]}, headers=kh,
                              timeout=10)
            assert r.status_code == 201, r.text
            return r.json()["number"]

        def call(base: str, window: dict, h: dict) -> str:
            r = requests.post(f"{base}/api/v1/windows/{window['id']}/call-next", headers=h, timeout=10)
            assert r.status_code == 200, r.text
            t = r.json()["ticket"]
            assert requests.post(f"{base}/api/v1/tickets/{t['id']}/finish", json={"outcome": "completed"},
                                 headers=h, timeout=10).status_code == 200
            return t["number"]

        screen = Screen(p1, screen_token, hall_id)
        screens.append(screen)
        assert screen.wait_for(lambda n, d: n == "snapshot")
        # Healthy: an event caused through process 2 reaches the screen on process 1.
        n = issue(p2)
        assert screen.wait_for(lambda name, d: name == "ticket_issued" and d["ticket"]["number"] == n)

        redis_server.kill()
        # Single-process delivery: a call made on process 1 reaches the screen on process 1.
        for _ in range(3):
            issue(p1)
        number = call(p1, wins[0], c1)
        assert screen.wait_for(_called(number)), "local delivery stopped with Redis down"
        # Both APIs keep answering; process 2's events cannot cross, but nothing is lost in the database.
        during = [issue(p2) for _ in range(2)]
        number = call(p1, wins[0], c1)
        assert screen.wait_for(_called(number))
        # A screen that (re)connects meanwhile gets the snapshot, which includes process 2's tickets.
        late = Screen(p1, screen_token, hall_id)
        screens.append(late)
        snap = late.wait_for(lambda name, d: name == "snapshot")
        assert snap is not None
        waiting = sum(q["waiting"] for q in snap["queues"])
        assert waiting == 1 + 3 + 2 - 2  # the probe, 3 + 2 issued during the outage, 2 called
        assert not screen.wait_for(lambda name, d: name == "ticket_issued" and d["ticket"]["number"] in during,
                                   timeout=0.5)

        seen = len(screen.events)
        redis_server.start()  # same port
        # When the queue is back, process 1 resyncs its screens from a fresh snapshot ...
        resync = screen.wait_for(lambda name, d: name == "snapshot" and d.get("resync")
                                 and screen.events.index((name, d)) >= seen, timeout=20)
        assert resync is not None, "no resync snapshot after Redis returned"
        assert sum(q["waiting"] for q in resync["queues"]) == 4  # includes what process 2 did meanwhile
        # ... and once both processes listen again, a call made on process 2 reaches process 1's screen.
        deadline = time.monotonic() + 90
        arrived = False
        while not arrived and time.monotonic() < deadline:
            probe = issue(p2)
            arrived = screen.wait_for(lambda name, d, n=probe: name == "ticket_issued" and d["ticket"]["number"] == n,
                                      timeout=1.0) is not None
        assert arrived, "events from process 2 never resumed"
        number = call(p2, wins[1], c2)
        assert screen.wait_for(_called(number)), "a call on process 2 did not reach the screen on process 1"
    finally:
        for s in screens:
            with contextlib.suppress(Exception):  # already gone with its server
                s.close()
        for s in servers:
            s.stop()

"""``onevisit run``: the production server (gunicorn, one gthread worker) honours HTTP keep-alive, serves
Socket.IO over WebSocket, and its worker never outlives the command; ``--dev`` still serves (werkzeug)."""
from __future__ import annotations

import http.client
import json
import time

import pytest
import requests
import socketio

from tests.server import ServerProcess, prepared_instance


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ServerProcess(prepared_instance(tmp_path_factory.mktemp("server"), demo=True))  # as `init` + `demo`
    srv.tokens = json.loads((srv.instance / "demo-tokens.json").read_text())
    srv.start(timeout=60)
    yield srv
    srv.stop()


def _two_requests_on_one_connection(port: int) -> tuple[list[str | None], bool]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        conn.request("GET", "/api/v1/halls/1/catalog")
        second = conn.getresponse()
        second.read()
        assert first.status == 200 and second.status == 200
        return [first.getheader("Connection"), second.getheader("Connection")], conn.sock is sock and sock is not None
    finally:
        conn.close()


def test_keep_alive_is_honoured(server):
    headers, same_socket = _two_requests_on_one_connection(server.port)
    assert "close" not in [(h or "").lower() for h in headers]
    assert same_socket  # the second request went over the first one's TCP connection


def test_a_call_reaches_a_screen_over_websocket(server):
    tokens = server.tokens
    got: list[tuple[str, dict]] = []
    sio = socketio.Client()
    sio.on("*", lambda name, data=None: got.append((name, data)))
    sio.connect(server.url, transports=["websocket"], auth={"token": tokens["screen"]}, wait_timeout=20)
    try:
        assert sio.transport() == "websocket"
        assert sio.call("join", {"hall": tokens["hall_id"]}, timeout=20)["ok"] is True
        item = requests.get(f"{server.url}/api/v1/halls/{tokens['hall_id']}/catalog", timeout=10).json()["items"][0]["id"]
        issued = requests.post(f"{server.url}/api/v1/halls/{tokens['hall_id']}/tickets", json={"item_ids": [item]},
                               headers={"Authorization": f"Bearer {tokens['kiosk']}"}, timeout=10).json()
        token = requests.post(f"{server.url}/api/v1/auth/login",
                              json={"username": "clerk03", "password": "onevisit-demo"}, timeout=10).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        window = next(w for w in requests.get(f"{server.url}/api/v1/halls/{tokens['hall_id']}/windows", headers=h,
                                              timeout=10).json()["items"] if w["number"] == 3)
        assert requests.post(f"{server.url}/api/v1/windows/{window['id']}/sign-in", headers=h, timeout=10).ok
        called = requests.post(f"{server.url}/api/v1/windows/{window['id']}/call-next", headers=h, timeout=10).json()
        assert called["ticket"]["id"] == issued["id"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(n == "ticket_called" for n, _ in got):
            time.sleep(0.1)
        payload = next(d for n, d in got if n == "ticket_called")
        assert payload["ticket"]["number"] == issued["number"] and payload["window"]["number"] == 3
        # The queue figures of the call are read after commit, and still reach the screen.
        while time.monotonic() < deadline and not any(n == "queue_stats" and "queues" in (d or {}) for n, d in got):
            time.sleep(0.1)
        assert any(n == "queue_stats" and d["queues"][0]["prefix"] == issued["queue_prefix"] for n, d in got)
    finally:
        sio.disconnect()


def _serving(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).ok
    except requests.RequestException:
        return False


def test_the_worker_dies_with_onevisit_run(tmp_path):
    srv = ServerProcess(prepared_instance(tmp_path))  # as `onevisit init`
    srv.start(timeout=60)
    srv.kill()  # SIGKILL to `onevisit run` (gunicorn's arbiter), as a power cut of the command would
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _serving(srv.url):
        time.sleep(0.2)
    assert not _serving(srv.url)  # no orphan worker keeps answering (or holding the SQLite writer lock)


def test_dev_server_still_serves(tmp_path):
    srv = ServerProcess(prepared_instance(tmp_path), args=("--dev",))
    srv.start(timeout=60)
    try:
        assert requests.get(srv.url + "/healthz", timeout=10).json()["ok"] is True
    finally:
        srv.stop()


def test_sigterm_stops_the_worker_itself_and_keeps_the_tickets(tmp_path):
    """``systemctl stop``: the worker leaves on its own (no gunicorn SIGKILL after the grace, which logged
    "Perhaps out of memory?"), even with a screen's WebSocket open, and an acknowledged ticket is on disk."""
    import signal
    import sqlite3

    srv = ServerProcess(prepared_instance(tmp_path, demo=True))
    tokens = json.loads((srv.instance / "demo-tokens.json").read_text())
    srv.start(timeout=60)
    sio = socketio.Client(reconnection=False)
    try:
        sio.connect(srv.url, transports=["websocket"], auth={"token": tokens["screen"]}, wait_timeout=20)
        item = requests.get(f"{srv.url}/api/v1/halls/{tokens['hall_id']}/catalog", timeout=10).json()["items"][0]["id"]
        issued = requests.post(f"{srv.url}/api/v1/halls/{tokens['hall_id']}/tickets", json={"item_ids": [item]},
                               headers={"Authorization": f"Bearer {tokens['kiosk']}"}, timeout=10)
        assert issued.status_code == 201, issued.text
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=60) == 0
    finally:
        srv.kill()
        if sio.connected:
            sio.disconnect()
    log = srv.log.read_text()
    assert "SIGKILL" not in log and "out of memory" not in log, log[-2000:]
    with sqlite3.connect(srv.instance / "onevisit.db") as db:
        assert db.execute("SELECT number FROM tickets WHERE id = ?", (issued.json()["id"],)).fetchone()[0] == \
            issued.json()["number"]

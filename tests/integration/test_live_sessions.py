"""Sessions that end (issue 13, findings 4, 10, 11): a real server process, real Socket.IO clients.

Logout, a revoked token and a disabled account close live connections; ``join`` re-checks the token;
Engine.IO sessions without a valid token are closed, so they cannot pile up threads; no ``?token=``.
"""
from __future__ import annotations

import socket
import threading
import time
from datetime import datetime

import engineio
import pytest
import requests
import socketio
from sqlalchemy import select, update

from hall_queue.access.auth import issue_token
from hall_queue.domain.clock import SystemClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, issue_demo_tokens, load_demo_hall
from hall_queue.domain.models import AccessToken, Staff
from hall_queue.infrastructure.realtime import socketio as server_socketio
from tests.server import ServerProcess, prepared_instance

WAIT_S = 15.0
SETTLE_S = 60.0  # upper bound for closed sessions' threads to end (Engine.IO ping interval 25 s)  # generous upper bound for the server's close to arrive; nothing asserts how fast


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    server = ServerProcess(prepared_instance(tmp), args=("--no-duties",))  # as `onevisit init`
    db = Database(f"sqlite:///{tmp / 'onevisit.db'}")
    now = SystemClock().now()

    def build(s):
        hall = load_demo_hall(s, now=now)
        tokens = issue_demo_tokens(s, hall, now=now)
        tokens["screen2"] = issue_token(s, kind="screen", hall_id=hall.id, now=now, name="2号屏")
        return hall.id, tokens

    hall_id, tokens = db.run_write(build)
    server.start()
    try:
        yield server, db, hall_id, tokens
    finally:
        server.stop()
        db.dispose()


def _login(base: str, username: str) -> str:
    r = requests.post(f"{base}/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["token"]


class Live:
    """A real python-socketio client that notes when the server ends its connection."""

    def __init__(self, base: str, token: str) -> None:
        self.closed = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("disconnect", lambda *a: self.closed.set())
        self.client.connect(base, auth={"token": token}, transports=["websocket"], wait_timeout=10)

    def join(self, hall_id: int) -> dict:
        return self.client.call("join", {"hall": hall_id}, timeout=10)


def _closed_by_server(conn: Live) -> bool:
    return conn.closed.wait(WAIT_S) and not conn.client.connected


def test_logout_closes_the_live_connection(live):
    server, _db, hall_id, _tokens = live
    token = _login(server.url, "manager")
    conn = Live(server.url, token)
    assert conn.join(hall_id)["ok"] is True
    r = requests.post(f"{server.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200
    assert _closed_by_server(conn)


def test_disabling_an_account_closes_its_connections(live):
    server, db, hall_id, _tokens = live
    clerk_token = _login(server.url, "clerk05")
    conn = Live(server.url, clerk_token)
    assert conn.join(hall_id)["ok"] is True
    with db.read() as s:
        staff_id = s.scalar(select(Staff.id).where(Staff.username == "clerk05"))
    r = requests.patch(f"{server.url}/api/v1/staff/{staff_id}", json={"active": False},
                       headers={"Authorization": f"Bearer {_login(server.url, 'manager')}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert _closed_by_server(conn)


def test_a_token_revoked_by_another_process_closes_the_screen(live):
    """The revocation is written by this test process, not the server: the server still notices."""
    server, db, hall_id, tokens = live
    conn = Live(server.url, tokens["screen2"])
    other = Live(server.url, tokens["screen"])
    assert conn.join(hall_id)["ok"] is True and other.join(hall_id)["ok"] is True
    db.run_write(lambda s: s.execute(update(AccessToken).where(AccessToken.name == "2号屏")
                                     .values(revoked_at=datetime(2000, 1, 1))))
    assert _closed_by_server(conn)
    assert other.client.connected and other.join(hall_id)["ok"] is True  # only the revoked one ends
    other.client.disconnect()


def test_query_string_token_is_refused_but_a_bearer_header_works(live):
    server, _db, hall_id, tokens = live
    with pytest.raises(socketio.exceptions.ConnectionError):
        socketio.Client(reconnection=False).connect(f"{server.url}?token={tokens['screen']}",
                                                    transports=["websocket"], wait_timeout=10)
    c = socketio.Client(reconnection=False)
    c.connect(server.url, headers={"Authorization": f"Bearer {tokens['screen']}"}, transports=["websocket"],
              wait_timeout=10)
    assert c.call("join", {"hall": hall_id}, timeout=10)["ok"] is True
    c.disconnect()


def _threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


def _raw_websocket(port: int, *, send_connect: bool) -> socket.socket:
    """An Engine.IO websocket opened by hand; optionally sends a Socket.IO CONNECT without a token."""
    import base64
    import os

    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, "server closed the upgrade"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head[:100]
    if send_connect:
        payload = b"40"
        mask = os.urandom(4)
        s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    return s


def _wait_closed_by_server(s: socket.socket, deadline: float) -> bool:
    """Read until the server closes the TCP connection (EOF); False if it is still open at ``deadline``."""
    try:
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            if not s.recv(4096):
                break
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


@pytest.mark.parametrize("send_connect", [True, False], ids=["refused-connect", "silent"])
def test_unauthenticated_engineio_sessions_leave_the_thread_count_flat(live, send_connect):
    server, *_ = live
    pid = server.proc.pid
    before = _threads(pid)
    socks = [_raw_websocket(server.port, send_connect=send_connect) for _ in range(300 if send_connect else 60)]
    try:
        deadline = time.monotonic() + WAIT_S
        closed = sum(_wait_closed_by_server(s, deadline) for s in socks)
        assert closed == len(socks)  # the server ended every one of them, the client never did
        # Engine.IO's ping task of a closed session sleeps out its ping interval (25 s) before it
        # ends; what matters is that nothing stays: the count comes back to where it was.
        deadline = time.monotonic() + SETTLE_S
        while (after := _threads(pid)) > before + 10 and time.monotonic() < deadline:
            time.sleep(0.5)
        print(f"{len(socks)} unauthenticated sockets ({'refused' if send_connect else 'silent'}): "
              f"server threads {before} before, {after} after")
        assert after <= before + 10, (before, after)
    finally:
        for s in socks:
            s.close()


def test_websocket_messages_go_out_uncompressed_even_when_the_browser_offers_deflate(live):
    """Every browser offers permessage-deflate; compressing each screen's copy of every event separately cost more
    than framing it (issue 19), so the server declines the offer and its frames carry no RSV1 (compressed) bit."""
    import base64
    import json
    import os

    server, *_ = live
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            assert chunk, "server closed the upgrade"
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head[:100]
        assert b"sec-websocket-extensions" not in head.lower(), head
        while len(rest) < 2 or len(rest) < 2 + (rest[1] & 0x7F):
            rest += s.recv(4096)
        first, length = rest[0], rest[1] & 0x7F  # Engine.IO's OPEN packet: short, one text frame, unmasked
        assert first == 0x81, hex(first)  # FIN + text, RSV1 (compressed) clear
        opened = rest[2:2 + length].decode()
        assert opened.startswith("0") and "sid" in json.loads(opened[1:])


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_a_screen_gets_every_event_once_and_in_order_whichever_transport(live, transport, monkeypatch):
    """WebSocket screens are written to by the sending thread (``ws_transport``), long-polling ones through
    Engine.IO's queue, at most ``PACKETS_PER_POLL`` packets per answer (python-engineio's client drops the
    connection on more): both see every ticket issued, once, in the order of issue. The long-polling screen is
    a slow one (each poll 0.2 s late), so the events of several issues wait for each of its polls."""
    if transport == "polling":
        send = engineio.Client._send_request

        def late_poll(self, method, url, *args, **kwargs):
            if method == "GET" and "sid=" in url:
                time.sleep(0.2)
            return send(self, method, url, *args, **kwargs)

        monkeypatch.setattr(engineio.Client, "_send_request", late_poll)
    server, _db, hall_id, tokens = live
    seen: list[str] = []
    client = socketio.Client(reconnection=False)
    client.on("ticket_issued", lambda data: seen.append(data["ticket"]["number"]))
    client.connect(server.url, auth={"token": tokens["screen"]}, transports=[transport], wait_timeout=10)
    try:
        assert client.call("join", {"hall": hall_id}, timeout=10)["ok"] is True
        kiosk = requests.Session()
        kiosk.headers["Authorization"] = f"Bearer {tokens['kiosk']}"
        catalog = kiosk.get(f"{server.url}/api/v1/halls/{hall_id}/catalog", timeout=10).json()["items"]
        issued = []
        for i in range(40):
            r = kiosk.post(f"{server.url}/api/v1/halls/{hall_id}/tickets",
                           json={"item_ids": [catalog[i % 3]["id"]]}, timeout=10)
            assert r.status_code == 201, r.text
            issued.append(r.json()["number"])
        deadline = time.monotonic() + WAIT_S
        while len(seen) < len(issued) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen == issued, (client.connected, client.transport(), len(seen))
    finally:
        client.disconnect()


def test_join_rechecks_the_token(app, api):
    """In-process: a token revoked after connecting cannot join any room."""
    token = api.token("manager")
    c = server_socketio.test_client(app, auth={"token": token})
    assert c.emit("join", {"hall": api.hall_id}, callback=True)["ok"] is True
    assert api.post("/api/v1/auth/logout", token=token).status_code == 200
    answer = c.emit("join", {"hall": api.hall_id}, callback=True)
    assert answer is None or answer["error"]["code"] == "unauthorized"
    assert not c.is_connected()

"""``onevisit run``: the production server (gunicorn, one gthread worker) honours HTTP keep-alive, serves
Socket.IO over WebSocket, and its worker never outlives the command; ``--dev`` still serves (werkzeug)."""
from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time

import pytest
import requests
import socketio

from hall_queue.entrypoints.server import LINGER_S
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


def test_answers_carry_the_current_date_and_no_session_cookie_unasked(server):
    """The Date header (formatted once per second, ``_http_date_per_second``) is the answer's own second, and
    a request without a cookie gets no session cookie and no ``Vary: Cookie`` (the session's fast path)."""
    before = time.time()
    answer = requests.get(f"{server.url}/api/v1/halls/1/catalog", timeout=10)
    after = time.time()
    assert answer.status_code == 200
    dated = email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp()
    assert int(before) <= dated <= after
    assert "Set-Cookie" not in answer.headers
    assert "cookie" not in answer.headers.get("Vary", "").lower()


def test_answers_in_one_write_or_gunicorns_own_read_back_whole(server):
    """``OneWriteResponse``: a body of known length goes out with its head in one write; a HEAD, a streamed
    (chunked) answer and a page read back the same as ever, on one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        bare = conn.getresponse()
        body = bare.read()
        assert bare.status == 200 and int(bare.getheader("Content-Length")) == len(body)
        assert json.loads(body)["ok"] is True
        conn.request("HEAD", "/healthz")
        head = conn.getresponse()
        assert head.status == 200 and head.read() == b""
        conn.request("GET", "/metrics")  # Prometheus text
        metrics = conn.getresponse()
        assert metrics.status == 200 and b"onevisit_http_requests" in metrics.read()
        conn.request("GET", "/api/v1/halls/1/catalog")
        catalog = conn.getresponse()
        assert catalog.status == 200 and json.loads(catalog.read())["items"]
    finally:
        conn.close()


def _read_answers(sock: socket.socket, n: int) -> list[bytes]:
    """Read ``n`` HTTP answers (with Content-Length) from ``sock``; return their status lines."""
    data, statuses = b"", []
    while len(statuses) < n:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1")
            length = int(next(line.split(":", 1)[1] for line in head.split("\r\n")
                              if line.lower().startswith("content-length:")))
            if len(data) >= head_end + 4 + length:
                statuses.append(head.split("\r\n", 1)[0].encode())
                data = data[head_end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    return statuses


def test_a_connection_is_served_back_to_back_pipelined_and_after_a_pause(server):
    """The request thread keeps a busy connection (``HallWorker.handle``); requests sent together, and one sent
    after the thread gave the connection back to the poller (``LINGER_S``), are all answered on it."""
    get = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(get)
        assert _read_answers(sock, 1) == [b"HTTP/1.1 200 OK"]
        sock.sendall(get)  # back to back: read by the same thread
        assert _read_answers(sock, 1) == [b"HTTP/1.1 200 OK"]
        sock.sendall(get * 3)  # pipelined: the later ones are read ahead with the first
        assert _read_answers(sock, 3) == [b"HTTP/1.1 200 OK"] * 3
        time.sleep(LINGER_S * 10)  # quiet: back in the worker's poller
        sock.sendall(get)
        assert _read_answers(sock, 1) == [b"HTTP/1.1 200 OK"]


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


def test_a_broken_chunked_body_answers_400(server):
    """gunicorn's reader raises its own parse error for a bad chunk size while the view reads the body: it was a
    500 (found by test_fuzz_beyond_openapi); now the API's JSON 400 and, for a page's form, the page's 400."""
    for path, ctype in (("/api/v1/auth/login", "application/json"),
                        (f"/api/v1/halls/{server.tokens['hall_id']}/complaints", "application/json"),
                        ("/complaints/new", "application/x-www-form-urlencoded")):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
                      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".encode())
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), (path, head[:80])
        if path.startswith("/api/"):
            assert json.loads(body)["error"]["code"] == "bad_request"
    assert requests.get(f"{server.url}/healthz", timeout=10).ok


def test_socketio_refuses_odd_auth_and_answers_odd_joins(server):
    """Found by test_fuzz_beyond_openapi: a ``join`` with no argument raised TypeError in the worker (no answer);
    a client emitting ``disconnect`` ran the lifecycle handler and lost its principal while still connected; a
    lone surrogate in the auth token raised UnicodeEncodeError in the token digest."""
    refused = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(server.url, transports=["websocket"], auth={"token": "\ud800"}, wait_timeout=10)
    sio = socketio.Client(reconnection=False)
    sio.connect(server.url, transports=["websocket"], auth={"token": server.tokens["screen"]}, wait_timeout=20)
    try:
        assert sio.call("join", timeout=10)["error"]["code"] == "invalid"
        assert sio.call("join", ({"hall": server.tokens["hall_id"]}, "extra"), timeout=10)["ok"] is True
        sio.emit("disconnect", {"hall": 1})
        sio.emit("connect", {"token": "nope"})
        assert sio.call("join", {"hall": server.tokens["hall_id"]}, timeout=10)["ok"] is True  # still itself
    finally:
        sio.disconnect()
    assert "Traceback" not in server.log.read_text(errors="replace")


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

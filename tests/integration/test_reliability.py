"""Faults the API must survive: a database that is down answers 503 and recovers; security headers.

The database drills cut a real PostgreSQL off behind a TCP proxy (the machine's server is never
stopped) and hold a real SQLite file locked from another connection past the busy timeout; the
kiosk agent in front of the API shows the pause message and issues once the database is back.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import threading

import pytest

from hall_queue import create_app
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.domain.models import Base
from tests.conftest import (
    REQUIRE_SERVICES,
    drop_postgres_database,
    new_postgres_database,
    postgres_available,
)


def test_database_down_answers_503_then_service_resumes(tmp_path, clock):
    path = tmp_path / "hall.db"
    good = Database(f"sqlite:///{path}")
    Base.metadata.create_all(good.writer)
    hall_id = good.run_write(lambda s: load_simple_hall(s, code="x", now=clock.now(), windows=1).id)
    good.dispose()
    # The same app, first pointed at a PostgreSQL port nobody listens on (the database is down).
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    app = create_app({"DATABASE": down, "DATABASE_URL": down.url, "CLOCK": clock, "TESTING": True})
    r = app.test_client().get(f"/api/v1/halls/{hall_id}/catalog")
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "database_unavailable"
    # The database comes back: the next request is served without a restart.
    app.extensions["onevisit"].db = Database(f"sqlite:///{path}")
    r = app.test_client().get(f"/api/v1/halls/{hall_id}/catalog")
    assert r.status_code == 200 and r.get_json()["items"]


def test_security_headers_on_pages_and_api(client, hall_id):
    for url in ("/healthz", f"/api/v1/halls/{hall_id}/catalog", "/kiosk/", "/admin/login"):
        r = client.get(url)
        assert r.status_code < 500, url
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"


def test_no_page_carries_an_inline_script():
    """The strict CSP blocks inline scripts, so none may exist (data blocks of type JSON are fine)."""
    import re

    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    offenders = []
    for area in ("kiosk", "display", "hall_admin", "hall_queue"):
        for dirpath, _dirs, files in os.walk(os.path.join(root, area)):
            for f in files:
                if f.endswith(".html"):
                    text = open(os.path.join(dirpath, f), encoding="utf-8").read()
                    for tag in re.findall(r"<script\b[^>]*>", text):
                        if "src=" not in tag and "application/json" not in tag:
                            offenders.append(f"{f}: {tag}")
                    if re.search(r"\son[a-z]+\s*=\s*\"", text):
                        offenders.append(f"{f}: inline event handler")
    assert offenders == []


# ---------------------------------------------------------------- database outages (issue 9)

class TcpCut:
    """A TCP proxy in front of a server that can be cut (every connection dropped, new ones refused)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        """Listen again on the same port: the database is back."""
        lst = socket.socket()
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", self.port))
        lst.listen(64)
        self.port = lst.getsockname()[1]
        self._listener = lst
        threading.Thread(target=self._accept, args=(lst,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and drop every open connection, as a stopped server does."""
        lst, self._listener = self._listener, None
        if lst is not None:
            try:
                lst.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            lst.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, lst: socket.socket) -> None:
        while True:
            try:
                client, _ = lst.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _kiosk_pages(app, tmp_path, token):
    """The kiosk agent in front of ``app`` (in process, like the demo) and the pages it serves."""
    from flask import Flask

    from kiosk import pages
    from kiosk.agent import AgentConfig, KioskAgent
    from kiosk.upstream import InProcessUpstream

    agent = KioskAgent(InProcessUpstream(app, token),
                       AgentConfig(idcard_url=None, printer_url=f"virtual://?dir={tmp_path / 'slips'}",
                                   scanner_url=None, health_every_s=3600))
    front = Flask("kiosk-front")
    front.register_blueprint(pages.bp)
    pages.set_agent_provider(front, lambda: agent)
    return agent.start(), front.test_client()


def _outage_drill(app, hall_id, kiosk_token, tmp_path, *, cut, restore):
    """Issue, cut the database, check 503 + pause message, restore, check service resumes; return figures."""
    api = app.test_client()
    kh = {"Authorization": f"Bearer {kiosk_token}"}
    item = api.get(f"/api/v1/halls/{hall_id}/catalog").get_json()["items"][0]["id"]
    agent, page = _kiosk_pages(app, tmp_path, kiosk_token)
    try:
        assert page.post("/kiosk/agent/tickets", json={"request_id": "before-cut-01", "item_ids": [item]}).status_code == 201
        cut()
        r = api.post(f"/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]}, headers=kh)
        assert r.status_code == 503
        assert r.get_json()["error"]["code"] == "database_unavailable" and r.get_json()["error"]["message"]
        # The kiosk shows the pause message and keeps the visitor's request for a retry.
        k = page.post("/kiosk/agent/tickets", json={"request_id": "during-cut-1", "item_ids": [item]})
        assert k.status_code == 503
        err = k.get_json()["error"]
        assert (err["code"], err["message"], err["reason"]) == ("server_unreachable", "暂停取号，请稍候",
                                                                "database_unavailable")
        assert page.get("/kiosk/agent/state").get_json()["server_ok"] is False
        restore()
        # Service resumes on its own: no restart, the same visitor request now issues exactly one ticket.
        again = page.post("/kiosk/agent/tickets", json={"request_id": "during-cut-1", "item_ids": [item]})
        assert again.status_code == 201, again.get_json()
        twice = page.post("/kiosk/agent/tickets", json={"request_id": "during-cut-1", "item_ids": [item]})
        assert twice.get_json()["ticket"]["id"] == again.get_json()["ticket"]["id"]
        assert page.get("/kiosk/agent/state").get_json()["server_ok"] is True
    finally:
        agent.stop()


@pytest.mark.skipif(not (REQUIRE_SERVICES or postgres_available()), reason="PostgreSQL not reachable on 127.0.0.1:5432")
def test_postgresql_cut_off_answers_503_and_recovers_on_its_own(tmp_path, clock):
    from hall_queue.access.auth import issue_token

    url = new_postgres_database()
    proxy = TcpCut(("127.0.0.1", 5432))
    name = url.rsplit("/", 1)[1]
    through = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/{name}?connect_timeout=2"
    db = Database(through)
    try:
        def build(s):
            hall = load_simple_hall(s, code="pgcut", now=clock.now(), windows=1)
            return hall.id, issue_token(s, kind="kiosk", hall_id=hall.id, now=clock.now())

        hall_id, kiosk = db.run_write(build)
        app = create_app({"DATABASE": db, "DATABASE_URL": through, "CLOCK": clock, "TESTING": True})
        _outage_drill(app, hall_id, kiosk, tmp_path, cut=proxy.cut, restore=proxy.restore)
    finally:
        proxy.cut()
        db.dispose()
        drop_postgres_database(url)


def test_sqlite_locked_past_the_busy_timeout_answers_503_and_recovers(tmp_path, clock, monkeypatch):
    from hall_queue.infrastructure import db as db_mod
    from hall_queue.access.auth import issue_token

    # The real busy timeout is 30 s; the drill shortens it so that "past the timeout" comes quickly.
    monkeypatch.setattr(db_mod, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "hall.db"
    db = Database(f"sqlite:///{path}")
    Base.metadata.create_all(db.writer)

    def build(s):
        hall = load_simple_hall(s, code="lock", now=clock.now(), windows=1)
        return hall.id, issue_token(s, kind="kiosk", hall_id=hall.id, now=clock.now())

    hall_id, kiosk = db.run_write(build)
    app = create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "TESTING": True})
    holder: list[sqlite3.Connection] = []

    def lock():
        # Another program holds the write lock on the file (a backup tool, a stuck process).
        conn = sqlite3.connect(str(path), timeout=5, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        holder.append(conn)

    def unlock():
        holder.pop().rollback()

    try:
        _outage_drill(app, hall_id, kiosk, tmp_path, cut=lock, restore=unlock)
        # Reading went on during the lock (WAL): the catalogue and screens never stopped.
        lock()
        assert app.test_client().get(f"/api/v1/halls/{hall_id}/catalog").status_code == 200
        unlock()
    finally:
        for conn in holder:
            conn.close()
        db.dispose()

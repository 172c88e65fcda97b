"""Faults the API must survive: a database that is down answers 503 and recovers; security headers."""
from __future__ import annotations

import os

import pytest

from hall_queue import create_app
from hall_queue.db import Database
from hall_queue.demo import load_simple_hall
from hall_queue.models import Base


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

"""Cases' duties: signed webhooks through the outbox to a real, flaky HTTP server; due-soon / overdue and
容缺 alerts and reminders on the hall calendar."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from hall_queue.cases.duties import check_cases, overdue_by_department
from hall_queue.cases.webhooks import deliver_due
from hall_queue.domain.models import (
    Alert,
    CaseEvent,
    Hall,
    Notification,
    WebhookDelivery,
)
from hall_queue.infrastructure.sms import notifier_for
from hall_queue.infrastructure.webhooks import verify
from tests.conftest import engines
from tests.integration.test_cases_api import accept, later, step

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)
SECRET = "a-long-enough-webhook-secret"


class FlakyReceiver:
    """A real HTTP server that answers 500 to every other request and drops every fifth connection."""

    def __init__(self) -> None:
        self.received: list[tuple[int, dict]] = []
        self.bad_signatures = 0
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.requests += 1
                n = outer.requests
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if n % 5 == 0:
                    self.close_connection = True
                    self.connection.shutdown(2)  # the receiver falls over mid-request
                    return
                if n % 2 == 0:
                    self.send_response(500)
                    self.end_headers()
                    return
                if not verify(SECRET, self.headers["X-OneVisit-Signature"], body):
                    outer.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                outer.received.append((int(self.headers["X-OneVisit-Event"]), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_a):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_every_case_event_reaches_a_flaky_receiver_signed_once_delivered_and_in_order(api, db, app):
    rx = FlakyReceiver()
    try:
        r = api.client.put(f"/api/v1/halls/{api.hall_id}/case-settings", json={"webhook_url": rx.url,
                           "webhook_secret": SECRET}, headers={"Authorization": f"Bearer {api.token('manager')}"})
        assert r.status_code == 200, r.get_json()
        cases = [accept(api, "SS003")["cases"][0]["id"]]
        api.clock.advance(minutes=1)
        cases.append(accept(api, "SS005")["cases"][0]["id"])
        for cid in cases:
            step(api, "dept-ss", cid, "take")
            step(api, "dept-ss", cid, "decide", {"decision": "approved"})
        rt = app.extensions["onevisit"]
        for _ in range(60):
            deliver_due(db, rt.vault, now=api.clock.now())
            api.clock.advance(hours=2)  # past every back-off
            with db.read() as s:
                if not s.scalar(select(WebhookDelivery.id).where(WebhookDelivery.status == "pending").limit(1)):
                    break
        with db.read() as s:
            events = s.execute(select(CaseEvent.id, CaseEvent.case_id).order_by(CaseEvent.id)).all()
            statuses = set(s.scalars(select(WebhookDelivery.status)).all())
        assert statuses == {"delivered"} and rx.bad_signatures == 0
        assert rx.requests > len(events)             # the receiver did fail along the way
        assert sorted(e for e, _ in rx.received) == [e.id for e in events]   # each exactly once, none lost
        for cid in cases:                             # and each case's events in their order
            got = [e for e, body in rx.received if body["case"]["id"] == cid]
            assert got == sorted(got) and len(got) == 4
        assert all("220102" not in json.dumps(b) and "张三丰" not in json.dumps(b) for _, b in rx.received)
    finally:
        rx.close()


def test_due_soon_then_overdue_alerts_follow_the_calendar_and_clear_when_decided(api, db, app):
    cid = accept(api, "SS003")["cases"][0]["id"]   # due Thu 2026-03-05
    rt = app.extensions["onevisit"]

    def run():
        return db.run_write(lambda s: check_cases(s, s.get(Hall, api.hall_id), now=rt.clock.now(),
                                                  notifier=notifier_for(app)))

    def open_kinds():
        with db.read() as s:
            return sorted(a.kind for a in s.scalars(select(Alert).where(Alert.cleared_at.is_(None),
                                                                         Alert.kind.like("case%"))))
    assert run() == [] and open_kinds() == []
    later(api, days=2)                             # Wed: one working day left
    assert [e.name for e in run()] == ["alert"] and open_kinds() == ["case_due_soon"]
    assert run() == []                             # raised once
    later(api, days=2)                             # Fri: overdue
    assert [e.name for e in run()] == ["alert_cleared", "alert"] and open_kinds() == ["case_overdue"]
    with db.read() as s:
        [dept] = overdue_by_department(s, s.get(Hall, api.hall_id), now=rt.clock.now())
        assert dept["department"] == "市场监督管理局" and [c["id"] for c in dept["cases"]] == [cid]
    step(api, "dept-ss", cid, "take")
    step(api, "dept-ss", cid, "decide", {"decision": "approved"})
    assert [e.name for e in run()] == ["alert_cleared"] and open_kinds() == []


def test_deferred_material_gets_one_reminder_before_and_an_alert_after_its_deadline(api, db, app):
    c = accept(api, "SS003", outcome="deferred",
               deferred_materials=[{"name": "清税证明", "due_date": "2026-03-04"}])["cases"][0]
    rt = app.extensions["onevisit"]

    def run():
        return db.run_write(lambda s: check_cases(s, s.get(Hall, api.hall_id), now=rt.clock.now(),
                                                  notifier=notifier_for(app)))

    def reminders():
        with db.read() as s:
            return s.scalars(select(Notification.text).where(Notification.kind == "deferred_due")).all()
    run()
    assert reminders() == []                        # Mon: deadline Wed, reminder on Tue
    later(api, days=1)
    run()
    run()
    [text] = reminders()
    assert "清税证明" in text and "2026-03-04" in text
    later(api, days=2)                              # Thu: past the deadline
    kinds = [e.payload.get("kind") for e in run() if e.name == "alert"]
    assert "deferred_overdue" in kinds
    detail = api.get(f"/api/v1/cases/{c['id']}", token=api.token("dept-ss")).get_json()
    mid = detail["deferred_materials"][0]["id"]
    assert api.post(f"/api/v1/deferred-materials/{mid}/supply", {"via": "kiosk"},
                    token=api.tokens["kiosk"]).status_code == 200
    cleared = [e.payload.get("kind") for e in run() if e.name == "alert_cleared"]
    assert "deferred_overdue" in cleared

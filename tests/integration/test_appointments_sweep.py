"""The sweep: no-shows, booking blocks, reminders exactly once across restarts, the SMS webhook."""
from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from sqlalchemy import select

from hall_queue import create_app
from hall_queue.entrypoints.duties import sweep_appointments
from hall_queue.domain.clock import ManualClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import load_demo_hall
from hall_queue.access.identity import IdentityVault
from hall_queue.domain.models import Appointment, Base, Notification
from hall_queue.infrastructure.sms import DeliveryError, LogTransport, Notifier, WebhookTransport
from tests.conftest import MONDAY_10AM
from tests.integration.test_appointments_booking import ID_A, ID_B, book, manager_put

KEY = "test-data-key"


def test_unchecked_booking_becomes_a_no_show_at_the_end_of_its_slot(api, app, db):
    a = book(api, "2026-03-02T10:30")
    api.clock.set(MONDAY_10AM + timedelta(minutes=60) - timedelta(seconds=1))
    assert sweep_appointments(app).no_shows == 0
    api.clock.set(MONDAY_10AM + timedelta(minutes=60))
    assert sweep_appointments(app).no_shows == 1
    with db.read() as s:
        assert s.get(Appointment, a["id"]).status == "no_show"
    r = api.get(f"/api/v1/halls/{api.hall_id}/appointments/no-shows", token=api.token("manager")).get_json()
    assert [x["id"] for x in r["items"]] == [a["id"]] and r["blocked"] == []
    book(api, "2026-03-03T10:30")                                  # the no-show ended the claim (000 §8.2.3)


def _miss(api, app, day: int, id_number: str = ID_A) -> None:
    """Book a slot on day ``day`` after Monday 10:00 and let it pass unattended."""
    api.clock.set(MONDAY_10AM + timedelta(days=day))
    slot = (MONDAY_10AM + timedelta(days=day, hours=8, minutes=30)).strftime("%Y-%m-%dT%H:%M")   # 10:30 local
    book(api, slot, id_number=id_number)
    api.clock.set(MONDAY_10AM + timedelta(days=day, hours=1))
    sweep_appointments(app)


def test_n_no_shows_in_30_days_block_online_booking_for_the_period(api, app):
    manager_put(api, "settings", {"no_show_limit": 2, "no_show_window_days": 30, "no_show_block_days": 7})
    _miss(api, app, 0)
    _miss(api, app, 3)
    r = book(api, "2026-03-06T10:00", expect=403)
    assert r["error"]["code"] == "booking_blocked" and "现场取号办理不受影响" in r["error"]["message"]
    book(api, "2026-03-06T10:00", id_number=ID_B)                  # others are not affected
    assert api.issue("SS001", id_number=ID_A)["status"] == "waiting"   # walk-ins never refused (004 §8.2)
    api._staff_tokens.clear()                                       # staff logins last 12 hours
    rep = api.get(f"/api/v1/halls/{api.hall_id}/appointments/no-shows", token=api.token("manager")).get_json()
    assert rep["blocked"][0]["no_shows"] == 2 and rep["blocked"][0]["masked_id"] == "110101********1234"
    # Blocked until 7 days after the second no-show (Thu 11:00 → next Thu 11:00).
    api.clock.set(MONDAY_10AM + timedelta(days=10, minutes=59))
    book(api, "2026-03-13T10:00", expect=403)
    api.clock.set(MONDAY_10AM + timedelta(days=10, hours=1))
    book(api, "2026-03-13T10:00")


def test_blocking_off_when_limit_is_zero(api, app):
    manager_put(api, "settings", {"no_show_limit": 0})
    for day in range(4):
        _miss(api, app, day)
    book(api, "2026-03-07T10:00")


def _app_on(url: str, clock, notifier: Notifier):
    db = Database(url)
    return create_app({"DATABASE": db, "DATABASE_URL": url, "CLOCK": clock, "DATA_KEY": KEY, "TESTING": True,
                       "NOTIFIER": notifier}), db


@pytest.fixture
def hall_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    db = Database(url)
    Base.metadata.create_all(db.writer)
    hall_id = db.run_write(lambda s: load_demo_hall(s, now=MONDAY_10AM).id)
    db.dispose()
    return url, hall_id


def _book(app, hall_id: int, slot: str, id_number: str = ID_A):
    from hall_queue.entrypoints.demo.loader import issue_demo_tokens  # noqa: F401  (the catalogue is public: no token needed)

    client = app.test_client()
    item = client.get(f"/api/v1/halls/{hall_id}/catalog").get_json()["items"][0]["id"]
    r = client.post(f"/api/v1/halls/{hall_id}/appointments", json={
        "item_id": item, "slot": slot, "name": "李四", "id_number": id_number, "phone": "13900139000"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_each_reminder_goes_out_exactly_once_across_a_restart(hall_file):
    # 000 §8.2.4: remind before the slot; exactly once even when the server restarts in between.
    url, hall_id = hall_file
    clock = ManualClock(MONDAY_10AM)
    first = LogTransport()
    app1, db1 = _app_on(url, clock, Notifier(IdentityVault(KEY), first))
    b = _book(app1, hall_id, "2026-03-04T10:00")                   # Wednesday 10:00
    sweep_appointments(app1)
    assert first.delivered == [f"appointment:{b['id']}:booked"]     # the booking confirmation only
    clock.set(MONDAY_10AM + timedelta(days=1))                      # Tue 10:00: 24 h before
    assert sweep_appointments(app1).reminders == 1
    assert sweep_appointments(app1).reminders == 0
    assert first.delivered[-1] == f"appointment:{b['id']}:reminder:1440" and len(first.delivered) == 2
    db1.dispose()

    second = LogTransport()                                         # the restarted server
    app2, db2 = _app_on(url, clock, Notifier(IdentityVault(KEY), second))
    clock.advance(minutes=1)
    assert sweep_appointments(app2).reminders == 0 and second.delivered == []
    clock.set(MONDAY_10AM + timedelta(days=2, hours=-1))            # Wed 09:00: one hour before
    sweep_appointments(app2)
    sweep_appointments(app2)
    assert second.delivered == [f"appointment:{b['id']}:reminder:60"]
    with db2.read() as s:
        keys = s.scalars(select(Notification.dedup_key).order_by(Notification.id)).all()
        assert keys == [f"appointment:{b['id']}:{k}" for k in ("booked", "reminder:1440", "reminder:60")]
        assert set(s.scalars(select(Notification.status))) == {"sent"}
    db2.dispose()


def test_after_downtime_only_the_closest_reminder_is_sent(hall_file):
    url, hall_id = hall_file
    clock = ManualClock(MONDAY_10AM)
    t = LogTransport()
    app, db = _app_on(url, clock, Notifier(IdentityVault(KEY), t))
    b = _book(app, hall_id, "2026-03-04T10:00")
    clock.set(MONDAY_10AM + timedelta(days=2, minutes=-30))        # down for both reminder times
    sweep_appointments(app)
    assert t.delivered == [f"appointment:{b['id']}:booked", f"appointment:{b['id']}:reminder:60"]
    db.dispose()


class _FlakyTransport:
    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.delivered: list[str] = []

    def deliver(self, *, to, text, kind, dedup_key, hall_id):
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryError("gateway answered 503")
        self.delivered.append(dedup_key)


def test_a_failed_delivery_is_retried_later_by_a_restarted_server(hall_file):
    url, hall_id = hall_file
    clock = ManualClock(MONDAY_10AM)
    app1, db1 = _app_on(url, clock, Notifier(IdentityVault(KEY), _FlakyTransport(failures=1)))
    _book(app1, hall_id, "2026-03-04T10:00")
    sweep_appointments(app1)                                     # gateway down: kept pending
    db1.dispose()
    flaky = _FlakyTransport(failures=0)
    app2, db2 = _app_on(url, clock, Notifier(IdentityVault(KEY), flaky))
    sweep_appointments(app2)
    assert flaky.delivered == []                                    # back-off not over yet
    clock.advance(seconds=31)
    sweep_appointments(app2)
    sweep_appointments(app2)
    assert len(flaky.delivered) == 1
    db2.dispose()


def test_a_claim_left_by_a_dead_process_is_sent_again_after_its_lease(hall_file):
    url, hall_id = hall_file
    clock = ManualClock(MONDAY_10AM)
    t = LogTransport()
    notifier = Notifier(IdentityVault(KEY), t)
    app, db = _app_on(url, clock, notifier)
    b = _book(app, hall_id, "2026-03-04T10:00")
    claimed = notifier._claim(db, now=clock.now(), limit=10)        # a process claims, then dies
    assert len(claimed) == 1
    notifier.deliver_pending(db, now=clock.now())
    assert t.delivered == []                                        # still leased to the dead process
    clock.advance(seconds=61)
    notifier.deliver_pending(db, now=clock.now())
    notifier.deliver_pending(db, now=clock.now())
    assert t.delivered == [f"appointment:{b['id']}:booked"]
    db.dispose()


class _Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict, dict]]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_webhook_transport_posts_to_the_sms_gateway_once_per_key(hall_file, caplog):
    url, hall_id = hall_file
    _Gateway.received = []
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clock = ManualClock(MONDAY_10AM)
        db = Database(url)
        app = create_app({"DATABASE": db, "DATABASE_URL": url, "CLOCK": clock, "DATA_KEY": KEY, "TESTING": True,
                          "SMS_WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}/sms",
                          "SMS_WEBHOOK_TOKEN": "gw-secret"})
        caplog.set_level(logging.DEBUG)
        b = _book(app, hall_id, "2026-03-04T10:00")
        sweep_appointments(app)
        sweep_appointments(app)
        assert len(_Gateway.received) == 1
        headers, body = _Gateway.received[0]
        assert headers["Idempotency-Key"] == f"appointment:{b['id']}:booked"
        assert headers["Authorization"] == "Bearer gw-secret"
        assert body["to"] == "13900139000" and "预约成功" in body["text"] and body["kind"] == "appointment_booked"
        assert "13900139000" not in caplog.text and ID_A not in caplog.text    # nothing personal in logs
        # The notifier is generic: the kiosk's "three or fewer ahead" alert uses the same call.
        from hall_queue.infrastructure.sms import notifier_for

        n = notifier_for(app)
        assert isinstance(n.transport, WebhookTransport)
        with app.app_context():
            first = db.run_write(lambda s: n.send(s, hall_id=hall_id, phone_cipher_or_phone="13700137000",
                                                  kind="ahead_three", text="前面还有3人", dedup_key="ticket:9:ahead3").id)
            again = db.run_write(lambda s: n.send(s, hall_id=hall_id, phone_cipher_or_phone="13700137000",
                                                  kind="ahead_three", text="前面还有3人", dedup_key="ticket:9:ahead3").id)
        assert first == again
        n.deliver_pending(db, now=clock.now())
        assert [h["Idempotency-Key"] for h, _ in _Gateway.received][-1] == "ticket:9:ahead3"
        assert len(_Gateway.received) == 2
        db.dispose()
    finally:
        server.shutdown()

"""The case-event outbox gives up on an event after OUTBOX_GIVE_UP_AFTER_H hours: the floor dashboard gets one alert per
hall, a manager lists the given-up events and re-sends them, and the alert clears."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hall_queue.cases.webhooks import deliver_due
from hall_queue.domain.models import Alert, WebhookDelivery
from hall_queue.domain.vocabulary import OUTBOX_GIVE_UP_AFTER_H, WEBHOOK_ALERT_KIND
from tests.conftest import engines
from tests.integration.test_cases_api import accept, step
from tests.integration.test_cases_duties import SECRET
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


class Receiver(WebhookReceiver):
    """A real HTTP server that answers 503 while ``down`` and 204 otherwise."""

    def __init__(self) -> None:
        self.down = True
        self.received = 0
        super().__init__()

    def answer(self, headers, body: str) -> int:
        if self.down:
            return 503
        self.received += 1
        return 204


def _open_alerts(db):
    with db.read() as s:
        return s.scalars(select(Alert).where(Alert.kind == WEBHOOK_ALERT_KIND, Alert.cleared_at.is_(None))).all()


def test_outbox_gives_up_raises_one_floor_alert_and_a_manager_resends(api, db, app):
    rx = Receiver()
    manager = api.token("manager")
    try:
        r = api.client.put(f"/api/v1/halls/{api.hall_id}/case-settings", json={"webhook_url": rx.url,
                           "webhook_secret": SECRET}, headers={"Authorization": f"Bearer {manager}"})
        assert r.status_code == 200, r.get_json()
        cid = accept(api, "SS003")["cases"][0]["id"]
        step(api, "dept-ss", cid, "take")
        rt = app.extensions["onevisit"]
        raised = []
        for _ in range(10 * OUTBOX_GIVE_UP_AFTER_H):  # a case's later events wait for the earlier (in order)
            report = deliver_due(db, rt.vault, now=api.clock.now())
            raised += report.events
            api.clock.advance(hours=2)  # past every back-off
            with db.read() as s:
                if not s.scalar(select(WebhookDelivery.id).where(WebhookDelivery.status == "pending").limit(1)):
                    break
        api._staff_tokens.clear()  # days went by: log in again
        manager = api.token("manager")
        with db.read() as s:
            rows = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
            assert {r.status for r in rows} == {"failed"} and len(rows) >= 2
            assert all(r.attempts >= 1 for r in rows)  # tried, then given up at the age limit
        # One alert for the hall (not one per event), with the count; the dashboard got it live.
        assert [e.name for e in raised] == ["alert"] and raised[0].payload["kind"] == WEBHOOK_ALERT_KIND
        [alert] = _open_alerts(db)
        assert f"{len(rows)}条办件事件" in alert.message
        listed = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=manager).get_json()
        assert any(a["kind"] == WEBHOOK_ALERT_KIND for a in listed["items"])
        # The manager's list, and who may see it.
        r = api.get(f"/api/v1/halls/{api.hall_id}/webhook-deliveries", token=manager)
        items = r.get_json()["items"]
        assert [i["id"] for i in items] == sorted((x.id for x in rows), reverse=True)
        assert items[0]["acceptance_no"] == "DEMO2026000001" and items[0]["last_error"]
        assert api.get(f"/api/v1/halls/{api.hall_id}/webhook-deliveries",
                       token=api.token("clerk01")).status_code == 403
        # Re-send one: the alert stays, counting what is left.
        r = api.post(f"/api/v1/halls/{api.hall_id}/webhook-deliveries/resend", {"ids": [rows[0].id]}, token=manager)
        assert r.get_json() == {"ok": True, "resent": 1}
        [alert] = _open_alerts(db)
        assert f"{len(rows) - 1}条办件事件" in alert.message
        # The receiver is back; re-send the rest: the alert clears and everything is delivered.
        rx.down = False
        r = api.post(f"/api/v1/halls/{api.hall_id}/webhook-deliveries/resend", {}, token=manager)
        assert r.get_json() == {"ok": True, "resent": len(rows) - 1}
        assert _open_alerts(db) == []
        for _ in range(3):
            deliver_due(db, rt.vault, now=api.clock.now())
            api.clock.advance(seconds=5)
        with db.read() as s:
            assert set(s.scalars(select(WebhookDelivery.status)).all()) == {"delivered"}
        assert rx.received == len(rows)
        assert api.get(f"/api/v1/halls/{api.hall_id}/webhook-deliveries", token=manager).get_json()["items"] == []
    finally:
        rx.close()

"""Cases' duties: signed webhooks through the outbox to a real, flaky HTTP server; due-soon / overdue and
容缺 alerts and reminders on the hall calendar."""
from __future__ import annotations

import json

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
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)
SECRET = "a-long-enough-webhook-secret"


class FlakyReceiver(WebhookReceiver):
    """A real HTTP server that answers 500 to every other request and drops every fifth connection."""

    def __init__(self) -> None:
        self.received: list[tuple[int, dict]] = []
        self.bad_signatures = 0
        self.requests = 0
        super().__init__()

    def answer(self, headers, body: str) -> int | None:
        self.requests += 1
        if self.requests % 5 == 0:
            return None
        if self.requests % 2 == 0:
            return 500
        if not verify(SECRET, headers["X-OneVisit-Signature"], body):
            self.bad_signatures += 1
            return 401
        self.received.append((int(headers["X-OneVisit-Event"]), json.loads(body)))
        return 204


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


def _duty_round(api, db, app) -> list:
    """Run the cases duty once for the test hall at the app's clock; return its events."""
    now = app.extensions["onevisit"].clock.now()
    return db.run_write(lambda s: check_cases(s, s.get(Hall, api.hall_id), now=now, notifier=notifier_for(app)))


def test_due_soon_then_overdue_alerts_follow_the_calendar_and_clear_when_decided(api, db, app):
    cid = accept(api, "SS003")["cases"][0]["id"]   # due Thu 2026-03-05
    rt = app.extensions["onevisit"]

    def run():
        return _duty_round(api, db, app)

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

    def run():
        return _duty_round(api, db, app)

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
    assert api.post(f"/api/v1/deferred-materials/{mid}/supply", {"via": "window"},
                    token=api.token("clerk01")).status_code == 200
    cleared = [e.payload.get("kind") for e in run() if e.name == "alert_cleared"]
    assert "deferred_overdue" in cleared


def test_case_indicators_follow_their_definitions(api, db, app):
    # Mon 2 Mar: an on-the-spot 即办 (one trip), a refusal, a notice, a 3-day case and a deferred one.
    accept(api, "SS001", outcome="completed")
    api.clock.advance(minutes=1)
    accept(api, "SS003", outcome="refused", note="不属于本机关职权")
    api.clock.advance(minutes=1)
    accept(api, "SS003", outcome="notice", missing_materials=["清算报告"])
    api.clock.advance(minutes=1)
    late = accept(api, "SS003")["cases"][0]["id"]                       # due Thu 5 Mar
    api.clock.advance(minutes=1)
    deferred = accept(api, "SS005", outcome="deferred",
                      deferred_materials=[{"name": "平面图", "due_date": "2026-03-03"}])["cases"][0]
    later(api, days=4)                                                  # Fri 6 Mar: `late` is overdue
    step(api, "dept-ss", late, "take")
    step(api, "dept-ss", late, "decide", {"decision": "approved"})    # decided late: 4 working days
    step(api, "dept-ss", late, "result-ready")
    step(api, "clerk12", late, "hand-over", {"method": "pickup", "id_number": "220102199003071234"})
    r = api.get(f"/api/v1/halls/{api.hall_id}/case-indicators?from=2026-03-02&to=2026-03-06",
                token=api.token("manager"))
    assert r.status_code == 200, r.get_json()
    got = {i["key"]: i["value"] for i in r.get_json()["indicators"]}
    assert all(i["definition"] and i["label"] for i in r.get_json()["indicators"])
    assert got["on_the_spot_acceptance_rate"] == round(3 / 5, 4)      # 即办, 受理, 容缺 of 5 decisions
    assert got["immediate_rate"] == round(1 / 3, 4)
    assert got["on_time_rate"] == 0.5                                   # 即办 on time, `late` not
    assert got["mean_working_days_to_decision"] == 2.0                  # (0 + 4) / 2
    assert got["deferred_on_time_rate"] == 0.0                          # due Tue 3 Mar, never supplied
    assert got["visits_per_case"] == round((1 + 1 + 2) / 3, 2)          # 即办, refusal, `late` picked up
    assert got["one_trip_rate"] == round(2 / 3, 4)
    assert got["overdue_by_department"] == []                          # `deferred` is still on its clock
    later(api, days=3)                                                  # Mon 9 Mar: `deferred` (10 days) fine
    r = api.client.get(f"/api/v1/halls/{api.hall_id}/case-indicators.csv?from=2026-03-02&to=2026-03-09",
                       headers={"Authorization": f"Bearer {api.token('manager')}"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.data.decode("utf-8-sig")
    assert "当场受理率,0.6," in text and "按时办结率,0.5," in text and "口径说明" in text
    assert deferred["state"] == "dispatched"


def test_case_indicators_count_service_days_like_the_statistics(api):
    # Tue 3 Mar 01:30 local is still Monday's service day (the demo's boundary is 03:00): the statistics count the
    # visit on Monday, and so must the case indicators, whose default range ends on the current service day.
    later(api, hours=15, minutes=30)
    accept(api, "SS003")
    manager = api.token("manager")
    base = f"/api/v1/halls/{api.hall_id}"
    stats = api.get(f"{base}/statistics?from=2026-03-02&to=2026-03-02", token=manager).get_json()["totals"]
    monday = api.get(f"{base}/case-indicators?from=2026-03-02&to=2026-03-02", token=manager).get_json()["counts"]
    tuesday = api.get(f"{base}/case-indicators?from=2026-03-03&to=2026-03-03", token=manager).get_json()["counts"]
    default = api.get(f"{base}/case-indicators", token=manager).get_json()
    assert stats["finished_matters"] == 1
    assert monday["matters_decided_at_window"] == monday["accepted"] == 1
    assert tuesday["matters_decided_at_window"] == tuesday["accepted"] == 0
    assert default["to"] == "2026-03-02" and default["counts"]["accepted"] == 1

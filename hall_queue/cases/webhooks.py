"""The case-event outbox: rows written in the transaction of each transition (``records``), delivered here.

Each due row is leased (its next attempt pushed a minute ahead) before the POST, so two server processes
never send it at once and a process killed mid-send retries it later; a failure backs off
exponentially up to ``WEBHOOK_MAX_ATTEMPTS``. Events of one case go out in order: a row waits while an
earlier row of its case is undelivered. Nothing is lost while the receiver is down.

When the outbox gives up on an event, the floor dashboard gets one ``webhook_failed`` alert per hall (its
message counts the events given up); a manager lists them and re-sends (``resend``), which clears it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hall_queue.access.identity import IdentityVault
from hall_queue.cases.records import settings_of
from hall_queue.cases.duties import raise_alert
from hall_queue.domain.clock import iso
from hall_queue.domain.events import AlertCleared, DomainEvent
from hall_queue.domain.models import Alert, Case, CaseEvent, Hall, WebhookDelivery
from hall_queue.domain.vocabulary import CASE_STATE_LABELS, WEBHOOK_ALERT_KIND, WEBHOOK_MAX_ATTEMPTS
from hall_queue.infrastructure.db import Database
from hall_queue.infrastructure.webhooks import DeliveryError, post_signed

LEASE = timedelta(seconds=60)
BATCH = 50
Poster = Callable[..., None]


@dataclass
class WebhookReport:
    delivered: int = 0
    failed: int = 0
    given_up: int = 0
    events: list[DomainEvent] = field(default_factory=list)  # the floor alerts, to publish after commit


def _claim(db: Database, *, now: datetime, limit: int) -> list[int]:
    def do(s: Session) -> list[int]:
        rows = s.scalars(select(WebhookDelivery).where(WebhookDelivery.status == "pending",
                                                       WebhookDelivery.next_attempt_at <= now)
                         .order_by(WebhookDelivery.id).limit(limit).with_for_update(skip_locked=True)).all()
        out, blocked = [], set()
        for row in rows:
            earlier = s.scalar(select(WebhookDelivery.id).where(WebhookDelivery.case_id == row.case_id,
                                                                WebhookDelivery.status == "pending",
                                                                WebhookDelivery.id < row.id).limit(1))
            if row.case_id in blocked or (earlier is not None and earlier not in out):
                blocked.add(row.case_id)
                continue
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            out.append(row.id)
        return out
    return db.run_write(do)


def deliver_due(db: Database, vault: IdentityVault, *, now: datetime, post: Poster = post_signed,
                limit: int = BATCH) -> WebhookReport:
    """Send the due events; return how many went out and how many will be retried (or gave up)."""
    report = WebhookReport()
    stalled: set[int] = set()
    for row_id in _claim(db, now=now, limit=limit):
        with db.read() as s:
            row = s.get(WebhookDelivery, row_id)
            url, body, event_id, case_id, hall_id = row.url, row.body, row.event_id, row.case_id, row.hall_id
            cipher = settings_of(s, row.hall_id).webhook_secret_cipher
        if case_id in stalled:  # an earlier event of this case just failed: keep the order, try later
            db.run_write(lambda s: _release(s, row_id, now))
            continue
        try:
            if not cipher:
                raise DeliveryError("no webhook secret configured")
            post(url, body, secret=vault.decrypt(cipher), event_id=event_id, timestamp=int(time.time()))
        except (DeliveryError, ValueError) as e:
            error = str(e)[:200]
            report.failed += 1
            stalled.add(case_id)
            if db.run_write(lambda s: _failed(s, row_id, error, now)):
                report.given_up += 1
                report.events += db.run_write(lambda s: alert_given_up(s, hall_id, now))
            # Later events of this case wait for this one; go on with the other cases.
            continue
        report.delivered += 1
        db.run_write(lambda s: _delivered(s, row_id, now))
    return report


def _delivered(s: Session, row_id: int, now: datetime) -> None:
    row = s.get(WebhookDelivery, row_id)
    row.status, row.delivered_at, row.last_error = "delivered", now, None


def _release(s: Session, row_id: int, now: datetime) -> None:
    row = s.get(WebhookDelivery, row_id)
    row.attempts -= 1
    row.next_attempt_at = now + timedelta(seconds=1)


def _failed(s: Session, row_id: int, error: str, now: datetime) -> bool:
    """Record a failed attempt; return True when this was the last one (the outbox gives up)."""
    row = s.get(WebhookDelivery, row_id)
    row.last_error = error
    if row.attempts >= WEBHOOK_MAX_ATTEMPTS:
        row.status = "failed"
        return True
    row.next_attempt_at = now + timedelta(seconds=min(2 ** row.attempts, 3600))
    return False


def _open_alert(s: Session, hall_id: int) -> Alert | None:
    return s.scalar(select(Alert).where(Alert.hall_id == hall_id, Alert.kind == WEBHOOK_ALERT_KIND,
                                        Alert.cleared_at.is_(None)).limit(1))


def _alert_text(n: int) -> str:
    return f"审批系统推送失败：{n}条办件事件多次重试仍未送达，请检查对接地址后在“办件”页重新推送"


def alert_given_up(s: Session, hall_id: int, now: datetime) -> list[DomainEvent]:
    """Raise the hall's ``webhook_failed`` alert, or bring its count up to date (one open alert per hall)."""
    n = s.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.hall_id == hall_id,
                                                                         WebhookDelivery.status == "failed"))
    alert = _open_alert(s, hall_id)
    if alert is not None:
        alert.message = _alert_text(n)
        return []
    _, event = raise_alert(s, s.get(Hall, hall_id), WEBHOOK_ALERT_KIND, "webhooks", _alert_text(n), now)
    return [event]


def failed_deliveries(s: Session, hall_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
    """The events the outbox gave up on, newest first, for a manager to re-send."""
    rows = s.execute(select(WebhookDelivery, Case.acceptance_no, Case.title, CaseEvent.action, CaseEvent.to_state)
                     .join(Case, Case.id == WebhookDelivery.case_id)
                     .join(CaseEvent, CaseEvent.id == WebhookDelivery.event_id)
                     .where(WebhookDelivery.hall_id == hall_id, WebhookDelivery.status == "failed")
                     .order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    return [{"id": d.id, "case_id": d.case_id, "acceptance_no": no, "title": title, "action": action,
             "state_label": CASE_STATE_LABELS.get(to_state, to_state), "attempts": d.attempts,
             "last_error": d.last_error, "created_at": iso(d.created_at), "url": d.url}
            for d, no, title, action, to_state in rows]


def resend(s: Session, hall_id: int, *, now: datetime, ids: list[int] | None = None) -> tuple[int, list[DomainEvent]]:
    """Put given-up events back in the outbox (all of the hall's, or ``ids``); clear the alert when none is left."""
    q = select(WebhookDelivery).where(WebhookDelivery.hall_id == hall_id, WebhookDelivery.status == "failed")
    if ids:
        q = q.where(WebhookDelivery.id.in_(ids))
    rows = s.scalars(q).all()
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = "pending", 0, now
    s.flush()
    alert = _open_alert(s, hall_id)
    if alert is None:
        return len(rows), []
    left = s.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.hall_id == hall_id,
                                                                            WebhookDelivery.status == "failed"))
    if left:
        alert.message = _alert_text(left)
        return len(rows), []
    alert.cleared_at = now
    return len(rows), [AlertCleared(hall_id, {"id": alert.id, "kind": alert.kind})]

"""The case-event channel of the outbox (``infrastructure.outbox``): rows written in the transaction of each
transition (``records``), delivered here to the approval system with the hall's webhook secret. Events of
one case go out in order; nothing is lost while the receiver is down.

When the outbox gives up on an event (``OUTBOX_GIVE_UP_AFTER_H`` hours of failures), the floor dashboard gets
one ``webhook_failed`` alert per hall (its message counts the events given up); a manager lists them and
re-sends (``resend``), which clears it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hall_queue.access.identity import IdentityVault
from hall_queue.cases.duties import raise_alert
from hall_queue.cases.records import settings_of
from hall_queue.domain.clock import iso
from hall_queue.domain.events import AlertCleared, DomainEvent
from hall_queue.domain.models import Alert, Case, CaseEvent, Hall, WebhookDelivery
from hall_queue.domain.vocabulary import CASE_STATE_LABELS, WEBHOOK_ALERT_KIND
from hall_queue.infrastructure import outbox
from hall_queue.infrastructure.db import Database
from hall_queue.infrastructure.webhooks import post_signed

CHANNEL = "case"


@dataclass
class WebhookReport(outbox.OutboxReport):
    events: list[DomainEvent] = field(default_factory=list)  # the floor alerts, to publish after commit


def deliver_due(db: Database, vault: IdentityVault, *, now: datetime, post: outbox.Poster = post_signed,
                limit: int = outbox.BATCH) -> WebhookReport:
    """Send the due case events; return how many went out, how many will be retried, the alerts raised."""
    def secret_of(s: Session, hall_id: int) -> str | None:
        cipher = settings_of(s, hall_id).webhook_secret_cipher
        return vault.decrypt(cipher) if cipher else None
    sent = outbox.deliver_due(db, CHANNEL, secret_of, now=now, post=post, limit=limit)
    report = WebhookReport(**{k: getattr(sent, k) for k in ("delivered", "failed", "given_up", "given_up_halls")})
    for hall_id in sorted(sent.given_up_halls):
        report.events += db.run_write(lambda s: alert_given_up(s, hall_id, now))
    return report


def _failed_rows(hall_id: int):
    return (WebhookDelivery.hall_id == hall_id, WebhookDelivery.channel == CHANNEL, WebhookDelivery.status == "failed")


def _open_alert(s: Session, hall_id: int) -> Alert | None:
    return s.scalar(select(Alert).where(Alert.hall_id == hall_id, Alert.kind == WEBHOOK_ALERT_KIND,
                                        Alert.cleared_at.is_(None)).limit(1))


def _alert_text(n: int) -> str:
    return f"审批系统推送失败：{n}条办件事件多次重试仍未送达，请检查对接地址后在“办件”页重新推送"


def alert_given_up(s: Session, hall_id: int, now: datetime) -> list[DomainEvent]:
    """Raise the hall's ``webhook_failed`` alert, or bring its count up to date (one open alert per hall)."""
    n = s.scalar(select(func.count()).select_from(WebhookDelivery).where(*_failed_rows(hall_id)))
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
                     .where(*_failed_rows(hall_id))
                     .order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    return [{"id": d.id, "case_id": d.case_id, "acceptance_no": no, "title": title, "action": action,
             "state_label": CASE_STATE_LABELS.get(to_state, to_state), "attempts": d.attempts,
             "last_error": d.last_error, "created_at": iso(d.created_at), "url": d.url}
            for d, no, title, action, to_state in rows]


def resend(s: Session, hall_id: int, *, now: datetime, ids: list[int] | None = None) -> tuple[int, list[DomainEvent]]:
    """Put given-up events back in the outbox (all of the hall's, or ``ids``); clear the alert when none is left."""
    q = select(WebhookDelivery).where(*_failed_rows(hall_id))
    if ids:
        q = q.where(WebhookDelivery.id.in_(ids))
    rows = s.scalars(q).all()
    for row in rows:
        # A fresh start: the outbox gives up by a message's age, so the re-sent one counts from now.
        row.status, row.attempts, row.next_attempt_at, row.created_at = "pending", 0, now, now
    s.flush()
    alert = _open_alert(s, hall_id)
    if alert is None:
        return len(rows), []
    left = s.scalar(select(func.count()).select_from(WebhookDelivery).where(*_failed_rows(hall_id)))
    if left:
        alert.message = _alert_text(left)
        return len(rows), []
    alert.cleared_at = now
    return len(rows), [AlertCleared(hall_id, {"id": alert.id, "kind": alert.kind})]

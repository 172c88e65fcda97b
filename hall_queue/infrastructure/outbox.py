"""The outbox of signed JSON messages to other systems (``WebhookDelivery`` rows), shared by every channel.

A context writes a row in the transaction of the change it reports (``enqueue``), so a message is never
lost and never sent for a change that rolled back. ``deliver_due`` sends one channel's due rows: each is
leased (its next attempt pushed a minute ahead) before the POST, so two server processes never send it at
once and a process killed mid-send retries it later; a failure backs off exponentially (at most an hour)
until the row is ``OUTBOX_GIVE_UP_AFTER_H`` hours old. Rows of one ``ordering_key`` (a case, a rating) go out in order: a row waits while
an earlier row of its key is undelivered. Nothing is lost while the receiver is down; delivery is at least
once, and the receiver drops a message id (``X-OneVisit-Event``) it has seen.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.domain.models import WebhookDelivery
from hall_queue.domain.vocabulary import OUTBOX_GIVE_UP_AFTER_H
from hall_queue.infrastructure.db import Database
from hall_queue.infrastructure.webhooks import DeliveryError, post_signed

LEASE = timedelta(seconds=60)
BATCH = 50
MAX_BACKOFF_S = 3600
Poster = Callable[..., None]
# (session, hall id) → the channel's secret for that hall, or None when none is configured.
SecretOf = Callable[[Session, int], "str | None"]


@dataclass
class OutboxReport:
    delivered: int = 0
    failed: int = 0
    given_up: int = 0
    # Halls with a message the outbox gave up on in this round (a channel may raise an alert for them).
    given_up_halls: set[int] = field(default_factory=set)


def enqueue(session: Session, *, hall_id: int, channel: str, ordering_key: str, message_id: str, url: str,
            body: str, now: datetime, case_id: int | None = None, event_id: int | None = None) -> WebhookDelivery:
    """Add a message to the outbox in the caller's transaction."""
    row = WebhookDelivery(hall_id=hall_id, channel=channel, ordering_key=ordering_key, message_id=message_id,
                          case_id=case_id, event_id=event_id, url=url, body=body, status="pending",
                          created_at=now, next_attempt_at=now, attempts=0)
    session.add(row)
    return row


def _claim(db: Database, channel: str, *, now: datetime, limit: int) -> list[int]:
    def do(s: Session) -> list[int]:
        rows = s.scalars(select(WebhookDelivery).where(WebhookDelivery.channel == channel,
                                                       WebhookDelivery.status == "pending",
                                                       WebhookDelivery.next_attempt_at <= now)
                         .order_by(WebhookDelivery.id).limit(limit).with_for_update(skip_locked=True)).all()
        out: list[int] = []
        blocked: set[str] = set()
        for row in rows:
            earlier = s.scalar(select(WebhookDelivery.id).where(WebhookDelivery.ordering_key == row.ordering_key,
                                                                WebhookDelivery.status == "pending",
                                                                WebhookDelivery.id < row.id).limit(1))
            if row.ordering_key in blocked or (earlier is not None and earlier not in out):
                blocked.add(row.ordering_key)
                continue
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            out.append(row.id)
        return out
    return db.run_write(do)


def deliver_due(db: Database, channel: str, secret_of: SecretOf, *, now: datetime, post: Poster = post_signed,
                limit: int = BATCH) -> OutboxReport:
    """Send the channel's due messages; return how many went out and how many will be retried (or gave up)."""
    report = OutboxReport()
    stalled: set[str] = set()
    for row_id in _claim(db, channel, now=now, limit=limit):
        with db.read() as s:
            row = s.get(WebhookDelivery, row_id)
            url, body, key, hall_id = row.url, row.body, row.ordering_key, row.hall_id
            message_id = row.message_id or str(row.event_id)
            try:
                secret = secret_of(s, row.hall_id)
            except ValueError:  # encrypted under a data key this server no longer has
                secret = None
        if key in stalled:  # an earlier message of this key just failed: keep the order, try later
            db.run_write(lambda s: _release(s, row_id, now))
            continue
        try:
            if not secret:
                raise DeliveryError("no secret configured")
            post(url, body, secret=secret, event_id=message_id, timestamp=int(time.time()))
        except DeliveryError as e:
            error = str(e)[:200]
            report.failed += 1
            stalled.add(key)
            if db.run_write(lambda s: _failed(s, row_id, error, now)):
                report.given_up += 1
                report.given_up_halls.add(hall_id)
            continue  # later messages of this key wait for this one; go on with the others
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
    """Record a failed attempt; return True when the outbox gives the message up (too old)."""
    row = s.get(WebhookDelivery, row_id)
    row.last_error = error
    if now - row.created_at >= timedelta(hours=OUTBOX_GIVE_UP_AFTER_H):
        row.status = "failed"
        return True
    row.next_attempt_at = now + timedelta(seconds=min(2 ** row.attempts, MAX_BACKOFF_S))
    return False

"""The case-event outbox: rows written in the transaction of each transition (``records``), delivered here.

Each due row is leased (its next attempt pushed a minute ahead) before the POST, so two server processes
never send it at once and a process killed mid-send retries it later; a failure backs off
exponentially up to ``WEBHOOK_MAX_ATTEMPTS``. Events of one case go out in order: a row waits while an
earlier row of its case is undelivered. Nothing is lost while the receiver is down.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access.identity import IdentityVault
from hall_queue.cases.records import settings_of
from hall_queue.domain.models import WebhookDelivery
from hall_queue.domain.vocabulary import WEBHOOK_MAX_ATTEMPTS
from hall_queue.infrastructure.db import Database
from hall_queue.infrastructure.webhooks import DeliveryError, post_signed

LEASE = timedelta(seconds=60)
BATCH = 50
Poster = Callable[..., None]


@dataclass
class WebhookReport:
    delivered: int = 0
    failed: int = 0


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
            url, body, event_id, case_id = row.url, row.body, row.event_id, row.case_id
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
            db.run_write(lambda s: _failed(s, row_id, error, now))
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


def _failed(s: Session, row_id: int, error: str, now: datetime) -> None:
    row = s.get(WebhookDelivery, row_id)
    row.last_error = error
    if row.attempts >= WEBHOOK_MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.next_attempt_at = now + timedelta(seconds=min(2 ** row.attempts, 3600))

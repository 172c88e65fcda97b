"""The case-event channel of the outbox (``infrastructure.outbox``): rows written in the transaction of each
transition (``records``), delivered here to the approval system with the hall's webhook secret. Events of
one case go out in order; nothing is lost while the receiver is down.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hall_queue.access.identity import IdentityVault
from hall_queue.cases.records import settings_of
from hall_queue.infrastructure import outbox
from hall_queue.infrastructure.db import Database
from hall_queue.infrastructure.webhooks import post_signed

CHANNEL = "case"
WebhookReport = outbox.OutboxReport


def deliver_due(db: Database, vault: IdentityVault, *, now: datetime, post: outbox.Poster = post_signed,
                limit: int = outbox.BATCH) -> WebhookReport:
    """Send the due case events; return how many went out and how many will be retried (or gave up)."""
    def secret_of(s: Session, hall_id: int) -> str | None:
        cipher = settings_of(s, hall_id).webhook_secret_cipher
        return vault.decrypt(cipher) if cipher else None
    return outbox.deliver_due(db, CHANNEL, secret_of, now=now, post=post, limit=limit)

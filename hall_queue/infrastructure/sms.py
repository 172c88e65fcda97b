"""Outgoing messages to visitors (SMS): an outbox in the database, delivered after commit.

Any service that must tell a visitor something (appointment reminders, 000 §8.2.4; the kiosk's
"three or fewer ahead" alert) calls ``Notifier.send`` inside its own transaction. ``send`` only
adds a ``Notification`` row keyed by ``dedup_key``: the same key twice — a retried request, a
second server process, a restart — returns the first row and adds nothing. Delivery happens
later, outside any transaction (STYLE rule 7), through a transport:

* ``LogTransport`` — writes one log line per message (no phone number, no text: nothing personal);
  the default, for halls without an SMS gateway, and for tests.
* ``WebhookTransport`` — POSTs JSON to an SMS gateway with ``Idempotency-Key: <dedup_key>``.

Delivery claims a row (``sending`` with a lease) in one short transaction, sends, then marks it
``sent``. A process that dies between the gateway's answer and that mark leaves the lease to
expire; the message is sent again with the same ``Idempotency-Key`` so the gateway drops the
duplicate. In our own records every key is sent once.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.domain.clock import Clock
from hall_queue.infrastructure.db import Database
from hall_queue.domain.models import Notification

log = logging.getLogger("onevisit.notifier")

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 6
BATCH = 50
_FERNET_PREFIX = "gAAAAA"  # every Fernet token starts with version byte 0x80 + timestamp


class Cipher(Protocol):
    """What the outbox needs of ``access.identity.IdentityVault``: phone numbers are stored encrypted."""

    def encrypt(self, value: str) -> str: ...

    def decrypt(self, token: str) -> str: ...


class DeliveryError(Exception):
    """The transport could not hand the message over; it will be retried."""


class Transport(Protocol):
    name: str

    def deliver(self, *, to: str, text: str, kind: str, dedup_key: str, hall_id: int) -> None:
        """Hand one message to the carrier.

        :raises DeliveryError: when it was not accepted (it is retried later).
        """


class LogTransport:
    """Record that a message would go out; nothing personal reaches the log."""

    name = "log"

    def __init__(self) -> None:
        self.delivered: list[str] = []  # dedup keys, in order (read by tests and the demo)

    def deliver(self, *, to: str, text: str, kind: str, dedup_key: str, hall_id: int) -> None:
        self.delivered.append(dedup_key)
        log.info("notification %s for hall %s delivered to the log (key %s)", kind, hall_id, dedup_key)


class WebhookTransport:
    """POST ``{"to", "text", "kind", "dedup_key", "hall_id"}`` to an SMS gateway over HTTP(S)."""

    name = "webhook"

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("SMS webhook URL must start with http:// or https://")
        self.url = url
        self.token = token
        self.timeout_s = timeout_s

    def deliver(self, *, to: str, text: str, kind: str, dedup_key: str, hall_id: int) -> None:
        body = json.dumps({"to": to, "text": text, "kind": kind, "dedup_key": dedup_key, "hall_id": hall_id},
                          ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": dedup_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                if not 200 <= resp.status < 300:
                    raise DeliveryError(f"gateway answered {resp.status}")
        except urllib.error.HTTPError as e:
            raise DeliveryError(f"gateway answered {e.code}") from e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise DeliveryError(f"gateway unreachable: {type(e).__name__}") from e


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


class Notifier:
    """Queue messages exactly once by key, and deliver queued messages through a transport."""

    def __init__(self, vault: Cipher, transport: Transport | None = None, *, clock: Clock | None = None) -> None:
        self.vault = vault
        self.transport: Transport = transport or LogTransport()
        self.clock = clock

    def send(self, session: Session, *, hall_id: int, phone_cipher_or_phone: str, kind: str, text: str,
             dedup_key: str, now: datetime | None = None) -> Notification:
        """Queue a message in the caller's transaction; the same ``dedup_key`` again returns the first one."""
        if now is None:
            if self.clock is None:
                raise ValueError("pass now= or build the notifier with a clock")
            now = self.clock.now()
        existing = session.scalar(select(Notification).where(Notification.dedup_key == dedup_key))
        if existing is not None:
            return existing
        value = phone_cipher_or_phone.strip()
        cipher = value if value.startswith(_FERNET_PREFIX) else self.vault.encrypt(value)
        row = Notification(hall_id=hall_id, kind=kind, dedup_key=dedup_key, phone_cipher=cipher, text=text,
                           status="pending", created_at=now, next_attempt_at=now, attempts=0)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # Another process queued the same key a moment ago (PostgreSQL); theirs is the one.
            return session.scalars(select(Notification).where(Notification.dedup_key == dedup_key)).one()
        return row

    def deliver_pending(self, db: Database, *, now: datetime, limit: int = BATCH) -> DeliveryReport:
        """Deliver due messages, each claimed under a lease so two processes never send the same one."""
        report = DeliveryReport()
        for note_id in self._claim(db, now=now, limit=limit):
            self._deliver_one(db, note_id, now=now, report=report)
        return report

    def _deliver_one(self, db: Database, note_id: int, *, now: datetime, report: DeliveryReport) -> None:
        with db.read() as s:
            row = s.get(Notification, note_id)
            if row is None:
                return
            kind, text, key, hall_id = row.kind, row.text, row.dedup_key, row.hall_id
            try:
                to = self.vault.decrypt(row.phone_cipher)
            except ValueError:
                to = None
        if to is None:  # encrypted under another data key: can never be sent
            report.failed += 1
            db.run_write(lambda s: _give_up(s, note_id, "phone number cannot be decrypted"))
            return
        try:
            self.transport.deliver(to=to, text=text, kind=kind, dedup_key=key, hall_id=hall_id)
        except DeliveryError as e:
            report.failed += 1
            error = str(e)[:200]
            db.run_write(lambda s: _mark_failed(s, note_id, error, now))
            log.warning("notification %s (%s) not delivered: %s", note_id, kind, error)
            return
        report.sent += 1
        db.run_write(lambda s: _mark_sent(s, note_id, now))

    def _claim(self, db: Database, *, now: datetime, limit: int) -> list[int]:
        def do(s: Session) -> list[int]:
            due = or_(Notification.status == "pending", Notification.status == "sending")
            rows = s.scalars(select(Notification).where(due, Notification.next_attempt_at <= now)
                             .order_by(Notification.next_attempt_at, Notification.id).limit(limit)
                             .with_for_update(skip_locked=True)).all()
            for row in rows:
                row.status = "sending"
                row.attempts += 1
                row.next_attempt_at = now + LEASE  # the lease: retried only if we die before marking
            return [r.id for r in rows]

        return db.run_write(do)


def _mark_sent(s: Session, note_id: int, now: datetime) -> None:
    s.execute(update(Notification).where(Notification.id == note_id)
              .values(status="sent", sent_at=now, last_error=None))


def _give_up(s: Session, note_id: int, error: str) -> None:
    s.execute(update(Notification).where(Notification.id == note_id).values(status="failed", last_error=error))


def _mark_failed(s: Session, note_id: int, error: str, now: datetime) -> None:
    row = s.get(Notification, note_id)
    if row is None:
        return
    row.last_error = error
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.status = "pending"
        row.next_attempt_at = now + timedelta(seconds=30 * 2 ** (row.attempts - 1))


def notifier_from_config(config: Any, vault: Cipher, clock: Clock | None = None) -> Notifier:
    """Build the notifier from ``SMS_WEBHOOK_URL`` / ``SMS_WEBHOOK_TOKEN`` (or ``ONEVISIT_SMS_WEBHOOK_*``)."""
    url = config.get("SMS_WEBHOOK_URL") or os.environ.get("ONEVISIT_SMS_WEBHOOK_URL")
    if not url:
        return Notifier(vault, LogTransport(), clock=clock)
    token = config.get("SMS_WEBHOOK_TOKEN") or os.environ.get("ONEVISIT_SMS_WEBHOOK_TOKEN")
    timeout = float(config.get("SMS_WEBHOOK_TIMEOUT_S") or os.environ.get("ONEVISIT_SMS_WEBHOOK_TIMEOUT_S") or 5)
    return Notifier(vault, WebhookTransport(url, token=token, timeout_s=timeout), clock=clock)


def notifier_for(app: Any) -> Notifier:
    """Return the app's notifier (``app.config["NOTIFIER"]`` if a test set one), built once."""
    ext = app.extensions
    if "onevisit.notifier" not in ext:
        ext["onevisit.notifier"] = app.config.get("NOTIFIER") or notifier_from_config(
            app.config, ext["onevisit"].vault, ext["onevisit"].clock)
    return ext["onevisit.notifier"]

"""Background duties of a running server: A/B post and long-wait checks, stuck-ticket recovery, every few seconds."""
from __future__ import annotations

import logging
import time

from flask import Flask
from sqlalchemy import select

from hall_queue import appointments
from hall_queue.access import retention
from hall_queue.queueing.long_waits import check_long_waits
from hall_queue.domain.models import Hall
from hall_queue.queueing.posts import check_posts
from hall_queue.bootstrap import runtime

log = logging.getLogger("onevisit.duties")
POST_CHECK_EVERY_S = 5.0


def run_post_checks(app: Flask) -> int:
    """Run one round of post checks over every hall; return the number of events published."""
    rt = runtime(app)

    def do(s):
        events = []
        for hall in s.scalars(select(Hall)).all():
            events += check_posts(s, hall, now=rt.clock.now())
            events += check_long_waits(s, hall, now=rt.clock.now())
        return events

    events = rt.db.run_write(do)
    rt.publish(events)
    return len(events)


def recover_tickets(app: Flask) -> int:
    """Put tickets stuck "called" at a window that no longer holds them back in their queue (recovery.py)."""
    from hall_queue.queueing.recovery import recover_stuck_tickets

    rt = runtime(app)
    events = rt.db.run_write(lambda s: recover_stuck_tickets(s, now=rt.clock.now()))
    rt.publish(events)
    return len(events)


def seal_audit(app: Flask) -> int:
    """Link new audit events onto the tamper-evident chain (``onevisit audit verify`` checks it)."""
    from hall_queue.access import audit

    rt = runtime(app)
    return rt.db.run_write(lambda s: audit.seal(s, audit.chain_key(app.config["DATA_KEY"])))


def run_case_duties(app: Flask) -> int:
    """Cases (办件): due-soon / overdue and 容缺 alerts and reminders, then the approval system's webhooks."""
    from hall_queue.cases.duties import check_cases
    from hall_queue.cases.webhooks import deliver_due
    from hall_queue.infrastructure.sms import notifier_for

    rt = runtime(app)
    notifier = notifier_for(app)
    now = rt.clock.now()

    def do(s):
        events = []
        for hall in s.scalars(select(Hall)).all():
            events += check_cases(s, hall, now=now, notifier=notifier)
        return events

    events = rt.db.run_write(do)
    rt.publish(events)
    deliver_due(rt.db, rt.vault, now=now)
    return len(events)


def run_duty_round(app: Flask) -> None:
    """Run every periodic duty once; a failing duty is logged and does not stop the others."""
    try:
        seal_audit(app)
    except Exception:
        log.exception("audit sealing failed")
    try:
        recover_tickets(app)
    except Exception:  # keep the duty alive through a database hiccup
        log.exception("stuck-ticket recovery failed")
    try:
        run_post_checks(app)
    except Exception:
        log.exception("post check failed")
    try:  # cases: alerts, 容缺 reminders (000 §9.3.6), webhooks (before the SMS outbox goes out below)
        run_case_duties(app)
    except Exception:
        log.exception("case duties failed")
    try:  # appointments: no-shows and reminders (000 §8.2.4), then the SMS outbox
        appointments.run_duty(app)
    except Exception:
        log.exception("appointment sweep failed")
    retention.run_duty(app)  # hourly purge of expired personal data and pages; logs its own failures


def start_duties(app: Flask) -> None:
    from hall_queue.infrastructure.realtime import socketio

    def loop() -> None:
        while True:
            time.sleep(POST_CHECK_EVERY_S)
            run_duty_round(app)

    socketio.start_background_task(loop)

"""Composition root: the per-app runtime and the one table of what follows each domain event.

Read ``EVENT_HANDLERS`` to know every side effect of a service: what happens after ``call_next``
commits is the row of ``QueueStatsChanged`` (the queue's figures and the near-turn look). Every event
also goes to its Socket.IO rooms (hall screens, window screens, consoles, dashboards) through the
runtime's publisher, after the handlers.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Flask, current_app

from hall_queue.access.identity import IdentityVault
from hall_queue.domain.clock import SystemClock
from hall_queue.cases.notices import on_result_ready
from hall_queue.domain.events import (
    CaseResultReady,
    DomainEvent,
    QueueStatsChanged,
    TicketFinished,
    TicketGreenRevoked,
    TicketRequeued,
    TicketTransferred,
)
from hall_queue.infrastructure.db import Database
from hall_queue.infrastructure.runtime import Runtime
from hall_queue.queueing.estimates import fill_queue_stats
from hall_queue.queueing.near_turn import alert_near_turn

Handler = Callable[[DomainEvent, Runtime], None]

# Event → side effects, run after commit in this order (screens are sent last, by the publisher).
EVENT_HANDLERS: dict[type[DomainEvent], list[Handler]] = {
    # Calling sends its queue's figures to screens read after commit, outside the writer lock; a call moved the
    # queue, so the same read looks for visitors three or fewer from the head to get the near-turn SMS (000 §8.3).
    QueueStatsChanged: [fill_queue_stats],
    # Other moves of a queue: the near-turn SMS's own look.
    TicketFinished: [alert_near_turn],
    TicketRequeued: [alert_near_turn],
    TicketTransferred: [alert_near_turn],
    TicketGreenRevoked: [alert_near_turn],
    # A case's result waits at the handover window: the applicant's SMS (001 §7.3).
    CaseResultReady: [on_result_ready],
}


def build_runtime(app: Flask) -> Runtime:
    """Wire the app's runtime from its settings: database, identity vault, clock, notifier, handlers."""
    from hall_queue.infrastructure.sms import notifier_for

    cfg = app.config
    db = cfg.get("DATABASE") or Database(cfg["DATABASE_URL"])
    rt = Runtime(db=db, vault=IdentityVault.from_settings(cfg), clock=cfg.get("CLOCK") or SystemClock(),
                 handlers={kind: list(fns) for kind, fns in EVENT_HANDLERS.items()})
    rt.notifier_factory = lambda: notifier_for(app)
    return rt


def runtime(app: Flask | None = None) -> Runtime:
    """The runtime of ``app`` (default: the app serving this request)."""
    return (app or current_app).extensions["onevisit"]


__all__: list[Any] = ["EVENT_HANDLERS", "Runtime", "build_runtime", "runtime"]

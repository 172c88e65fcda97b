"""Recovery of tickets left "in hand" at a window that no longer holds them.

A ticket is in hand (``called`` or ``serving``) at exactly one window, and the window holds it for as
long as the clerk who called it is still signed in there: the clerk's console shows it after any
restart, because the window's state lives in the database, not in the server process. Calling, signing
in and out, pausing and finishing each commit in one transaction, so a crash (``kill -9``, power cut)
never leaves a half-done call. A ticket can still end up orphaned by an edit outside the services
(a window removed or a clerk signed out by hand in the database, a row restored from a backup) — and a
visitor whose ticket is stuck "called" at nobody's window would never be called again.

The recovery rule: a ticket in hand is *stuck* when

* it names no window, or a window that does not exist;
* its window has no clerk signed in, or another clerk than the one who called it;
* its window already holds an older ticket in hand (a window holds one ticket at a time).

A stuck ticket goes back to ``waiting`` in its queue with its number and its original calling key
(the issue time, so it keeps its place — at the head, since it had been called), its call and
service times cleared, and an audit record ``ticket.recover`` naming the window and the reason
(the visitor is called again rather than forgotten). The rule runs at ``onevisit run`` start-up and in
every duty round.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from hall_queue.access import audit
from hall_queue.domain.events import DomainEvent, QueueStatsChanged, TicketRequeued
from hall_queue.domain.models import IN_HAND_STATUSES, Hall, Ticket, Window
from hall_queue.queueing.presenters import ticket_view
from hall_queue.queueing.ticketing import queue_stats


@dataclass(frozen=True)
class StuckTicket:
    """A ticket in hand that its window does not hold, and why."""

    ticket_id: int
    window_id: int | None
    reason: str  # no_window | window_gone | no_clerk | other_clerk | window_busy


def _reason(status: str, window_id: int | None, window_exists: bool, window_clerk_id: int | None,
            ticket_clerk_id: int | None, held_first: int | None, ticket_id: int) -> str | None:
    """The recovery rule (see the module's docstring) over one ticket's figures; None when its window holds it."""
    if status not in IN_HAND_STATUSES:
        return None
    if window_id is None:
        return "no_window"
    if not window_exists:
        return "window_gone"
    if window_clerk_id is None:
        return "no_clerk"
    if ticket_clerk_id is not None and ticket_clerk_id != window_clerk_id:
        return "other_clerk"
    # ``calling.ticket_in_hand`` shows the oldest ticket in hand; any younger one is invisible to the clerk.
    if held_first != ticket_id:
        return "window_busy"
    return None


def _held_first(window_id):
    """The oldest ticket in hand at ``window_id`` (a scalar subquery)."""
    held = aliased(Ticket)
    return (select(func.min(held.id)).where(held.window_id == window_id, held.status.in_(IN_HAND_STATUSES))
            .scalar_subquery())


def why_stuck(session: Session, ticket: Ticket) -> str | None:
    """Return why ``ticket`` (called or serving) is not held by its window, or None when it is held."""
    if ticket.status not in IN_HAND_STATUSES:
        return None
    window = session.get(Window, ticket.window_id) if ticket.window_id is not None else None
    held_first = session.scalar(select(_held_first(ticket.window_id))) if window is not None else None
    return _reason(ticket.status, ticket.window_id, window is not None, window and window.clerk_id, ticket.clerk_id,
                   held_first, ticket.id)


def find_stuck(session: Session, hall_id: int | None = None) -> list[StuckTicket]:
    """List every ticket in hand that its window does not hold (all halls, or one).

    One statement, so one snapshot: read ticket by ticket under PostgreSQL's READ COMMITTED, a 下一位 committed
    between the reads made a held ticket look "window_busy" every few rounds, and the recovery then locked
    windows that a group of 下一位 held — deadlocks and stalls of every clerk in the group (issue 19).
    """
    q = (select(Ticket.id, Ticket.status, Ticket.window_id, Window.id.is_not(None), Window.clerk_id, Ticket.clerk_id,
                _held_first(Ticket.window_id))
         .outerjoin(Window, Window.id == Ticket.window_id)
         .where(Ticket.status.in_(IN_HAND_STATUSES)).order_by(Ticket.id))
    if hall_id is not None:
        q = q.where(Ticket.hall_id == hall_id)
    out = []
    for tid, status, window_id, exists, window_clerk, ticket_clerk, held_first in session.execute(q):
        reason = _reason(status, window_id, bool(exists), window_clerk, ticket_clerk, held_first, tid)
        if reason is not None:
            out.append(StuckTicket(tid, window_id, reason))
    return out


def recover_stuck_tickets(session: Session, *, now: datetime, hall_id: int | None = None) -> list[DomainEvent]:
    """Put every stuck ticket back at its place in its queue (see the module's rule); return the events."""
    events: list[DomainEvent] = []
    touched_queues: dict[int, Ticket] = {}
    for stuck in find_stuck(session, hall_id):
        # Re-read under lock: a clerk may have finished the ticket since the scan (PostgreSQL runs
        # this beside live requests; SQLite's BEGIN IMMEDIATE already excludes them).
        # A row locked by someone else is being worked on right now (a call, a finish): not stuck, or not yet
        # — left to the next round (SKIP LOCKED) rather than waited for while holding the rows locked before it.
        if stuck.window_id is not None and stuck.reason != "window_gone":
            window = session.scalars(select(Window).where(Window.id == stuck.window_id)
                                     .with_for_update(skip_locked=True, key_share=True)
                                     .execution_options(populate_existing=True)).first()
            if window is None:
                continue
        ticket = session.scalars(select(Ticket).where(Ticket.id == stuck.ticket_id)
                                 .with_for_update(skip_locked=True, key_share=True)
                                 .execution_options(populate_existing=True)).first()
        if ticket is None or why_stuck(session, ticket) is None:
            continue
        reason = why_stuck(session, ticket)
        was = ticket.status
        ticket.status = "waiting"
        ticket.window_id = None
        ticket.clerk_id = None
        ticket.called_at = None
        ticket.started_at = None
        ticket.recall_count = 0
        ticket.call_reason = None
        # queue_key (the original issue time) and the number stay: the visitor keeps their place.
        audit.record(session, actor=audit.SYSTEM, action="ticket.recover", at=now, hall_id=ticket.hall_id,
                     ticket_id=ticket.id, window_id=stuck.window_id, number=ticket.number, was=was, reason=reason)
        window_ids = (stuck.window_id,) if stuck.window_id is not None and reason != "window_gone" else ()
        events.append(TicketRequeued(ticket.hall_id, {"ticket": ticket_view(ticket), "recovered": reason},
                                     window_ids=window_ids))
        touched_queues[ticket.queue_id] = ticket
    session.flush()
    for ticket in touched_queues.values():
        hall = session.get(Hall, ticket.hall_id)
        events.append(QueueStatsChanged(ticket.hall_id, {"queues": [queue_stats(session, hall, ticket.queue)]}))
    return events

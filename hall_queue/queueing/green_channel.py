"""The green channel (绿色通道, 000 §6.11; 001 §6.3): who may be served first, and taking it back when misused.

The reasons are ``vocabulary.GREEN_REASONS``; the kiosk offers them, the clerk checks the claim at the
window and may revoke it (the ticket goes back to ordinary priority, audited).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import Forbidden, InvalidRequest, WrongState
from hall_queue.domain.events import DomainEvent, QueueStatsChanged, TicketGreenRevoked
from hall_queue.domain.models import Hall, Ticket, Window
from hall_queue.domain.vocabulary import GREEN_REASONS, OPEN_STATUSES, PRIORITY_CLASSES
from hall_queue.queueing.estimates import queue_stats
from hall_queue.queueing.presenters import iso, ticket_view


def check_priority(priority_class: str, green_reason: str | None) -> None:
    """Check a requested priority: green needs one of the green-channel reasons; nothing else takes one."""
    if priority_class not in PRIORITY_CLASSES:
        raise InvalidRequest(f"priority_class must be one of {', '.join(PRIORITY_CLASSES)}")
    if priority_class == "green":
        if green_reason not in GREEN_REASONS:
            raise InvalidRequest(f"green channel needs green_reason, one of {', '.join(GREEN_REASONS)}",
                                 code="green_reason_required")
    elif green_reason is not None:
        raise InvalidRequest("green_reason is only for priority_class 'green'")


def revoke_green(session: Session, ticket: Ticket, *, reason: str, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Move a green-channel ticket back to ordinary priority (the clerk found the claim unfounded)."""
    if ticket.priority_class != "green":
        raise WrongState(f"ticket {ticket.number} is not in the green channel", code="not_green")
    if ticket.status not in OPEN_STATUSES:
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only an open ticket can be changed")
    if not actor.is_manager:
        window = session.get(Window, ticket.window_id) if ticket.window_id else None
        if window is None or window.clerk_id != actor.id:
            raise Forbidden("only the clerk holding the ticket at the window, or a manager, may revoke green channel")
    previous = ticket.green_reason
    ticket.priority_class, ticket.green_reason = "ordinary", None
    detail = dict(ticket.outcome_detail or {})
    detail["green_revoked"] = {"reason": reason, "previous": previous, "at": iso(now)}
    ticket.outcome_detail = detail
    audit.record(session, actor=actor, action="ticket.revoke_green", at=now, hall_id=ticket.hall_id,
                 ticket_id=ticket.id, window_id=ticket.window_id, previous=previous, reason=reason)
    hall = session.get(Hall, ticket.hall_id)
    events: list[DomainEvent] = [TicketGreenRevoked(ticket.hall_id, {"ticket": ticket_view(ticket), "reason": reason},
                                                    window_ids=(ticket.window_id,) if ticket.window_id else ())]
    if ticket.status == "waiting":
        events.append(QueueStatsChanged(ticket.hall_id, {"queues": [queue_stats(session, hall, ticket.queue)]}))
    return events

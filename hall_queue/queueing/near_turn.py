"""The near-turn SMS (000 §8.3 提醒): a visitor who left a phone is told once when three or fewer are ahead.

Runs after every event that moves a queue (see ``bootstrap.EVENT_HANDLERS``), outside the request's
transaction; the notifier's ``dedup_key`` (one per ticket) makes each message go out once.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Hall, Notification, Ticket
from hall_queue.domain.vocabulary import NEAR_TURN_AHEAD
from hall_queue.infrastructure.db import fixed_limit, one_of
from hall_queue.infrastructure.sms import Notifier

_NEAR_TURN_HEADS = (select(Ticket.id, Ticket.phone_cipher.is_not(None))
                    .where(Ticket.queue_id == bindparam("queue_id"), Ticket.status == "waiting")
                    .order_by(Ticket.queue_key, Ticket.id).limit(NEAR_TURN_AHEAD + 1))


# The look that comes with a call's queue figures (``estimates.fill_queue_stats``, one read after commit): how many
# of the queue's first NEAR_TURN_AHEAD + 1 waiting visitors left a phone. None: nobody is to be told.
_HEAD_PHONES = (select(Ticket.phone_cipher)
                .where(Ticket.queue_id == bindparam("queue_id"), one_of(Ticket.status, ["waiting"]))
                .order_by(Ticket.queue_key, Ticket.id).limit(fixed_limit(NEAR_TURN_AHEAD + 1)).subquery())
PHONES_AT_HEAD = (select(func.count()).select_from(_HEAD_PHONES).where(_HEAD_PHONES.c.phone_cipher.is_not(None))
                  .scalar_subquery())


def _near_turn_key(ticket: Ticket) -> str:
    return f"near_turn:{ticket.origin_ticket_id or ticket.id}"


def near_turn_due(session: Session, queue_id: int) -> list[tuple[int, Ticket]]:
    """Return (people ahead, ticket) for waiting visitors with a phone, three or fewer ahead, not yet told."""
    # Runs after every call: look at plain rows first, load tickets only when someone left a phone.
    heads = session.connection().execute(_NEAR_TURN_HEADS, {"queue_id": queue_id}).all()
    if not any(has_phone for _, has_phone in heads):
        return []
    first = session.scalars(select(Ticket).where(Ticket.id.in_([i for i, _ in heads]))
                            .order_by(Ticket.queue_key, Ticket.id)).all()
    due = [(ahead, t) for ahead, t in enumerate(first) if t.phone_cipher]
    if not due:
        return []
    sent = set(session.scalars(select(Notification.dedup_key).where(
        Notification.dedup_key.in_([_near_turn_key(t) for _, t in due]))))
    return [(ahead, t) for ahead, t in due if _near_turn_key(t) not in sent]


def notify_near_turn(session: Session, queue_id: int, notifier: Notifier, *, now: datetime) -> int:
    """Queue one SMS for each waiting visitor with a phone who now has three or fewer ahead.

    The notifier's ``dedup_key`` (one per ticket) makes it go out once however often this runs.
    """
    queued = 0
    for ahead, ticket in near_turn_due(session, queue_id):
        hall = session.get(Hall, ticket.hall_id)
        text = (f"【{hall.name}】您的号码 {ticket.number} 前面还有 {ahead} 人，请回到大厅留意叫号。"
                if ahead else f"【{hall.name}】您的号码 {ticket.number} 马上就到，请回到大厅留意叫号。")
        notifier.send(session, hall_id=ticket.hall_id, phone_cipher_or_phone=ticket.phone_cipher, kind="near_turn",
                      text=text, dedup_key=_near_turn_key(ticket), now=now)
        queued += 1
    return queued


def _moved_queue(event: DomainEvent) -> int | None:
    """The queue in which the event moved waiting visitors up, or None."""
    ticket = event.payload.get("ticket") or {}
    queue_id = ticket.get("queue_id")
    if not isinstance(queue_id, int):
        return None
    if event.name == "ticket_finished" and ticket.get("status") != "cancelled":
        return None  # a ticket in hand ended (done, no-show): nobody waiting moved up
    return queue_id


def alert_near_turn(event: DomainEvent, rt: Any) -> None:
    """Handler: after a queue moved, queue the SMS for visitors whose turn is near."""
    queue_id = _moved_queue(event)
    if queue_id is None:
        return
    # Most calls concern nobody who left a phone: look first, take the write lock only when needed.
    with rt.db.read() as s:
        if not near_turn_due(s, queue_id):
            return
    notify_after_look(rt, queue_id)


def notify_after_look(rt: Any, queue_id: int) -> None:
    """Queue the near-turn SMS of a queue a look found someone with a phone near the head of (checked again here)."""
    rt.db.run_write(lambda s: notify_near_turn(s, queue_id, rt.notifier, now=rt.clock.now()))


# The check reads the queue as it is now, whichever event asked: the publisher runs it once per queue and batch.
alert_near_turn.batch_key = lambda event: (  # type: ignore[attr-defined]
    None if (q := _moved_queue(event)) is None else ("near_turn", q))

"""Guards against abuse of the queue (issue 17): a cap on tickets per ID number and item a day (号贩子).

Munich's ZMS and the halls' own 号贩子 notices say the same: one person taking numbers to sell them
blocks honest visitors. The hall's ``id_daily_ticket_cap`` (0 = off) limits the tickets one ID number
takes for one item on one service day; the count lives in one row per (hall, day, ID hash, item),
bumped with a conditional ``UPDATE … WHERE count < cap RETURNING`` inside the issuing transaction,
so two kiosks at once never beat the cap (the row lock on PostgreSQL, the write lock on SQLite —
as ``ticketing._bump_counter``). Cancelled tickets still count: cancel-and-retake is the trick.
The other guards sit with the rule they guard: the recall gap in ``calling.recall``, the cancelled
slot's hold in ``appointments.booking.book``, the no-show block in ``appointments.no_shows``.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.domain.errors import DomainError
from hall_queue.domain.models import IdTicketCount, Ticket, TicketItem
from hall_queue.infrastructure.db import core


class GuardRefused(DomainError, status=409, code="guard_refused"):
    """A guard against abuse said no; the message is the Chinese text the kiosk shows."""


_BUMP = (update(IdTicketCount)
         .where(IdTicketCount.hall_id == bindparam("b_hall"), IdTicketCount.service_day == bindparam("b_day"),
                IdTicketCount.id_hash == bindparam("b_hash"), IdTicketCount.item_id == bindparam("b_item"),
                IdTicketCount.count < bindparam("b_cap"))
         .values(count=IdTicketCount.count + 1).returning(IdTicketCount.count))


def _bump(session: Session, hall_id: int, day: date, id_hash: str, item_id: int, cap: int) -> bool:
    """Count one more ticket of (ID, item, day); False when the cap is already reached."""
    params = {"b_hall": hall_id, "b_day": day, "b_hash": id_hash, "b_item": item_id, "b_cap": cap}
    if core(session).execute(_BUMP, params).first() is not None:
        return True
    if session.get(IdTicketCount, (hall_id, day, id_hash, item_id), populate_existing=True) is not None:
        return False
    # First count of the day for this ID and item: tickets taken before the cap was switched on count too.
    taken = session.scalar(select(func.count()).select_from(Ticket).join(TicketItem, TicketItem.ticket_id == Ticket.id)
                           .where(Ticket.hall_id == hall_id, Ticket.service_day == day, Ticket.id_hash == id_hash,
                                  Ticket.leg == 0, TicketItem.item_id == item_id)) or 0
    try:
        with session.begin_nested():
            session.add(IdTicketCount(hall_id=hall_id, service_day=day, id_hash=id_hash, item_id=item_id,
                                      count=min(taken + 1, cap) if taken < cap else taken))
        return taken < cap
    except IntegrityError:
        # Another kiosk's first ticket of this ID and item committed the row a moment ago: count on it.
        return _bump(session, hall_id, day, id_hash, item_id, cap)


def count_id_ticket(session: Session, *, hall_id: int, cap: int, day: date, id_hash: str | None,
                    items: list[tuple[int, str]]) -> None:
    """Count a ticket against its ID number's daily cap per item; refuse it past the cap (0 = no cap).

    :raises GuardRefused: ``id_daily_cap`` when one of the items was taken ``cap`` times today.
    """
    if cap <= 0 or not id_hash:
        return
    for item_id, name in items:
        if not _bump(session, hall_id, day, id_hash, item_id, cap):
            raise GuardRefused(f"同一证件今天已取过{cap}次“{name}”的号，不能再取；如需帮助请到咨询台",
                               code="id_daily_cap")

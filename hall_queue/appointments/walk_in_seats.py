"""The seat counter (号源) shared by bookings and walk-ins: online bookings take seats atomically, walk-ins
are counted on the same slot row and never refused (004 §8.2)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault
from hall_queue.appointments.capacity import _rules, slot_capacity
from hall_queue.appointments.settings import Matter, settings_for
from hall_queue.appointments.slots import current_slot
from hall_queue.domain.errors import NotFound
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import (
    Appointment,
    AppointmentCapacity,
    AppointmentSettings,
    AppointmentSlot,
    Bundle,
    Hall,
    Queue,
    ServiceItem,
    Ticket,
    WalkInSeat,
)
from hall_queue.infrastructure.cache import MISSING, TtlCache
from hall_queue.infrastructure.db import Prebuilt, core
from hall_queue.queueing.presenters import iso
from hall_queue.queueing.ticketing import IssuedTicket, IssueRequest, issue_ticket

# ---------------------------------------------------------------- the seat counter (号源)

def _slot_row(session: Session, hall: Hall, matter: str, start: datetime) -> AppointmentSlot:
    """Get or create the slot's counter row (a racing creator on PostgreSQL is detected by the unique key)."""
    q = select(AppointmentSlot).where(AppointmentSlot.hall_id == hall.id, AppointmentSlot.matter == matter,
                                      AppointmentSlot.slot_start == start)
    row = session.scalar(q)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = AppointmentSlot(hall_id=hall.id, matter=matter, slot_start=start, booked=0, walk_ins=0)
            session.add(row)
        return row
    except IntegrityError:
        return session.scalars(q).one()


def _take_seat(session: Session, slot_row: AppointmentSlot, *, booking_cap: int, capacity: int) -> bool:
    """Take one booking seat atomically: one ``UPDATE … WHERE booked < cap RETURNING`` (as ``_bump_counter``)."""
    stmt = (update(AppointmentSlot)
            .where(AppointmentSlot.id == slot_row.id, AppointmentSlot.booked < booking_cap,
                   AppointmentSlot.booked + AppointmentSlot.walk_ins < capacity)
            .values(booked=AppointmentSlot.booked + 1).returning(AppointmentSlot.booked))
    taken = session.execute(stmt).scalar_one_or_none()
    session.expire(slot_row)
    return taken is not None


def _return_seat(session: Session, slot_id: int) -> None:
    session.execute(update(AppointmentSlot).where(AppointmentSlot.id == slot_id, AppointmentSlot.booked > 0)
                    .values(booked=AppointmentSlot.booked - 1))


@dataclass
class WalkInStatus:
    """Where a walk-in stands against the current slot's shared seats (004 §8.2: never a refusal)."""

    allowed: bool
    slot_start: datetime | None = None
    capacity: int = 0
    booked: int = 0
    walk_ins: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked - self.walk_ins)

    def view(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "slot_start": iso(self.slot_start), "capacity": self.capacity,
                "booked": self.booked, "walk_ins": self.walk_ins, "remaining": self.remaining}


def _matters_for(session: Session, hall: Hall, target: ServiceItem | Bundle | Queue) -> list[Matter]:
    if isinstance(target, ServiceItem):
        return [Matter(f"i{target.id}", target, None)]
    if isinstance(target, Bundle):
        return [Matter(f"b{target.id}", None, target)]
    if isinstance(target, Queue):
        return [Matter(f"i{i.id}", i, None) for i in target.items if i.active]
    raise TypeError("target must be a ServiceItem, Bundle or Queue")


def _standing(session: Session, hall: Hall, slot_start: datetime, matters: list[Matter],
              default_capacity: int, slot: Any) -> WalkInStatus:
    """The seats of ``matters`` on the slot beginning at ``slot_start``: capacity, booked, walk-ins."""
    total = WalkInStatus(True, slot_start)
    for m in matters:
        cap = slot_capacity(_rules(session, hall, m.key), slot, default_capacity)
        row = session.scalar(select(AppointmentSlot).where(AppointmentSlot.hall_id == hall.id,
                                                           AppointmentSlot.matter == m.key,
                                                           AppointmentSlot.slot_start == slot_start))
        total.capacity += cap
        total.booked += row.booked if row else 0
        total.walk_ins += row.walk_ins if row else 0
    return total


def walk_in_allowed(session: Session, hall: Hall, target: ServiceItem | Bundle | Queue, now: datetime) -> WalkInStatus:
    """Tell whether the current slot still has walk-in seats for an item, bundle or queue.

    Walk-ins may use every seat of the slot that bookings have not taken: their own share plus any
    booking seats left unbooked when the slot began. ``allowed=False`` is advice for the kiosk
    (e.g. "this slot is full, expect a longer wait"), never a refusal (004 §8.2). Outside any slot
    (closed, holiday, a gap between intervals) there is nothing to share: allowed.
    """
    st = settings_for(session, hall)
    slot = current_slot(session, hall, st, now)
    if slot is None:
        return WalkInStatus(True)
    total = _standing(session, hall, slot.start, _matters_for(session, hall, target), st.default_capacity, slot)
    total.allowed = total.remaining > 0
    return total


def _ticket_matters(ticket: Ticket) -> list[Matter]:
    return ([Matter(f"b{ticket.bundle_id}", None, ticket.bundle)] if ticket.bundle_id is not None
            else [Matter(f"i{i.id}", i, None) for i in ticket.items])


def consume_walk_in(session: Session, hall: Hall, ticket: Ticket, now: datetime) -> WalkInStatus:
    """Count a walk-in ticket on its matter's current slot, once per ticket; over the share it still counts.

    The same counter as the issue path (``count_walk_in``), for a ticket issued without it (an older kiosk,
    a manual entry). Appointment tickets are not counted here: their seat was taken when they booked.
    """
    st = settings_for(session, hall)
    if ticket.hall_id != hall.id:
        raise NotFound(f"ticket {ticket.id} not found in this hall")
    if ticket.source == "appointment" or ticket.priority_class == "appointment" or session.scalar(
            select(Appointment.id).where(Appointment.ticket_id == ticket.id)) is not None:
        return WalkInStatus(True)
    slot = current_slot(session, hall, st, now)
    if slot is None:
        return WalkInStatus(True)
    matters = _ticket_matters(ticket)
    counted = session.scalar(select(WalkInSeat.ticket_id).where(WalkInSeat.ticket_id == ticket.id).limit(1))
    if counted is None:  # a retried call counts nothing again
        count_walk_in(session, hall, ticket_id=ticket.id, matters=[m.key for m in matters], now=now)
        session.expire_all()
    total = _standing(session, hall, slot.start, matters, st.default_capacity, slot)
    total.allowed = total.booked + total.walk_ins <= total.capacity
    return total


# The issue path reads these on every walk-in: kept a few seconds per process (infrastructure/cache.py),
# cleared at once by a change committed here.
_seat_settings = TtlCache(5.0, {AppointmentSettings.__tablename__})
_capacity_rules = TtlCache(5.0, {AppointmentCapacity.__tablename__})
_SLOT_ID = (select(AppointmentSlot.id).where(AppointmentSlot.hall_id == bindparam("hall_id"),
                                             AppointmentSlot.matter == bindparam("matter"),
                                             AppointmentSlot.slot_start == bindparam("start")))
_SLOTS = AppointmentSlot.__table__
_SEATS = WalkInSeat.__table__
_COUNT = (update(_SLOTS).where(_SLOTS.c.id == bindparam("slot_id"))
          .values(walk_ins=_SLOTS.c.walk_ins + 1).returning(_SLOTS.c.walk_ins, _SLOTS.c.booked))
# The usual case, the slot's row already made: find and count in one statement (issue 19: the issue path's statements).
_COUNT_AT = Prebuilt(update(_SLOTS).where(_SLOTS.c.hall_id == bindparam("b_hall"), _SLOTS.c.matter == bindparam("b_matter"),
                                  _SLOTS.c.slot_start == bindparam("b_start"))
             .values(walk_ins=_SLOTS.c.walk_ins + 1).returning(_SLOTS.c.id, _SLOTS.c.walk_ins, _SLOTS.c.booked))
_INSERT_SEAT = Prebuilt(insert(_SEATS), keys=("ticket_id", "slot_id", "within_share"))
# PostgreSQL: the slot's row made or counted and the seat written in one statement (a data-modifying WITH), whose
# result nobody waits for — sent ``later``, with the issue's next statement (issue 19: a round trip per issue in
# the group's leading thread). SQLite has no DML in WITH, and no round trips to save: it keeps the two above.
_COUNTED = (pg_insert(_SLOTS).values(hall_id=bindparam("b_hall"), matter=bindparam("b_matter"),
                                     slot_start=bindparam("b_start"), booked=0, walk_ins=1)
            .on_conflict_do_update(constraint="uq_appointment_slot", set_={"walk_ins": _SLOTS.c.walk_ins + 1})
            .returning(_SLOTS.c.id, _SLOTS.c.walk_ins, _SLOTS.c.booked).cte("counted"))
_COUNT_AND_SEAT = Prebuilt(insert(_SEATS).from_select(
    ["ticket_id", "slot_id", "within_share"],
    select(bindparam("b_ticket", type_=Integer), _COUNTED.c.id,
           _COUNTED.c.booked + _COUNTED.c.walk_ins <= bindparam("b_cap", type_=Integer))))


def _cached_settings(session: Session, hall: Any) -> SimpleNamespace:
    hit = _seat_settings.get(session, hall.id)
    if hit is MISSING:
        st = settings_for(session, hall)
        hit = _seat_settings.put(session, hall.id, SimpleNamespace(slot_minutes=st.slot_minutes,
                                                                   default_capacity=st.default_capacity))
    return hit


def _cached_rules(session: Session, hall: Any, matter: str) -> dict[tuple[str, str], int]:
    hit = _capacity_rules.get(session, (hall.id, matter))
    if hit is MISSING:
        hit = _capacity_rules.put(session, (hall.id, matter), _rules(session, hall, matter))
    return hit


def _slot_id(session: Session, hall_id: int, matter: str, start: datetime) -> int:
    """Get or create the slot's counter row, by plain statements (the issue path)."""
    params = {"hall_id": hall_id, "matter": matter, "start": start}
    slot_id = core(session).execute(_SLOT_ID, params).scalar()
    if slot_id is not None:
        return slot_id
    try:
        with session.begin_nested():
            return core(session).execute(insert(_SLOTS).values(hall_id=hall_id, matter=matter, slot_start=start,
                                                               booked=0, walk_ins=0).returning(_SLOTS.c.id)).scalar_one()
    except IntegrityError:  # another process created it first (PostgreSQL)
        return core(session).execute(_SLOT_ID, params).scalar_one()


def count_walk_in(session: Session, hall: Any, *, ticket_id: int, matters: list[str], now: datetime) -> None:
    """Count a just-issued walk-in on the running slot of each of its matters (the issue path's ``consume_walk_in``).

    The seat is counted even past the slot's capacity (004 §8.2: a walk-in is never refused); one over the
    capacity is marked outside the share.
    """
    st = _cached_settings(session, hall)
    slot = current_slot(session, hall, st, now)
    if slot is None:
        return
    conn = core(session)
    for matter in matters:
        cap = slot_capacity(_cached_rules(session, hall, matter), slot, st.default_capacity)
        if conn.dialect.name == "postgresql":
            _COUNT_AND_SEAT.later(conn, {"b_hall": hall.id, "b_matter": matter, "b_start": slot.start,
                                         "b_ticket": ticket_id, "b_cap": cap})
            continue
        row = _COUNT_AT.first(conn, {"b_hall": hall.id, "b_matter": matter, "b_start": slot.start})
        if row is None:  # the slot's first seat or booking: make its row, then count
            slot_id = _slot_id(session, hall.id, matter, slot.start)
            walk_ins, booked = conn.execute(_COUNT, {"slot_id": slot_id}).one()
        else:
            slot_id, walk_ins, booked = row
        _INSERT_SEAT.later(conn, {"ticket_id": ticket_id, "slot_id": slot_id, "within_share": booked + walk_ins <= cap})


def issue_walk_in(session: Session, hall: Hall, req: IssueRequest, *, now: datetime, vault: IdentityVault,
                  actor: Actor, range_after_commit: bool = False,
                  replay_ahead: bool = False) -> tuple[IssuedTicket, list[DomainEvent]]:
    """Issue a walk-in ticket and count it on its matter's current slot, in one transaction.

    Walk-ins and online bookings share a slot's seats (号源, 004 §8.2): a walk-in is never refused,
    but once counted its seat is no longer bookable, so bookings plus walk-ins within the share never
    exceed the slot's capacity. A replayed ticket (same idempotency key) was counted the first time.
    ``replay_ahead``: see ``issue_ticket`` (the caller handles ``ReplayedLate``).
    """
    issued, events = issue_ticket(session, hall, req, now=now, vault=vault, actor=actor,
                                  range_after_commit=range_after_commit, replay_ahead=replay_ahead)
    if not issued.replayed and req.source == "walk_in":
        view = issued.ticket_view
        matters = [f"b{view['bundle_id']}"] if view.get("bundle_id") else [f"i{i}" for i in view["item_ids"]]
        count_walk_in(session, hall, ticket_id=issued.id, matters=matters, now=now)
    return issued, events

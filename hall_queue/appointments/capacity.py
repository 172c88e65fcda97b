"""Seats per matter and slot (最大预约数, 000 §8.2.2 / 002 §7.2.2) and the part online bookings may take (004 §8.2)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.domain import calendar as halls
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.models import AppointmentCapacity, AppointmentSettings, AppointmentSlot, Hall
from hall_queue.queueing.presenters import iso
from hall_queue.appointments.settings import Matter, _HHMM, resolve_matter, settings_for
from hall_queue.appointments.slots import Slot, day_plan, local_today, slots_of_day

# ---------------------------------------------------------------- capacity (最大预约数, 000 §8.2.2)

WEEKDAYS = halls.WEEKDAYS


def _rules(session: Session, hall: Hall, matter: str) -> dict[tuple[str, str], int]:
    rows = session.scalars(select(AppointmentCapacity).where(AppointmentCapacity.hall_id == hall.id,
                                                             AppointmentCapacity.matter == matter))
    return {(r.day, r.time): r.capacity for r in rows}


def slot_capacity(rules: dict[tuple[str, str], int], slot: Slot, default: int) -> int:
    """Return a slot's seats: the most specific rule wins (date > weekday > every day; one slot > all)."""
    day_keys = (slot.day.isoformat(), WEEKDAYS[slot.day.weekday()], "*")
    for d in day_keys:
        for t in (slot.hhmm, "*"):
            if (d, t) in rules:
                return rules[(d, t)]
    return default


def booking_capacity(capacity: int, st: AppointmentSettings, matter: Matter) -> int:
    """The part of a slot's seats online bookings may take; an appointment-only item books them all."""
    if matter.appointment_only:
        return capacity
    return capacity * st.booking_share_pct // 100


@dataclass
class SlotState:
    slot: Slot
    capacity: int
    booking_capacity: int
    booked: int
    walk_ins: int
    bookable: bool
    reason: str = ""

    @property
    def bookable_left(self) -> int:
        return max(0, min(self.booking_capacity - self.booked, self.capacity - self.booked - self.walk_ins))

    def view(self) -> dict[str, Any]:
        return {"start": self.slot.hhmm, "end": self.slot.end_local.strftime("%H:%M"),
                "slot": self.slot.start_local.isoformat(timespec="minutes"), "slot_start": iso(self.slot.start),
                "slot_end": iso(self.slot.end), "capacity": self.capacity, "booking_capacity": self.booking_capacity,
                "booked": self.booked, "walk_ins": self.walk_ins, "left": self.bookable_left if self.bookable else 0,
                "bookable": self.bookable and self.bookable_left > 0, "reason": self.reason}


def booking_opens(st: AppointmentSettings, slot: Slot, now: datetime, today: date) -> tuple[bool, str]:
    """Tell whether a slot can still be booked at ``now`` (days ahead, closing time before its start)."""
    if slot.day > today + timedelta(days=st.book_days_ahead):
        return False, "too_far"
    if now >= slot.end or now >= slot.start - timedelta(minutes=st.book_close_minutes):
        return False, "closed"
    return True, ""


def day_calendar(session: Session, hall: Hall, matter: Matter, day: date, *, now: datetime) -> dict[str, Any]:
    """Return a day's slots of one matter with seats, bookings and walk-ins (booking page, managers)."""
    st = settings_for(session, hall)
    rules = _rules(session, hall, matter.key)
    slots = slots_of_day(session, hall, st, day)
    counters = {r.slot_start: r for r in session.scalars(select(AppointmentSlot).where(
        AppointmentSlot.hall_id == hall.id, AppointmentSlot.matter == matter.key,
        AppointmentSlot.slot_start.in_([s.start for s in slots])))} if slots else {}
    today = local_today(hall, now)
    states = []
    for slot in slots:
        cap = slot_capacity(rules, slot, st.default_capacity)
        row = counters.get(slot.start)
        ok, why = booking_opens(st, slot, now, today)
        states.append(SlotState(slot, cap, booking_capacity(cap, st, matter), row.booked if row else 0,
                                row.walk_ins if row else 0, ok, why))
    _, hol = day_plan(session, hall, day)
    return {"date": day.isoformat(), "weekday": WEEKDAYS[day.weekday()], "matter": matter.key,
            "matter_name": matter.name,
            "holiday": {"kind": hol.kind, "name": hol.name} if hol is not None else None,
            "slots": [s.view() for s in states]}


def bookable_days(hall: Hall, st: AppointmentSettings, now: datetime) -> list[date]:
    today = local_today(hall, now)
    return [today + timedelta(days=n) for n in range(st.book_days_ahead + 1)]


def set_capacity(session: Session, hall: Hall, *, matter: str, day: str, time_: str, capacity: int | None,
                 now: datetime, actor: Actor) -> AppointmentCapacity | None:
    """Set (or with ``capacity=None`` remove) the seats of a matter for every day / a weekday / a date."""
    resolve_matter(session, hall, matter)
    if day != "*" and day not in WEEKDAYS:
        try:
            day = date.fromisoformat(day).isoformat()
        except ValueError as e:
            raise InvalidRequest("day must be '*', mon..sun or YYYY-MM-DD") from e
    if time_ != "*" and not _HHMM.match(time_):
        raise InvalidRequest("time must be '*' or HH:MM (a slot's start)")
    row = session.scalar(select(AppointmentCapacity).where(
        AppointmentCapacity.hall_id == hall.id, AppointmentCapacity.matter == matter,
        AppointmentCapacity.day == day, AppointmentCapacity.time == time_))
    if capacity is None:
        if row is not None:
            session.delete(row)
    else:
        if not 0 <= capacity <= 999:
            raise InvalidRequest("capacity must be between 0 and 999")
        if row is None:
            row = AppointmentCapacity(hall_id=hall.id, matter=matter, day=day, time=time_, capacity=capacity)
            session.add(row)
        row.capacity = capacity
    session.flush()
    audit.record(session, actor=actor, action="appointments.capacity", at=now, hall_id=hall.id, matter=matter,
                 day=day, time=time_, capacity=capacity)
    return row if capacity is not None else None


def capacity_rules(session: Session, hall: Hall) -> list[dict[str, Any]]:
    rows = session.scalars(select(AppointmentCapacity).where(AppointmentCapacity.hall_id == hall.id)
                           .order_by(AppointmentCapacity.matter, AppointmentCapacity.day, AppointmentCapacity.time))
    return [{"id": r.id, "matter": r.matter, "day": r.day, "time": r.time, "capacity": r.capacity} for r in rows]

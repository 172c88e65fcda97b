"""Appointments (预约): slots, shared capacity, booking, cancelling, reminders, check-in and no-shows.

Rules and where they come from:

* 000 §8.2.1 / 002 §7.2.1 — book online: choose an item (or a bundle, 一件事), a date and a time
  slot; a successful booking gets a confirmation code and a success prompt.
* 000 §8.2.2 / 002 §7.2.2 — managers set the maximum bookings (最大预约数) per matter and slot,
  for every day, a weekday or one date, all slots or one; slots come from the hall's opening hours
  minus holidays, plus make-up working days (调休), cut to a configurable length.
* 004 §8.2 — offline service never requires a booking: each slot's seats (号源) are shared; only
  ``booking_share_pct`` of them may be booked online, the rest (and every seat left unbooked when
  the slot starts) stays for walk-ins, which are counted on the same slot row but never refused.
* 000 §8.2.3 — one active booking per ID number per item, until it is served or cancelled:
  ``AppointmentClaim`` rows, one per (hall, item, person), keyed by primary key, so two
  simultaneous requests cannot both win; a bundle claims each of its items.
* 000 §8.2.5 — cancel before or during the slot with the confirmation code and the ID number;
  the seat goes back to the slot.
* 000 §8.2.4 / 002 §7.2.2 (到期提醒) — reminders before the slot through the notifier, each
  exactly once (the notifier's ``dedup_key``).
* Check-in at the kiosk (ID card or code) from ``checkin_early_minutes`` before the slot until
  ``checkin_grace_minutes`` after its start gives an appointment-priority ticket; later, an
  ordinary ticket, said plainly. A booking not checked in by the end of its slot is a no-show;
  ``no_show_limit`` no-shows within ``no_show_window_days`` block online booking for
  ``no_show_block_days`` (002 §7.2.2 预约次数; 0 turns it off).

Services take a session and ``now`` (naive UTC) and return domain events; the caller commits.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import audit, halls
from .audit import Actor
from .errors import DomainError, InvalidRequest, NotFound, QueueClosed, WrongState
from .estimates import estimated_wait_s, people_ahead
from .events import DomainEvent
from .identity import IdentityVault, mask_id_number, mask_name, mask_phone
from .models import (
    ACTIVE_APPOINTMENT_STATUSES,
    OPEN_STATUSES,
    Appointment,
    AppointmentCapacity,
    AppointmentClaim,
    AppointmentSettings,
    AppointmentSlot,
    Bundle,
    Hall,
    Holiday,
    Notification,
    Queue,
    ServiceItem,
    Ticket,
    WalkInSeat,
)
from .notifier import Notifier, notifier_for
from .presenters import iso
from .ticketing import IssuedTicket, IssueRequest, issue_ticket

DEFAULT_REMINDERS = [1440, 60]  # a day before and an hour before (000 §8.2.4)
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
CODE_LENGTH = 8
PUBLIC = Actor(kind="public")
_ID_NUMBER = re.compile(r"^(\d{17}[\dXx]|\d{15}|[A-Za-z0-9]{6,20})$")
_PHONE = re.compile(r"^1\d{10}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


# ---------------------------------------------------------------- errors a visitor may see (zh-CN first)

class SlotFull(DomainError):
    status = 409
    code = "slot_full"


class AlreadyBooked(DomainError):
    """000 §8.2.3: the same ID number already holds an active booking for this item."""

    status = 409
    code = "already_booked"


class BookingBlocked(DomainError):
    status = 403
    code = "booking_blocked"


class SlotUnavailable(DomainError):
    status = 409
    code = "slot_unavailable"


class TooEarly(DomainError):
    status = 409
    code = "too_early"


# ---------------------------------------------------------------- events (hall room; identity masked)

@dataclass(frozen=True)
class AppointmentBooked(DomainEvent):
    name = "appointment_booked"


@dataclass(frozen=True)
class AppointmentCancelled(DomainEvent):
    name = "appointment_cancelled"


@dataclass(frozen=True)
class AppointmentCheckedIn(DomainEvent):
    name = "appointment_checked_in"


@dataclass(frozen=True)
class AppointmentNoShow(DomainEvent):
    name = "appointment_no_show"


# ---------------------------------------------------------------- settings

SETTING_LIMITS: dict[str, tuple[int, int]] = {
    "slot_minutes": (5, 240), "default_capacity": (0, 999), "booking_share_pct": (0, 100),
    "book_days_ahead": (0, 90), "book_close_minutes": (-240, 10080), "checkin_early_minutes": (0, 240),
    "checkin_grace_minutes": (0, 240), "no_show_limit": (0, 100), "no_show_window_days": (1, 365),
    "no_show_block_days": (0, 365),
}


def settings_for(session: Session, hall: Hall) -> AppointmentSettings:
    """Return the hall's booking settings (unsaved defaults when a manager never changed them)."""
    row = session.get(AppointmentSettings, hall.id)
    if row is not None:
        return row
    return AppointmentSettings(hall_id=hall.id, slot_minutes=30, default_capacity=4, booking_share_pct=50,
                               book_days_ahead=7, book_close_minutes=0, checkin_early_minutes=30,
                               checkin_grace_minutes=15, reminder_minutes=list(DEFAULT_REMINDERS), no_show_limit=3,
                               no_show_window_days=30, no_show_block_days=30)


def settings_view(st: AppointmentSettings) -> dict[str, Any]:
    return {**{k: getattr(st, k) for k in SETTING_LIMITS}, "reminder_minutes": list(st.reminder_minutes or [])}


def update_settings(session: Session, hall: Hall, changes: dict[str, Any], *, now: datetime,
                    actor: Actor) -> AppointmentSettings:
    """Change some of the hall's booking settings; each value is checked against its limits."""
    st = session.get(AppointmentSettings, hall.id)
    if st is None:
        st = settings_for(session, hall)
        session.add(st)
    for key, value in changes.items():
        if value is None:
            continue
        if key == "reminder_minutes":
            if not isinstance(value, list) or len(value) > 5 or not all(
                    isinstance(v, int) and 1 <= v <= 10080 for v in value):
                raise InvalidRequest("reminder_minutes: up to 5 whole minutes between 1 and 10080")
            st.reminder_minutes = sorted(set(value), reverse=True)
            continue
        if key not in SETTING_LIMITS:
            raise InvalidRequest(f"unknown setting {key!r}")
        lo, hi = SETTING_LIMITS[key]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise InvalidRequest(f"{key} must be a whole number between {lo} and {hi}")
        setattr(st, key, value)
    if st.book_close_minutes < -st.slot_minutes:
        raise InvalidRequest("book_close_minutes may reach into a slot at most its length")
    session.flush()
    audit.record(session, actor=actor, action="appointments.settings", at=now, hall_id=hall.id,
                 **{k: v for k, v in changes.items() if v is not None})
    return st


# ---------------------------------------------------------------- matters: an item or a bundle

@dataclass
class Matter:
    key: str  # "i<id>" | "b<id>"
    item: ServiceItem | None
    bundle: Bundle | None

    @property
    def name(self) -> str:
        return self.item.name if self.item is not None else self.bundle.name  # type: ignore[union-attr]

    @property
    def items(self) -> list[ServiceItem]:
        return [self.item] if self.item is not None else list(self.bundle.items)  # type: ignore[union-attr]

    @property
    def appointment_only(self) -> bool:
        return any(i.appointment_only_slots for i in self.items) if self.item is not None else False


def matter_key(*, item_id: int | None = None, bundle_id: int | None = None) -> str:
    if (item_id is None) == (bundle_id is None):
        raise InvalidRequest("choose either a service item or a bundle", code="no_matter")
    return f"i{item_id}" if item_id is not None else f"b{bundle_id}"


def resolve_matter(session: Session, hall: Hall, key: str) -> Matter:
    """Find the active item or bundle a matter key names in this hall."""
    m = re.fullmatch(r"([ib])(\d{1,10})", key or "")
    if not m:
        raise NotFound(f"matter {key!r} not found")
    model = ServiceItem if m.group(1) == "i" else Bundle
    row = session.get(model, int(m.group(2)))
    if row is None or row.hall_id != hall.id or not row.active:
        raise NotFound(f"matter {key!r} not found in this hall")
    return Matter(key, row if model is ServiceItem else None, row if model is Bundle else None)


def matter_of(appt: Appointment) -> Matter:
    return Matter(appt.matter, appt.item, appt.bundle)


# ---------------------------------------------------------------- calendar and slots

@dataclass(frozen=True)
class Slot:
    day: date
    start_local: datetime
    end_local: datetime
    start: datetime  # naive UTC
    end: datetime

    @property
    def hhmm(self) -> str:
        return self.start_local.strftime("%H:%M")


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


day_plan = halls.day_plan  # the hall's calendar (weekly hours, holidays, make-up days)


def slots_of_day(session: Session, hall: Hall, st: AppointmentSettings, day: date) -> list[Slot]:
    """Cut the day's opening intervals into slots of ``slot_minutes`` (a short tail is no slot)."""
    intervals, _ = day_plan(session, hall, day)
    out = []
    midnight = datetime.combine(day, time())
    for a, b in intervals:
        t, end = _minutes(a), _minutes(b)
        while t + st.slot_minutes <= end:
            start_local = midnight + timedelta(minutes=t)
            end_local = start_local + timedelta(minutes=st.slot_minutes)
            out.append(Slot(day, start_local, end_local, halls.to_utc(hall, start_local), halls.to_utc(hall, end_local)))
            t += st.slot_minutes
    return out


def find_slot(session: Session, hall: Hall, st: AppointmentSettings, start_local: datetime) -> Slot | None:
    for slot in slots_of_day(session, hall, st, start_local.date()):
        if slot.start_local == start_local:
            return slot
    return None


def current_slot(session: Session, hall: Hall, st: AppointmentSettings, now: datetime) -> Slot | None:
    local = halls.local_time(hall, now)
    for slot in slots_of_day(session, hall, st, local.date()):
        if slot.start <= now < slot.end:
            return slot
    return None


def local_today(hall: Hall, now: datetime) -> date:
    return halls.local_time(hall, now).date()


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


# ---------------------------------------------------------------- holidays

def add_holiday(session: Session, hall: Hall, *, day: date, kind: str, name: str, hours: list[Any] | None,
                now: datetime, actor: Actor) -> tuple[Holiday, int]:
    """Mark a closed day or a make-up working day; return it with the number of active bookings that day.

    Bookings already made for a day that becomes a holiday stay valid (they are honoured) and are
    listed for the manager to call; nothing is cancelled behind the visitor's back.
    """
    if kind not in ("holiday", "workday"):
        raise InvalidRequest("kind must be holiday or workday")
    norm: list[Any] = []
    if hours:
        try:
            norm = halls.validate_opening_hours({"mon": hours})["mon"]
        except ValueError as e:
            raise InvalidRequest(str(e).replace("mon: ", "hours: ")) from e
    row = session.scalar(select(Holiday).where(Holiday.hall_id == hall.id, Holiday.day == day))
    if row is None:
        row = Holiday(hall_id=hall.id, day=day)
        session.add(row)
    row.kind, row.name, row.hours = kind, name.strip()[:100], norm if kind == "workday" else []
    session.flush()
    affected = session.scalar(select(func.count(Appointment.id)).where(
        Appointment.hall_id == hall.id, Appointment.local_day == day,
        Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES))) or 0
    audit.record(session, actor=actor, action="appointments.holiday", at=now, hall_id=hall.id, day=day.isoformat(),
                 kind=kind)
    return row, affected


def remove_holiday(session: Session, hall: Hall, holiday_id: int, *, now: datetime, actor: Actor) -> None:
    row = session.get(Holiday, holiday_id)
    if row is None or row.hall_id != hall.id:
        raise NotFound(f"holiday {holiday_id} not found")
    session.delete(row)
    audit.record(session, actor=actor, action="appointments.holiday_removed", at=now, hall_id=hall.id,
                 day=row.day.isoformat())


def holiday_view(h: Holiday) -> dict[str, Any]:
    return {"id": h.id, "day": h.day.isoformat(), "kind": h.kind, "name": h.name, "hours": h.hours or []}


def holidays_of(session: Session, hall: Hall, since: date | None = None) -> list[Holiday]:
    q = select(Holiday).where(Holiday.hall_id == hall.id)
    if since is not None:
        q = q.where(Holiday.day >= since)
    return list(session.scalars(q.order_by(Holiday.day)))


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
    total = WalkInStatus(True, slot.start)
    for m in _matters_for(session, hall, target):
        cap = slot_capacity(_rules(session, hall, m.key), slot, st.default_capacity)
        row = session.scalar(select(AppointmentSlot).where(AppointmentSlot.hall_id == hall.id,
                                                           AppointmentSlot.matter == m.key,
                                                           AppointmentSlot.slot_start == slot.start))
        total.capacity += cap
        total.booked += row.booked if row else 0
        total.walk_ins += row.walk_ins if row else 0
    total.allowed = total.remaining > 0
    return total


def consume_walk_in(session: Session, hall: Hall, ticket: Ticket, now: datetime) -> WalkInStatus:
    """Count a walk-in ticket on its matter's current slot, once per ticket; over the share it still counts.

    Appointment tickets are not counted here: their seat was taken when they booked.
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
    target: list[Matter] = ([Matter(f"b{ticket.bundle_id}", None, ticket.bundle)] if ticket.bundle_id is not None
                            else [Matter(f"i{i.id}", i, None) for i in ticket.items])
    total = WalkInStatus(True, slot.start)
    for m in target:
        cap = slot_capacity(_rules(session, hall, m.key), slot, st.default_capacity)
        row = _slot_row(session, hall, m.key, slot.start)
        try:
            with session.begin_nested():
                session.add(WalkInSeat(ticket_id=ticket.id, slot_id=row.id, within_share=True))
        except IntegrityError:
            session.refresh(row)  # already counted (a retried call)
        else:
            walk_ins, booked = session.execute(
                update(AppointmentSlot).where(AppointmentSlot.id == row.id)
                .values(walk_ins=AppointmentSlot.walk_ins + 1)
                .returning(AppointmentSlot.walk_ins, AppointmentSlot.booked)).one()
            if booked + walk_ins > cap:
                session.execute(update(WalkInSeat).where(WalkInSeat.ticket_id == ticket.id,
                                                         WalkInSeat.slot_id == row.id).values(within_share=False))
            session.expire(row)
        total.capacity += cap
        total.booked += row.booked
        total.walk_ins += row.walk_ins
    total.allowed = total.booked + total.walk_ins <= total.capacity
    return total


# ---------------------------------------------------------------- no-show blocking

def block_until(no_show_times: Iterable[datetime], *, limit: int, window_days: int,
                block_days: int) -> datetime | None:
    """Return when the latest block ends: each ``limit``-th no-show within ``window_days`` blocks for ``block_days``."""
    if limit <= 0 or block_days <= 0:
        return None
    times = sorted(no_show_times)
    until = None
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= timedelta(days=window_days):
            end = times[i] + timedelta(days=block_days)
            until = end if until is None or end > until else until
    return until


def blocked_until(session: Session, hall: Hall, st: AppointmentSettings, id_hash: str,
                  now: datetime) -> datetime | None:
    """Return the end of this person's booking block, if one is running at ``now``."""
    if st.no_show_limit <= 0 or st.no_show_block_days <= 0:
        return None
    since = now - timedelta(days=st.no_show_window_days + st.no_show_block_days)
    times = session.scalars(select(Appointment.slot_end).where(
        Appointment.hall_id == hall.id, Appointment.id_hash == id_hash, Appointment.status == "no_show",
        Appointment.slot_end >= since)).all()
    until = block_until(times, limit=st.no_show_limit, window_days=st.no_show_window_days,
                        block_days=st.no_show_block_days)
    return until if until is not None and until > now else None


# ---------------------------------------------------------------- views

def _local_hm(hall: Hall, dt: datetime) -> str:
    return halls.local_time(hall, dt).strftime("%H:%M")


def slot_text(hall: Hall, a: Appointment) -> str:
    start = halls.local_time(hall, a.slot_start)
    return f"{start.month}月{start.day}日 {start:%H:%M}-{_local_hm(hall, a.slot_end)}"


def appointment_view(a: Appointment, hall: Hall, *, with_code: bool = False) -> dict[str, Any]:
    """Return what pages and devices may see of a booking: identity masked, the code only to its owner."""
    m = matter_of(a)
    view = {
        "id": a.id, "matter": a.matter, "item_id": a.item_id, "bundle_id": a.bundle_id, "matter_name": m.name,
        "item_name": m.name, "slot_label": slot_text(hall, a),
        "date": a.local_day.isoformat(), "start": _local_hm(hall, a.slot_start), "end": _local_hm(hall, a.slot_end),
        "slot_start": iso(a.slot_start), "slot_end": iso(a.slot_end), "status": a.status, "late": a.late,
        "masked_name": a.masked_name, "masked_id": a.masked_id, "masked_phone": a.masked_phone,
        "created_at": iso(a.created_at), "checked_in_at": iso(a.checked_in_at), "ticket_id": a.ticket_id,
        "ticket_number": a.ticket.number if a.ticket is not None else None,
        "ticket_status": a.ticket.status if a.ticket is not None else None,
    }
    if with_code:
        view["code"] = a.code
    return view


# ---------------------------------------------------------------- ending a booking (000 §8.2.3)

def _release_claims(session: Session, appt: Appointment) -> None:
    session.execute(delete(AppointmentClaim).where(AppointmentClaim.appointment_id == appt.id))


def _ticket_chain_state(session: Session, ticket_id: int) -> str:
    """Return ``open`` while any leg of the ticket waits or is in hand, else ``done`` or ``closed``."""
    statuses = set(session.scalars(select(Ticket.status).where(
        or_(Ticket.id == ticket_id, Ticket.origin_ticket_id == ticket_id))))
    if statuses & set(OPEN_STATUSES):
        return "open"
    return "done" if "done" in statuses else "closed"


def settle(session: Session, hall: Hall, appt: Appointment, *, now: datetime) -> list[DomainEvent]:
    """Bring a booking up to date: served/closed once its ticket is finished, no-show after its slot."""
    events: list[DomainEvent] = []
    if appt.status == "checked_in" and appt.ticket_id is not None:
        state = _ticket_chain_state(session, appt.ticket_id)
        if state != "open":
            appt.status = "served" if state == "done" else "closed"
            appt.ended_at = now
            _release_claims(session, appt)
    elif appt.status == "booked" and now >= appt.slot_end:
        # Not checked in by the end of its slot: a no-show. The claim ends too, so the person may
        # book again (unless the no-show rule blocks them).
        appt.status = "no_show"
        appt.ended_at = now
        _release_claims(session, appt)
        audit.record(session, actor=audit.SYSTEM, action="appointment.no_show", at=now, hall_id=hall.id,
                     appointment_id=appt.id)
        events.append(AppointmentNoShow(hall.id, {"appointment": appointment_view(appt, hall)}))
    return events


# ---------------------------------------------------------------- booking (000 §8.2.1–8.2.3)

@dataclass
class BookingRequest:
    slot: datetime  # the slot's local start, naive
    name: str
    id_number: str
    phone: str
    item_id: int | None = None
    bundle_id: int | None = None


def _validate_person(req: BookingRequest) -> None:
    if not req.name or not req.name.strip() or len(req.name.strip()) > 50:
        raise InvalidRequest("请填写姓名（50字以内）", code="invalid_name")
    if not _ID_NUMBER.match((req.id_number or "").strip()):
        raise InvalidRequest("证件号码格式不正确", code="invalid_id_number")
    if not _PHONE.match((req.phone or "").strip()):
        raise InvalidRequest("请填写11位手机号码", code="invalid_phone")


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _notify(notifier: Notifier | None, session: Session, hall: Hall, appt: Appointment, kind: str, text: str,
            now: datetime, key_suffix: str) -> None:
    if notifier is None:
        return
    notifier.send(session, hall_id=hall.id, phone_cipher_or_phone=appt.phone_cipher, kind=kind, text=text,
                  dedup_key=f"appointment:{appt.id}:{key_suffix}", now=now)


def book(session: Session, hall: Hall, req: BookingRequest, *, now: datetime, vault: IdentityVault,
         notifier: Notifier | None, actor: Actor = PUBLIC) -> tuple[Appointment, list[DomainEvent]]:
    """Book a slot for a person; exactly one of two simultaneous bookings of the last seat wins."""
    _validate_person(req)
    st = settings_for(session, hall)
    matter = resolve_matter(session, hall, matter_key(item_id=req.item_id, bundle_id=req.bundle_id))
    # A matter no queue serves could never be called: refuse it now, not at check-in.
    served = (matter.bundle.queue is not None and matter.bundle.queue.active) if matter.bundle is not None \
        else all(any(q.active for q in i.queues) for i in matter.items)
    if not served:
        raise InvalidRequest("该事项暂不提供预约", code="item_not_served")
    slot = find_slot(session, hall, st, req.slot.replace(second=0, microsecond=0))
    if slot is None or req.slot.second or req.slot.microsecond:
        raise SlotUnavailable("所选时段不是大厅的预约时段（可能是休息日或非办公时间）", code="no_such_slot")
    ok, why = booking_opens(st, slot, now, local_today(hall, now))
    if not ok:
        raise SlotUnavailable("该时段已停止预约，请选择其他时段" if why == "closed" else
                              f"只能预约{st.book_days_ahead}天内的时段", code="booking_closed" if why == "closed"
                              else "too_far_ahead")
    id_number = req.id_number.strip().upper()
    id_hash = vault.id_hash(id_number)
    until = blocked_until(session, hall, st, id_hash, now)
    if until is not None:
        until_local = halls.local_time(hall, until)
        raise BookingBlocked(f"您近{st.no_show_window_days}天内预约未到{st.no_show_limit}次，"
                             f"{until_local:%Y-%m-%d}前暂停网上预约；现场取号办理不受影响")
    # 000 §8.2.3: one active booking per ID number per item; earlier bookings may have just ended.
    item_ids = [i.id for i in matter.items]
    held = session.scalars(select(Appointment).join(AppointmentClaim, AppointmentClaim.appointment_id == Appointment.id)
                           .where(AppointmentClaim.hall_id == hall.id, AppointmentClaim.id_hash == id_hash,
                                  AppointmentClaim.item_id.in_(item_ids))).unique().all()
    events: list[DomainEvent] = []
    for other in held:
        events += settle(session, hall, other, now=now)
        if other.status in ACTIVE_APPOINTMENT_STATUSES:
            raise AlreadyBooked(f"您已预约“{matter_of(other).name}”（{slot_text(hall, other)}），"
                                "办理完成或取消后才能再次预约同一事项")
    cap = slot_capacity(_rules(session, hall, matter.key), slot, st.default_capacity)
    bcap = booking_capacity(cap, st, matter)
    row = _slot_row(session, hall, matter.key, slot.start)
    if not _take_seat(session, row, booking_cap=bcap, capacity=cap):
        raise SlotFull("该时段预约已满，请选择其他时段")
    appt = Appointment(
        hall_id=hall.id, matter=matter.key, item_id=matter.item.id if matter.item else None,
        bundle_id=matter.bundle.id if matter.bundle else None, slot_id=row.id, slot_start=slot.start,
        slot_end=slot.end, local_day=slot.day, status="booked", masked_name=mask_name(req.name),
        masked_id=mask_id_number(id_number), masked_phone=mask_phone(req.phone), id_hash=id_hash,
        name_cipher=vault.encrypt(req.name.strip()), id_cipher=vault.encrypt(id_number),
        phone_cipher=vault.encrypt(req.phone.strip()), created_at=now, late=False)
    appt.code = _new_code()
    while session.scalar(select(Appointment.id).where(Appointment.hall_id == hall.id, Appointment.code == appt.code)):
        appt.code = _new_code()  # 32**8 codes: a repeat is rare, and the unique key still guards it
    session.add(appt)
    session.flush()
    try:
        with session.begin_nested():
            session.add_all([AppointmentClaim(hall_id=hall.id, item_id=i, id_hash=id_hash, appointment_id=appt.id)
                             for i in item_ids])
    except IntegrityError as e:
        # The same person booked the same item in a transaction that committed a moment ago.
        raise AlreadyBooked("您已预约过该事项，办理完成或取消后才能再次预约同一事项") from e
    appt.item, appt.bundle = matter.item, matter.bundle
    _notify(notifier, session, hall, appt, "appointment_booked",
            f"【{hall.name}】预约成功：“{matter.name}”，{slot_text(hall, appt)}，确认码 {appt.code}。"
            f"请按时到大厅自助取号机刷身份证签到。", now, "booked")
    audit.record(session, actor=actor, action="appointment.book", at=now, hall_id=hall.id, appointment_id=appt.id,
                 matter=matter.key, slot_start=iso(slot.start))
    events.append(AppointmentBooked(hall.id, {"appointment": appointment_view(appt, hall)}))
    return appt, events


def find_by_code(session: Session, hall: Hall, code: str) -> Appointment | None:
    code = (code or "").strip().upper()
    if not code or len(code) > 12:
        return None
    return session.scalar(select(Appointment).where(Appointment.hall_id == hall.id, Appointment.code == code))


def cancel(session: Session, hall: Hall, *, code: str, id_number: str, now: datetime, vault: IdentityVault,
           notifier: Notifier | None, actor: Actor = PUBLIC) -> tuple[Appointment, list[DomainEvent]]:
    """Cancel a booking before or during its slot (000 §8.2.5); its seat goes back to the slot."""
    appt = find_by_code(session, hall, code)
    if appt is None or not id_number or appt.id_hash != vault.id_hash(id_number):
        raise NotFound("确认码与证件号码不匹配，未找到预约", code="appointment_not_found")
    events = settle(session, hall, appt, now=now)
    if appt.status == "cancelled":
        return appt, events  # a repeated cancel (double tap) is not an error
    if appt.status == "no_show" or now >= appt.slot_end:
        raise WrongState("预约时段已结束，不能再取消", code="slot_over")
    if appt.status != "booked":
        raise WrongState("您已签到取号，如不再办理请告知工作人员", code="already_checked_in")
    return appt, events + _cancel(session, hall, appt, now=now, notifier=notifier, actor=actor)


def cancel_by_staff(session: Session, hall: Hall, appt: Appointment, *, now: datetime, notifier: Notifier | None,
                    actor: Actor) -> list[DomainEvent]:
    """Cancel a booking for the visitor (e.g. the day became a holiday); they get a message."""
    events = settle(session, hall, appt, now=now)
    if appt.status != "booked":
        raise WrongState(f"appointment {appt.id} is {appt.status}; only a booked one can be cancelled")
    return events + _cancel(session, hall, appt, now=now, notifier=notifier, actor=actor)


def _cancel(session: Session, hall: Hall, appt: Appointment, *, now: datetime, notifier: Notifier | None,
            actor: Actor) -> list[DomainEvent]:
    appt.status = "cancelled"
    appt.ended_at = now
    _return_seat(session, appt.slot_id)
    _release_claims(session, appt)
    _notify(notifier, session, hall, appt, "appointment_cancelled",
            f"【{hall.name}】您预约的“{matter_of(appt).name}”（{slot_text(hall, appt)}）已取消。", now, "cancelled")
    audit.record(session, actor=actor, action="appointment.cancel", at=now, hall_id=hall.id, appointment_id=appt.id)
    return [AppointmentCancelled(hall.id, {"appointment": appointment_view(appt, hall)})]


# ---------------------------------------------------------------- check-in at the kiosk

@dataclass
class CheckinWindow:
    opens: datetime
    grace_ends: datetime
    state: str  # too_early | on_time | late | missed | checked_in | ended

    def view(self) -> dict[str, Any]:
        return {"state": self.state, "opens_at": iso(self.opens), "grace_until": iso(self.grace_ends)}


def checkin_window(st: AppointmentSettings, appt: Appointment, now: datetime) -> CheckinWindow:
    """Place ``now`` against a booking: [slot − early, slot + grace) on time; then late until the slot ends."""
    opens = appt.slot_start - timedelta(minutes=st.checkin_early_minutes)
    grace_ends = min(appt.slot_start + timedelta(minutes=st.checkin_grace_minutes), appt.slot_end)
    if appt.ticket_id is not None:
        state = "checked_in"
    elif appt.status not in ("booked", "no_show"):
        state = "ended"
    elif now < opens:
        state = "too_early"
    elif now < min(grace_ends, appt.slot_end):  # the grace never outlasts the slot: then it is a no-show
        state = "on_time"
    elif now < appt.slot_end and appt.status == "booked":
        state = "late"
    else:
        state = "missed"
    return CheckinWindow(opens, grace_ends, state)


def todays_bookings(session: Session, hall: Hall, id_hash: str, *, now: datetime) -> list[Appointment]:
    """Return the person's bookings for the hall's local today, earliest slot first."""
    return list(session.scalars(select(Appointment).where(
        Appointment.hall_id == hall.id, Appointment.id_hash == id_hash,
        Appointment.local_day == local_today(hall, now)).order_by(Appointment.slot_start, Appointment.id)))


@dataclass
class CheckIn:
    issued: IssuedTicket
    appointment: Appointment
    late: bool
    message: str
    message_en: str

    def view(self, hall: Hall) -> dict[str, Any]:
        return {**self.issued.view(), "booking": appointment_view(self.appointment, hall, with_code=True),
                "late": self.late, "message": self.message, "message_en": self.message_en}


_PREFERENCE = {"on_time": 0, "late": 1, "checked_in": 2, "too_early": 3, "missed": 4}


def check_in(session: Session, hall: Hall, *, now: datetime, vault: IdentityVault, actor: Actor,
             id_number: str | None = None, code: str | None = None,
             appointment_id: int | None = None) -> tuple[CheckIn, list[DomainEvent]]:
    """Check a visitor in by ID card or confirmation code and give them their ticket.

    On time: an appointment-priority ticket carrying the slot start (calling serves it first once
    the slot has begun). After the grace time: an ordinary ticket, and the answer says so. No
    booking today is not a refusal of service: the kiosk takes an ordinary ticket (004 §8.2).
    """
    st = settings_for(session, hall)
    if code:
        appt = find_by_code(session, hall, code)
        candidates = [appt] if appt is not None and (id_number is None or appt.id_hash == vault.id_hash(id_number)) \
            else []
        if candidates and candidates[0].local_day > local_today(hall, now):
            a = candidates[0]
            raise TooEarly(f"您的预约在{slot_text(hall, a)}，请当天再来签到", code="too_early")
        candidates = [a for a in candidates if a.local_day == local_today(hall, now)]
    elif id_number:
        candidates = todays_bookings(session, hall, vault.id_hash(id_number), now=now)
    else:
        raise InvalidRequest("请刷身份证或输入预约确认码", code="no_identity")
    if appointment_id is not None:
        candidates = [a for a in candidates if a.id == appointment_id]
    # Lock the chosen rows so two kiosks cannot check the same booking in twice (PostgreSQL).
    ids = [a.id for a in candidates]
    if ids:
        session.execute(select(Appointment.id).where(Appointment.id.in_(ids)).with_for_update())
        for a in candidates:
            session.refresh(a)
    events: list[DomainEvent] = []
    ranked = []
    for a in candidates:
        events += settle(session, hall, a, now=now) if a.status == "booked" and now >= a.slot_end else []
        w = checkin_window(st, a, now)
        if w.state in _PREFERENCE:
            ranked.append((_PREFERENCE[w.state], a.slot_start, a.id, a, w))
    if not ranked:
        raise NotFound("未找到您今天的有效预约。线下办理无需预约，可直接取普通号。", code="no_appointment")
    ranked.sort(key=lambda r: r[:3])
    _, _, _, appt, window = ranked[0]
    if window.state == "too_early":
        raise TooEarly(f"签到时间未到：您的预约在{slot_text(hall, appt)}，请于{_local_hm(hall, window.opens)}后签到；"
                       "也可直接取普通号。", code="too_early")
    m = matter_of(appt)
    if window.state == "checked_in":
        t = appt.ticket
        assert t is not None
        ahead = people_ahead(session, t)
        issued = IssuedTicket.of(t, ahead, estimated_wait_s(session, t.queue, ahead, hall.default_service_s),
                                 "already checked in", replayed=True)
        return CheckIn(issued, appt, appt.late, f"您已签到，排队号 {t.number}。", "Already checked in."), events
    if not halls.is_open_now(session, hall, now):
        raise QueueClosed("大厅尚未开始办公，请在办公时间内签到", code="hall_closed")
    on_time = window.state == "on_time"
    req = IssueRequest(
        item_ids=[m.item.id] if m.item is not None else [], bundle_id=m.bundle.id if m.bundle is not None else None,
        priority_class="appointment" if on_time else "ordinary", source="appointment" if on_time else "walk_in",
        slot_start=appt.slot_start if on_time else None, name=vault.decrypt(appt.name_cipher),
        id_number=vault.decrypt(appt.id_cipher), phone=vault.decrypt(appt.phone_cipher),
        idempotency_key=f"appointment-{appt.id}")
    issued, issue_events = issue_ticket(session, hall, req, now=now, vault=vault, actor=actor)
    events += issue_events
    appt.ticket_id = issued.id
    appt.ticket = session.get(Ticket, issued.id)
    slot = slot_text(hall, appt)
    if on_time:
        appt.status, appt.checked_in_at, appt.late = "checked_in", now, False
        msg = f"签到成功：预约号 {issued.number}（预约时段 {slot}），时段开始后优先叫号。"
        msg_en = f"Checked in: appointment ticket {issued.number}, called first once the slot begins."
    elif window.state == "late":
        appt.status, appt.checked_in_at, appt.late = "checked_in", now, True
        msg = (f"您已超过预约时段签到时间（{slot}，开始后{st.checkin_grace_minutes}分钟内签到），"
               f"已为您取普通号 {issued.number}，请按顺序等候。")
        msg_en = f"Past the check-in grace time: ordinary ticket {issued.number}, served in turn."
    else:
        appt.late = True  # stays a no-show: the slot ended before the visitor came
        msg = f"您的预约时段（{slot}）已结束，已为您取普通号 {issued.number}，请按顺序等候。"
        msg_en = f"Your slot has ended: ordinary ticket {issued.number}, served in turn."
    audit.record(session, actor=actor, action="appointment.check_in", at=now, hall_id=hall.id,
                 ticket_id=issued.id, appointment_id=appt.id, late=not on_time)
    events.append(AppointmentCheckedIn(hall.id, {"appointment": appointment_view(appt, hall)}))
    return CheckIn(issued, appt, not on_time, msg, msg_en), events


# ---------------------------------------------------------------- the sweep: settle, no-shows, reminders

@dataclass
class SweepResult:
    reminders: int = 0
    no_shows: int = 0
    settled: int = 0
    events: list[DomainEvent] = field(default_factory=list)


def sweep(session: Session, hall: Hall, *, now: datetime, notifier: Notifier | None) -> SweepResult:
    """One round for a hall: end served bookings, mark no-shows, queue due reminders (000 §8.2.4)."""
    st = settings_for(session, hall)
    result = SweepResult()
    checked = session.scalars(select(Appointment).where(Appointment.hall_id == hall.id,
                                                        Appointment.status == "checked_in")).all()
    for a in checked:
        settle(session, hall, a, now=now)
        result.settled += a.status != "checked_in"
    overdue = session.scalars(select(Appointment).where(Appointment.hall_id == hall.id, Appointment.status == "booked",
                                                        Appointment.slot_end <= now)).all()
    for a in overdue:
        result.events += settle(session, hall, a, now=now)
        result.no_shows += 1
    leads = sorted(st.reminder_minutes or [])
    if leads and notifier is not None:
        horizon = now + timedelta(minutes=leads[-1])
        upcoming = session.scalars(select(Appointment).where(
            Appointment.hall_id == hall.id, Appointment.status == "booked", Appointment.slot_start > now,
            Appointment.slot_start <= horizon)).all()
        for a in upcoming:
            # Only the closest due reminder: after downtime the visitor gets one message, not two.
            due = [lead for lead in leads if a.slot_start - timedelta(minutes=lead) <= now
                   and a.created_at < a.slot_start - timedelta(minutes=lead)]
            if not due:
                continue
            lead = min(due)
            key = f"appointment:{a.id}:reminder:{lead}"
            if session.scalar(select(Notification.id).where(Notification.dedup_key == key)) is not None:
                continue  # sent by an earlier sweep, maybe by another process or before a restart
            notifier.send(session, hall_id=hall.id, phone_cipher_or_phone=a.phone_cipher,
                                 kind="appointment_reminder", dedup_key=key, now=now,
                                 text=f"【{hall.name}】预约提醒：您预约的“{matter_of(a).name}”在{slot_text(hall, a)}，"
                                      f"请携带有效证件按时到大厅自助取号机签到（可提前{st.checkin_early_minutes}分钟）。"
                                      f"确认码 {a.code}。如不能前来，请在预约页面取消。")
            result.reminders += 1
    return result


def run_duty(app: Any) -> SweepResult:
    """Sweep every hall, publish events after commit, then deliver due messages (called by ``duties``)."""
    rt = app.extensions["onevisit"]
    notifier = notifier_for(app)
    now = rt.clock.now()

    def do(s: Session) -> SweepResult:
        total = SweepResult()
        for hall in s.scalars(select(Hall).order_by(Hall.id)).all():
            r = sweep(s, hall, now=now, notifier=notifier)
            total.reminders += r.reminders
            total.no_shows += r.no_shows
            total.settled += r.settled
            total.events += r.events
        return total

    result = rt.db.run_write(do)
    rt.publish(result.events)
    notifier.deliver_pending(rt.db, now=now)
    return result


# ---------------------------------------------------------------- manager lists

def day_bookings(session: Session, hall: Hall, day: date, *, now: datetime) -> list[dict[str, Any]]:
    """Return a day's bookings with their check-in state, earliest slot first (manager page)."""
    st = settings_for(session, hall)
    rows = session.scalars(select(Appointment).where(Appointment.hall_id == hall.id, Appointment.local_day == day)
                           .order_by(Appointment.slot_start, Appointment.id)).all()
    return [{**appointment_view(a, hall, with_code=True), "checkin": checkin_window(st, a, now).view()} for a in rows]


def day_summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    out = {"total": len(rows), "booked": 0, "checked_in": 0, "served": 0, "cancelled": 0, "no_show": 0,
           "closed": 0, "late": 0}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
        out["late"] += bool(r["late"])
    return out


def no_show_report(session: Session, hall: Hall, *, now: datetime) -> dict[str, Any]:
    """List recent no-shows and the people whose online booking is blocked (masked)."""
    st = settings_for(session, hall)
    since = now - timedelta(days=st.no_show_window_days + st.no_show_block_days)
    rows = session.scalars(select(Appointment).where(Appointment.hall_id == hall.id, Appointment.status == "no_show",
                                                     Appointment.slot_end >= since)
                           .order_by(Appointment.slot_start.desc(), Appointment.id.desc())).all()
    recent = [appointment_view(a, hall) for a in rows if a.slot_end >= now - timedelta(days=st.no_show_window_days)]
    people: dict[str, dict[str, Any]] = {}
    for a in rows:
        p = people.setdefault(a.id_hash, {"masked_name": a.masked_name, "masked_id": a.masked_id, "times": []})
        p["times"].append(a.slot_end)
    blocked = []
    for p in people.values():
        until = block_until(p["times"], limit=st.no_show_limit, window_days=st.no_show_window_days,
                            block_days=st.no_show_block_days)
        if until is not None and until > now:
            recent_count = sum(1 for t in p["times"] if t >= now - timedelta(days=st.no_show_window_days))
            blocked.append({"masked_name": p["masked_name"], "masked_id": p["masked_id"], "no_shows": recent_count,
                            "blocked_until": iso(until),
                            "blocked_until_local": halls.local_time(hall, until).strftime("%Y-%m-%d %H:%M")})
    blocked.sort(key=lambda b: b["blocked_until"], reverse=True)
    return {"items": recent, "blocked": blocked, "rule": {"limit": st.no_show_limit,
                                                          "window_days": st.no_show_window_days,
                                                          "block_days": st.no_show_block_days}}


def bookable_matters(session: Session, hall: Hall) -> dict[str, Any]:
    """List what can be booked: active items some queue serves, by field (领域), and active bundles (一件事)."""
    from .models import ServiceCategory

    cats = session.scalars(select(ServiceCategory).where(ServiceCategory.hall_id == hall.id)
                           .order_by(ServiceCategory.sort, ServiceCategory.id)).all()
    out = []
    for c in cats:
        items = [{"matter": f"i{i.id}", "id": i.id, "code": i.code, "name": i.name,
                  "pinyin_initials": i.pinyin_initials}
                 for i in c.items if i.active and any(q.active for q in i.queues)]
        if items:
            out.append({"id": c.id, "name": c.name, "items": items})
    bundles = session.scalars(select(Bundle).where(Bundle.hall_id == hall.id, Bundle.active.is_(True))
                              .order_by(Bundle.id)).all()
    return {"categories": out, "bundles": [{"matter": f"b{b.id}", "id": b.id, "code": b.code, "name": b.name,
                                            "description": b.description} for b in bundles]}

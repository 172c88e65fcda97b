"""Booking settings, the visitor-facing errors and events of appointments, and matters (an item or a bundle)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hall_queue.domain.vocabulary import HHMM_PATTERN, ID_NUMBER_PATTERN, MAX_ID, PHONE_PATTERN
from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import DomainError, InvalidRequest, NotFound
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Appointment, AppointmentSettings, Bundle, Hall, ServiceItem

DEFAULT_REMINDERS = [1440, 60]  # a day before and an hour before (000 §8.2.4)
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
CODE_LENGTH = 8
PUBLIC = Actor(kind="public")
_ID_NUMBER = re.compile(ID_NUMBER_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)
_HHMM = re.compile(HHMM_PATTERN)


# ---------------------------------------------------------------- errors a visitor may see (zh-CN first)

class SlotFull(DomainError, status=409, code="slot_full"):
    """The chosen slot has no seat left."""


class AlreadyBooked(DomainError, status=409, code="already_booked"):
    """000 §8.2.3: the same ID number already holds an active booking for this item."""


class BookingBlocked(DomainError, status=403, code="booking_blocked"):
    """The ID number is barred from booking for a while after no-shows (000 §8.2.3)."""


class SlotUnavailable(DomainError, status=409, code="slot_unavailable"):
    """The chosen slot cannot be booked (past, closed, or outside the booking window)."""


class TooEarly(DomainError, status=409, code="too_early"):
    """Check-in before the slot's early check-in window opens."""


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
    def name_en(self) -> str | None:
        """The English name for the English booking pages, where the catalogue has one."""
        return self.item.name_en if self.item is not None else self.bundle.name_en  # type: ignore[union-attr]

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
    m = re.fullmatch(r"([ib])([0-9]{1,10})", key or "")  # ASCII: \d took any Unicode digit
    if not m or int(m.group(2)) > MAX_ID:  # a larger id reached PostgreSQL's int4 column as a 500
        raise NotFound(f"matter {(key or '')[:40]!r} not found")
    model = ServiceItem if m.group(1) == "i" else Bundle
    row = session.get(model, int(m.group(2)))
    if row is None or row.hall_id != hall.id or not row.active:
        raise NotFound(f"matter {key!r} not found in this hall")
    return Matter(key, row if model is ServiceItem else None, row if model is Bundle else None)


def matter_of(appt: Appointment) -> Matter:
    return Matter(appt.matter, appt.item, appt.bundle)

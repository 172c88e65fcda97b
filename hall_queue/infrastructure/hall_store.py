"""Cached reads of a hall's settings and calendar rows for the hot paths (issuing, calling, deadlines).

The rules live in ``domain.calendar``; this module only fetches the rows they need and keeps them a
few seconds per process (``cache.py``): a change committed here applies at once.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from hall_queue.domain import calendar
from hall_queue.domain.models import Hall, Holiday
from hall_queue.infrastructure.cache import MISSING, TtlCache
from hall_queue.infrastructure.db import core

_HALL = select(Hall.__table__).where(Hall.__table__.c.id == bindparam("hall_id"))
_CALENDAR_DAY = select(Holiday.kind, Holiday.name, Holiday.hours).where(Holiday.hall_id == bindparam("hall_id"),
                                                                       Holiday.day == bindparam("day"))
_settings = TtlCache(5.0, {Hall.__tablename__})
_calendar = TtlCache(60.0, {Hall.__tablename__, Holiday.__tablename__})


def hall_settings(session: Session, hall_id: int) -> Row | None:
    """The hall's row as plain read-only settings (same attribute names as ``Hall``), or None.

    For the hot paths (issuing, calling): loading an ORM ``Hall`` costs more than the rest of the
    request.
    """
    row = _settings.get(session, hall_id)
    if row is MISSING:
        row = _settings.put(session, hall_id, core(session).execute(_HALL, {"hall_id": hall_id}).first())
    return row


def calendar_lookup(session: Session, hall_id: int) -> calendar.Lookup:
    """Return the hall's calendar as a ``day → entry`` function (cached per day)."""
    def lookup(day: date):
        entry = _calendar.get(session, (hall_id, day))
        if entry is MISSING:
            entry = _calendar.put(session, (hall_id, day),
                                  core(session).execute(_CALENDAR_DAY, {"hall_id": hall_id, "day": day}).first())
        return entry
    return lookup


def day_plan(session: Session, hall: Hall, day: date):
    """The day's opening intervals and calendar entry (see ``calendar.day_plan``)."""
    return calendar.day_plan(hall, day, calendar_lookup(session, hall.id))


def opening_status(session: Session, hall: Hall, now_utc: datetime) -> dict:
    """What a visitor needs on arrival: open now, today's hours, and when the hall next opens (local)."""
    lookup = calendar_lookup(session, hall.id)
    today = calendar.local_time(hall, now_utc).date()
    nxt = calendar.next_opening(hall, now_utc, lookup)
    return {"open_now": calendar.is_open_at(hall, now_utc, lookup),
            "hours_today": [list(h) for h in calendar.day_plan(hall, today, lookup)[0]],
            "next_opening": nxt.isoformat(timespec="minutes") if nxt else None}


def is_open_now(session: Session, hall: Hall, now_utc: datetime) -> bool:
    """Tell whether the hall is open at ``now_utc`` by its calendar."""
    return calendar.is_open_at(hall, now_utc, calendar_lookup(session, hall.id))


def add_working_days(session: Session, hall_id: int, start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` on this hall's calendar."""
    return calendar.add_working_days(start, days, calendar_lookup(session, hall_id))

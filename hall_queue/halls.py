"""The hall's calendar: service days and opening hours, in the hall's own timezone."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from .cache import MISSING, TtlCache
from .db import core
from .models import Hall, Holiday

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_HALL = select(Hall.__table__).where(Hall.__table__.c.id == bindparam("hall_id"))


_settings = TtlCache(5.0, {Hall.__tablename__})
_calendar = TtlCache(60.0, {Hall.__tablename__, Holiday.__tablename__})


def hall_settings(session: Session, hall_id: int) -> Row | None:
    """The hall's row as plain read-only settings (same attribute names as ``Hall``), or None.

    For the hot paths (issuing, calling): loading an ORM ``Hall`` costs more than the rest of the
    request. Cached a few seconds per process (cache.py); a change committed here applies at once.
    """
    row = _settings.get(session, hall_id)
    if row is MISSING:
        row = _settings.put(session, hall_id, core(session).execute(_HALL, {"hall_id": hall_id}).first())
    return row


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(hall: Hall, now_utc: datetime) -> datetime:
    """Return ``now_utc`` (naive UTC) as the hall's local wall time (naive)."""
    return now_utc.replace(tzinfo=timezone.utc).astimezone(_zone(hall.timezone)).replace(tzinfo=None)


def to_utc(hall: Hall, local: datetime) -> datetime:
    return local.replace(tzinfo=_zone(hall.timezone)).astimezone(timezone.utc).replace(tzinfo=None)


def _hhmm(value: str) -> tuple[int, int]:
    h, m = value.split(":")
    return int(h), int(m)


def service_day(hall: Hall, now_utc: datetime) -> date:
    """Return the service day ``now_utc`` belongs to; numbers restart at the hall's day boundary."""
    h, m = _hhmm(hall.day_boundary or "00:00")
    return (local_time(hall, now_utc) - timedelta(hours=h, minutes=m)).date()


def opening_intervals(hall: Hall, day: date) -> list[tuple[str, str]]:
    hours = hall.opening_hours or {}
    return [(a, b) for a, b in hours.get(WEEKDAYS[day.weekday()], [])]


def is_open(hall: Hall, now_utc: datetime) -> bool:
    """Tell whether the hall is open for service at ``now_utc`` by its weekly opening hours alone."""
    local = local_time(hall, now_utc)
    return _within(local, opening_intervals(hall, local.date()))


def _within(local: datetime, intervals: list[tuple[str, str]]) -> bool:
    hm = (local.hour, local.minute)
    return any(_hhmm(a) <= hm < _hhmm(b) for a, b in intervals)


_CALENDAR_DAY = select(Holiday.kind, Holiday.name, Holiday.hours).where(Holiday.hall_id == bindparam("hall_id"),
                                                                       Holiday.day == bindparam("day"))


def day_plan(session: Session, hall: Hall, day: date) -> tuple[list[tuple[str, str]], Row | None]:
    """Return a local date's opening intervals and the calendar entry (kind, name) that shaped them, if any.

    A public holiday (法定节假日) is closed; a make-up working day (调休上班) keeps its own hours,
    or the hall's Monday hours; any other day has the weekly hours.
    """
    entry = _calendar.get(session, (hall.id, day))
    if entry is MISSING:
        entry = _calendar.put(session, (hall.id, day),
                              core(session).execute(_CALENDAR_DAY, {"hall_id": hall.id, "day": day}).first())
    if entry is not None and entry.kind == "holiday":
        return [], entry
    if entry is not None and entry.kind == "workday":
        hours = entry.hours or (hall.opening_hours or {}).get("mon", [])
        return [(a, b) for a, b in hours], entry
    return opening_intervals(hall, day), None


def is_open_now(session: Session, hall: Hall, now_utc: datetime) -> bool:
    """Tell whether the hall is open at ``now_utc``: weekly hours, public holidays and make-up days."""
    local = local_time(hall, now_utc)
    return _within(local, day_plan(session, hall, local.date())[0])


def validate_opening_hours(hours: dict) -> dict:
    """Check an opening-hours mapping; raise ValueError naming the first problem."""
    out: dict[str, list[list[str]]] = {}
    for key, intervals in hours.items():
        if key not in WEEKDAYS:
            raise ValueError(f"unknown weekday {key!r}; use {', '.join(WEEKDAYS)}")
        norm = []
        for pair in intervals:
            if len(pair) != 2:
                raise ValueError(f"{key}: each interval is [start, end]")
            a, b = pair
            try:
                ha, ma = _hhmm(a)
                hb, mb = _hhmm(b)
            except (ValueError, AttributeError) as e:
                raise ValueError(f"{key}: times are HH:MM") from e
            if not (0 <= ha <= 24 and 0 <= hb <= 24 and 0 <= ma < 60 and 0 <= mb < 60) or (ha, ma) >= (hb, mb):
                raise ValueError(f"{key}: interval {a}-{b} is not a valid time range")
            norm.append([f"{ha:02d}:{ma:02d}", f"{hb:02d}:{mb:02d}"])
        out[key] = norm
    return out

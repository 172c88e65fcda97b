"""The hall's calendar: service days, opening hours, public holidays, make-up working days and working-day
deadlines, in the hall's own timezone. The only place these rules live (000 §8.2, §9.3.4; 002 §8.2.2).

Pure functions: the calendar entries of a day (法定节假日 / 调休上班) come in through a ``lookup``
callable, so nothing here touches the database; ``infrastructure.hall_store`` reads and caches them.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, Optional, Protocol
from zoneinfo import ZoneInfo

from hall_queue.domain.models import Hall
from hall_queue.domain.vocabulary import HOLIDAY, MAKEUP_WORKDAY


class CalendarEntry(Protocol):
    """One row of the hall calendar: a public holiday or a make-up working day."""
    kind: str
    name: str
    hours: Any


Lookup = Callable[[date], Optional[CalendarEntry]]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(hall: Hall, now_utc: datetime) -> datetime:
    """Return ``now_utc`` (naive UTC) as the hall's local wall time (naive)."""
    return local_wall(hall.timezone, now_utc)


def local_wall(timezone_name: str, now_utc: datetime) -> datetime:
    """Return ``now_utc`` (naive UTC) as the wall time (naive) of the timezone ``timezone_name``."""
    return now_utc.replace(tzinfo=timezone.utc).astimezone(_zone(timezone_name)).replace(tzinfo=None)


def to_utc(hall: Hall, local: datetime) -> datetime:
    return wall_to_utc(hall.timezone, local)


def wall_to_utc(timezone_name: str, local: datetime) -> datetime:
    """Return the wall time ``local`` (naive) of the timezone ``timezone_name`` as naive UTC."""
    return local.replace(tzinfo=_zone(timezone_name)).astimezone(timezone.utc).replace(tzinfo=None)


def _hhmm(value: str) -> tuple[int, int]:
    h, m = value.split(":")
    return int(h), int(m)


def service_day(hall: Hall, now_utc: datetime) -> date:
    """Return the service day ``now_utc`` belongs to; numbers restart at the hall's day boundary."""
    h, m = _hhmm(hall.day_boundary or "00:00")
    return (local_time(hall, now_utc) - timedelta(hours=h, minutes=m)).date()


def service_day_start(hall: Hall, now_utc: datetime) -> datetime:
    """Return when (naive UTC) the service day ``now_utc`` belongs to began: its date at the day boundary."""
    return _utc_at(hall, service_day(hall, now_utc), hall.day_boundary or "00:00")


def service_days_span(hall: Hall, first: date, last: date) -> tuple[datetime, datetime]:
    """Return the naive-UTC span of service days ``first``..``last`` (each begins at the hall's day boundary)."""
    boundary = hall.day_boundary or "00:00"
    return _utc_at(hall, first, boundary), _utc_at(hall, last + timedelta(days=1), boundary)


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


def day_plan(hall: Hall, day: date, lookup: Lookup) -> tuple[list[tuple[str, str]], CalendarEntry | None]:
    """Return a local date's opening intervals and the calendar entry (kind, name) that shaped them, if any.

    A public holiday (法定节假日) is closed; a make-up working day (调休上班) keeps its own hours,
    or the hall's Monday hours; any other day has the weekly hours.
    """
    entry = lookup(day)
    if entry is not None and entry.kind == HOLIDAY:
        return [], entry
    if entry is not None and entry.kind == MAKEUP_WORKDAY:
        hours = entry.hours or (hall.opening_hours or {}).get("mon", [])
        return [(a, b) for a, b in hours], entry
    return opening_intervals(hall, day), None


def is_open_at(hall: Hall, now_utc: datetime, lookup: Lookup) -> bool:
    """Tell whether the hall is open at ``now_utc``: weekly hours, public holidays and make-up days."""
    local = local_time(hall, now_utc)
    return _within(local, day_plan(hall, local.date(), lookup)[0])


def opening_around(hall: Hall, now_utc: datetime, lookup: Lookup) -> tuple[datetime, datetime] | None:
    """Return the opening interval (start, end; naive UTC) that ``now_utc`` falls in, or None while closed.

    An interval ending "24:00" ends at the next midnight, unless the next day opens at "00:00": a hall open
    round the clock (or past midnight) does not close and reopen at midnight, so its posts are not "just
    opened" at 00:00 and an empty post is not ended there (002 §6.9). A run of such days is followed for at
    most a week each way.
    """
    local = local_time(hall, now_utc)
    hm = (local.hour, local.minute)
    day = local.date()
    for start, end in day_plan(hall, day, lookup)[0]:
        if _hhmm(start) <= hm < _hhmm(end):
            first, last = (day, start), (day, end)
            for _ in range(7):
                before = day_plan(hall, first[0] - timedelta(days=1), lookup)[0]
                if _hhmm(first[1]) != (0, 0) or not before or _hhmm(before[-1][1]) != (24, 0):
                    break
                first = (first[0] - timedelta(days=1), before[-1][0])
            for _ in range(7):
                after = day_plan(hall, last[0] + timedelta(days=1), lookup)[0]
                if _hhmm(last[1]) != (24, 0) or not after or _hhmm(after[0][0]) != (0, 0):
                    break
                last = (last[0] + timedelta(days=1), after[0][1])
            return _utc_at(hall, *first), _utc_at(hall, *last)
    return None


def _utc_at(hall: Hall, day: date, hhmm: str) -> datetime:
    h, m = _hhmm(hhmm)
    return to_utc(hall, datetime.combine(day, datetime.min.time()) + timedelta(hours=h, minutes=m))


def is_working_day(day: date, lookup: Lookup) -> bool:
    """Tell whether ``day`` is a working day (工作日): Monday–Friday unless a public holiday, or a make-up day.

    Legal time limits count working days, not the hall's opening days: a hall open on Saturdays does
    not make Saturday a working day, and a 调休 Saturday is one even where the hall keeps it closed.
    """
    entry = lookup(day)
    if entry is not None and entry.kind == HOLIDAY:
        return False
    if entry is not None and entry.kind == MAKEUP_WORKDAY:
        return True
    return day.weekday() < 5


def add_working_days(start: date, days: int, lookup: Lookup) -> date:
    """Return the ``days``-th working day after ``start`` (``days`` = 0: ``start`` itself, moved to a working day).

    Every deadline of the hall counts this way — rectification of a bad rating, the answer to a
    complaint, a case's promised completion date — so a due date never lands on a holiday.
    """
    d = start
    if days <= 0:
        while not is_working_day(d, lookup):
            d += timedelta(days=1)
        return d
    left = days
    while left > 0:
        d += timedelta(days=1)
        if is_working_day(d, lookup):
            left -= 1
    return d


def next_opening(hall: Hall, now_utc: datetime, lookup: Lookup, *, horizon_days: int = 30) -> datetime | None:
    """Return the local wall time when the hall next opens after ``now_utc`` (None within the horizon)."""
    local = local_time(hall, now_utc)
    hm = (local.hour, local.minute)
    for n in range(horizon_days + 1):
        day = local.date() + timedelta(days=n)
        for start, _end in day_plan(hall, day, lookup)[0]:
            if n > 0 or _hhmm(start) > hm:
                h, m = _hhmm(start)
                return datetime(day.year, day.month, day.day, h, m)
    return None


def working_days_between(start: date, end: date, lookup: Lookup) -> int:
    """Count the working days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``)."""
    n, d = 0, start
    while d < end:
        d += timedelta(days=1)
        if is_working_day(d, lookup):
            n += 1
    return n


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

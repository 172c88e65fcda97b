"""The hall's calendar: service days and opening hours, in the hall's own timezone."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from .db import core
from .models import Hall

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_HALL = select(Hall.__table__).where(Hall.__table__.c.id == bindparam("hall_id"))


def hall_settings(session: Session, hall_id: int) -> Row | None:
    """The hall's row as plain read-only settings (same attribute names as ``Hall``), or None.

    For the hot paths (issuing): loading an ORM ``Hall`` costs more than the rest of the request.
    """
    return core(session).execute(_HALL, {"hall_id": hall_id}).first()


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
    """Tell whether the hall is open for service at ``now_utc`` by its weekly opening hours."""
    local = local_time(hall, now_utc)
    hm = (local.hour, local.minute)
    return any(_hhmm(a) <= hm < _hhmm(b) for a, b in opening_intervals(hall, local.date()))


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

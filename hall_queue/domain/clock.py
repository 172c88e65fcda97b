"""Time as an input (STYLE rule 5): domain code asks a clock, never ``datetime.now()``.

Every datetime inside the domain and the database is naive UTC; the hall's timezone is applied
only where local time matters (service day, opening hours, what people read).
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time as naive UTC."""


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(tzinfo=None)


class ManualClock:
    """A clock tests and the hall-day simulation move by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = start.replace(tzinfo=None) if start.tzinfo is None else start.astimezone(timezone.utc).replace(tzinfo=None)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **kwargs: float) -> datetime:
        """Move the clock forward by ``timedelta(**kwargs)`` and return the new time."""
        with self._lock:
            self._now += timedelta(**kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


def epoch_seconds(naive_utc: datetime) -> float:
    """Return epoch seconds of a naive-UTC datetime (the calling-order key of a ticket)."""
    return naive_utc.replace(tzinfo=timezone.utc).timestamp()


def iso(dt: datetime | None) -> str | None:
    """Format a naive-UTC datetime for answers and events (``2026-03-02T02:00:00Z``)."""
    return dt.isoformat(timespec="seconds") + "Z" if dt is not None else None

"""The hall's bookable time slots, cut from its opening hours, holidays and make-up days (000 §8.2.2)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy.orm import Session

from hall_queue.domain import calendar as halls
from hall_queue.infrastructure import hall_store
from hall_queue.domain.models import AppointmentSettings, Hall

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


day_plan = hall_store.day_plan  # the hall's calendar (weekly hours, holidays, make-up days)


def slots_of_day(session: Session, hall: Hall, st: AppointmentSettings, day: date) -> list[Slot]:
    """Cut the day's opening intervals into slots of ``slot_minutes`` (a short tail is no slot)."""
    intervals, _ = day_plan(session, hall, day)
    return list(_cut(day, tuple(tuple(i) for i in intervals), st.slot_minutes, hall.timezone))


@lru_cache(maxsize=256)
def _cut(day: date, intervals: tuple[tuple[str, str], ...], slot_minutes: int, timezone: str) -> tuple[Slot, ...]:
    """The slots of one day's intervals: a pure function of its inputs, kept per process because every walk-in
    ticket asks for the running slot (issue 19: cutting the day anew took a tenth of the issue's CPU)."""
    out = []
    midnight = datetime.combine(day, time())
    for a, b in intervals:
        t, end = _minutes(a), _minutes(b)
        while t + slot_minutes <= end:
            start_local = midnight + timedelta(minutes=t)
            end_local = start_local + timedelta(minutes=slot_minutes)
            out.append(Slot(day, start_local, end_local, halls.wall_to_utc(timezone, start_local),
                            halls.wall_to_utc(timezone, end_local)))
            t += slot_minutes
    return tuple(out)


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

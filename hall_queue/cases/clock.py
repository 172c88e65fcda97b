"""The case clock in working days of the hall calendar (000 §6.6; 002 §6.6; 行政许可法 §42, §45).

A promised term of *n* working days runs from the day of acceptance: the due date is the *n*-th working
day after it (即办件, n = 0: the same day, moved to the next working day if accepted on a closed day).
Supplements (补正), special procedures (特别程序) and suspensions (挂起) stop the clock: the working
days the case spent stopped are added to the due date when it runs again. Every date comes from
``domain.calendar.add_working_days``, so a due date never lands on a holiday and make-up days count.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from hall_queue.domain import calendar
from hall_queue.domain.models import Case, Hall
from hall_queue.infrastructure import hall_store


def local_day(hall: Hall, now: datetime) -> date:
    return calendar.local_time(hall, now).date()


def promised_due(session: Session, hall: Hall, accepted_on: date, promised_days: int) -> date:
    return hall_store.add_working_days(session, hall.id, accepted_on, max(promised_days, 0))


def stop(case: Case, today: date) -> None:
    """Stop the clock (entering supplement, special procedure or suspension)."""
    if case.clock_stopped_on is None:
        case.clock_stopped_on = today


def restart(session: Session, case: Case, today: date) -> int:
    """Run the clock again; push the due date by the working days it stood still. Return those days."""
    if case.clock_stopped_on is None:
        return 0
    lookup = hall_store.calendar_lookup(session, case.hall_id)
    stood = calendar.working_days_between(case.clock_stopped_on, today, lookup)
    case.due_on = calendar.add_working_days(case.due_on, stood, lookup) if stood else case.due_on
    case.stopped_working_days += stood
    case.clock_stopped_on = None
    return stood


def working_days_left(session: Session, case: Case, today: date) -> int:
    """Working days from ``today`` to the due date (0 on the due date, negative once overdue)."""
    lookup = hall_store.calendar_lookup(session, case.hall_id)
    if today <= case.due_on:
        return calendar.working_days_between(today, case.due_on, lookup)
    return -calendar.working_days_between(case.due_on, today, lookup)

"""The case clock on the hall calendar: promised terms, holidays, make-up days, stops (000 §6.6)."""
from __future__ import annotations

from datetime import date

import pytest

from hall_queue.cases import clock
from hall_queue.domain.models import Case, Hall, Holiday
from hall_queue.infrastructure import hall_store


@pytest.fixture
def hall(db, hall_id):
    def add(s):
        # 2026-10-01..07 national holiday; Sunday 2026-09-27 and Saturday 2026-10-10 are make-up working days.
        for d in range(1, 8):
            s.add(Holiday(hall_id=hall_id, day=date(2026, 10, d), kind="holiday", name="国庆节"))
        for d in (date(2026, 9, 27), date(2026, 10, 10)):
            s.add(Holiday(hall_id=hall_id, day=d, kind="workday", name="调休上班"))
    db.run_write(add)
    return hall_id


def _case(due: date) -> Case:
    return Case(hall_id=0, due_on=due, stopped_working_days=0, clock_stopped_on=None)


def test_promised_term_counts_working_days_skips_holidays_and_counts_make_up_days(db, hall):
    with db.read() as s:
        h = s.get(Hall, hall)
        # Fri 25 Sep + 3: Sun 27 (make-up) = 1, Mon 28 = 2, Tue 29 = 3.
        assert clock.promised_due(s, h, date(2026, 9, 25), 3) == date(2026, 9, 29)
        # Wed 30 Sep + 2: 1–7 Oct closed, Thu 8 = 1, Fri 9 = 2.
        assert clock.promised_due(s, h, date(2026, 9, 30), 2) == date(2026, 10, 9)
        # Fri 9 Oct + 1: Saturday 10 Oct is a make-up working day.
        assert clock.promised_due(s, h, date(2026, 10, 9), 1) == date(2026, 10, 10)


def test_an_immediate_item_is_due_the_same_day_or_the_next_working_day(db, hall):
    with db.read() as s:
        h = s.get(Hall, hall)
        assert clock.promised_due(s, h, date(2026, 9, 28), 0) == date(2026, 9, 28)
        assert clock.promised_due(s, h, date(2026, 10, 3), 0) == date(2026, 10, 8)   # inside the holiday


def test_stops_push_the_due_date_by_the_working_days_stood_still_never_onto_a_holiday(db, hall):
    with db.read() as s:
        c = _case(date(2026, 9, 30))
        c.hall_id = hall
        clock.stop(c, date(2026, 9, 28))                   # Mon: supplement requested
        clock.stop(c, date(2026, 9, 29))                   # a second stop keeps the first day
        assert clock.restart(s, c, date(2026, 9, 30)) == 2  # Tue + Wed stood still
        assert c.due_on == date(2026, 10, 9) and c.stopped_working_days == 2 and c.clock_stopped_on is None
        assert hall_store.add_working_days(s, hall, c.due_on, 0) == c.due_on  # a working day
        # A stop over the holiday costs no working day: restarted on the first day back.
        d = _case(date(2026, 10, 12))
        d.hall_id = hall
        clock.stop(d, date(2026, 9, 30))
        assert clock.restart(s, d, date(2026, 10, 8)) == 1 and d.due_on == date(2026, 10, 13)
        assert clock.restart(s, d, date(2026, 10, 9)) == 0  # not stopped: nothing moves


def test_working_days_left_is_negative_once_overdue(db, hall):
    with db.read() as s:
        c = _case(date(2026, 9, 29))
        c.hall_id = hall
        assert clock.working_days_left(s, c, date(2026, 9, 25)) == 3
        assert clock.working_days_left(s, c, date(2026, 9, 29)) == 0
        assert clock.working_days_left(s, c, date(2026, 10, 8)) == -2

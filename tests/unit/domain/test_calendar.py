"""The one working-day calendar: weekends, public holidays and make-up working days (调休)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hall_queue.domain.calendar import (
    add_working_days,
    is_working_day,
    opening_around,
    working_days_between,
)
from hall_queue.domain.models import Hall
from hall_queue.domain.vocabulary import HOLIDAY, MAKEUP_WORKDAY


@dataclass
class Entry:
    kind: str
    name: str = ""
    hours: object = None


# 2026 国庆节·中秋节: 1–7 October off; Sunday 20 September and Saturday 10 October are make-up working days.
GUOQING = {date(2026, 10, d): Entry(HOLIDAY, "国庆节") for d in range(1, 8)}
GUOQING[date(2026, 9, 20)] = Entry(MAKEUP_WORKDAY, "国庆调休")
GUOQING[date(2026, 10, 10)] = Entry(MAKEUP_WORKDAY, "国庆调休")
lookup = GUOQING.get


def test_working_day_kinds():
    assert not is_working_day(date(2026, 10, 5), lookup)       # a Monday inside the holiday
    assert is_working_day(date(2026, 10, 10), lookup)          # make-up Saturday
    assert is_working_day(date(2026, 9, 20), lookup)           # make-up Sunday
    assert not is_working_day(date(2026, 10, 11), lookup)      # an ordinary Sunday
    assert is_working_day(date(2026, 10, 9), lookup)           # an ordinary Friday


def test_deadline_across_guoqing():
    # Wednesday 30 September + 1 working day: the holiday is skipped up to Thursday 8 October.
    assert add_working_days(date(2026, 9, 30), 1, lookup) == date(2026, 10, 8)
    # + 3: Thu 8, Fri 9, and the make-up Saturday 10.
    assert add_working_days(date(2026, 9, 30), 3, lookup) == date(2026, 10, 10)
    # 15 working days from Friday 25 September (the rectification term of a bad rating): Mon 28, Tue 29,
    # Wed 30, Thu 8, Fri 9, Sat 10, then 12–16 and 19–22 October.
    assert add_working_days(date(2026, 9, 25), 15, lookup) == date(2026, 10, 22)
    # Without the calendar the same term would end on 16 October — the old, wrong answer.
    assert add_working_days(date(2026, 9, 25), 15, lambda d: None) == date(2026, 10, 16)


def test_zero_days_moves_to_a_working_day_and_counts_between():
    assert add_working_days(date(2026, 10, 3), 0, lookup) == date(2026, 10, 8)
    assert add_working_days(date(2026, 10, 9), 0, lookup) == date(2026, 10, 9)
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 10), lookup) == 3
    assert working_days_between(date(2026, 10, 10), date(2026, 10, 1), lookup) == 0


def test_opening_around_gives_the_interval_in_utc():
    hall = Hall(name="h", code="h", timezone="Asia/Shanghai",
                opening_hours={"thu": [["09:00", "12:00"], ["13:30", "24:00"]]})
    # Thursday 8 October 2026 is an ordinary working day after 国庆; Beijing is UTC+8.
    assert opening_around(hall, datetime(2026, 10, 8, 2, 0), lookup) == (datetime(2026, 10, 8, 1, 0),
                                                                         datetime(2026, 10, 8, 4, 0))
    # The lunch break is outside every interval; an end of "24:00" is the next local midnight.
    assert opening_around(hall, datetime(2026, 10, 8, 4, 0), lookup) is None
    assert opening_around(hall, datetime(2026, 10, 8, 15, 59), lookup) == (datetime(2026, 10, 8, 5, 30),
                                                                           datetime(2026, 10, 8, 16, 0))
    # Thursday 1 October is 国庆: closed all day.
    assert opening_around(hall, datetime(2026, 10, 1, 2, 0), lookup) is None


def test_a_hall_open_round_the_clock_does_not_reopen_at_midnight():
    day = [["00:00", "24:00"]]
    hall = Hall(name="h", code="h", timezone="Asia/Shanghai",
                opening_hours={"mon": day, "tue": day, "wed": [["00:00", "12:00"]], "sun": [["20:00", "24:00"]]})
    # Tuesday 13 October 2026, 00:05 in Beijing: open since Sunday 20:00, until Wednesday noon.
    assert opening_around(hall, datetime(2026, 10, 12, 16, 5), lookup) == (datetime(2026, 10, 11, 12, 0),
                                                                          datetime(2026, 10, 14, 4, 0))
    # 国庆 (1–7 October) is closed: the run starting Thursday 8 October begins at its midnight (and is followed a week at most).
    hall.opening_hours = {k: day for k in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert opening_around(hall, datetime(2026, 10, 7, 17, 0), lookup) == (datetime(2026, 10, 7, 16, 0),
                                                                         datetime(2026, 10, 15, 16, 0))

"""Calling order and A/B posts at the service level, on a small hall with a manual clock (001 §6.3; 000 §6.5)."""
from __future__ import annotations

import pytest

from datetime import datetime, timedelta

from sqlalchemy import select

from hall_queue.domain import calendar
from hall_queue.domain.events import AlertCleared, PostCovered, PostUncovered
from hall_queue.domain.models import Alert, Hall, PostInterval
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def test_green_and_ordinary_interleave_one_to_two_and_stay_fifo_within_a_class(kiosk, clerks):
    ordinary = [kiosk.take() for _ in range(4)]
    green = [kiosk.take(green="elderly") for _ in range(2)]
    clerks.sign_in(1, 1)
    called = []
    for _ in range(6):
        called.append(clerks.call(1, 1))
        clerks.finish_in_hand(1, 1)
    assert clerks.call(1, 1) is None  # the queue is empty
    # Every ticket once; within a class in issue order; green tickets never wait behind more than two ordinary.
    assert sorted(called) == sorted(ordinary + green)
    assert [n for n in called if n in green] == green and [n for n in called if n in ordinary] == ordinary
    first_three = called[:3]
    assert sum(n in green for n in first_three) == 1 and sum(n in ordinary for n in first_three) == 2


def test_a_ticket_in_hand_is_never_called_at_a_second_window(kiosk, clerks):
    only = kiosk.take()
    clerks.sign_in(1, 1)
    clerks.sign_in(2, 2)
    assert clerks.call(1, 1) == only
    assert clerks.call(2, 2) is None
    assert clerks.ticket(only).window_id == clerks.window(1).id


def test_ab_posts_cover_then_raise_the_empty_post(clerks):
    clerks.sign_in(1, 1)   # window 1: A = c1, B = c2
    clerks.sign_in(2, 2)   # window 2: A = c2, B = c3
    events = clerks.sign_out(1, 1)
    # Window 1's B clerk (c2) is at window 2, which takes window 1's post (顶岗补位).
    assert any(isinstance(e, PostCovered) for e in events)
    assert clerks.window(1).covered_by_id == clerks.window(2).id
    # c2 leaves too: nobody is left for window 1 or 2 — both posts are empty and said so.
    events = clerks.sign_out(2, 2)
    assert clerks.window(1).covered_by_id is None
    assert sum(isinstance(e, PostUncovered) for e in events) >= 1
    # c3, window 2's B clerk, arrives at window 3: signing in takes window 2's empty post at once.
    events = clerks.sign_in(3, 3)
    assert any(isinstance(e, PostCovered) for e in events)
    assert clerks.window(2).covered_by_id == clerks.window(3).id
    assert clerks.check_posts() == []  # nothing left for the duty round



def test_an_empty_post_ends_when_the_hall_closes_not_the_next_morning(db, clerks, clock):
    """不得空岗 (002 §6.9) counts in opening hours: a post left empty at 16:00 is empty until the 17:00 closing,
    not through the night, and its alert goes at closing; the closed hall raises no new one."""
    weekdays = {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    db.run_write(lambda s: setattr(s.get(Hall, clerks.hall.id), "opening_hours", weekdays))
    clock.advance(hours=6)                          # Monday 16:00 in the hall (the clock starts at 10:00)
    clerks.sign_in(1, 1)
    clerks.sign_out(1, 1)                           # c1 leaves; B clerk c2 is not in: window 1's post is empty
    clerks.check_posts()                            # windows 2 and 3, never staffed, are empty posts too
    window1 = clerks.window(1).id

    def window1_empties(s):
        return s.scalars(select(PostInterval).where(PostInterval.kind == "empty",
                                                    PostInterval.window_id == window1)).all()

    def window1_alerts(s):
        return s.scalars(select(Alert).where(Alert.kind == "empty_post", Alert.window_id == window1)).all()
    assert [iv.ended_at for iv in db.run_write(window1_empties)] == [None]

    clock.advance(hours=16)                         # Tuesday 08:00: the hall has been closed all night
    events = clerks.check_posts()
    assert sum(isinstance(e, AlertCleared) for e in events) == 3   # windows 1, 2 and 3
    hall = db.run_write(lambda s: s.get(Hall, clerks.hall.id))
    monday = calendar.local_time(hall, clock.now()).date() - timedelta(days=1)
    closing = calendar.to_utc(hall, datetime(monday.year, monday.month, monday.day, 17))
    intervals = db.run_write(window1_empties)
    assert [iv.ended_at for iv in intervals] == [closing]
    assert intervals[0].ended_at - intervals[0].started_at == timedelta(hours=1)
    assert [a.cleared_at for a in db.run_write(window1_alerts)] == [closing]
    still_open = db.run_write(lambda s: s.scalars(select(PostInterval).where(PostInterval.ended_at.is_(None))).all())
    assert still_open == []
    assert clerks.check_posts() == []               # closed: nothing new until the hall opens

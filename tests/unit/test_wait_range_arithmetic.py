"""The wait range's arithmetic (``wait_range.wait_estimate``, pure) and its one wording (issue 17)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from hall_queue.queueing.wait_range import (
    EstimateParams,
    WaitInputs,
    recent_pace,
    staffing_ahead,
    time_for_calls,
    wait_estimate,
    wait_range_text,
)


def _inputs(ahead=4, *, windows=2.0, mean=600.0, idle=0, priority="ordinary", history=(), bookings=(), plan=()):
    return WaitInputs(ahead=ahead, priority_class=priority, serving=max(1, int(windows)), windows=windows, idle=idle,
                      mean_s=mean, samples=40, bookings=bookings, history=history, plan=plan)


def _busy_queue(calls: int, every_s: float):
    """A queue that never ran empty over the last half hour: a call every ``every_s`` seconds."""
    history = [(1800.0 + 60, 1800.0 - 1, True, False)]  # someone waited across the whole span
    for k in range(calls):
        called = k * every_s + 1
        history.append((called + 600, called, True, False))
    return tuple(history)


def test_the_range_is_monotone_in_position_and_holds_the_expected_wait():
    prev = None
    for ahead in range(40):
        est = wait_estimate(_inputs(ahead))
        assert est.low_s <= est.expected_s <= est.high_s
        if prev is not None:
            assert est.expected_s >= prev.expected_s and est.low_s >= prev.low_s and est.high_s >= prev.high_s
        prev = est


def test_more_windows_or_a_faster_pace_shorten_the_wait():
    two, four = wait_estimate(_inputs(8, windows=2.0)), wait_estimate(_inputs(8, windows=4.0))
    assert four.expected_s < two.expected_s and four.high_s < two.high_s
    quick = wait_estimate(_inputs(8, mean=300.0))
    assert quick.expected_s < two.expected_s


def test_the_queues_own_calls_outweigh_the_window_count_as_they_accumulate():
    # Two windows at 10 min make 12 calls an hour; the queue was actually called every 2 minutes
    # (helpers took it too), so the estimate follows what the hall did.
    structural = wait_estimate(_inputs(10))
    observed = wait_estimate(_inputs(10, history=_busy_queue(15, 120.0)))
    assert observed.rate_per_h > 2 * structural.rate_per_h
    assert observed.expected_s < structural.expected_s / 2
    # The range narrows as the pace is known better.
    assert (observed.high_s / observed.low_s) < (structural.high_s / structural.low_s)


def test_the_range_reaches_further_above_a_short_lines_wait_than_below_it():
    short, long_ = wait_estimate(_inputs(1)), wait_estimate(_inputs(60))
    assert short.high_s - short.expected_s > short.expected_s - short.low_s
    # Relative to the wait, a long line's range is narrower (n calls average out) but never below the drift.
    assert (long_.high_s - long_.low_s) / long_.expected_s < (short.high_s - short.low_s) / short.expected_s
    assert (long_.high_s - long_.low_s) / long_.expected_s > EstimateParams().drift


def test_bookings_behind_count_only_once_their_slot_comes_before_the_call():
    base = wait_estimate(_inputs(6))
    soon = wait_estimate(_inputs(6, bookings=(0.0, base.expected_s / 2)))
    later = wait_estimate(_inputs(6, bookings=(base.expected_s * 3,)))
    assert soon.position == base.position + 2 and soon.expected_s > base.expected_s
    assert later.position == base.position and later.expected_s == base.expected_s


def test_an_idle_window_no_window_and_the_minimum_width():
    assert wait_estimate(_inputs(0, idle=1)).high_s == 0
    none = wait_estimate(WaitInputs(ahead=3, priority_class="ordinary", serving=0, windows=0.0, idle=0, mean_s=600))
    assert (none.position, none.windows, none.high_s) == (3, 0.0, 0.0)
    est = wait_estimate(_inputs(0, windows=6.0, mean=120.0))
    assert est.high_s - est.low_s >= EstimateParams().min_width_s - 1e-6 and est.low_s >= 0


def test_recent_pace_counts_calls_made_while_someone_waited_and_merges_overlapping_waits():
    history = (
        (900.0, 600.0, True, False),  # waited 900 → 600 s ago
        (700.0, 300.0, True, True),   # overlapping: 700 → 300 s ago
        (200.0, 200.0, True, False),  # called at once: no call made "while waiting"
        (100.0, None, False, False),  # still waiting since 100 s ago
        (5000.0, 4000.0, True, False),  # outside the last half hour
    )
    calls, busy = recent_pace(history, 1800.0)
    assert calls == 2
    assert busy == (900 - 300) + 100


def test_text():
    assert wait_range_text(480, 900) == "约 8–15 分钟"
    assert wait_range_text(0, 50) == "即将叫号"
    assert wait_range_text(20, 600) == "10 分钟以内"  # never "约 0–10 分钟" with someone ahead
    assert wait_range_text(3000, 4500) == "约 50 分钟–1 小时 15 分钟"
    assert wait_range_text(0, 0, windows=0) == "暂无窗口办理，请留意叫号"


def test_staffing_ahead_follows_the_windows_break_plans():
    plan = ((1.0, ((600.0, 4200.0),)),     # here now, leaves for lunch in 10 min for an hour
            (1.0, ()),                      # here all day
            (0.5, ((0.0, 1200.0),)))        # away now (shared with another queue), due back in 20 min
    assert staffing_ahead(plan) == [(0.0, 2.0), (600.0, 1.0), (1200.0, 1.5), (4200.0, 2.5)]
    assert staffing_ahead(((1.0, ((0.0, None),)), (1.0, ()))) == [(0.0, 1.0)]  # away for good: not counted


def test_time_for_calls_slows_while_windows_are_away_and_speeds_up_when_they_return():
    rate = 2 / 600  # a call every 5 min with the windows here now
    flat = [(0.0, 2.0)]
    assert time_for_calls(6, rate, flat) == pytest.approx(1800)
    lunch = [(0.0, 2.0), (600.0, 1.0), (4200.0, 2.0)]  # one leaves in 10 min for an hour
    assert time_for_calls(2, rate, lunch) == pytest.approx(600)  # done before anyone leaves
    assert time_for_calls(6, rate, lunch) == pytest.approx(600 + 4 * 600)  # the other four at half the pace
    assert time_for_calls(20, rate, lunch) == pytest.approx(4200 + 12 * 300)  # 2 + 6 at lunch, 12 after it
    back = [(0.0, 1.0), (600.0, 2.0)]  # one window here making that pace, another back in 10 min: it doubles
    assert time_for_calls(6, rate, back) == pytest.approx(600 + 4 * 150)
    assert time_for_calls(0, rate, lunch) == 0


def test_a_planned_lunch_lengthens_the_wait_and_a_return_shortens_it():
    base = wait_estimate(_inputs(10))
    here_all_day = wait_estimate(_inputs(10, plan=((1.0, ()), (1.0, ()))))
    assert here_all_day.expected_s == base.expected_s  # a plan without breaks changes nothing
    leaving = wait_estimate(_inputs(10, plan=((1.0, ((300.0, 3900.0),)), (1.0, ()))))
    assert leaving.expected_s > base.expected_s and leaving.high_s > base.high_s
    returning = wait_estimate(_inputs(10, windows=1.0, plan=((1.0, ()), (1.0, ((0.0, 300.0),)))))
    alone = wait_estimate(_inputs(10, windows=1.0))
    assert returning.expected_s < alone.expected_s


def test_a_booking_whose_slot_has_begun_waits_only_for_the_bookings_before_it():
    line = wait_estimate(_inputs(12))
    begun = wait_estimate(replace(_inputs(12, priority="appointment"), class_ahead=1, slot_s=-300.0))
    assert begun.position == 1 and begun.expected_s < line.expected_s / 4
    assert begun.expected_s == wait_estimate(_inputs(1)).expected_s  # as if only that booking stood ahead
    # A slot far ahead: it waits in line as anyone would; a slot soon: it is called once the slot begins.
    far = wait_estimate(replace(_inputs(12, priority="appointment"), class_ahead=0, slot_s=4 * 3600.0))
    assert (far.position, far.expected_s) == (line.position, line.expected_s)
    soon = wait_estimate(replace(_inputs(12, priority="appointment"), class_ahead=0, slot_s=600.0))
    assert soon.position == 0 and 600 < soon.expected_s < line.expected_s


def test_a_green_ticket_counts_the_interleave_calls_for_each_green_one_before_it():
    line = wait_estimate(_inputs(20))
    first = wait_estimate(replace(_inputs(20, priority="green"), class_ahead=0))
    second = wait_estimate(replace(_inputs(20, priority="green"), class_ahead=1))
    assert first.expected_s < second.expected_s < line.expected_s
    assert first.position == 2 and second.position == 5  # two ordinary calls for each green one
    near = wait_estimate(replace(_inputs(1, priority="green"), class_ahead=0))
    assert near.expected_s == wait_estimate(_inputs(1)).expected_s  # never further than its place in line


def _overdue(ahead=20, *, helpers=6, overdue_in=900.0, history=()):
    """One slow window's long line (``ahead`` at 10 min each), with ``helpers`` helper windows by the rule."""
    return replace(_inputs(ahead, windows=1.0, history=history), overdue_in_s=overdue_in, overdue_after_s=900.0,
                   overdue_helpers=helpers)


def test_helper_windows_overdue_rule_bounds_a_long_lines_wait_when_they_can_keep_up():
    blind = wait_estimate(replace(_overdue(), overdue_in_s=None))
    bound = wait_estimate(_overdue())
    assert blind.expected_s > 3 * 3600 and not blind.overdue_bound
    # Called by the first helper window to be free once it has waited 15 minutes: a range just past that (as
    # narrow as a range may be, so reaching a little below it).
    assert bound.overdue_bound and 900 < bound.expected_s < bound.high_s < 1200
    assert bound.high_s - bound.low_s == pytest.approx(EstimateParams().min_width_s)
    # A ticket that has already waited 10 minutes (the phone page's later read) crosses in 5.
    later = wait_estimate(_overdue(overdue_in=300.0))
    assert later.high_s == pytest.approx(bound.high_s - 600)
    # Tickets of the queue still waiting past the limit say the helpers are slow to take them: later and wider.
    stuck = tuple((900.0 + 240.0 + k, None, False, False) for k in range(3))
    slow = wait_estimate(_overdue(history=stuck))
    assert slow.high_s > bound.high_s and slow.high_s - slow.low_s > bound.high_s - bound.low_s
    # Fewer helpers than it takes to take every ticket the queue received in the last half hour (six windows at
    # 10 minutes take 18): the overdue tickets form a line of their own, the pace decides.
    crowd = tuple((float(60 * k + 1), None, False, False) for k in range(19))
    assert wait_estimate(_overdue(history=crowd)) == wait_estimate(replace(_overdue(history=crowd), overdue_in_s=None))
    assert wait_estimate(_overdue(helpers=0)) == blind
    # A line short enough to be called before the limit is left alone.
    short = _overdue(ahead=0)
    assert wait_estimate(short).high_s == wait_estimate(replace(short, overdue_in_s=None)).high_s

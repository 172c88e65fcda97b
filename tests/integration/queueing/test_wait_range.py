"""Wait ranges on a real database (issue 17): shared windows count as fractions, bookings at their slot."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hall_queue.domain.models import Hall, Queue, ServiceItem, Staff, Ticket, Window
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.queueing import calling, posts
from hall_queue.queueing.ticketing import IssueRequest, cancel_ticket, issue_ticket
from hall_queue.queueing.wait_range import ticket_wait_range
from tests.conftest import engines
from tests.integration.queueing.conftest import KIOSK, SYSTEM

# Both engines: the windows' read casts the plan's JSON and the class order compares slots (issue 17).
pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def _hall(db, clock):
    def build(s):
        hall = load_simple_hall(s, code="rng", now=clock.now(), windows=2, queues="AB")
        hall.default_service_s = 600
        queues = {q.prefix: q.id for q in s.scalars(select(Queue).where(Queue.hall_id == hall.id))}
        item = s.scalar(select(ServiceItem.id).where(ServiceItem.hall_id == hall.id))
        for w in s.scalars(select(Window).where(Window.hall_id == hall.id)):
            posts.sign_in(s, w, s.get(Staff, w.a_clerk_id), now=clock.now(), actor=SYSTEM)
        return hall.id, queues, item
    return db.run_write(build)


def _issue(db, clock, vault, hall_id, item, **extra):
    req = IssueRequest(item_ids=[item], **extra)
    issued = db.run_write(lambda s: issue_ticket(s, s.get(Hall, hall_id), req, now=clock.now(), vault=vault,
                                                 actor=KIOSK)[0])
    clock.advance(seconds=1)
    return issued


def _move(db, ticket_id, queue_id):
    def do(s):
        s.get(Ticket, ticket_id).queue_id = queue_id
    db.run_write(do)


def _range(db, clock, ticket_id):
    with db.read() as s:
        t = s.get(Ticket, ticket_id)
        return ticket_wait_range(s, t, now=clock.now(), default_s=600)


def test_shared_windows_count_as_fractions_and_bookings_are_placed_at_their_slot(db, clock, vault):
    hall_id, queues, item = _hall(db, clock)
    # Two windows serve A and B (both primary). Four visitors in A: two are called at once by the idle windows.
    ids = [_issue(db, clock, vault, hall_id, item).id for _ in range(4)]
    with db.read() as s:
        assert [s.get(Ticket, i).queue_id for i in ids] == [queues["A"]] * 4
    db.run_write(lambda s: [_call(s, w, clock) for w in s.scalars(select(Window).where(Window.hall_id == hall_id))])
    mine = ids[3]
    alone = _range(db, clock, mine)
    assert (alone.position, alone.windows) == (1, 2.0)  # nobody waits in B: both windows are A's
    assert "分钟" in alone.text and alone.low_s < alone.high_s

    b_ticket = _issue(db, clock, vault, hall_id, item).id
    _move(db, b_ticket, queues["B"])  # now B has a visitor too: each window gives half of itself to A
    shared = _range(db, clock, mine)
    assert shared.windows == 1.0
    assert shared.high_s > alone.high_s

    booked = _issue(db, clock, vault, hall_id, item, priority_class="appointment", source="appointment",
                    slot_start=clock.now()).id  # behind in the list, but its slot has begun: called first
    with db.read() as s:
        assert s.get(Ticket, booked).queue_id == queues["A"]
    placed = _range(db, clock, mine)
    assert placed.position == shared.position + 1
    # The booking itself: the two walk-ins are ahead in the list, but the appointment rule calls it first —
    # nobody is called before it, and the next window to call takes it.
    assert _range(db, clock, booked).position == 0
    db.run_write(lambda s: _finish_at(s, _window(s, hall_id, 1), clock))
    called = db.run_write(lambda s: calling.call_next(s, _window(s, hall_id, 1), now=clock.now(), actor=SYSTEM)[0].id)
    assert called == booked


def _window(s, hall_id, number):
    return s.scalar(select(Window).where(Window.hall_id == hall_id, Window.number == number))


def _finish_at(s, window, clock):
    """Serve and finish the visitor in hand at ``window`` (the window is then free to call)."""
    held = calling.ticket_in_hand(s, window)
    calling.start(s, held, now=clock.now(), actor=SYSTEM)
    calling.finish(s, held, outcome="accepted", now=clock.now(), actor=SYSTEM)


def _call(s, w, clock):
    calling.call_next(s, w, now=clock.now(), actor=SYSTEM)


def test_the_server_reads_the_queues_own_calls_and_shares_the_benchmarks_arithmetic(db, clock, vault):
    from hall_queue.domain.vocabulary import ESTIMATE_HISTORY_S
    from hall_queue.queueing.wait_range import recent_pace, wait_estimate, wait_inputs

    hall_id, _, item = _hall(db, clock)
    ids = [_issue(db, clock, vault, hall_id, item).id for _ in range(8)]
    clock.advance(seconds=120)
    db.run_write(lambda s: [_call(s, w, clock) for w in s.scalars(select(Window).where(Window.hall_id == hall_id))])  # two called after waiting two minutes
    with db.read() as s:
        t = s.get(Ticket, ids[-1])
        told = ticket_wait_range(s, t, now=clock.now(), default_s=600)
        inputs = wait_inputs(s, hall_id=hall_id, queue_id=t.queue_id, key=t.queue_key, ticket_id=t.id,
                             priority_class=t.priority_class, now=clock.now(), default_s=600)
    calls, busy = recent_pace(inputs.history, ESTIMATE_HISTORY_S, inputs.waited_s)
    assert calls == 2 and busy >= 120
    assert inputs.ahead == 5 and told.position == 5
    est = wait_estimate(inputs)
    assert (told.low_s, told.high_s) == (round(est.low_s), round(est.high_s))
    assert told.low_s < est.expected_s < told.high_s


def test_the_windows_break_plans_let_the_pace_look_ahead(db, clock, vault):
    """A window leaving for its planned lunch slows the queue ahead; a window on its planned break comes back."""
    from dataclasses import replace

    from hall_queue.queueing.wait_range import wait_estimate, wait_inputs

    hall_id, _, item = _hall(db, clock)  # 10:00 local: 02:00 UTC

    def plan(s, number, stretches):
        s.scalar(select(Window).where(Window.hall_id == hall_id, Window.number == number)).break_plan = stretches
    ids = [_issue(db, clock, vault, hall_id, item).id for _ in range(8)]
    db.run_write(lambda s: [_call(s, w, clock) for w in s.scalars(select(Window).where(Window.hall_id == hall_id))])
    clock.set(clock.now().replace(second=0) + timedelta(minutes=1))  # on the minute: the plan's times are

    def inputs():
        with db.read() as s:
            t = s.get(Ticket, ids[-1])
            return wait_inputs(s, hall_id=hall_id, queue_id=t.queue_id, key=t.queue_key, ticket_id=t.id,
                               priority_class=t.priority_class, now=clock.now(), default_s=600)
    assert inputs().plan == ()  # no window has a plan: the estimate is the pace's alone
    now_local = clock.now() + timedelta(hours=8)
    db.run_write(lambda s: plan(s, 1, [[(now_local + timedelta(minutes=10)).strftime("%H:%M"),
                                        (now_local + timedelta(minutes=70)).strftime("%H:%M")]]))
    ahead = inputs()
    assert sorted(ahead.plan) == sorted([(1.0, ((600.0, 4200.0),)), (1.0, ())])
    leaving, blind = wait_estimate(ahead), wait_estimate(replace(ahead, plan=()))
    assert leaving.expected_s > blind.expected_s and leaving.high_s > blind.high_s

    # Window 2 takes its planned 15-minute break now (it finishes its visitor first): away, due back in 15 min.
    def take_break(s):
        w = s.scalar(select(Window).where(Window.hall_id == hall_id, Window.number == 2))
        w.break_plan = [[now_local.strftime("%H:%M"), (now_local + timedelta(minutes=15)).strftime("%H:%M")]]
        _finish_at(s, w, clock)
        posts.pause(s, w, reason="短暂休息", now=clock.now(), actor=SYSTEM)
    db.run_write(take_break)
    clock.advance(seconds=300)
    away = inputs()
    assert away.windows == 1.0 and sorted(away.plan) == sorted([(1.0, ((300.0, 3900.0),)), (1.0, ((0.0, 600.0),))])
    # Unplanned, the same pause would not be counted on: the window stays out of the estimate.
    db.run_write(lambda s: plan(s, 2, []))
    assert inputs().plan == ((1.0, ((300.0, 3900.0),)),)


def test_the_helper_windows_overdue_rule_is_read_and_is_what_calls_the_visitor(db, clock, vault):
    """A window helping queue A by the ``helper_overdue`` rule bounds A's wait; the rule then calls the visitor."""
    from dataclasses import replace

    from hall_queue.domain.models import WindowQueue
    from hall_queue.queueing.wait_range import wait_estimate, wait_inputs

    hall_id, queues, item = _hall(db, clock)

    def helper_of_a(s):  # window 2 serves B, and A only as a helper (default rules: helper_overdue after 900 s)
        role = s.scalar(select(WindowQueue).join(Window).where(Window.hall_id == hall_id, Window.number == 2,
                                                               WindowQueue.queue_id == queues["A"]))
        role.role = "helper"
    db.run_write(helper_of_a)
    # A: window 1 calls one, two wait — few enough for one helper to take them all (it could take 3 in the half hour)
    ids = [_issue(db, clock, vault, hall_id, item).id for _ in range(3)]
    for i in range(3):  # B keeps window 2 busy
        b = _issue(db, clock, vault, hall_id, item).id
        _move(db, b, queues["B"])
    db.run_write(lambda s: [_call(s, w, clock) for w in s.scalars(select(Window).where(Window.hall_id == hall_id))])

    def inputs():
        with db.read() as s:
            t = s.get(Ticket, ids[-1])
            return wait_inputs(s, hall_id=hall_id, queue_id=t.queue_id, key=t.queue_key, ticket_id=t.id,
                               priority_class=t.priority_class, now=clock.now(), default_s=600)
    got = inputs()
    assert got.overdue_helpers == 1 and got.overdue_after_s == 900
    with db.read() as s:
        waited = (clock.now() - s.get(Ticket, ids[-1]).issued_at).total_seconds()
    assert got.overdue_in_s == pytest.approx(900 - waited, abs=1)
    est, blind = wait_estimate(got), wait_estimate(replace(got, overdue_in_s=None))
    assert est.overdue_bound and est.high_s < blind.high_s and est.expected_s < blind.expected_s

    # What the estimate counts on happens: once past the limit, window 2 takes the A ticket before its own B.
    clock.advance(seconds=901)
    db.run_write(lambda s: _finish_at(s, _window(s, hall_id, 2), clock))
    called = db.run_write(lambda s: calling.call_next(s, _window(s, hall_id, 2), now=clock.now(), actor=SYSTEM)[0])
    assert called.queue_id == queues["A"] and "协办" in called.call_reason

    # Without the rule (or with the helper away) there is nothing to count on.
    def rules(s, kept):
        _window(s, hall_id, 2).call_rules = [r for r in calling.DEFAULT_RULES if r["rule"] in kept]
    db.run_write(lambda s: rules(s, ("transferred", "appointment", "interleave", "helper")))
    assert inputs().overdue_in_s is None and inputs().overdue_helpers == 0


def test_the_waiting_tickets_summed_give_the_estimate_they_give_one_by_one(db, clock, vault):
    """The server reads the tickets still waiting as one row of sums (issue 19): the pace, the helpers'
    ``helper_overdue`` bound and the range come out as from every waiting ticket read one by one."""
    from dataclasses import replace

    from hall_queue.domain.models import WindowQueue
    from hall_queue.queueing.wait_range import wait_estimate, wait_inputs

    hall_id, queues, item = _hall(db, clock)

    def helper_of_a(s):  # window 2 helps A by the default rules (helper_overdue after 900 s)
        s.scalar(select(WindowQueue).join(Window).where(Window.hall_id == hall_id, Window.number == 2,
                                                        WindowQueue.queue_id == queues["A"])).role = "helper"
    db.run_write(helper_of_a)
    ids = []
    for minute in range(40):  # a line building over 40 minutes; window 1 calls and serves, some leave
        ids.append(_issue(db, clock, vault, hall_id, item).id)
        ids.append(_issue(db, clock, vault, hall_id, item).id)
        if minute % 5 == 4:
            db.run_write(lambda s: _finish_at(s, _window(s, hall_id, 1), clock)
                         if calling.ticket_in_hand(s, _window(s, hall_id, 1)) else None)
            db.run_write(lambda s: _call(s, _window(s, hall_id, 1), clock))
        if minute % 7 == 6:
            db.run_write(lambda s: cancel_ticket(s, s.get(Ticket, ids[-3]), now=clock.now(), actor=SYSTEM)
                         if s.get(Ticket, ids[-3]).status == "waiting" else None)
        clock.advance(seconds=59)
    def compared(helpers: int) -> int:
        bounded = 0
        for tid in ids[::9]:
            with db.read() as s:
                t = s.get(Ticket, tid)
                if t.status != "waiting":
                    continue
                args = dict(hall_id=hall_id, queue_id=t.queue_id, key=t.queue_key, ticket_id=t.id,
                            priority_class=t.priority_class, now=clock.now(), default_s=600)
                summed, each = wait_inputs(s, **args), wait_inputs(s, **args, each_waiting=True)
            assert summed.waited_s is not None and each.waited_s is None
            assert len(each.history) > len(summed.history) + 20  # the line, read one by one
            assert summed.overdue_helpers == helpers and (summed.waiting_overdue > 0) == (helpers > 0)
            for inputs in (lambda x: x, lambda x: replace(x, overdue_in_s=None)):  # with and without the rule
                a, b = wait_estimate(inputs(summed)), wait_estimate(inputs(each))
                assert (a.position, a.overdue_bound, round(a.low_s), round(a.high_s)) == \
                       (b.position, b.overdue_bound, round(b.low_s), round(b.high_s))
                assert (a.expected_s, a.low_s, a.high_s, a.rate_per_h) == pytest.approx(
                    (b.expected_s, b.low_s, b.high_s, b.rate_per_h), rel=1e-12, abs=1e-9)
            bounded += wait_estimate(summed).overdue_bound
        return bounded
    assert compared(helpers=1)  # the rule's bound was exercised, not only the pace
    # Without the rule at window 2 no sums are made: the pace alone, as from every ticket.
    db.run_write(lambda s: setattr(_window(s, hall_id, 2), "call_rules",
                                   [r for r in calling.DEFAULT_RULES if r["rule"] != "helper_overdue"]))
    assert compared(helpers=0) == 0


def test_a_burst_of_issues_told_from_the_kept_queue_reads_gets_what_a_fresh_read_gives(db, clock, vault):
    """Issues in a row take the queue's reads one of them made (issue 19): aged to their moment, with the tickets
    issued since joined. Each range told equals the one a fresh read of the ticket gives: a line built over 40
    minutes with calls, cancellations, a helper window under the ``helper_overdue`` rule and a break plan."""
    from hall_queue.domain.models import WindowQueue
    from hall_queue.queueing.ticketing import fill_wait_range_after_commit
    from hall_queue.queueing.wait_range import _kept

    hall_id, queues, item = _hall(db, clock)
    now_local = clock.now() + timedelta(hours=8)

    def setup(s):  # window 2 helps A (helper_overdue after 900 s) and has its lunch planned in 50 minutes
        s.scalar(select(WindowQueue).join(Window).where(Window.hall_id == hall_id, Window.number == 2,
                                                        WindowQueue.queue_id == queues["A"])).role = "helper"
        _window(s, hall_id, 2).break_plan = [[(now_local + timedelta(minutes=50)).strftime("%H:%M"),
                                              (now_local + timedelta(minutes=110)).strftime("%H:%M")]]
    db.run_write(setup)

    def issue_kept():
        req = IssueRequest(item_ids=[item])
        issued = db.run_write(lambda s: issue_ticket(s, s.get(Hall, hall_id), req, now=clock.now(), vault=vault,
                                                     actor=KIOSK, range_after_commit=True)[0], issues_only=True)
        return fill_wait_range_after_commit(db, issued)
    told = kept = 0
    for minute in range(40):
        for k in range(4):  # a burst: the first reads (or finds the reads kept), the rest take them
            hit = bool(_kept) and k > 0
            issued = issue_kept()
            assert issued.wait == _range(db, clock, issued.ticket_view["id"]), (minute, k)
            told += 1
            kept += hit
            clock.advance(seconds=0.2)
        if minute % 5 == 4:
            db.run_write(lambda s: _finish_at(s, _window(s, hall_id, 1), clock)
                         if calling.ticket_in_hand(s, _window(s, hall_id, 1)) else None)
            db.run_write(lambda s: _call(s, _window(s, hall_id, 1), clock))
        if minute % 7 == 6:
            db.run_write(lambda s: cancel_ticket(s, s.get(Ticket, issued.ticket_view["id"] - 2), now=clock.now(),
                                                 actor=SYSTEM))
        clock.advance(seconds=59)
    assert told == 160 and kept >= 100

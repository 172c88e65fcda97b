"""The recovery rule for tickets stuck "called" at a window that no longer holds them (hall_queue/recovery.py),
on SQLite and PostgreSQL, through the service layer and the duty round."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hall_queue.access import audit
from hall_queue.queueing import calling
from hall_queue.queueing import posts
from hall_queue.access.audit import Actor
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.domain.models import AuditEvent, Hall, IdleInterval, Staff, Ticket, Window
from hall_queue.queueing.recovery import find_stuck, recover_stuck_tickets
from hall_queue.queueing.ticketing import IssueRequest, issue_ticket
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def _hall_with_calls(db, clock, vault, *, windows=3, tickets=8):
    """A hall with ``tickets`` issued a minute apart and each window holding one called ticket."""
    def build(s):
        hall = load_simple_hall(s, code="rec", now=clock.now(), windows=windows)
        item = hall_item(s, hall)
        ids = []
        for i in range(tickets):
            issued, _ = issue_ticket(s, hall, IssueRequest(item_ids=[item]), now=clock.now() + timedelta(minutes=i),
                                     vault=vault, actor=audit.SYSTEM)
            ids.append(issued.id)
        return hall.id, ids

    hall_id, ids = db.run_write(build)
    clock.advance(minutes=tickets)

    def call_all(s):
        held = {}
        for w in s.scalars(select(Window).where(Window.hall_id == hall_id).order_by(Window.number)).all():
            clerk = s.get(Staff, w.a_clerk_id)
            actor = Actor(kind="staff", id=clerk.id, role="clerk", hall_id=hall_id)
            posts.sign_in(s, w, clerk, now=clock.now(), actor=actor)
            t, _ = calling.call_next(s, w, now=clock.now(), actor=actor)
            held[w.number] = t.id
        return held

    return hall_id, ids, db.run_write(call_all)


def hall_item(s, hall):
    from hall_queue.domain.models import ServiceItem

    return s.scalar(select(ServiceItem.id).where(ServiceItem.hall_id == hall.id))


def test_held_tickets_are_left_alone_even_after_a_restart(db, clock, vault):
    _hall_id, _ids, held = _hall_with_calls(db, clock, vault)
    # A restart changes nothing in the database: every window still holds its ticket.
    events = db.run_write(lambda s: recover_stuck_tickets(s, now=clock.now()))
    assert events == []
    with db.read() as s:
        assert find_stuck(s) == []
        assert {t.id for t in s.scalars(select(Ticket).where(Ticket.status == "called"))} == set(held.values())


def test_stuck_tickets_go_back_to_their_place_with_their_number(db, clock, vault):
    hall_id, ids, held = _hall_with_calls(db, clock, vault, windows=4, tickets=10)
    with db.read() as s:
        before = {t.id: (t.number, t.queue_key, t.issued_at) for t in s.scalars(select(Ticket))}
        w = {x.number: x.id for x in s.scalars(select(Window).where(Window.hall_id == hall_id))}
        c04 = s.scalar(select(Staff.id).where(Staff.username == "rec-c04"))

    def break_it(s):
        # 1: the clerk of window 1 vanished from the window (signed out outside the services).
        s.get(Window, w[1]).clerk_id = None
        # 2: window 2's ticket is now "held" by another clerk than the one who called it.
        win2 = s.get(Window, w[2])
        win2.clerk_id, win2.clerk_post = c04, None
        s.get(Window, w[4]).clerk_id = None
        s.get(Ticket, held[4]).status = "waiting"  # (frees clerk c04 to be elsewhere)
        s.get(Ticket, held[4]).window_id = None
        # 3: a second ticket in hand at window 3, behind the one it shows.
        extra = s.get(Ticket, ids[-1])
        extra.status, extra.window_id, extra.clerk_id = "serving", w[3], s.get(Window, w[3]).clerk_id
        # 4: a called ticket that names no window at all.
        lost = s.get(Ticket, ids[-2])
        lost.status, lost.window_id = "called", None

    db.run_write(break_it)
    with db.read() as s:
        reasons = {st.ticket_id: st.reason for st in find_stuck(s)}
    assert reasons == {held[1]: "no_clerk", held[2]: "other_clerk", ids[-1]: "window_busy", ids[-2]: "no_window"}

    events = db.run_write(lambda s: recover_stuck_tickets(s, now=clock.now()))
    assert sorted(e.payload["ticket"]["id"] for e in events if e.name == "ticket_requeued") == sorted(reasons)
    assert any(e.name == "queue_stats" for e in events)
    with db.read() as s:
        assert find_stuck(s) == []
        for tid in reasons:
            t = s.get(Ticket, tid)
            assert (t.status, t.window_id, t.clerk_id, t.called_at) == ("waiting", None, None, None)
            assert (t.number, t.queue_key, t.issued_at) == before[tid]   # the visitor keeps number and place
        # Window 3 still holds its own ticket; nothing else moved.
        assert s.get(Ticket, held[3]).status == "called"
        logged = {e.ticket_id: e.detail for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "ticket.recover"))}
        assert {k: v["reason"] for k, v in logged.items()} == reasons
        assert logged[held[1]]["number"] == before[held[1]][0]

    # The recovered tickets are the oldest waiting: the next call takes them first, in issue order.
    def call_at_3(s):
        win = s.get(Window, w[3])
        actor = Actor(kind="staff", id=win.clerk_id, role="clerk", hall_id=hall_id)
        calling.finish(s, s.get(Ticket, held[3]), outcome="completed", now=clock.now(), actor=actor)
        t, _ = calling.call_next(s, win, now=clock.now(), actor=actor)
        return t.id

    first_waiting = min(reasons, key=lambda tid: (before[tid][1], tid))
    assert db.run_write(call_at_3) == first_waiting


def test_the_duty_round_recovers_and_publishes(db, clock, vault):
    from hall_queue import create_app
    from hall_queue.entrypoints.duties import run_duty_round

    hall_id, _ids, held = _hall_with_calls(db, clock, vault, windows=2, tickets=4)
    app = create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "DATA_KEY": "test-data-key",
                      "TESTING": True})
    seen = []
    app.extensions["onevisit"].listeners.append(seen.append)
    with db.read() as s:
        win1 = s.scalar(select(Window).where(Window.hall_id == hall_id, Window.number == 1))

    def sign_out_by_hand(s):
        s.get(Window, win1.id).clerk_id = None

    db.run_write(sign_out_by_hand)
    run_duty_round(app)
    assert [e.payload["ticket"]["id"] for e in seen if e.name == "ticket_requeued"] == [held[1]]
    assert any(e.name == "ticket_requeued" and f"window:{win1.id}" in e.rooms() for e in seen)
    with db.read() as s:
        assert s.get(Ticket, held[1]).status == "waiting" and s.get(Ticket, held[2]).status == "called"
        assert s.get(Hall, hall_id) is not None


def test_a_stuck_ticket_at_a_window_locked_elsewhere_waits_for_the_next_round(db, clock, vault):
    """PostgreSQL: the recovery never waits on a window another transaction holds (a group of 下一位 holding several
    windows deadlocked with it): it leaves that ticket to the next round, then recovers it."""
    if db.writer.dialect.name == "sqlite":
        pytest.skip("SQLite has no row locks: BEGIN IMMEDIATE already runs the recovery alone")
    from hall_queue.queueing.claiming import window_rows

    hall_id, _ids, held = _hall_with_calls(db, clock, vault, windows=2, tickets=4)
    with db.read() as s:
        win1 = s.scalar(select(Window.id).where(Window.hall_id == hall_id, Window.number == 1))
    db.run_write(lambda s: setattr(s.get(Window, win1), "clerk_id", None))  # window 1's ticket is now stuck

    with db.write() as other:  # another transaction holds window 1 as a 下一位 does, until it commits
        assert [r.id for r in window_rows(other, win1)][0] == win1
        with db.write() as s:  # and never makes the recovery wait (the lock timeout would fail it)
            s.connection().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            assert recover_stuck_tickets(s, now=clock.now()) == []
            # A row naming the window (its foreign-key check takes KEY SHARE) is not blocked by the 下一位's lock.
            s.add(IdleInterval(hall_id=hall_id, window_id=win1, clerk_id=None, started_at=clock.now()))
            s.flush()
    events = db.run_write(lambda s: recover_stuck_tickets(s, now=clock.now()))
    assert [e.payload["ticket"]["id"] for e in events if e.name == "ticket_requeued"] == [held[1]]

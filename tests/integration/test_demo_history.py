"""The demo hall's 30 days of history (issue 21): deterministic, bulk-loaded, and what the statistics read."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from hall_queue.domain import calendar
from hall_queue.domain.models import Hall, Rating, Rectification, Ticket
from hall_queue.entrypoints.demo.history import HISTORY_DAYS, load_demo_history
from hall_queue.queueing.ticketing import IssueRequest, issue_ticket
from hall_queue.access.audit import SYSTEM


def _rows(db, hall_id):
    with db.read() as s:
        return s.execute(select(Ticket.number, Ticket.service_day, Ticket.status, Ticket.outcome, Ticket.issued_at,
                                Ticket.window_id).where(Ticket.hall_id == hall_id).order_by(Ticket.id)).all()


def test_thirty_working_days_load_fast_and_the_same_twice(db, hall_id, clock, tmp_path):
    started = time.perf_counter()
    made = db.run_write(lambda s: load_demo_history(s, s.get(Hall, hall_id), now=clock.now()))
    took = time.perf_counter() - started
    rows = _rows(db, hall_id)
    assert made == len(rows) > 2000, made
    print(f"history: {made} tickets in {took:.2f} s")
    with db.read() as s:
        hall = s.get(Hall, hall_id)
        today = calendar.service_day(hall, clock.now())
        days = {r.service_day for r in rows}
        assert all(d < today and d.weekday() < 5 for d in days)
        assert min(days) >= today - timedelta(days=HISTORY_DAYS) and len(days) >= 20
        assert {r.status for r in rows} == {"done", "no_show"} and "deferred" not in {r.outcome for r in rows}
        assert s.scalar(select(func.count()).select_from(Rating)) > 0
        assert s.scalar(select(func.min(Rating.score))) >= 3  # no bad rating, so no rectification is owed
        assert s.scalar(select(func.count()).select_from(Rectification)) == 0
    # Loading again adds nothing; the numbering of a past day continues after the history (demo cases issue there).
    assert db.run_write(lambda s: load_demo_history(s, s.get(Hall, hall_id), now=clock.now())) == 0
    past = clock.now() - timedelta(days=3)
    issued = db.run_write(lambda s: issue_ticket(s, s.get(Hall, hall_id), IssueRequest(item_ids=[1]), now=past,
                                                 vault=None, actor=SYSTEM)[0].number)
    assert issued not in {r.number for r in rows if r.service_day == calendar.service_day(
        db.run_write(lambda s: s.get(Hall, hall_id)), past)}


def test_the_same_now_gives_the_same_history(tmp_path, clock):
    from hall_queue.domain.models import Base
    from hall_queue.entrypoints.demo.loader import load_demo_hall
    from hall_queue.infrastructure.db import Database

    def build(name):
        db = Database(f"sqlite:///{tmp_path / name}")
        Base.metadata.create_all(db.writer)
        hid = db.run_write(lambda s: load_demo_hall(s, now=clock.now()).id)
        db.run_write(lambda s: load_demo_history(s, s.get(Hall, hid), now=clock.now()))
        rows = [tuple(r) for r in _rows(db, hid)]
        db.dispose()
        return rows

    assert build("a.db") == build("b.db")

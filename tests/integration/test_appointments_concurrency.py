"""Real threads on a real database: the last seat and a double booking each have exactly one winner.

SQLite (a file, ``BEGIN IMMEDIATE``) always; PostgreSQL too when reachable (``ONEVISIT_REQUIRE_SERVICES=1``
makes it required), in a temporary database.
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from hall_queue import appointments as A
from hall_queue.access.audit import SYSTEM
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.domain.errors import DomainError
from hall_queue.domain.models import (
    Appointment,
    AppointmentClaim,
    AppointmentSlot,
    Hall,
    ServiceItem,
)
from tests.conftest import MONDAY_10AM, engines

THREADS = 8


def _hall(db, **settings) -> tuple[int, int]:
    def build(s):
        hall = load_simple_hall(s, code="appt", now=MONDAY_10AM, windows=1)
        A.update_settings(s, hall, settings, now=MONDAY_10AM, actor=SYSTEM)
        item = s.scalar(select(ServiceItem.id).where(ServiceItem.hall_id == hall.id))
        return hall.id, item
    return db.run_write(build)


def _race(db, hall_id: int, requests: list[A.BookingRequest], vault) -> Counter:
    barrier = threading.Barrier(len(requests))
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def worker(req: A.BookingRequest) -> None:
        barrier.wait()
        try:
            db.run_write(lambda s: A.book(s, s.get(Hall, hall_id), req, now=MONDAY_10AM, vault=vault, notifier=None))
            result = "booked"
        except DomainError as e:
            result = e.code
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=worker, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _req(item: int, slot: datetime, n: int, id_number: str | None = None) -> A.BookingRequest:
    return A.BookingRequest(slot=slot, name=f"访客{n}", id_number=id_number or f"1101011990030{n:04d}1",
                            phone=f"1380013{n:04d}", item_id=item)


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_two_or_more_bookings_of_the_last_seat_exactly_one_wins(db, vault):
    hall_id, item = _hall(db, default_capacity=1, booking_share_pct=100)
    slot = datetime(2026, 3, 3, 10, 0)
    outcomes = _race(db, hall_id, [_req(item, slot, n) for n in range(THREADS)], vault)
    assert outcomes == Counter({"booked": 1, "slot_full": THREADS - 1})
    with db.read() as s:
        assert s.scalar(select(func.count(Appointment.id))) == 1
        assert s.scalar(select(AppointmentSlot.booked)) == 1


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_the_same_person_booking_twice_at_once_gets_one_booking(db, vault):
    # 000 §8.2.3 under concurrency: different slots, same ID number and item.
    hall_id, item = _hall(db, default_capacity=10, booking_share_pct=100)
    first = datetime(2026, 3, 3, 9, 0)
    reqs = [_req(item, first + timedelta(minutes=30 * n), n, id_number="110101199003071234") for n in range(THREADS)]
    outcomes = _race(db, hall_id, reqs, vault)
    assert outcomes == Counter({"booked": 1, "already_booked": THREADS - 1})
    with db.read() as s:
        assert s.scalar(select(func.count(Appointment.id))) == 1
        assert s.scalar(select(func.count()).select_from(AppointmentClaim)) == 1
        assert s.scalar(select(func.sum(AppointmentSlot.booked))) == 1       # the losers' seats rolled back


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_walk_ins_and_bookings_share_the_current_slots_seats(db, vault):
    """号源 (004 §8.2): walk-ins issued at the kiosk are counted on the current slot, so concurrent
    online bookings of that slot never take a seat a walk-in already holds."""
    from hall_queue.access.audit import SYSTEM as actor
    from hall_queue.domain.models import WalkInSeat
    from hall_queue.queueing.ticketing import IssueRequest

    capacity = 4
    hall_id, item = _hall(db, default_capacity=capacity, booking_share_pct=100, book_close_minutes=-30)
    slot = datetime(2026, 3, 2, 10, 0)  # the slot running at MONDAY_10AM (10:00 local)
    walk_ins, bookings = 4, 4
    barrier = threading.Barrier(walk_ins + bookings)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def issue(n: int) -> None:
        barrier.wait()
        db.run_write(lambda s: A.issue_walk_in(s, s.get(Hall, hall_id), IssueRequest(item_ids=[item]),
                                               now=MONDAY_10AM, vault=vault, actor=actor))
        with lock:
            outcomes["issued"] += 1

    def book(n: int) -> None:
        barrier.wait()
        try:
            db.run_write(lambda s: A.book(s, s.get(Hall, hall_id), _req(item, slot, n), now=MONDAY_10AM,
                                          vault=vault, notifier=None))
            result = "booked"
        except DomainError as e:
            result = e.code
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=issue, args=(n,)) for n in range(walk_ins)] + \
              [threading.Thread(target=book, args=(n,)) for n in range(bookings)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes["issued"] == walk_ins  # a walk-in is never refused
    with db.read() as s:
        row = s.scalars(select(AppointmentSlot)).one()
        within = s.scalar(select(func.count()).select_from(WalkInSeat).where(WalkInSeat.within_share.is_(True)))
        assert row.walk_ins == walk_ins  # every walk-in was counted on its slot
        assert row.booked == outcomes["booked"] == s.scalar(select(func.count(Appointment.id)))
        assert row.booked + within <= capacity
        assert outcomes["booked"] + outcomes["slot_full"] == bookings

"""Service levels (issue 17): breaches raised and cleared at the right moments on a manual clock.

Targets in the test hall: wait 10 min, service 10 min, idle-while-waiting 2 min, queue length 3.
A figure is green below 80 % of its target, amber up to it, red past it; red raises the alert.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hall_queue.domain.models import Alert, Hall, IdleInterval, Queue
from hall_queue.floor import service_level_stats, service_levels
from hall_queue.domain import calendar as halls


@pytest.fixture
def levels(db, small_hall):
    def setup(s):
        hall = s.get(Hall, small_hall.id)
        hall.sl_max_wait_s, hall.sl_max_service_s, hall.sl_max_idle_s, hall.sl_max_queue_len = 600, 600, 120, 3
        hall.wait_alert_s = 0  # the older long-wait alert stays out of the way
    db.run_write(setup)
    return small_hall


def _check(db, clock, hall_id):
    """Run the duty once; return the kinds raised and cleared."""
    events = db.run_write(lambda s: service_levels.check_service_levels(s, s.get(Hall, hall_id), now=clock.now()))
    raised = sorted(e.payload["kind"] for e in events if e.name == "alert")
    cleared = sorted(e.payload["kind"] for e in events if e.name == "alert_cleared")
    return raised, cleared


def _open(db, hall_id):
    with db.read() as s:
        return sorted(a.kind for a in s.scalars(select(Alert).where(Alert.hall_id == hall_id,
                                                                    Alert.cleared_at.is_(None))))


def _view(db, clock, hall_id):
    with db.read() as s:
        return service_levels.evaluate(s, s.get(Hall, hall_id), now=clock.now())


def test_wait_and_length_breaches_raise_and_clear(db, clock, levels, kiosk, clerks):
    t0 = clock.now()
    for _ in range(4):
        kiosk.take()  # A001..A004 issued at t0, t0+1, t0+2, t0+3
    assert _check(db, clock, levels.id) == (["sl_queue_len"], [])  # 4 waiting > 3
    assert _check(db, clock, levels.id) == ([], [])  # raised once, not every round

    clock.set(t0 + timedelta(seconds=479))  # 79.8 % of the wait target: still green
    q = _view(db, clock, levels.id)["queues"][0]
    assert (q["wait_state"], q["length_state"], q["state"]) == ("green", "red", "red")
    clock.set(t0 + timedelta(seconds=600))  # exactly at the target: amber, no alert
    assert _view(db, clock, levels.id)["queues"][0]["wait_state"] == "amber"
    assert _check(db, clock, levels.id) == ([], [])
    clock.set(t0 + timedelta(seconds=601))
    assert _check(db, clock, levels.id) == (["sl_wait"], [])
    assert _open(db, levels.id) == ["sl_queue_len", "sl_wait"]

    clerks.sign_in(1, 1)
    assert clerks.call(1, 1) == "A001"  # A002 waited 600 s: back within the target; 3 waiting
    assert _check(db, clock, levels.id) == ([], ["sl_queue_len", "sl_wait"])
    assert _open(db, levels.id) == []


def test_service_and_idle_breaches_raise_and_clear(db, clock, levels, kiosk, clerks):
    clerks.sign_in(1, 1)
    kiosk.take()
    kiosk.take()
    t_call = clock.now()
    assert clerks.call(1, 1) == "A001"
    assert _check(db, clock, levels.id) == ([], [])
    clock.set(t_call + timedelta(seconds=600))
    w = _view(db, clock, levels.id)["windows"][0]
    assert (w["service_s"], w["service_state"]) == (600, "amber")
    clock.set(t_call + timedelta(seconds=601))
    raised, _ = _check(db, clock, levels.id)
    assert "sl_service" in raised
    clerks.finish_in_hand(1, 1)  # A002 is waiting, the window now stands idle
    t_free = clock.now()
    raised, cleared = _check(db, clock, levels.id)
    assert "sl_service" in cleared and "sl_idle" not in raised
    clock.set(t_free + timedelta(seconds=120))
    assert _check(db, clock, levels.id)[0] == []
    assert _view(db, clock, levels.id)["windows"][0]["idle_state"] == "amber"
    clock.set(t_free + timedelta(seconds=121))
    assert _check(db, clock, levels.id)[0] == ["sl_idle"]
    alert_msg = [a for a in _alerts(db, levels.id) if a.kind == "sl_idle"][0].message
    assert "1号窗口" in alert_msg and "空闲" in alert_msg
    clock.set(t_free + timedelta(seconds=150))
    assert clerks.call(1, 1) == "A002"
    raised, cleared = _check(db, clock, levels.id)
    assert "sl_idle" in cleared

    with db.read() as s:
        (interval,) = s.scalars(select(IdleInterval).where(IdleInterval.hall_id == levels.id)).all()
        assert (interval.started_at, interval.ended_at) == (t_free, t_free + timedelta(seconds=150))
        hall = s.get(Hall, levels.id)
        day = halls.service_day(hall, t_free)
        stats = service_level_stats.compute(s, hall, day, day, now=clock.now())
    (idle,) = stats["idle"]
    assert (idle["window_number"], idle["idle_waiting_minutes"]) == (1, 2.5)
    assert idle["clerk"].endswith("*01") or "办" in idle["clerk"]
    (cell,) = [c for c in stats["queues"] if c["called"]]
    # A001 waited ~1 s, A002 waited 752 s > 600: half within the wait target; A001's 601-s service is over.
    assert (cell["called"], cell["called_within"], cell["within_wait_share"]) == (2, 1, 0.5)
    assert (cell["services"], cell["over_target"]) == (1, 1)


def test_queue_override_and_unwatched_targets(db, clock, levels, kiosk):
    def override(s):
        s.scalar(select(Queue).where(Queue.hall_id == levels.id)).sl_max_queue_len = 0  # not watched for A
    db.run_write(override)
    for _ in range(5):
        kiosk.take()
    q = _view(db, clock, levels.id)["queues"][0]
    assert (q["max_queue_len"], q["length_state"]) == (0, "green")
    assert _check(db, clock, levels.id) == ([], [])


def _alerts(db, hall_id):
    with db.read() as s:
        rows = s.scalars(select(Alert).where(Alert.hall_id == hall_id)).all()
        for a in rows:
            s.expunge(a)
        return rows


def test_the_wait_target_defaults_to_the_long_wait_threshold_without_a_second_alert(db, clock, small_hall, kiosk):
    def setup(s):
        hall = s.get(Hall, small_hall.id)
        hall.sl_max_wait_s, hall.wait_alert_s = 0, 900  # 0 = the same as the long-wait alert
    db.run_write(setup)
    t0 = clock.now()
    kiosk.take()
    clock.set(t0 + timedelta(seconds=901))
    q = _view(db, clock, small_hall.id)["queues"][0]
    assert (q["max_wait_s"], q["wait_state"]) == (900, "red")
    raised, _ = _check(db, clock, small_hall.id)
    assert "sl_wait" not in raised  # long_waits.py raises its long_wait alert for this one

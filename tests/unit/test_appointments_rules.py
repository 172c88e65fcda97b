"""Appointment rules that need no database: blocking, capacity precedence, shares, check-in windows."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from hall_queue.appointments import (
    Matter,
    Slot,
    block_until,
    booking_capacity,
    checkin_window,
    settings_for,
    slot_capacity,
)
from hall_queue.domain.models import Appointment, AppointmentSettings, Hall, ServiceItem

T0 = datetime(2026, 3, 2, 2, 0)  # Monday 10:00 in Shanghai


def _settings(**kw) -> AppointmentSettings:
    st = settings_for(_NoSession(), Hall(id=1))
    for k, v in kw.items():
        setattr(st, k, v)
    return st


class _NoSession:
    """Stands in for a session in which the hall never saved settings."""

    def get(self, model, ident):
        return None


def test_defaults_are_the_documented_ones():
    st = _settings()
    assert (st.slot_minutes, st.default_capacity, st.booking_share_pct) == (30, 4, 50)
    assert (st.checkin_early_minutes, st.checkin_grace_minutes) == (30, 15)
    assert st.reminder_minutes == [1440, 60]
    assert (st.no_show_limit, st.no_show_window_days, st.no_show_block_days) == (3, 30, 30)


def test_n_no_shows_within_the_window_block_for_the_period():
    days = [T0 + timedelta(days=d) for d in (0, 10, 20)]
    until = block_until(days, limit=3, window_days=30, block_days=30)
    assert until == days[-1] + timedelta(days=30)


def test_no_shows_spread_wider_than_the_window_do_not_block():
    days = [T0 + timedelta(days=d) for d in (0, 20, 40)]          # never 3 within 30 days
    assert block_until(days, limit=3, window_days=30, block_days=30) is None
    assert block_until(days, limit=2, window_days=30, block_days=7) == days[-1] + timedelta(days=7)


def test_limit_zero_turns_blocking_off():
    days = [T0 + timedelta(hours=h) for h in range(10)]
    assert block_until(days, limit=0, window_days=30, block_days=30) is None
    assert block_until(days, limit=1, window_days=30, block_days=0) is None


def _slot(day: date, hhmm: str) -> Slot:
    h, m = map(int, hhmm.split(":"))
    start = datetime(day.year, day.month, day.day, h, m)
    return Slot(day, start, start + timedelta(minutes=30), start - timedelta(hours=8),
                start - timedelta(hours=7, minutes=30))


def test_most_specific_capacity_rule_wins():
    # 000 §8.2.2 最大预约数: date+time > date > weekday+time > weekday > every day+time > every day > default.
    tue = date(2026, 3, 3)
    rules = {("*", "*"): 5}
    assert slot_capacity(rules, _slot(tue, "10:00"), 9) == 5
    rules[("*", "10:00")] = 6
    assert slot_capacity(rules, _slot(tue, "10:00"), 9) == 6
    assert slot_capacity(rules, _slot(tue, "10:30"), 9) == 5
    rules[("tue", "*")] = 7
    assert slot_capacity(rules, _slot(tue, "10:00"), 9) == 7
    rules[("tue", "10:00")] = 8
    assert slot_capacity(rules, _slot(tue, "10:00"), 9) == 8
    rules[("2026-03-03", "*")] = 2
    assert slot_capacity(rules, _slot(tue, "10:00"), 9) == 2
    rules[("2026-03-03", "10:00")] = 0
    assert slot_capacity(rules, _slot(tue, "10:00"), 9) == 0
    assert slot_capacity(rules, _slot(date(2026, 3, 10), "10:00"), 9) == 8   # next Tuesday: weekday rule
    assert slot_capacity({}, _slot(tue, "10:00"), 9) == 9


def test_booking_share_keeps_seats_for_walk_ins_unless_the_item_is_appointment_only():
    st = _settings(booking_share_pct=50)
    plain = Matter("i1", ServiceItem(id=1, appointment_only_slots=False), None)
    only = Matter("i2", ServiceItem(id=2, appointment_only_slots=True), None)
    assert booking_capacity(5, st, plain) == 2       # rounded down: walk-ins keep 3 (004 §8.2)
    assert booking_capacity(5, st, only) == 5
    assert booking_capacity(5, _settings(booking_share_pct=0), plain) == 0


def _appt(start: datetime, status: str = "booked") -> Appointment:
    return Appointment(slot_start=start, slot_end=start + timedelta(minutes=30), status=status, ticket_id=None)


def test_checkin_window_boundaries():
    st = _settings(checkin_early_minutes=30, checkin_grace_minutes=15)
    start = T0 + timedelta(hours=1)
    a = _appt(start)
    s = timedelta(seconds=1)
    assert checkin_window(st, a, start - timedelta(minutes=30) - s).state == "too_early"
    assert checkin_window(st, a, start - timedelta(minutes=30)).state == "on_time"
    assert checkin_window(st, a, start + timedelta(minutes=15) - s).state == "on_time"
    assert checkin_window(st, a, start + timedelta(minutes=15)).state == "late"
    assert checkin_window(st, a, start + timedelta(minutes=30) - s).state == "late"
    assert checkin_window(st, a, start + timedelta(minutes=30)).state == "missed"
    assert checkin_window(st, _appt(start, "cancelled"), start).state == "ended"


def test_grace_never_outlasts_the_slot():
    st = _settings(checkin_grace_minutes=45)
    start = T0 + timedelta(hours=1)
    w = checkin_window(st, _appt(start), start + timedelta(minutes=30))
    assert w.state == "missed" and w.grace_ends == start + timedelta(minutes=30)

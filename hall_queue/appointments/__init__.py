"""Appointments (预约): slots, shared capacity, booking, cancelling, reminders, check-in and no-shows.

Modules: ``settings`` (settings, errors, events, matters), ``slots``, ``capacity``, ``holidays``,
``walk_in_seats`` (号源 shared by bookings and walk-ins), ``no_shows``, ``booking``, ``checkin``, ``sweep``,
``views``, ``reports``. This package re-exports what entrypoints call.

Rules and where they come from:

* 000 §8.2.1 / 002 §7.2.1 — book online: choose an item (or a bundle, 一件事), a date and a time
  slot; a successful booking gets a confirmation code and a success prompt.
* 000 §8.2.2 / 002 §7.2.2 — managers set the maximum bookings (最大预约数) per matter and slot,
  for every day, a weekday or one date, all slots or one; slots come from the hall's opening hours
  minus holidays, plus make-up working days (调休), cut to a configurable length.
* 004 §8.2 — offline service never requires a booking: each slot's seats (号源) are shared; only
  ``booking_share_pct`` of them may be booked online, the rest (and every seat left unbooked when
  the slot starts) stays for walk-ins, which are counted on the same slot row but never refused.
* 000 §8.2.3 — one active booking per ID number per item, until it is served or cancelled:
  ``AppointmentClaim`` rows, one per (hall, item, person), keyed by primary key, so two
  simultaneous requests cannot both win; a bundle claims each of its items.
* 000 §8.2.5 — cancel before or during the slot with the confirmation code and the ID number;
  the seat goes back to the slot.
* 000 §8.2.4 / 002 §7.2.2 (到期提醒) — reminders before the slot through the notifier, each
  exactly once (the notifier's ``dedup_key``).
* Check-in at the kiosk (ID card or code) from ``checkin_early_minutes`` before the slot until
  ``checkin_grace_minutes`` after its start gives an appointment-priority ticket; later, an
  ordinary ticket, said plainly. A booking not checked in by the end of its slot is a no-show;
  ``no_show_limit`` no-shows within ``no_show_window_days`` block online booking for
  ``no_show_block_days`` (002 §7.2.2 预约次数; 0 turns it off).

Services take a session and ``now`` (naive UTC) and return domain events; the caller commits.
"""
from __future__ import annotations

from hall_queue.appointments.settings import Matter, resolve_matter, settings_for, settings_view, update_settings
from hall_queue.appointments.slots import Slot, day_plan, find_slot, local_today, slots_of_day
from hall_queue.appointments.capacity import (
    WEEKDAYS,
    bookable_days,
    booking_capacity,
    capacity_rules,
    day_calendar,
    set_capacity,
    slot_capacity,
)
from hall_queue.appointments.holidays import add_holiday, holiday_view, holidays_of, remove_holiday
from hall_queue.appointments.walk_in_seats import consume_walk_in, issue_walk_in, walk_in_allowed
from hall_queue.appointments.no_shows import block_until
from hall_queue.appointments.views import appointment_view
from hall_queue.appointments.booking import BookingRequest, book, cancel, cancel_by_staff, find_by_code, person_errors
from hall_queue.appointments.checkin import check_in, checkin_window, todays_bookings
from hall_queue.appointments.reports import bookable_matters, day_bookings, day_summary, no_show_report

__all__ = ["Matter", "resolve_matter", "settings_for", "settings_view", "update_settings", "Slot", "day_plan", "find_slot", "local_today", "slots_of_day", "WEEKDAYS", "bookable_days", "booking_capacity", "capacity_rules", "day_calendar", "set_capacity", "slot_capacity", "add_holiday", "holiday_view", "holidays_of", "remove_holiday", "consume_walk_in", "issue_walk_in", "walk_in_allowed", "block_until", "appointment_view", "BookingRequest", "book", "cancel", "cancel_by_staff", "find_by_code", "person_errors", "check_in", "checkin_window", "todays_bookings", "bookable_matters", "day_bookings", "day_summary", "no_show_report"]

"""Queueing: taking a ticket, routing it, numbering, estimates, calling and the clerk's actions, A/B posts.

Clauses: 001 §5 (general windows accept everything, on-the-spot windows kept), 001 §6.3–§6.4 and
000 §6.11 (calling order, green channel), 000 §6.5 and 002 §6.9 (A/B posts: cover a post, no post left
empty), 000 §9.3 (finishing with 一次性告知 / 容缺受理), 000 §8.3 (near-turn reminders),
004 §7.3 (kiosk device health), 003 §9.2 (self-service terminals: scanned pages).

Modules: ``ticketing`` (issue, numbering), ``routing``, ``estimates``, ``calling`` (call_next and the
ticket in hand), ``posts`` (sign-in, pause, A/B cover), ``green_channel``, ``near_turn``,
``attachments``, ``device_health``, ``long_waits``, ``recovery``, ``window_desk``, ``presenters``,
``wait_range`` (the wait told to a visitor, as a range; issue 17), ``guards`` (tickets per ID per item a day).
"""

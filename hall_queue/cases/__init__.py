"""Cases (办件): one matter from the clerk's acceptance to the handover of its result — the one-visit loop.

Clauses this context implements:

* 000 §9.3.2 / 002 §8.2.2 — accept on the spot and issue the receipt (受理通知书/受理单): item, acceptance
  number (受理号), applicant and phone, time, promised completion date, intermediary service;
  000 §9.3.4 / 002 §8.2.6 — special procedures and their time noted on it.
* 000 §9.3.3 / 002 §6.3 / 002 §8.2.3 — one-time written notice (一次性告知书) of everything to correct;
  a refusal (不予受理) states reason and basis in a 不予受理决定书; 002 §8.5.5 — the right to
  administrative review or suit and its time limits; 000 §6.7 — refusals recorded.
* 000 §6.12 / §9.3.6 / 002 §6.5 — 容缺受理: accept first, a pledge (容缺受理承诺书) listing the owed
  materials, their deadline and the overdue rule; decide only once they are supplied.
* 000 §6.6 / 002 §6.6 — 限时办结: 即办件 done the same day, 承诺件 within the item's promised working
  days on the hall calendar; supplements, special procedures and suspensions stop the clock.
* 000 §9.4 / 002 §8.3 / 001 §7.1–§7.2 — 按责转办: dispatch to the responsible department; 003 §8.2 —
  一次分办 (a bundle's items all at once); 003 §5.2 — one lead department per bundle.
* 003 §8.3.3 / §8.3.4 — a blocking refusal stops the whole 一件事 (materials returned, explained); a
  non-blocking one lets the other items go on.
* 000 §9.5.4 / 002 §8.5 — the decision; 000 §9.7 / 001 §7.3 / 003 §8.4 / 002 §8.7 — 统一出件: pickup
  signed for at the handover window, or courier with company and tracking number.
* 000 §8.5 / 002 §7.5 — progress look-up with an unguessable code; 004 §8.4 — every transition audited.
* 000 §12.3.4 / 002 §11.3.4 — the indicators (当场受理率, 按时办结率, 即办件比率, …) in ``indicators``.

Modules: ``numbering`` (受理号), ``clock`` (working-day due dates and stops), ``records`` (case events,
webhook outbox rows), ``intake`` (cases opened by the clerk's finish, same transaction), ``lifecycle``
(the explicit transitions), ``documents`` (numbered papers) and ``pdf`` (A4 rendering), ``progress``
(look-up), ``duties`` (due-soon / overdue alerts, 容缺 reminders), ``webhooks`` (outbox delivery),
``views``, ``indicators``.
"""

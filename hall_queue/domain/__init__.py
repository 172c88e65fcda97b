"""The hall's domain core: models, the vocabulary, events, errors, the clock and the working-day calendar.

Knows nothing of Flask, Socket.IO, devices or the database engine. Modules:

* ``models`` — SQLAlchemy 2 typed models; every row belongs to a ``Hall``.
* ``vocabulary`` — every enum, pattern and numeric rule, once (window kinds 004 §7; outcomes 000 §9.3,
  §9.3.6; green-channel reasons 000 §6.11; bad ratings and the 15-working-day rectification term 003 §10.4).
* ``events`` — domain events in the past tense, published after commit.
* ``errors`` — typed domain errors the API turns into 4xx.
* ``clock`` — time as an input.
* ``calendar`` — service days, opening hours, public holidays and make-up working days, and every
  working-day deadline (000 §8.2.2; 002 §7.2.2).
"""

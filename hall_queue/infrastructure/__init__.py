"""Infrastructure: the database engines and sessions, caches, migrations, the SMS outbox, Socket.IO.

Nothing here knows a rule of the hall. Modules: ``db``, ``cache``, ``hall_store`` (cached reads of hall
settings and calendar rows), ``migrate`` + ``migrations/``, ``sms`` (outbox and gateway), ``realtime``
(the Socket.IO hub), ``runtime`` (database, vault, clock, notifier, publisher of one app).
"""

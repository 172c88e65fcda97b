"""``Prebuilt``'s conversions of bound values (issue 19): the same text as SQLAlchemy's own, where it takes a faster way."""
from __future__ import annotations

from datetime import datetime


def test_sqlite_times_are_written_as_sqlalchemy_writes_them():
    """``Prebuilt`` writes SQLite's stored times by ``isoformat``: the same text as SQLAlchemy's own format."""
    from datetime import date, timezone

    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    from hall_queue.infrastructure.db import _bind_processor

    dialect = sqlite.dialect()
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    ours = _bind_processor(DateTime(), dialect)
    assert ours is not theirs
    times = [datetime(1, 1, 1), datetime(2026, 12, 7, 1, 2, 3), datetime(2026, 12, 7, 1, 2, 3, 45),
             datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(2026, 2, 28, 0, 0, 0, 100000),
             datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc), date(2026, 12, 7), None]
    assert [ours(t) for t in times] == [theirs(t) for t in times]

"""``Prebuilt.later``: a write whose result nobody reads, sent with the transaction's next step (issue 19).

On PostgreSQL it waits on the connection and goes out with the next statement (ORM, Core or prebuilt), a savepoint
or the commit, in one round trip (psycopg's pipeline mode); on SQLite it runs at once. Either way: the next
statement of the transaction sees it, the commit keeps it, a rollback drops it (nothing of it reaches the next
transaction on the pooled connection), and its failure fails the transaction."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from hall_queue.domain.models import AppointmentSlot
from hall_queue.infrastructure.db import _LATER, Prebuilt, core
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)

_SLOTS = AppointmentSlot.__table__
_ADD = Prebuilt(insert(_SLOTS), keys=("hall_id", "matter", "slot_start", "booked", "walk_ins"))
_COUNT = Prebuilt(select(func.count()).select_from(_SLOTS).where(_SLOTS.c.slot_start == select(
    func.max(_SLOTS.c.slot_start)).scalar_subquery()))
START = datetime(2026, 3, 2, 2, 0)


def _row(hall_id: int, matter: str) -> dict:
    return {"hall_id": hall_id, "matter": matter, "slot_start": START, "booked": 0, "walk_ins": 0}


def _matters(db) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(_SLOTS.c.matter).where(_SLOTS.c.slot_start == START).order_by(_SLOTS.c.matter)))


def test_the_next_statement_sees_a_later_write_and_the_commit_keeps_it(db, hall_id):
    def write(s):
        conn = core(s)
        _ADD.later(conn, _row(hall_id, "a"))
        _ADD.later_many(conn, [_row(hall_id, "b"), _row(hall_id, "c")])
        if db.is_sqlite:
            assert not conn.info.get(_LATER)  # SQLite: run at once
        else:
            assert len(conn.info[_LATER]) == 3  # PostgreSQL: waiting for the next statement
        seen_by_prebuilt = _COUNT.scalar(conn)
        _ADD.later(conn, _row(hall_id, "d"))
        seen_by_orm = s.scalar(select(func.count()).select_from(_SLOTS).where(_SLOTS.c.slot_start == START))
        _ADD.later(conn, _row(hall_id, "e"))  # nothing after it: goes out with the commit
        return seen_by_prebuilt, seen_by_orm
    assert db.run_write(write) == (3, 4)
    assert _matters(db) == ["a", "b", "c", "d", "e"]


def test_a_rollback_drops_later_writes_and_the_pooled_connection_carries_nothing(db, hall_id):
    def write(s):
        _ADD.later(core(s), _row(hall_id, "x"))
        raise RuntimeError("refused")
    with pytest.raises(RuntimeError):
        db.run_write(write)
    # The next transactions (on the same pooled connection) neither send it nor see it.
    db.run_write(lambda s: _ADD.later(core(s), _row(hall_id, "y")))
    assert _matters(db) == ["y"]


def test_a_connection_lost_mid_transaction_is_rolled_back_without_a_new_error(db, hall_id):
    # The database cut off under a transaction: the connection is invalidated; its rollback (a read's close, a
    # write's failure) must leave the real error standing, not raise PendingRollbackError over it (a 500, not 503).
    with db.writer.connect() as conn:
        conn.execute(select(func.count()).select_from(_SLOTS))  # a transaction begun (autobegin)
        conn.invalidate()
        conn.rollback()
        assert conn.invalidated
    db.run_write(lambda s: _ADD.later(core(s), _row(hall_id, "next")))
    assert _matters(db) == ["next"]


def test_a_failing_later_write_fails_its_transaction(db, hall_id):
    def write(s):
        conn = core(s)
        _ADD.later(conn, _row(hall_id, "z"))
        _ADD.later(conn, _row(hall_id, "z"))  # the same slot twice: the unique constraint refuses it
    with pytest.raises(IntegrityError):
        db.run_write(write)
    assert _matters(db) == []

    def in_savepoint(s):
        conn = core(s)
        _ADD.later(conn, _row(hall_id, "kept"))
        with pytest.raises(IntegrityError):
            with s.begin_nested():  # inside a savepoint it runs at once: the failure is the savepoint's alone
                _ADD.later(core(s), _row(hall_id, "kept"))
    db.run_write(in_savepoint)
    assert _matters(db) == ["kept"]


def test_a_read_sent_ahead_goes_with_the_next_statement_and_sees_what_was_written_before_it(db, hall_id):
    def write(s):
        conn = core(s)
        _ADD.later(conn, _row(hall_id, "a"))
        ahead = _COUNT.ahead(conn)  # after "a", before "b"
        _ADD.later(conn, _row(hall_id, "b"))
        if not db.is_sqlite:
            assert len(conn.info[_LATER]) == 3  # all three still waiting on the connection
        now = _COUNT.scalar(conn)  # sends them, then itself: one round trip on PostgreSQL
        assert not conn.info.get(_LATER)
        return ahead.rows()[0][0], ahead.rows()[0][0], now
    assert db.run_write(write) == (1, 1, 2)
    # Asked before anything else was sent, it sends itself (and what waits before it).
    assert db.run_write(lambda s: _COUNT.ahead(core(s)).rows()[0][0]) == 2

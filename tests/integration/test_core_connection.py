"""``db.core``: the connection kept for a transaction's prebuilt statements honours savepoints.

Inside ``session.begin_nested()`` the SAVEPOINT is only emitted when the session is asked for its connection;
a connection kept from the outer transaction, handed out there, wrote past the savepoint (a walk-in's slot row
racing another's creation then aborted the whole PostgreSQL transaction: seen in CI)."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from hall_queue.domain.models import AppointmentSlot
from hall_queue.infrastructure.db import core
from tests.conftest import engines

_SLOTS = AppointmentSlot.__table__


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_a_savepoint_after_core_rolls_back_alone(db, hall_id):
    start = datetime(2026, 3, 2, 2, 0)

    def write(s):
        conn = core(s)  # kept for this transaction
        conn.execute(insert(_SLOTS).values(hall_id=hall_id, matter="i1", slot_start=start, booked=0, walk_ins=0))
        with pytest.raises(IntegrityError):
            with s.begin_nested():  # the same slot again: refused, and only the savepoint is undone
                core(s).execute(insert(_SLOTS).values(hall_id=hall_id, matter="i1", slot_start=start,
                                                      booked=0, walk_ins=0))
        with pytest.raises(RuntimeError):
            with s.begin_nested():
                core(s).execute(insert(_SLOTS).values(hall_id=hall_id, matter="i2", slot_start=start,
                                                      booked=0, walk_ins=0))
                raise RuntimeError("undo the savepoint")
        # The outer transaction goes on (PostgreSQL would refuse every statement after an error outside a savepoint)
        return core(s).execute(select(_SLOTS.c.matter).where(_SLOTS.c.slot_start == start)
                               .order_by(_SLOTS.c.matter)).scalars().all()

    assert db.run_write(write) == ["i1"]  # i2 was undone with its savepoint
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(_SLOTS).where(_SLOTS.c.slot_start == start)) == 1


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_a_core_read_runs_core_statements_shares_the_caches_and_refuses_orm_objects(db, hall_id):
    """``Database.read_core``: the hot paths' reads after commit without an ORM session (issue 19)."""
    from hall_queue.domain.models import Hall, Ticket
    from hall_queue.infrastructure import hall_store
    from hall_queue.infrastructure.db import CoreReader

    with db.read() as s:
        settings = hall_store.hall_settings(s, hall_id)  # cached by a read session
        name = s.get(Hall, hall_id).name
    with db.read_core() as reader:
        assert isinstance(reader, CoreReader) and core(reader) is reader.connection
        assert reader.connection.in_transaction()
        assert hall_store.hall_settings(reader, hall_id) is settings  # the same per-process cache entry
        assert reader.scalar(select(Hall.name).where(Hall.id == hall_id)) == name
        assert reader.scalars(select(Ticket.id).where(Ticket.hall_id == -1)).all() == []
        with pytest.raises(TypeError, match="Session"):
            reader.execute(select(Hall).where(Hall.id == hall_id))  # rows, not objects: refused
    assert not reader.connection.in_transaction()  # ended (COMMIT) and returned to the pool

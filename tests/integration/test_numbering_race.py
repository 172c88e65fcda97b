"""The first ticket of a day on PostgreSQL: two kiosks racing to create the queue's counter row.

Under READ COMMITTED, kiosk B's ``UPDATE`` of the counter can find no row (kiosk A's insert is not
committed yet) and its next ``SELECT`` can find it (A committed in between). B must then take the next
number, not report the queue full (the SIGKILL drill once saw "daily cap of None reached"). The
interleaving is forced on a real PostgreSQL database: A commits from a hook on B's connection, just
before B's ``SELECT`` runs.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from hall_queue.domain import calendar as halls
from hall_queue.domain.clock import SystemClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.domain.models import Queue
from hall_queue.queueing.routing import QueueRef
from hall_queue.queueing.ticketing import _bump_counter
from tests.conftest import REQUIRE_SERVICES, drop_postgres_database, new_postgres_database, postgres_available

pytestmark = pytest.mark.skipif(not REQUIRE_SERVICES and not postgres_available(),
                                reason="needs the PostgreSQL of this machine (127.0.0.1:5432)")


def test_counter_row_created_between_update_and_select_gives_the_next_number():
    url = new_postgres_database()
    db = Database(url)
    try:
        now = SystemClock().now()

        def build(s):
            hall = load_simple_hall(s, code="race", now=now, windows=1)
            q = s.scalar(select(Queue).where(Queue.hall_id == hall.id))
            return hall.id, QueueRef(q.id, q.prefix, q.name, None), halls.service_day(hall, now)

        hall_id, queue, day = db.run_write(build)
        with db.write() as a, db.write() as b:
            assert _bump_counter(a, hall_id, queue, day, 1000.0) == (1, 1000.0)   # A creates the row, uncommitted
            b_conn = b.connection()

            @event.listens_for(b_conn, "before_cursor_execute")
            def commit_a_first(_conn, _cursor, statement, *_args):  # noqa: ANN001
                if statement.lstrip().upper().startswith("SELECT") and a.in_transaction():
                    a.commit()

            seq, key = _bump_counter(b, hall_id, queue, day, 1000.0)
            b.commit()
        assert seq == 2 and key == pytest.approx(1000.001)
    finally:
        db.dispose()
        drop_postgres_database(url)

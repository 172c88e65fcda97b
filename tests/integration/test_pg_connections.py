"""PostgreSQL connections: a read keeps the connection's prepared statements; a link that died while idle is found
at checkout, not by the request (issue 19)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from hall_queue.domain.models import Ticket
from hall_queue.infrastructure import db as db_module
from tests.conftest import drop_postgres_database, new_postgres_database, require_postgres


@pytest.fixture
def pg():
    require_postgres()
    url = new_postgres_database()
    database = db_module.Database(url)
    yield database
    database.dispose()
    drop_postgres_database(url)


def _prepared(database) -> int:
    with database.write() as s:
        n = s.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
        s.commit()  # a ROLLBACK here would itself clear them
        return n


def test_a_read_between_writes_keeps_the_servers_prepared_statements(pg):
    # psycopg prepares a statement on its fifth run; a ROLLBACK makes it forget them all (DEALLOCATE ALL), so
    # a read that ended in ROLLBACK had every following write re-parsed and re-planned.
    hot = select(Ticket.id).where(Ticket.id == 1)
    for _ in range(6):
        with pg.write() as s:
            s.execute(hot).all()
            s.commit()
    assert _prepared(pg) >= 1
    with pg.read() as s:
        assert s.execute(select(Ticket.id).limit(1)).all() == []
    assert _prepared(pg) >= 1


def test_a_connection_that_died_while_idle_is_replaced_before_the_request_uses_it(pg, monkeypatch):
    with pg.read() as s:
        first = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(pg.url)
    with admin.begin() as c:
        assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first}).scalar_one() is True
    admin.dispose()
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)  # "idle long enough" now
    with pg.read() as s:
        second = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert second != first


def test_a_read_that_changed_a_loaded_row_still_writes_nothing(pg):
    from hall_queue.domain.models import Hall
    from hall_queue.entrypoints.demo.loader import load_simple_hall
    from hall_queue.domain.clock import SystemClock

    hall_id = pg.run_write(lambda s: load_simple_hall(s, code="ro", now=SystemClock().now(), windows=1).id)
    with pg.read() as s:
        s.get(Hall, hall_id).name = "改过的名字"          # left pending
    with pg.read() as s:
        hall = s.get(Hall, hall_id)
        hall.name = "又改过的名字"
        s.execute(select(Hall.id)).all()                  # autoflushed into the read's transaction
    with pg.read() as s:
        assert s.get(Hall, hall_id).name not in ("改过的名字", "又改过的名字")

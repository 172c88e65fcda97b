"""``db.Prebuilt``: a hot statement run through the driver gives what a Core execution of it gives.

Same rows (dates, booleans and JSON converted by the columns' types), same stored values, driver errors
raised as SQLAlchemy's — with nothing listening (the driver's cursor) and with a cursor listener attached
(``exec_driver_sql``, which the listener sees), on both engines."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from hall_queue.domain.models import AuditEvent, Ticket, Window
from hall_queue.infrastructure.db import Prebuilt, core
from hall_queue.queueing import claiming
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)

_AUDIT_COLUMNS = ("hall_id", "at", "actor_kind", "actor_id", "action", "ticket_id", "window_id", "detail")
_ADD_AUDIT = insert(AuditEvent).returning(AuditEvent.id, AuditEvent.at, AuditEvent.detail)


@contextmanager
def listened(db, on: bool):
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_a):
        seen.append(statement)
    if on:
        for engine in db.engines:
            event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        if on:
            for engine in db.engines:
                event.remove(engine, "before_cursor_execute", note)


@pytest.mark.parametrize("listener", [False, True], ids=["driver", "listened"])
def test_rows_and_writes_are_those_of_a_core_execution(db, api, listener):
    api.sign_in("clerk01", 1)
    ticket_id = api.issue("SS001")["id"]
    window_id = api.windows[1]
    read = select(*claiming.CLAIMED_COLUMNS, Ticket.id_hash, claiming.ITEM_IDS).where(Ticket.id == bindparam("t"))
    rows_of = select(Window.id, Window.is_open, Window.paused_at, Window.call_rules).where(Window.id == bindparam("w"))
    at = datetime(2026, 3, 2, 10, 15, 30, 123456)
    with listened(db, listener) as seen, db.write() as s:
        conn = core(s)
        assert [tuple(r) for r in Prebuilt(read).run(conn, {"t": ticket_id})] == \
            [tuple(r) for r in conn.execute(read, {"t": ticket_id})]
        assert [tuple(r) for r in Prebuilt(rows_of).run(conn, {"w": window_id})] == \
            [tuple(r) for r in conn.execute(rows_of, {"w": window_id})]
        row = Prebuilt(read).run(conn, {"t": ticket_id})[0]
        assert isinstance(row.issued_at, datetime) and row.item_ids and row.id == ticket_id
        values = dict(hall_id=api.hall_id, at=at, actor_kind="system", actor_id=None, action="test.prebuilt",
                      ticket_id=ticket_id, window_id=window_id, detail={"说明": "中文", "n": 1})
        added = Prebuilt(_ADD_AUDIT, keys=_AUDIT_COLUMNS).run(conn, values)[0]
        assert (added.at, added.detail) == (at, {"说明": "中文", "n": 1})
        stored = conn.execute(select(AuditEvent.at, AuditEvent.detail, AuditEvent.action)
                              .where(AuditEvent.id == added.id)).one()
        assert tuple(stored) == (at, {"说明": "中文", "n": 1}, "test.prebuilt")
        assert Prebuilt(update(Ticket).where(Ticket.id == bindparam("t")).values(outcome_note=bindparam("n"))) \
            .run(conn, {"t": ticket_id, "n": "备注"}) == []
        assert conn.execute(select(Ticket.outcome_note).where(Ticket.id == ticket_id)).scalar() == "备注"
        s.rollback()
    # A listener sees every statement, so statement counts stay true; without one, none is seen (none attached).
    assert (len(seen) >= 5) is listener


@pytest.mark.parametrize("listener", [False, True], ids=["driver", "listened"])
def test_a_driver_error_is_sqlalchemys_and_the_transaction_rolls_back(db, api, listener):
    values = dict(hall_id=api.hall_id + 1000, at=datetime(2026, 3, 2, 10), actor_kind="system", actor_id=None,
                  action="test.prebuilt", ticket_id=None, window_id=None, detail={})
    with listened(db, listener), pytest.raises(IntegrityError):  # no such hall: the foreign key refuses it
        with db.write() as s:
            Prebuilt(_ADD_AUDIT, keys=_AUDIT_COLUMNS).run(core(s), values)
    with db.read() as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "test.prebuilt")) is None


@pytest.mark.parametrize("listener", [False, True], ids=["driver", "listened"])
def test_many_rows_in_one_executemany_and_numeric_columns_as_core_gives_them(db, api, listener):
    """``run_many`` writes every row; ``first``/``scalar`` answer as Core's; a float column and a sum (numeric on
    PostgreSQL, whose processor psycopg chooses by the column's type code) convert as a Core execution does."""
    from sqlalchemy import func

    from hall_queue.domain.models import TicketCounter
    rows = [dict(hall_id=api.hall_id, at=datetime(2026, 3, 2, 10, i), actor_kind="system", actor_id=None,
                 action="test.many", ticket_id=None, window_id=None, detail={"i": i}) for i in range(3)]
    counted = select(func.count(), func.sum(AuditEvent.id), func.max(AuditEvent.at)).where(
        AuditEvent.action == bindparam("a"))
    keys = select(TicketCounter.last_key, TicketCounter.last_seq * 1.5).limit(1)
    api.sign_in("clerk01", 1)
    api.issue("SS001")  # a counter row
    with listened(db, listener), db.write() as s:
        conn = core(s)
        Prebuilt(insert(AuditEvent), keys=_AUDIT_COLUMNS).run_many(conn, rows)
        many = Prebuilt(counted)
        for _ in range(2):  # the first run chooses the processors, the second uses them
            assert tuple(many.first(conn, {"a": "test.many"})) == tuple(conn.execute(counted, {"a": "test.many"}).one())
        assert many.scalar(conn, {"a": "test.many"}) == 3
        assert Prebuilt(counted).first(conn, {"a": "none such"})[0] == 0
        assert [r.detail for r in conn.execute(select(AuditEvent.detail).where(AuditEvent.action == "test.many")
                                               .order_by(AuditEvent.at))] == [{"i": 0}, {"i": 1}, {"i": 2}]
        counter = Prebuilt(keys).first(conn)
        assert tuple(counter) == tuple(conn.execute(keys).one()) and isinstance(counter[0], float)
        s.rollback()


def test_a_time_compared_as_stored_selects_the_same_rows(db, api):
    """``compared_as_stored``: SQLite compares the stored text without numeric affinity (``+column``), other
    engines the column itself; either way the same tickets are found on both sides of a moment."""
    from sqlalchemy import func

    from hall_queue.infrastructure.db import compared_as_stored
    api.sign_in("clerk01", 1)
    issued = [api.issue("SS001")["issued_at"] for _ in range(3)]
    with db.read() as s:
        moments = [r[0] for r in s.execute(select(Ticket.issued_at).order_by(Ticket.id))]
        sql = str(select(Ticket.id).where(compared_as_stored(Ticket.issued_at) > bindparam("t"))
                  .compile(dialect=s.get_bind().dialect))
        assert ("+tickets.issued_at" in sql) is (db.is_sqlite)
        for at in moments + [datetime(2000, 1, 1), datetime(2100, 1, 1)]:
            for op in ("__gt__", "__ge__", "__lt__"):
                plain = s.scalar(select(func.count()).where(getattr(Ticket.issued_at, op)(at)))
                stored = s.scalar(select(func.count()).select_from(Ticket)
                                  .where(getattr(compared_as_stored(Ticket.issued_at), op)(at)))
                assert plain == stored
    assert len(moments) >= len(issued) == 3

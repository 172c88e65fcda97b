"""A new ticket's id (issue 19): on PostgreSQL taken from the table's sequence a block at a time (``IdBlock``), so the
ticket's insert needs no answer and goes out with the transaction's next statement; on SQLite the insert returns it.
Either way the answer, the ticket row, its items and its audit row agree, and no two tickets share an id — also
with several processes (here: several ``Database`` objects and threads) taking ids from one sequence."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from hall_queue.domain.models import AuditEvent, Ticket, TicketItem
from hall_queue.infrastructure.db import Database, IdBlock, core
from tests.conftest import engines


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_an_issued_tickets_id_is_its_rows_its_items_and_its_audit_rows(api, db):
    answered = [api.issue("SS001")["id"] for _ in range(5)]
    assert len(set(answered)) == 5
    with db.read() as s:
        rows = dict(s.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(answered))).all())
        items = set(s.scalars(select(TicketItem.ticket_id).where(TicketItem.ticket_id.in_(answered))))
        audited = set(s.scalars(select(AuditEvent.ticket_id).where(AuditEvent.action == "ticket.issue",
                                                                   AuditEvent.ticket_id.in_(answered))))
    assert set(rows) == items == audited == set(answered)


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_id_blocks_of_two_processes_never_hand_out_the_same_id(db):
    other = Database(db.url)  # a second server process on the same database
    blocks = [IdBlock("tickets_id_seq", size=7), IdBlock("tickets_id_seq", size=5)]  # each process has its own
    taken: list[int] = []
    lock = threading.Lock()

    def take(database: Database, block: IdBlock) -> None:
        for _ in range(40):
            with database.writer.connect() as conn:
                got = block.take(conn)
                conn.commit()
            with lock:
                taken.append(got)
    threads = [threading.Thread(target=take, args=(d, b)) for d, b in ((db, blocks[0]), (other, blocks[1])) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.dispose()
    assert len(taken) == 160 and len(set(taken)) == 160
    with db.writer.connect() as conn:  # the sequence's next id lies past every id handed out
        assert conn.execute(text("SELECT nextval('tickets_id_seq')")).scalar_one() > max(taken)
    # And a default-id insert (the ORM, a tool) never meets one of them.
    with db.write() as s:
        assert core(s).execute(text("SELECT nextval('tickets_id_seq')")).scalar_one() not in taken

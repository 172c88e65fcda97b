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
from hall_queue.queueing import ticketing
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


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_kiosk_retries_among_new_issues_get_their_own_tickets_and_leave_no_gap(api, app, db, monkeypatch):
    """Kiosks retrying requests already answered while others take new tickets, all at once: on PostgreSQL the replay
    look goes out with the number's bump, so a retry is found after its write took a number — that write is undone
    (``ReplayedLate``: its group runs again with savepoints, or it runs again with the look first) and the retry
    answers its first ticket; the numbers stay gap-free."""
    found_late = []

    class Counted(ticketing.ReplayedLate):
        def __init__(self, *a):
            super().__init__(*a)
            found_late.append(a)
    monkeypatch.setattr(ticketing, "ReplayedLate", Counted)
    body = {"item_ids": [api.items["SS001"]]}
    kiosk = {"Authorization": f"Bearer {api.tokens['kiosk']}"}
    first = {}
    for k in range(6):  # each kiosk's earlier request, answered
        r = app.test_client().post(f"/api/v1/halls/{api.hall_id}/tickets", json=body,
                                   headers={**kiosk, "Idempotency-Key": f"k{k}-0"})
        assert r.status_code == 201
        first[f"k{k}-0"] = r.get_json()
    answers: dict[str, tuple[int, dict]] = {}

    def kiosk_thread(k: int) -> None:
        client = app.test_client()
        for i in range(1, 9):
            key = f"k{k}-0" if i % 3 == 0 else f"k{k}-{i}"  # every third request is a retry of the first
            r = client.post(f"/api/v1/halls/{api.hall_id}/tickets", json=body,
                            headers={**kiosk, "Idempotency-Key": key})
            answers[f"{key}@{i}"] = (r.status_code, r.get_json())
    threads = [threading.Thread(target=kiosk_thread, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    retries = {k: v for k, v in answers.items() if k.split("@")[0].endswith("-0")}
    new = {k: v for k, v in answers.items() if k not in retries}
    assert len(retries) == 6 * 2 and len(new) == 6 * 6
    for key, (status, ticket) in retries.items():
        assert status == 200 and ticket["replayed"] is True and ticket["id"] == first[key.split("@")[0]]["id"], key
    assert all(status == 201 for status, _ in new.values())
    numbers = sorted(int(t["number"][1:]) for t in [*first.values(), *(t for _, t in new.values())])
    assert numbers == list(range(1, 6 + 36 + 1))  # every new ticket its own number, none lost to a retry
    # PostgreSQL found retries late (with the bump) — not those run again in a group's savepoints for another's,
    # where the look is answered at once; SQLite's look always runs at once, before anything is written.
    assert len(found_late) == 0 if db.is_sqlite else 0 < len(found_late) <= 12


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_a_retry_gets_its_ticket_even_once_the_hall_has_closed(api, db):
    """A refusal met while the replay look is still out (on PostgreSQL it goes with the bump) is not the retry's
    answer: its ticket exists, so it gets that ticket; a new request is refused."""
    from sqlalchemy import update

    from hall_queue.domain.models import Hall

    body = {"item_ids": [api.items["SS001"]]}
    h = {"Idempotency-Key": "kiosk2-req-7"}
    first = api.post(f"/api/v1/halls/{api.hall_id}/tickets", body, token=api.tokens["kiosk"], headers=h)
    assert first.status_code == 201
    db.run_write(lambda s: s.execute(update(Hall).values(opening_hours={"mon": [["08:30", "09:00"]]})))  # now 10:00
    again = api.post(f"/api/v1/halls/{api.hall_id}/tickets", body, token=api.tokens["kiosk"], headers=h)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"], again.get_json()
    new = api.post(f"/api/v1/halls/{api.hall_id}/tickets", body, token=api.tokens["kiosk"],
                   headers={"Idempotency-Key": "kiosk2-req-8"})
    assert new.status_code == 409 and new.get_json()["error"]["code"] == "hall_closed"

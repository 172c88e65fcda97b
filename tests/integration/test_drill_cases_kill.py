"""Drill: ``kill -9`` of the server while clerks finish tickets that open cases (issue 15).

A real ``onevisit run`` on a SQLite file (and on PostgreSQL when it is there), kiosk threads issuing and clerk
threads calling and finishing with the outcome 受理 (each finish opens a case and takes an acceptance number
in its transaction), SIGKILL in the middle of the load, a restart on the same database, then: every finish
acknowledged to a clerk has its case with the number the clerk was shown; no finished-as-accepted ticket
lacks its case and no case lacks its finished ticket; acceptance numbers are unique and gap-free per hall
and year (1…N, the counter row at N); and the restarted server goes on at N+1.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import select, text

from hall_queue.domain.clock import SystemClock
from hall_queue.domain.models import Case, CaseCounter, Ticket
from hall_queue.infrastructure.db import Database
from tests.conftest import REQUIRE_SERVICES, drop_postgres_database, new_postgres_database, postgres_available
from tests.integration.test_drill_crash import Ledger, kill_under_load, start_hall, start_load

KIOSKS = 4
CLERKS = 6
LOAD_FINISHED = 16  # the kill comes once this many accepted finishes were acknowledged, the threads still sending


class CaseLedger(Ledger):
    def __init__(self) -> None:
        super().__init__()
        self.numbers: dict[int, list[str]] = {}  # finished ticket id -> acceptance numbers the clerk was shown


def _cases_by_seq(db: Database, hall_id: int) -> tuple[list[Case], dict[int, int], int | None]:
    with db.read() as s:
        cases = list(s.scalars(select(Case).where(Case.hall_id == hall_id).order_by(Case.seq)))
        accepted_done = dict(s.execute(select(Ticket.id, Ticket.id).where(Ticket.hall_id == hall_id,
                                                                         Ticket.status == "done",
                                                                         Ticket.outcome == "accepted")).all())
        last = s.scalar(select(CaseCounter.last_seq).where(CaseCounter.hall_id == hall_id))
        if db.is_sqlite:
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    return cases, accepted_done, last


def _drill(tmp_path, url: str | None) -> dict:
    server, db, hall_id, kiosk_token, tokens, item, windows = start_hall(tmp_path, url, code="kill", clerks=CLERKS)
    now = SystemClock().now()
    ledger = CaseLedger()
    stop = threading.Event()
    try:
        def shown(ticket_id: int, answer: dict) -> None:  # the numbers the clerk's console showed
            ledger.numbers[ticket_id] = [c["acceptance_no"] for c in answer["cases"]]
        threads = start_load(server, hall_id, item, kiosk_token, tokens, windows, stop, ledger, kiosks=KIOSKS,
                             outcome="accepted", on_done=shown)
        deadline = time.monotonic() + 60  # on a busy machine, give the load time to get going
        while len(ledger.numbers) < LOAD_FINISHED and not ledger.errors and time.monotonic() < deadline:
            time.sleep(0.05)
        kill_under_load(server, threads, stop, ledger)  # with finishes in flight
        assert len(ledger.numbers) > 15, "the load never got going"

        cases, accepted_done, last = _cases_by_seq(db, hall_id)
        by_ticket: dict[int, list[str]] = {}
        for c in cases:
            by_ticket.setdefault(c.ticket_id, []).append(c.acceptance_no)
        # Every acknowledged finish has its case, with the number the clerk was shown.
        for tid, numbers in ledger.numbers.items():
            assert by_ticket.get(tid) == numbers, f"finish of ticket {tid} acknowledged without its case"
        # One transaction: no accepted finish without a case, no case without its finished ticket.
        assert set(by_ticket) == set(accepted_done)
        # Unique and gap-free per hall and year; the counter stands at the last number given.
        assert len({c.acceptance_no for c in cases}) == len(cases)
        assert Counter(c.year for c in cases).keys() <= {now.year, now.year + 1}
        assert [c.seq for c in cases] == list(range(1, len(cases) + 1)), "gap or duplicate in acceptance numbers"
        assert last == len(cases)
        n = len(cases)

        server.start()  # the restarted server goes on at N+1
        tok, w = tokens[0], windows[0]
        auth = {"Authorization": f"Bearer {tok}"}
        with db.read() as s:
            held = s.scalar(select(Ticket.id).where(Ticket.window_id == w["id"], Ticket.status.in_(("called", "serving"))))
        if held is None:
            requests.post(f"{server.url}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]},
                          headers={"Authorization": f"Bearer {kiosk_token}"}, timeout=10)
            r = requests.post(f"{server.url}/api/v1/windows/{w['id']}/call-next", headers=auth, timeout=10)
            assert r.status_code == 200, r.text
            held = r.json()["ticket"]["id"]
        r = requests.post(f"{server.url}/api/v1/tickets/{held}/finish", json={"outcome": "accepted"}, headers=auth,
                          timeout=10)
        assert r.status_code == 200, r.text
        [after] = r.json()["cases"]
        with db.read() as s:
            assert s.get(Case, after["id"]).seq == n + 1
        figures = {"acknowledged_finishes": len(ledger.numbers), "cases_in_db": n,
                   "cases_committed_unacknowledged": n - sum(len(v) for v in ledger.numbers.values()),
                   "next_after_restart": n + 1}
        print("cases kill -9 drill:", figures)
        return figures
    finally:
        stop.set()
        server.stop()
        db.dispose()


def test_kill_9_while_clerks_finish_keeps_acceptance_numbers_gap_free_on_sqlite(tmp_path):
    _drill(tmp_path, None)


@pytest.mark.skipif(not (REQUIRE_SERVICES or postgres_available()), reason="PostgreSQL not reachable on 127.0.0.1:5432")
def test_kill_9_while_clerks_finish_keeps_acceptance_numbers_gap_free_on_postgresql(tmp_path):
    url = new_postgres_database(migrated=True)  # as `onevisit init` leaves it
    try:
        _drill(tmp_path, url)
    finally:
        drop_postgres_database(url)

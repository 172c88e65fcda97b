"""受理号 under concurrent finishing: never duplicated, gap-free per hall and year, on both engines.

Real threads, each finishing its own ticket in its own write transaction through ``calling.finish``; one
finish crashes after its case was numbered (rolled back) and leaves no gap.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from hall_queue.access.audit import SYSTEM
from hall_queue.access.identity import IdentityVault
from hall_queue.cases.numbering import format_acceptance_no
from hall_queue.domain.clock import SystemClock
from hall_queue.domain.models import Case, Hall, ServiceItem, Ticket, Window
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.queueing import calling
from hall_queue.queueing.ticketing import IssueRequest, issue_ticket
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)
N = 48


class Crash(Exception):
    pass


def _tickets_in_hand(db, now) -> tuple[int, list[int]]:
    vault = IdentityVault("k")

    def build(s):
        hall = load_simple_hall(s, code="num", now=now, windows=16)
        windows = s.scalars(select(Window).where(Window.hall_id == hall.id).order_by(Window.number)).all()
        item_id = s.scalar(select(ServiceItem.id).where(ServiceItem.hall_id == hall.id))
        ids = []
        for i in range(N + 1):
            issued, _ = issue_ticket(s, hall, IssueRequest(item_ids=[item_id]), now=now, vault=vault, actor=SYSTEM)
            t = s.get(Ticket, issued.id)
            w = windows[i % len(windows)]
            t.status, t.window_id, t.called_at = "serving", w.id, now
            ids.append(t.id)
        return hall.id, ids

    return db.run_write(build)


def test_concurrent_finishes_never_share_an_acceptance_number_and_leave_no_gap(db):
    now = SystemClock().now()
    hall_id, ids = _tickets_in_hand(db, now)
    crash_id = ids[N // 2]
    started = threading.Barrier(8)

    def finish(tid: int) -> None:
        if tid in ids[:8]:
            started.wait(timeout=30)  # the first eight start together

        def do(s):
            calling.finish(s, s.get(Ticket, tid), outcome="accepted", now=now, actor=SYSTEM)
            if tid == crash_id:
                s.flush()
                raise Crash()  # numbered, then the server dies mid-transaction: all of it rolls back
        try:
            db.run_write(do)
        except Crash:
            pass

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(finish, ids))
    with db.read() as s:
        cases = s.execute(select(Case.seq, Case.acceptance_no, Case.ticket_id, Case.year)
                          .where(Case.hall_id == hall_id)).all()
        code = s.get(Hall, hall_id).code
    assert len(cases) == N and crash_id not in {c.ticket_id for c in cases}
    assert sorted(c.seq for c in cases) == list(range(1, N + 1))
    year = cases[0].year
    assert {c.acceptance_no for c in cases} == {format_acceptance_no("", hall_code=code, year=year, seq=n)
                                                for n in range(1, N + 1)}
    assert format_acceptance_no("", hall_code=code, year=year, seq=7) == f"NUM{year}000007"

"""``Database.warm``: a serving process compiles the prebuilt statements and opens its pools before the first
request (issue 19: the first kiosks and clerks after a start waited for both)."""
from __future__ import annotations

import pytest

from hall_queue.infrastructure.db import _ALL_PREBUILT
from tests.conftest import engines


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_warm_compiles_the_prebuilt_statements_and_opens_postgresql_pools(db):
    import hall_queue  # noqa: F401 - the hot paths' modules, with their prebuilt statements

    db.warm()
    dialect = db.writer.dialect
    assert len(_ALL_PREBUILT) > 10
    assert all((dialect.name, dialect.driver) in p._by_dialect for p in _ALL_PREBUILT)
    for engine in db.engines:  # PostgreSQL's opened; SQLite's opened as the load asks (see ``warm``)
        assert engine.pool.checkedin() == (0 if db.is_sqlite else engine.pool.size())
        assert engine.pool.checkedout() == 0
    with db.read() as s:  # and the pooled connections serve as before
        assert s.connection().exec_driver_sql("SELECT 1").scalar() == 1


def test_a_serving_process_checkpoints_sqlites_wal_from_its_own_thread_not_in_commits(tmp_path):
    """SQLite's own checkpoint ran in the commit that took the WAL past 1,000 pages, two disk flushes inside the
    writer lock (issue 19: the SQLite p99's tail). ``start_checkpointer``: the commits leave the WAL alone and a
    thread of the process moves it into the database file."""
    import os
    import time

    from sqlalchemy import text

    from hall_queue.infrastructure.db import Database

    def fill(db: Database, n: int) -> None:  # about 2.5 MB of pages through the WAL, in many commits
        for i in range(n):
            db.run_write(lambda s, i=i: s.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"{i:06d}" * 700}))

    path = tmp_path / "hall.db"
    db = Database(f"sqlite:///{path}")
    db.run_write(lambda s: s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")))
    fill(db, 10)  # SQLite's own checkpoint on: these pages may be in the file already
    assert db.start_checkpointer(every_s=3600) and not db.start_checkpointer()  # once per process
    with db.writer.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    before = os.path.getsize(path)
    fill(db, 600)  # far past 1,000 pages: the commits did not checkpoint
    assert os.path.getsize(path) == before and os.path.getsize(f"{path}-wal") > 2_000_000

    other = Database(f"sqlite:///{tmp_path / 'other.db'}")  # a checkpointing thread at work
    other.run_write(lambda s: s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")))
    assert other.start_checkpointer(every_s=0.05)
    fill(other, 600)
    deadline = time.monotonic() + 10
    while os.path.getsize(tmp_path / "other.db") < 2_000_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.getsize(tmp_path / "other.db") > 2_000_000  # the rows' pages reached the database file
    with other.read() as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 600
    db.dispose()
    other.dispose()


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_postgresql_has_no_checkpointer_of_ours(db):
    assert db.start_checkpointer() is False


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_the_duties_analyze_a_young_ticket_table_so_a_head_seek_reads_one_index_entry(db):
    """PostgreSQL planned the claim's head seeks on a table it had no statistics of (a new hall's first morning, a
    fresh benchmark database) as one row on every matching index, took an index that does not give the calling
    order and sorted the whole line in each seek (issue 19). ``refresh_statistics`` (every duty round) analyzes a hot
    table that changed by more than half since it was last analyzed; a seek for a class nobody waits in then reads
    the head index (no rows), not the line. SQLite has no statistics to refresh."""
    from sqlalchemy import select

    from hall_queue.access.audit import SYSTEM
    from hall_queue.access.identity import IdentityVault
    from hall_queue.domain.clock import SystemClock
    from hall_queue.domain.models import ServiceItem, Ticket
    from hall_queue.entrypoints.demo.loader import load_simple_hall
    from hall_queue.queueing.ticketing import IssueRequest, issue_ticket

    now, vault = SystemClock().now(), IdentityVault("k")

    def build(s):
        hall = load_simple_hall(s, code="stat", now=now, windows=2)
        item_id = s.scalar(select(ServiceItem.id).where(ServiceItem.hall_id == hall.id))
        for _ in range(300):
            ticket_id = issue_ticket(s, hall, IssueRequest(item_ids=[item_id]), now=now, vault=vault,
                                     actor=SYSTEM)[0].id
        return s.get(Ticket, ticket_id).queue_id
    queue_id = db.run_write(build)
    if db.is_sqlite:
        assert db.refresh_statistics() == []
        return
    seek = ("EXPLAIN (FORMAT JSON) SELECT id FROM tickets WHERE status = 'waiting' AND queue_id = %(q)s AND"
            " priority_class = 'green' AND target_window_id IS NULL ORDER BY queue_key, id LIMIT 1 FOR UPDATE SKIP LOCKED")

    def indexes(plan) -> set[str]:
        found = {plan["Index Name"]} if "Index Name" in plan else set()
        for sub in plan.get("Plans", ()):
            found |= indexes(sub)
        return found
    import time
    deadline = time.monotonic() + 10  # the statistics view counts a transaction's changes when it ends
    while (analyzed := db.refresh_statistics()) == [] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert analyzed == ["tickets"]
    assert db.refresh_statistics() == []  # analyzed now: nothing to do until it changes by half again
    with db.writer.connect() as conn:
        plan = conn.exec_driver_sql(seek, {"q": queue_id}).scalar()[0]["Plan"]
        assert indexes(plan) == {"ix_ticket_head"}
        assert "Sort" not in str(plan)

"""Group commit on both engines (issue 19, on unless ``ONEVISIT_GROUP_COMMIT=0``): request writes arriving together
share a transaction and its commit, each in a savepoint of its own — every caller gets its own answer or its own
error, in its own request context, and a failing write leaves no trace (no gap in the numbers it took). On
PostgreSQL a write that meets a lock held elsewhere does not hold its group up: it runs again alone; on SQLite the
group holds the writer lock, so a write alone (a duty round, the CLI) waits for the group or the group for it."""
from __future__ import annotations

import contextvars
import threading
import time

import pytest
from sqlalchemy import event, text

from hall_queue.infrastructure import db as db_module
from tests.conftest import drop_postgres_database, new_postgres_database, require_postgres

WHO = contextvars.ContextVar("who")


@pytest.fixture(params=["sqlite", "postgresql"])
def pg(request, tmp_path):
    """A database of either engine (named ``pg`` from the first version of these tests) with a counter row."""
    if request.param == "postgresql":
        require_postgres()
        url = new_postgres_database(empty=True)
    else:
        url = f"sqlite:///{tmp_path / 'group.db'}"
    database = db_module.Database(url)
    with database.writer.begin() as c:
        c.execute(text("CREATE TABLE counter (id int PRIMARY KEY, last int NOT NULL)"))
        c.execute(text("INSERT INTO counter VALUES (1, 0)"))
        c.execute(text("CREATE TABLE numbered (n int PRIMARY KEY, who text NOT NULL)"))
    yield database
    database.dispose()
    if request.param == "postgresql":
        drop_postgres_database(url)


def _rest_of_a_write() -> None:
    """The rest of a real write (outside the database: the sleep lets the GIL go), so that others arrive meanwhile."""
    time.sleep(0.002)


def _take_number(s):
    """A kiosk's write in miniature: bump the hot counter row, then write the numbered row (a test failure
    after the bump is the case a savepoint must undo)."""
    who = WHO.get()
    _rest_of_a_write()
    n = s.execute(text("UPDATE counter SET last = last + 1 WHERE id = 1 RETURNING last")).scalar_one()
    if who.endswith("!"):
        raise ValueError(f"{who} refused after taking {n}")
    s.execute(text("INSERT INTO numbered VALUES (:n, :who)"), {"n": n, "who": who})
    return n, who


def test_writes_arriving_together_share_commits_and_each_gets_its_own_answer(pg):
    assert db_module.GROUP_COMMIT and pg._group is not None  # the default
    commits = []
    for engine in pg.engines:
        event.listen(engine, "commit", lambda conn: commits.append(1))
    answers: dict[str, object] = {}

    def kiosk(k: int) -> None:
        for i in range(15):
            who = f"k{k}-{i}" + ("!" if i % 5 == 4 else "")  # every fifth write fails
            WHO.set(who)
            try:
                answers[who] = pg.run_write(_take_number, grouped=True)
            except ValueError as e:
                answers[who] = e
    threads = [threading.Thread(target=kiosk, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    good = {w: a for w, a in answers.items() if not w.endswith("!")}
    bad = {w: a for w, a in answers.items() if w.endswith("!")}
    assert len(good) == 8 * 12 and len(bad) == 8 * 3
    assert all(isinstance(a, ValueError) and str(a).startswith(w) for w, a in bad.items())  # its own error
    assert all(a[1] == w for w, a in good.items())  # its own answer, computed in its own context
    with pg.read() as s:
        rows = dict(s.execute(text("SELECT n, who FROM numbered")).all())
        last = s.execute(text("SELECT last FROM counter")).scalar_one()
    # Gap-free: the refused writes' bumps were undone with their savepoints.
    assert sorted(rows) == list(range(1, 8 * 12 + 1)) and last == 8 * 12
    assert {rows[n]: n for n in rows} == {w: a[0] for w, a in good.items()}
    assert 0 < len(commits) < len(answers), f"{len(commits)} commits for {len(answers)} writes: nothing was grouped"


def test_a_write_meeting_a_lock_held_elsewhere_runs_alone_and_holds_up_no_group(pg):
    """Another transaction (a duty round, another process) holds counter row 2. The writes on row 1 keep
    committing in groups meanwhile; the write on row 2 gives up the lock inside its group, runs again alone,
    and takes its number once the lock is released — one number, no gap. (PostgreSQL: SQLite locks the whole file.)"""
    if pg.is_sqlite:
        pytest.skip("SQLite has no row locks: a writer elsewhere holds the whole file, and the group waits for it")
    with pg.writer.begin() as c:
        c.execute(text("INSERT INTO counter VALUES (2, 0)"))

    def take(counter: int):
        def write(s):
            _rest_of_a_write()
            return s.execute(text("UPDATE counter SET last = last + 1 WHERE id = :c RETURNING last"),
                             {"c": counter}).scalar_one()
        return write
    answers: dict[str, int] = {}

    def writer(name: str, counter: int, n: int) -> None:
        for i in range(n):
            answers[f"{name}-{i}"] = pg.run_write(take(counter), grouped=True)
    other = pg.writer.connect()
    held = other.begin()
    other.execute(text("SELECT last FROM counter WHERE id = 2 FOR UPDATE"))
    blocked = threading.Thread(target=writer, args=("row2", 2, 1))
    free = [threading.Thread(target=writer, args=(f"row1.{k}", 1, 10)) for k in range(6)]
    try:
        blocked.start()
        for t in free:
            t.start()
        for t in free:
            t.join(60)
        # Every write on row 1 committed while row 2 was still locked: none waited behind the blocked one.
        assert not any(t.is_alive() for t in free)
        assert sorted(v for k, v in answers.items() if k.startswith("row1")) == list(range(1, 61))
        assert blocked.is_alive() and "row2-0" not in answers  # still waiting, alone, for the lock
    finally:
        held.commit()
        other.close()
    blocked.join(60)
    assert answers["row2-0"] == 1
    with pg.read() as s:
        assert dict(s.execute(text("SELECT id, last FROM counter")).all()) == {1: 60, 2: 1}


def test_off_or_ungrouped_every_write_commits_alone(pg, monkeypatch):
    commits = []
    for engine in pg.engines:
        event.listen(engine, "commit", lambda conn: commits.append(1))
    WHO.set("solo")
    assert pg.run_write(_take_number) == (1, "solo")  # a write not marked grouped (duties, the CLI)
    monkeypatch.setattr(db_module, "GROUP_COMMIT", False)  # ONEVISIT_GROUP_COMMIT=0
    off = db_module.Database(pg.url)
    assert off._group is None
    assert off.grouped_writer is None
    event.listen(off.writer, "commit", lambda conn: commits.append(1))
    assert off.run_write(_take_number, grouped=True) == (2, "solo")
    assert len(commits) == 2
    off.dispose()


def test_a_group_whose_writes_all_succeed_takes_no_savepoint(pg):
    """Savepoints cost two round trips per write in the group's leading thread: a group runs without them and
    only when one of its writes fails are the others run again, each in a savepoint (``_run_all``)."""
    savepoints, commits = [], []
    for engine in pg.engines:
        event.listen(engine, "savepoint", lambda conn, name: savepoints.append(name))
        event.listen(engine, "commit", lambda conn: commits.append(1))
    answers: dict[str, object] = {}

    def kiosk(k: int, fail_at: int | None) -> None:
        for i in range(10):
            who = f"k{k}-{i}" + ("!" if i == fail_at else "")
            WHO.set(who)
            try:
                answers[who] = pg.run_write(_take_number, grouped=True)
            except ValueError as e:
                answers[who] = e
    threads = [threading.Thread(target=kiosk, args=(k, None)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(commits) < 60, "nothing was grouped"
    assert savepoints == []
    assert sorted(a[0] for a in answers.values()) == list(range(1, 61))

    # One write of one kiosk fails: its group is run again with savepoints, the others' answers are unchanged.
    threads = [threading.Thread(target=kiosk, args=(k + 10, 5 if k == 0 else None)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(answers["k10-5!"], ValueError) and str(answers["k10-5!"]).startswith("k10-5!")
    good = sorted(a[0] for w, a in answers.items() if not w.endswith("!"))
    assert good == list(range(1, 60 + 59 + 1))  # gap-free across the failure
    with pg.read() as s:
        rows = dict(s.execute(text("SELECT n, who FROM numbered")).all())
    assert {rows[n]: n for n in rows} == {w: a[0] for w, a in answers.items() if not w.endswith("!")}


def test_a_write_sent_later_that_fails_is_its_own_writes_failure_not_the_next_ones(pg):
    """A write's ``later`` rows go out with the next write's first statement: when they fail, the group runs again
    with savepoints, so the failure reaches the write that sent them and the next write commits."""
    from sqlalchemy import Column, Integer, MetaData, Table, Text, insert
    from sqlalchemy.exc import IntegrityError

    from hall_queue.infrastructure.db import Prebuilt, core

    numbered = Table("numbered", MetaData(), Column("n", Integer, primary_key=True), Column("who", Text))
    add = Prebuilt(insert(numbered), keys=("n", "who"))
    with pg.writer.begin() as c:
        c.execute(text("INSERT INTO numbered VALUES (0, 'taken')"))
    answers: dict[str, object] = {}

    def kiosk(k: int) -> None:
        for i in range(6):
            n = 0 if (k == 0 and i == 3) else 1 + k * 10 + i  # one write takes a number already taken

            def write(s, n=n, who=f"k{k}-{i}"):
                _rest_of_a_write()
                add.later(core(s), {"n": n, "who": who})
                return who
            try:
                answers[f"k{k}-{i}"] = pg.run_write(write, grouped=True)
            except IntegrityError as e:
                answers[f"k{k}-{i}"] = e
    threads = [threading.Thread(target=kiosk, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(answers.pop("k0-3"), IntegrityError)
    assert answers == {w: w for w in answers}  # every other write its own answer
    with pg.read() as s:
        rows = dict(s.execute(text("SELECT who, n FROM numbered WHERE n > 0")).all())
    assert sorted(rows) == sorted(answers)

"""Engines and sessions. Nothing connects at import (STYLE rule 1).

SQLite: WAL journal, a busy timeout, and every *write* transaction opened with ``BEGIN IMMEDIATE``
so two kiosks or two clerks never interleave a read-modify-write (DESIGN: concurrency). Reads use
plain deferred transactions on a second engine so screens and polling never take the write lock.
PostgreSQL: one engine; ``call_next`` adds ``FOR UPDATE SKIP LOCKED`` to the same query.
"""
from __future__ import annotations

import contextvars
import copy
import datetime
import fcntl
import logging
import os
import re
import sqlite3
from collections import deque, namedtuple
import threading
import time
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc, literal_column
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.dialects.sqlite import DATETIME as _SQLITE_DATETIME
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement

T = TypeVar("T")
log = logging.getLogger("onevisit")

SQLITE_BUSY_TIMEOUT_S = 30.0


# SQLite's own checkpoint runs in the commit that takes the WAL past 1,000 pages, inside the writer lock, and with
# synchronous=NORMAL it syncs the WAL and then the database file to disk: every few hundred issues one request (and,
# grouped, all its group) waited two disk flushes — 4 ms on this machine's disk at best, 40–70 ms at its p99, more
# when other work writes to the disk — the SQLite p99's tail (issue 19). A serving process checkpoints instead from a
# thread of its own (``Database.start_checkpointer``), every CHECKPOINT_EVERY_S, outside the writer lock: writers go
# on appending to the WAL meanwhile (a PASSIVE checkpoint waits for nobody).
CHECKPOINT_EVERY_S = 1.0
# A WAL past this size (readers kept SQLite from starting it over) is checkpointed RESTART: writers wait for that one.
WAL_RESTART_BYTES = 64 * 1024 * 1024


def _sqlite_engine(url: str, *, immediate: bool, pragmas: list[str] | None = None) -> Engine:
    """``pragmas``: more ``PRAGMA`` settings for every connection opened from now on (shared, may grow later)."""
    # LIFO: the connection used last is handed out next. Each SQLite connection keeps a page cache of its own that
    # any other connection's commit makes stale; the one just used holds the latest pages (issue 19).
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
                           pool_size=20, max_overflow=40, pool_timeout=60, pool_use_lifo=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        for pragma in pragmas or ():
            cur.execute(pragma)
        cur.close()

    # BEGIN sent on the driver's connection in the dialect's own begin step, where a failure still becomes
    # SQLAlchemy's OperationalError (``run_write`` retries a busy one); the "begin" event's exec_driver_sql ran
    # it through the whole statement machinery, twice a request (issue 19).
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    engine.dialect.do_begin = lambda conn: conn.dbapi_connection.execute(begin).close()

    return engine


# ``Database.refresh_statistics``: the hot tables PostgreSQL plans the queue's reads on, and how many rows must have
# changed since the last ANALYZE (and more than half the table) before the duties analyze one again.
ANALYZED_TABLES = ("tickets",)
ANALYZE_MIN_CHANGES = 200


# A pooled connection idle longer than this is pinged before it is handed out (a database restart or a
# dropped link is found there, not by a visitor's request); a busy hall's connections are never idle that
# long, so they skip the round trip SQLAlchemy's ``pool_pre_ping`` would spend on every checkout.
PING_AFTER_IDLE_S = 10.0


def _pg_engine(url: str, *, pool_size: int, max_overflow: int = 4, lock_timeout_ms: int | None = None,
               begin_later: bool = False) -> Engine:
    # ``lock_timeout_ms``: the engine of grouped writes (``_WriteGroup``) gives up a lock held elsewhere.
    options = {"connect_args": {"options": f"-c lock_timeout={lock_timeout_ms}"}} if lock_timeout_ms else {}
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=60, **options)
    if begin_later:
        _begin_later(engine)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):  # noqa: ANN001
        record.info["idle_since"] = time.monotonic()
        record.info.pop(_LATER, None)  # a transaction ended without commit or rollback events: nothing is carried

    _watch_later(engine)

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):  # noqa: ANN001
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as e:  # noqa: BLE001 - any failure means the link is gone
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(str(e)) from e

    return engine


class Database:
    """The hall database: a writer and a reader engine (the same one on PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._pragmas: list[str] = []  # SQLite: set on each connection (see ``start_checkpointer``)
        self._checkpointer: threading.Thread | None = None
        if self.is_sqlite:
            self.writer = _sqlite_engine(url, immediate=True, pragmas=self._pragmas)
            self.reader = _sqlite_engine(url, immediate=False, pragmas=self._pragmas)
        else:
            # A steady pool: with many request threads, overflow connections would be opened and
            # closed on every burst (a PostgreSQL backend fork each); waiting briefly for a pooled
            # connection is cheaper, and keeps two processes under max_connections = 100.
            size = int(os.environ.get("ONEVISIT_DB_POOL", "16"))
            self.writer = _pg_engine(url, pool_size=size)
            self.reader = self.writer
        # SQLite admits one writer at a time; queueing writers of this process on a lock instead of
        # SQLite's busy handler (which sleeps in growing steps) keeps the latency tail short.
        # Other processes on the same file still wait through busy_timeout.
        self._write_lock = _FileWriteLock(url) if self.is_sqlite and ":memory:" not in url else nullcontext()
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._group: _WriteGroup | None = None
        self.grouped_writer: Engine | None = None
        if GROUP_COMMIT and self.is_sqlite:
            # SQLite: the group holds the writer lock, as a write alone does; one BEGIN IMMEDIATE, one commit (its
            # WAL frames: the hot pages a group's writes share are written once) and one flock for the group.
            self._group = _WriteGroup(self, self._write_sessions, lock=self._write_lock)
        elif GROUP_COMMIT:
            # One group runs at a time per process: one connection of its own, which gives up locks.
            self.grouped_writer = _pg_engine(url, pool_size=1, max_overflow=0, lock_timeout_ms=GROUP_LOCK_TIMEOUT_MS,
                                             begin_later=True)
            self._group = _WriteGroup(self, sessionmaker(self.grouped_writer, expire_on_commit=False))
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)
        event.listen(self._read_sessions, "after_flush", _note_flush)
        # PostgreSQL: ``read_core``'s statements each run as a transaction of their own (autocommit, the reader's
        # pool). A transaction around them bought nothing — under READ COMMITTED each statement reads its own
        # snapshot anyway — and cost two round trips, BEGIN (psycopg waits for it) and COMMIT, around the one
        # statement of the figures read after each call (issue 19).
        self._core_reader = None if self.is_sqlite else self.reader.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def engines(self) -> list[Engine]:
        """Every engine of this database (writer, reader, grouped writer), once each: where a listener that must
        see every statement or commit (a count, a log) is attached."""
        return list(dict.fromkeys(e for e in (self.writer, self.reader, self.grouped_writer) if e is not None))

    @property
    def changes(self) -> int:
        """How many write transactions of this process have ended on this database (``issues_only`` ones aside).

        Taken before a read whose result is kept (the wait range's queue reads, issue 19): the result holds only
        while this figure is unchanged. Shared by every ``Database`` of the same URL in the process."""
        return _CHANGES.get(self.url, 0)

    def _changed(self) -> None:
        with _CHANGES_LOCK:
            _CHANGES[self.url] = _CHANGES.get(self.url, 0) + 1

    @contextmanager
    def write(self, *, issues_only: bool = False) -> Iterator[Session]:
        """Open a write transaction; the caller commits, anything else rolls back.

        ``issues_only``: the write only issues tickets (``changes`` is not moved by it; see there)."""
        with self._write_lock, self._write_sessions() as session:
            if issues_only:
                session.info[_ISSUING] = (self.url, self.changes)
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            finally:
                if not issues_only:
                    # After the commit (a read that began before it keeps nothing) and before the next writer of
                    # this process holds the lock (a write that only issues sees the change counted).
                    self._changed()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Open a read-only session; closing it ends the transaction and keeps loaded rows readable."""
        with self._read_sessions() as session:
            yield session
            # Ended by COMMIT, not the ROLLBACK of closing: the same for a read, but psycopg forgets every
            # prepared statement of the connection on ROLLBACK (a rolled-back PREPARE may be gone) and sends
            # DEALLOCATE ALL, so each read made PostgreSQL re-parse and re-plan the next request's hot
            # statements (issue 19). A read that changed a loaded row (flushed or not) is still rolled back:
            # a read session never writes.
            if not (session.info.get(_FLUSHED) or session.new or session.dirty or session.deleted):
                session.commit()

    @contextmanager
    def read_core(self) -> Iterator[CoreReader]:
        """A read of prebuilt and Core statements only, without an ORM session: its transaction on a pooled
        connection, ended by COMMIT (as ``read``). For the hot paths' reads after commit (the queue figures after a
        call, a wait range): an ORM session's own work was as much as the read's (issue 19). What it offers is
        what those reads use: ``core(reader)``, the per-process caches, ``execute``/``scalar``/``scalars`` of Core
        statements — an ORM query (which would give rows, not objects) is refused."""
        with (self._core_reader or self.reader).connect() as conn:
            conn.begin()
            yield CoreReader(conn, self.reader)
            conn.commit()

    def run_write(self, fn: Callable[[Session], T], *, retries: int = 5, grouped: bool = False,
                  issues_only: bool = False) -> T:
        """Run ``fn`` in a write transaction and commit; retry when SQLite reports the file busy.

        ``grouped`` (one of the hall's short hot writes: issue, call, finish): on either engine, unless
        ``ONEVISIT_GROUP_COMMIT=0``, such writes that arrive together share one transaction and one commit
        (``_WriteGroup``). ``issues_only``: ``fn`` only issues tickets (``changes``)."""
        if grouped and self._group is not None:
            return self._group.run(fn, retries, issues_only)
        return self.run_write_alone(fn, retries=retries, issues_only=issues_only)

    def run_write_alone(self, fn: Callable[[Session], T], *, retries: int = 5, issues_only: bool = False) -> T:
        """``run_write`` in a transaction of its own."""
        for attempt in range(retries):
            try:
                with self.write(issues_only=issues_only) as session:
                    result = fn(session)
                    session.commit()
                    return result
            except OperationalError as e:
                if attempt + 1 == retries or not _is_busy(e):
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def warm(self) -> None:
        """Before a serving process takes requests: compile the hot paths' prebuilt statements for this engine
        (``Prebuilt.prepare_all``) and, on PostgreSQL, open the pools' connections.

        Why (issue 19): both were done by the first requests after a start — a few milliseconds per statement
        compiled, and on PostgreSQL a server process started per connection — while the first kiosks and clerks
        to arrive together waited. SQLite's connections are opened as needed (a file handle each; every pooled
        connection keeps a page cache of its own that the others' writes make stale, so no more are opened than
        the load asks for)."""
        Prebuilt.prepare_all(self.writer.dialect)
        if self.is_sqlite:
            return
        for engine in self.engines:
            opened = []
            try:
                for _ in range(engine.pool.size()):
                    opened.append(engine.connect())
            finally:
                for conn in opened:
                    conn.close()

    def refresh_statistics(self) -> list[str]:
        """PostgreSQL: ``ANALYZE`` the hot tables whose statistics no longer describe them; return the ones analyzed.

        Why (issue 19): PostgreSQL plans from a table's statistics, and a young table has none worth the name — a
        new hall's first morning, a benchmark's fresh database. With none, each head seek of the claim is estimated
        at one row on every index that matches it, and the planner took an index that does not give the calling
        order and sorted the queue's whole line in each seek (0.5 ms per 下一位 at 2,000 waiting, growing with the
        line). Autovacuum analyzes such a table only after its naptime (a minute) and only from thresholds meant for
        big tables. So the duties look every round (one read of the statistics view) and analyze a hot table that has
        changed by ``ANALYZE_MIN_CHANGES`` rows and by more than half its size since it was last analyzed — a table
        that grows day by day is left to autovacuum. Nothing on SQLite, whose planner ranks indexes by their shape."""
        if self.is_sqlite:
            return []
        with self.writer.connect() as conn:
            stale = [row[0] for row in conn.exec_driver_sql(
                "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%(tables)s)"
                " AND n_mod_since_analyze >= %(least)s AND n_mod_since_analyze * 2 > n_live_tup",
                {"tables": list(ANALYZED_TABLES), "least": ANALYZE_MIN_CHANGES})]
            conn.commit()
            for table in stale:
                conn.exec_driver_sql(f"ANALYZE {table}")  # names from ANALYZED_TABLES only
                conn.commit()
        return stale

    def start_checkpointer(self, every_s: float = CHECKPOINT_EVERY_S) -> bool:
        """A serving process on a SQLite file: checkpoint the WAL from a thread of this process every ``every_s``,
        and no more in the commits (see CHECKPOINT_EVERY_S); False (nothing started) on PostgreSQL, in memory, or
        when it runs already. Its connections are opened again with ``wal_autocheckpoint=0``. Other processes on the
        file (the CLI, ``onevisit duties``) keep SQLite's own checkpoint; a checkpoint another one runs makes this
        one wait for nobody and simply find less to do."""
        if not self.is_sqlite or ":memory:" in self.url or self._checkpointer is not None:
            return False
        path = self.url.split("///", 1)[1].split("?", 1)[0]
        self._pragmas.append("PRAGMA wal_autocheckpoint=0")
        self.writer.dispose()  # idle pooled connections were opened with SQLite's checkpoint on
        self.reader.dispose()

        def loop() -> None:
            conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S, check_same_thread=False)
            try:
                while True:
                    time.sleep(every_s)
                    try:
                        grown = os.path.exists(path + "-wal") and os.path.getsize(path + "-wal") > WAL_RESTART_BYTES
                        conn.execute(f"PRAGMA wal_checkpoint({'RESTART' if grown else 'PASSIVE'})").fetchall()
                    except (sqlite3.Error, OSError) as e:  # busy with another checkpoint, a disk error: the next round tries
                        log.warning("WAL checkpoint failed: %s", e)
            finally:
                conn.close()
        self._checkpointer = threading.Thread(target=loop, name="onevisit-checkpoint", daemon=True)
        self._checkpointer.start()
        return True

    def dispose(self) -> None:
        self.writer.dispose()
        if self.grouped_writer is not None:
            self.grouped_writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


# Group commit (issue 19). A PostgreSQL commit returns once its WAL is on disk (fdatasync: ≈ 4 ms on the test
# machine's disk, tens of ms at p99 under load), and a hot counter row — a queue's ticket numbers, a hall's
# acceptance numbers — stays locked until then, so with a commit per write one queue cannot number more than
# ≈ 1/fsync tickets a second. Grouped, the hot writes that arrive while one is running are run together next:
# one transaction, each write in a SAVEPOINT of its own (a failure undoes only its part and reaches only its
# caller), one commit for all — numbers stay gap-free and nothing is acknowledged before it is on disk. A group
# must not wait on a lock held elsewhere (another process's transaction, a duty round): it would hold up every
# write of the process, and two processes' groups could lock two hot rows in opposite orders. So a group's
# transaction gives up a lock after ``GROUP_LOCK_TIMEOUT_MS``: that write's savepoint is undone and it runs
# again alone, after the group, waiting for the lock as any transaction does. Only the hall's short hot writes are
# grouped (issue, call, finish: ``run_write(grouped=True)``); imports, settings, duty rounds, the CLI and tools run
# alone. ``ONEVISIT_GROUP_COMMIT=0`` turns it off. SQLite (since the thirteenth round): no disk flush per commit
# there (WAL, synchronous=NORMAL), but each commit writes the WAL frames of every page its write changed, and the
# hot writes of a moment change the same few pages (the queue's last leaf, the audit table's, the counters);
# grouped, they are written once, with one BEGIN IMMEDIATE and one flock: 13–20 % less CPU per issue and per 下一位
# with eight threads. The group holds the writer lock, so SQLite's file lock is never met inside it.
GROUP_COMMIT = os.environ.get("ONEVISIT_GROUP_COMMIT", "1") != "0"
GROUP_LOCK_TIMEOUT_MS = 100  # well under PostgreSQL's deadlock_timeout (1 s): a cycle between groups ends here
GROUP_MAX = 16  # writes per shared transaction: bounds how long the first of them waits for the last


class _Entry:
    __slots__ = ("fn", "context", "result", "error", "done", "alone", "issues_only", "wake")

    def __init__(self, fn: Callable[[Session], object], issues_only: bool) -> None:
        self.fn = fn
        self.issues_only = issues_only
        # The caller's context (Flask's request and ``g`` live in context variables): the write runs in the
        # thread that leads the group, but sees its own request.
        self.context = contextvars.copy_context()
        self.result: object = None
        self.error: BaseException | None = None
        self.done = False
        self.alone = False  # gave up a lock inside the group: runs again in a transaction of its own
        # Held from the start; released once by a leader: when this write's group is done, or when this thread is
        # to lead the next group. A lock of its own, not a shared condition: a group's end wakes its own writes
        # and the next leader only — notifying every waiting thread took a quarter of a grouped 下一位's CPU
        # (issue 19: each woken thread contends for the GIL, to find it still waits).
        self.wake = threading.Lock()
        self.wake.acquire()


class _WriteGroup:
    """Grouped writes of this process, one group at a time; the oldest waiting write's thread leads the next.

    While a group runs (``_leading``), arriving writes queue in ``_pending``; its leader then hands the lead to the
    first of them, so ``_pending`` is empty whenever nobody leads, and a leader's own write is the first of its group.
    """

    def __init__(self, db: Database, sessions: sessionmaker, lock: AbstractContextManager = nullcontext()) -> None:
        self._db = db
        self._sessions = sessions  # on ``Database.grouped_writer`` (PostgreSQL) or the writer (SQLite)
        self._lock = lock  # SQLite: the writer lock (``_FileWriteLock``), held for the whole group
        self._pending: list[_Entry] = []
        self._mutex = threading.Lock()  # guards ``_pending`` and ``_leading``
        self._leading = False

    def run(self, fn: Callable[[Session], T], retries: int, issues_only: bool = False) -> T:
        entry = _Entry(fn, issues_only)
        with self._mutex:
            self._pending.append(entry)
            leads = not self._leading
            self._leading = True
        if not leads:
            entry.wake.acquire()  # its group is done, or it leads the next
        if not entry.done:
            self._lead(retries)
        if entry.alone:
            return self._db.run_write_alone(fn, retries=retries, issues_only=issues_only)
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]

    def _lead(self, retries: int) -> None:
        with self._mutex:
            group = self._pending[:GROUP_MAX]
            del self._pending[:GROUP_MAX]
        try:
            self._run(group, retries)
        finally:
            with self._mutex:
                following = self._pending[0] if self._pending else None
                if following is None:
                    self._leading = False
            for entry in group[1:]:  # the first is the leader's own
                entry.wake.release()
            if following is not None:
                following.wake.release()

    def _run(self, group: list[_Entry], retries: int) -> None:
        with self._lock:  # ``changes`` counted before the next writer of this process holds it (``Database.write``)
            try:
                self._run_together(group, retries)
            except BaseException as e:  # noqa: BLE001 - handed to every caller still waiting for an answer
                for entry in group:
                    if entry.error is None:
                        entry.error = e
            finally:
                if not all(entry.issues_only for entry in group):
                    self._db._changed()
                for entry in group:
                    entry.done = True

    def _run_together(self, group: list[_Entry], retries: int) -> None:
        for attempt in range(retries):
            for entry in group:
                entry.result, entry.error, entry.alone = None, None, False
            try:
                with self._sessions() as session:
                    if group[0].issues_only:
                        session.info[_ISSUING] = (self._db.url, self._db.changes)
                    if len(group) == 1:  # alone in its group: no savepoint needed
                        self._run_only(session, group[0])
                        return
                    kept = dict(session.info)
                    if self._run_all(session, group) is None and self._committed(session):
                        return
                    # Undone with everything before it; the whole group runs again, each write in a savepoint and
                    # in the same order, so each failure reaches the write that caused it (in the first pass a
                    # write sent ``later`` fails with the next write's statement, or with the commit).
                    session.rollback()
                    session.info.clear()
                    session.info.update(kept)
                    for entry in group:
                        entry.result, entry.error, entry.alone = None, None, False
                        if not entry.issues_only:
                            session.info.pop(_ISSUING, None)
                        self._run_one(session, entry)
                    session.commit()
                return
            except OperationalError as e:
                if attempt + 1 == retries or not _is_busy(e):
                    raise
                time.sleep(0.05 * (attempt + 1))

    @staticmethod
    def _committed(session: Session) -> bool:
        """Commit the group's transaction; False when the commit failed on a write sent ``later`` (or any other
        statement error): the group then runs again with savepoints. A busy database is raised (run again whole)."""
        try:
            session.commit()
        except OperationalError:
            raise
        except exc.DBAPIError:
            return False
        return True

    @staticmethod
    def _run_all(session: Session, group: list[_Entry]) -> _Entry | None:
        """Run the group's writes one after another without savepoints; the first that fails, with its failure
        recorded (or marked to run alone), is returned and the rest are not run.

        Why (issue 19): a savepoint per write cost two more round trips to PostgreSQL (``SAVEPOINT``, ``RELEASE``)
        in the group's one leading thread, which every hot write of the process waits on — a seventh of a grouped
        issue's time. The hot writes rarely fail, so their group runs as one transaction and pays for savepoints
        only when one of them does: ``_run_together`` then runs the whole group again, each write in a savepoint (the
        same order, so the same answers, and each failure its own write's)."""
        for entry in group:
            if not entry.issues_only:
                session.info.pop(_ISSUING, None)  # from here on the transaction does more than issue tickets
            try:
                entry.result = entry.context.run(entry.fn, session)
                session.flush()  # a write's own rows fail in its own turn, not in the next write's autoflush
            except Exception as e:  # noqa: BLE001 - this write's own failure, raised again in its caller's thread
                _WriteGroup._note_failure(entry, e)
                return entry
        return None

    @staticmethod
    def _note_failure(entry: _Entry, e: Exception) -> None:
        """Give a write its own failure; a busy database (a lock cycle, a lost race) is raised: the group runs again."""
        if isinstance(e, OperationalError):
            if getattr(e.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                entry.alone = True  # a lock held elsewhere: not waited for here (see GROUP_LOCK_TIMEOUT_MS)
                return
            if _is_busy(e):
                raise e
        entry.error = e

    @staticmethod
    def _run_only(session: Session, entry: _Entry) -> None:
        try:
            entry.result = entry.context.run(entry.fn, session)
            session.commit()
        except OperationalError as e:
            session.rollback()
            if getattr(e.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise  # busy: retried by ``_run_together``; anything else: this caller's error
            entry.alone = True
        except BaseException:
            session.rollback()
            raise

    @staticmethod
    def _run_one(session: Session, entry: _Entry) -> None:
        # What a write leaves in ``session.info`` for after the commit (cache updates, papers written) is
        # put back as it was when its part is undone.
        kept = {key: copy.copy(value) for key, value in session.info.items()}
        try:
            with session.begin_nested():
                entry.result = entry.context.run(entry.fn, session)
        except Exception as e:  # noqa: BLE001 - this write's own failure, raised again in its caller's thread
            _WriteGroup._note_failure(entry, e)
        else:
            return
        session.info.clear()
        session.info.update(kept)


_LOCK_NOT_AVAILABLE = "55P03"

_ISSUING = "onevisit.issuing"  # session.info of a write that so far only issued tickets: see ``issuing_only``


def issuing_only(session: Session) -> tuple[str, int] | None:
    """For a write transaction that so far only issues tickets: (its database's URL, ``Database.changes`` taken
    when it began), the key under which a read that no issue changes may be kept for the next issues (which
    windows serve a queue, issue 19); ``None`` for any other session — it may have changed what was read."""
    return session.info.get(_ISSUING)

# ``Database.changes`` per URL: the databases of one file or server in this process count together.
_CHANGES: dict[str, int] = {}
_CHANGES_LOCK = threading.Lock()  # PostgreSQL: lock_timeout ran out

_FLUSHED = "onevisit.flushed"


def _note_flush(session: Session, _context) -> None:  # noqa: ANN001
    session.info[_FLUSHED] = True


class _FileWriteLock:
    """Serialise SQLite writers: threads on a lock, processes on ``flock`` of a file beside the database.

    Waiting in the kernel wakes the next writer as soon as the lock is free, where SQLite's own
    busy handler polls with sleeps that grow to 100 ms; under many kiosks and clerks that polling,
    not the work, would set the pace.
    """

    def __init__(self, url: str) -> None:
        self._path = url.split("///", 1)[1].split("?", 1)[0] + ".writelock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            if self._fd is None or self._pid != os.getpid():  # reopen after a fork
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


class CoreReader:
    """Stands for a read ``Session`` where only Core statements run (``Database.read_core``)."""

    __slots__ = ("connection", "info", "_bind")
    new = dirty = deleted = ()

    def __init__(self, connection: Connection, bind: Engine | None = None) -> None:
        self.connection = connection
        self.info: dict = {}
        # The engine the per-process caches know this database by (the connection's may be an autocommit copy)
        self._bind = bind or connection.engine

    def get_bind(self) -> Engine:
        return self._bind

    def execute(self, stmt, params=None):
        if getattr(stmt, "is_select", False) and stmt._propagate_attrs.get("compile_state_plugin") == "orm" \
                and any(getattr(d.get("entity"), "__mapper__", None) is not None and d.get("expr") is d.get("entity")
                        for d in stmt.column_descriptions):
            raise TypeError("an ORM query of whole objects needs a Session (Database.read)")
        return self.connection.execute(stmt, params)

    def scalar(self, stmt, params=None):
        return self.execute(stmt, params).scalar()

    def scalars(self, stmt, params=None):
        return self.execute(stmt, params).scalars()


def core(session: Session) -> Connection:
    """Return the session's connection for a prebuilt Core statement, flushing pending ORM changes first.

    Hot paths (issue, call) run statements built once at import through the connection: it skips
    the ORM's per-statement work. Core statements do not autoflush, so flush here.
    """
    if type(session) is CoreReader:
        return session.connection
    if session.new or session.dirty or session.deleted:
        session.flush()
    # The connection is kept for the session's transaction (issue 19): ``Session.connection()`` resolves the
    # bind and the transaction's connection on every call, and the one-request call cycle asks 13 times.
    # Kept per *innermost* transaction: inside ``begin_nested()`` the SAVEPOINT is only emitted when
    # ``Session.connection()`` is asked, so the root transaction's kept connection must not be handed out there.
    kept = session.info.get(_CORE_CONNECTION)
    txn = _innermost(session)
    if kept is not None and txn is not None and kept[0] is txn and txn.is_active and not kept[1].closed:
        return kept[1]
    conn = session.connection()
    session.info[_CORE_CONNECTION] = (_innermost(session), conn)
    return conn


def _innermost(session: Session):
    return session.get_nested_transaction() or session.get_transaction()


_CORE_CONNECTION = "onevisit.core_connection"


def _is_busy(e: OperationalError) -> bool:
    text = str(e.orig).lower() if e.orig is not None else str(e).lower()
    # PostgreSQL rolls back one transaction of a lock cycle ("deadlock detected"); run again, it goes through.
    return "locked" in text or "busy" in text or "could not serialize" in text or "deadlock detected" in text


def one_of(column, values) -> Any:
    """``column IN ('a', 'b')`` with the values written into the SQL — for the code's own fixed vocabularies
    (statuses), never for input. A list of bound values would be SQLAlchemy's expanding ``IN``, whose SQL is
    rendered again on every execution (for the claim's long ``UNION ALL``, a regular expression over kilobytes
    of SQL per call; issue 19) and which ``Prebuilt`` cannot run."""
    words = list(values)
    assert all(w.isidentifier() for w in words), "fixed words of the code's vocabulary only"
    return column.in_([literal_column(f"'{w}'") for w in words])


def fixed_limit(rows: int) -> Any:
    """``LIMIT rows`` written into the SQL, not bound: for a hot statement's constant limit.

    Why (issue 19): PostgreSQL plans a statement prepared by psycopg once for any values (a generic plan) after a
    few executions; with the limit a parameter it could not know a head seek wants one row, and planned the claim's
    pick to scan and hash the whole tickets table. With ``one_of`` for the fixed words (a status, a priority
    class), the generic plan is the one the values would get."""
    return literal_column(str(int(rows)))


_ALL_PREBUILT: list[Prebuilt] = []  # every prebuilt statement, for ``Prebuilt.prepare_all``


class Prebuilt:
    """A Core statement of a hot path run through the driver, the work SQLAlchemy repeats per execution done once.

    The one-request call cycle runs ten prebuilt statements, and SQLAlchemy's own work around each (cache key,
    parameter construction, execution context, result set-up) cost about four times the driver's (issue 19).
    Here the SQL is compiled once per dialect and the statement's own types convert values in and rows out (the
    same conversions a Core execution applies), so both engines run the same SQL with the same values. Runs on
    the session's connection inside its transaction (``core``); driver errors are wrapped as SQLAlchemy's, so
    ``run_write`` retries a busy or deadlocked transaction as before. While a cursor-level listener is attached
    (statement counts, logging), the statement goes through ``exec_driver_sql`` so the listener sees it.
    ``keys``: an INSERT's columns (it is compiled for exactly those). No expanding ``IN`` (its SQL varies).
    """

    def __init__(self, stmt, keys: tuple[str, ...] | None = None) -> None:
        self.stmt = stmt
        self.keys = keys
        self._by_dialect: dict[tuple[str, str], tuple] = {}  # (dialect, driver) → the prepared SQL and converters
        _ALL_PREBUILT.append(self)

    @staticmethod
    def prepare_all(dialect) -> int:
        """Compile every prebuilt statement made so far for ``dialect`` (``Database.warm``); return how many.

        Compiled on first use otherwise: a few milliseconds each, paid by the first visitors after a start."""
        done = 0
        for p in list(_ALL_PREBUILT):
            if (dialect.name, dialect.driver) not in p._by_dialect:
                try:
                    p._prepare(dialect)
                except exc.CompileError:  # a statement of another engine's only (PostgreSQL's INSERT … ON CONFLICT)
                    continue
                done += 1
        return done

    def _prepare(self, dialect) -> tuple:
        compiled = self.stmt.compile(dialect=dialect, column_keys=list(self.keys) if self.keys is not None else None)
        binds = compiled.binds
        assert not any(b.expanding for b in binds.values()), "an expanding IN renders its SQL per execution"
        # Column defaults and onupdate values are computed by SQLAlchemy's execution: every column given instead.
        assert not compiled.insert_prefetch and not compiled.update_prefetch, "a column left to its default"
        sql, inline = compiled.string, set()
        for bind in compiled.literal_execute_params:  # a value SQLAlchemy writes into the SQL (group_concat's ",")
            name = compiled.bind_names[bind]
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", compiled.render_literal_value(bind.effective_value, bind.type))
            inline.add(name)
        assert "__[POSTCOMPILE_" not in sql
        names = tuple(n for n in (compiled.positiontup if compiled.positional else binds) if n not in inline)
        fixed = {n: b.effective_value for n, b in binds.items() if not b.required}  # literals in the statement
        procs = {n: p for n, b in binds.items() if (p := _bind_processor(b.type, dialect))}
        columns = list(getattr(self.stmt, "exported_columns", ())) if self.stmt.is_dml else \
            list(self.stmt.selected_columns)
        row_procs = tuple(_result_processor(c.type.dialect_impl(dialect), dialect) for c in columns)
        row_type = _row_type(tuple(c.key for c in columns)) if columns else None
        raw = _native_placeholders(sql, names) if dialect.driver == "psycopg" and not compiled.positional else None
        prepared = (sql, names, fixed, procs, row_procs, row_type, compiled.positional, raw)
        self._by_dialect[(dialect.name, dialect.driver)] = prepared
        return prepared

    def run(self, conn: Connection, params: dict | None = None) -> list:
        """Execute with ``params`` (by bind name); return the rows (plain named tuples), [] when none."""
        return self._execute(conn, [params], many=False)

    def first(self, conn: Connection, params: dict | None = None):
        """The first row, or None."""
        rows = self._execute(conn, [params], many=False)
        return rows[0] if rows else None

    def scalar(self, conn: Connection, params: dict | None = None):
        """The first column of the first row, or None."""
        rows = self._execute(conn, [params], many=False)
        return rows[0][0] if rows else None

    def run_many(self, conn: Connection, params: list[dict]) -> None:
        """Execute once per parameter set, as one ``executemany`` (no rows: not for ``RETURNING``)."""
        if len(params) == 1:
            self._execute(conn, params, many=False)
        elif params:
            self._execute(conn, params, many=True)

    def later(self, conn: Connection, params: dict | None = None) -> None:
        """Execute a write whose result nobody reads (an audit row, a ticket's items) without waiting for it.

        On PostgreSQL it is sent with the transaction's next statement, savepoint or commit, all in one round trip
        (psycopg's pipeline mode, ``_send_later``): each round trip costs the group's leading thread a wait and two
        context switches, which every hot write of the process queues behind (issue 19). A failure surfaces at
        that next step, inside the same transaction, which it then rolls back. On SQLite, where a statement is a
        function call and not a message, and whenever a cursor listener watches, it runs now."""
        self.later_many(conn, [params])

    def later_many(self, conn: Connection, params: list[dict | None]) -> None:
        """``later`` for several parameter sets (on SQLite one ``executemany``)."""
        prepared = self._waiting(conn)
        if prepared is None:
            if params:
                self._execute(conn, params, many=len(params) > 1)
            return
        pending = conn.info.setdefault(_LATER, [])
        for p in params:
            pending.append((prepared[7][0], self._raw_values(prepared, p), None))

    def _waiting(self, conn: Connection) -> tuple | None:
        """The statement as prepared for ``conn`` when it may wait on the connection (``later``, ``ahead``): on
        PostgreSQL, outside a savepoint — inside one it runs now, so its failure is the savepoint's, raised where
        SQLAlchemy undoes it (sent at the release, a failure left the whole transaction aborted) — and with no cursor
        listener watching. None when it runs now."""
        dialect = conn.dialect
        prepared = self._by_dialect.get((dialect.name, dialect.driver)) or self._prepare(dialect)
        if prepared[7] is None or conn.in_nested_transaction() or conn.dispatch.before_cursor_execute \
                or conn.dispatch.after_cursor_execute or conn.engine.echo:
            return None
        assert conn.in_transaction(), "a prebuilt statement runs inside the session's transaction"
        return prepared

    @staticmethod
    def _raw_values(prepared: tuple, params: dict | None) -> tuple:
        """``params`` converted by the statement's types, in the order of its ``$n`` placeholders."""
        _sql, names, fixed, procs = prepared[:4]
        given = {**fixed, **params} if params else fixed
        values = [(procs[n](given[n]) if n in procs else given[n]) for n in names]
        return tuple(values[i] for i in prepared[7][1])

    def _execute(self, conn: Connection, params_list: list, *, many: bool) -> list:
        dialect = conn.dialect
        sql, names, fixed, procs, row_procs, row_type, positional, raw = \
            self._by_dialect.get((dialect.name, dialect.driver)) or self._prepare(dialect)
        value_sets = []
        for params in params_list:
            given = {**fixed, **params} if params else fixed
            value_sets.append([(procs[n](given[n]) if n in procs else given[n]) for n in names])
        assert conn.in_transaction(), "a prebuilt statement runs inside the session's transaction"
        # Whether rows come back is the statement's own (a SELECT, a RETURNING), known when it was compiled: the
        # cursor's ``description`` is asked only to choose a late processor, for psycopg builds it anew on each ask
        # (a column object per column: 70 per 下一位, issue 19).
        returns = row_type is not None and not many
        late = returns and any(type(p) is _ByColumnType for p in row_procs)
        description = None
        if conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute or conn.engine.echo:
            sets = [tuple(v) if positional else dict(zip(names, v)) for v in value_sets]
            result = conn.exec_driver_sql(sql, sets if many else sets[0])
            if late:
                description = result.cursor.description
            rows = result.fetchall() if returns else []
        else:
            dbapi = conn.connection.dbapi_connection
            if raw is not None:  # psycopg: $n placeholders as compiled, the query not parsed again per execution
                sql, order = raw
                cursor = _RawCursor(dbapi)
                sets = [tuple(v[i] for i in order) for v in value_sets]
            else:
                cursor = dbapi.cursor()
                sets = [tuple(v) if positional else dict(zip(names, v)) for v in value_sets]
            args = sets if many else sets[0]
            try:
                if many:
                    if conn.info.get(_LATER):
                        _send_later(conn)
                    cursor.executemany(sql, args)
                elif conn.info.get(_LATER) or (raw is not None and dbapi.pgconn.transaction_status == _PG_IDLE
                                                and not dbapi.autocommit):
                    # The writes sent ``later`` go first, in the same round trip; so does the BEGIN psycopg sends
                    # before a transaction's first statement (a round trip of its own otherwise).
                    _send_later(conn, then=(cursor, sql, args))
                else:
                    cursor.execute(sql, args)
                if late:
                    description = cursor.description
                rows = cursor.fetchall() if returns else []
            except dialect.loaded_dbapi.Error as e:
                raise exc.DBAPIError.instance(sql, args, e, dialect.loaded_dbapi.Error, dialect=dialect) from e
            finally:
                cursor.close()
        if not returns:
            return []
        return self._converted(dialect, rows, (lambda: description) if late else None)

    def _converted(self, dialect, rows: list, describe) -> list:
        """The driver's rows as named tuples, each value converted by its column's type (``describe()``: the cursor's
        description, for a processor that depends on the driver's column type; None when none does, as known)."""
        _sql, names, fixed, procs, row_procs, row_type, positional, raw = self._by_dialect[(dialect.name, dialect.driver)]
        if describe is not None and any(type(p) is _ByColumnType for p in row_procs):
            # A processor that depends on the driver's column type (psycopg's numerics), known from the first rows.
            row_procs = tuple(p.impl.result_processor(dialect, d[1]) if type(p) is _ByColumnType else p
                              for p, d in zip(row_procs, describe()))
            self._by_dialect[(dialect.name, dialect.driver)] = \
                (_sql, names, fixed, procs, row_procs, row_type, positional, raw)
        if any(row_procs):
            return [row_type(*[(p(v) if p else v) for p, v in zip(row_procs, r)]) for r in rows]
        return [row_type(*r) for r in rows]

    def ahead(self, conn: Connection, params: dict | None = None) -> Ahead:
        """Send a read whose rows are needed a step later, with the transaction's next statement (``Ahead.rows``).

        On PostgreSQL the two go out in one round trip, in this order (so row locks are taken in it); on SQLite, and
        whenever a cursor listener watches, it runs now. Not inside a savepoint (``later`` runs at once there)."""
        prepared = self._waiting(conn)
        if prepared is None:
            return Ahead(self, conn, None, self._execute(conn, [params], many=False))
        cursor = _RawCursor(conn.connection.dbapi_connection)
        conn.info.setdefault(_LATER, []).append((prepared[7][0], self._raw_values(prepared, params), cursor))
        return Ahead(self, conn, cursor, None)


class IdBlock:
    """Row ids of one table taken from its PostgreSQL sequence a block at a time, per database and process.

    Why (issue 19): an ``INSERT … RETURNING id`` waits for its answer — one round trip of the group's leading thread
    per kiosk issue — only to learn the id that the ticket's items, audit row and answer need. With the id taken
    here first, the insert needs no answer and goes out ``later``, with the transaction's next statement. ``nextval``
    is outside transactions: two processes never get the same id, and a rolled-back write leaves an unused id
    (row ids may have gaps; ticket numbers and acceptance numbers have their own gap-free counters). Within a
    process ids still rise in the order they are taken; across processes they interleave by block, which only
    breaks ties between rows of the same instant."""

    def __init__(self, sequence: str, size: int = 64) -> None:
        self._sql = f"SELECT nextval('{sequence}') FROM generate_series(1, {int(size)})"
        self._free: dict[object, deque[int]] = {}  # database URL → ids taken and not yet used
        self._lock = threading.Lock()

    def insert(self, conn: Connection, values: dict, *, with_id: Prebuilt, returning_id: Prebuilt) -> int:
        """Write a new row of the table and return its id: on PostgreSQL the id taken here and ``with_id`` (an insert
        of the id and ``values``) sent ``later``; on SQLite, where a statement waits for no message, ``returning_id``
        (an insert of ``values`` ``RETURNING`` the id) runs now."""
        if conn.dialect.name == "postgresql":
            row_id = self.take(conn)
            with_id.later(conn, {"id": row_id, **values})
            return row_id
        return returning_id.run(conn, values)[0].id

    def take(self, conn: Connection) -> int:
        url = conn.engine.url
        with self._lock:
            free = self._free.get(url)
            if free:
                return free.popleft()
        ids = [row[0] for row in conn.exec_driver_sql(self._sql)]
        with self._lock:
            free = self._free.setdefault(url, deque())
            free.extend(ids)
            return free.popleft()


class Ahead:
    """A read sent ``ahead`` (``Prebuilt.ahead``); ``rows()`` gives its rows, sending it first if it is still waiting."""

    __slots__ = ("_stmt", "_conn", "_cursor", "_rows")

    def __init__(self, stmt: Prebuilt, conn: Connection, cursor, rows: list | None) -> None:
        self._stmt, self._conn, self._cursor, self._rows = stmt, conn, cursor, rows

    @property
    def answered(self) -> bool:
        """Its rows are here already (it ran at once: SQLite, a savepoint, a cursor listener): ``rows()`` sends nothing."""
        return self._rows is not None

    def first(self):
        """Its first row, or None (``Prebuilt.first`` for a read sent ahead)."""
        rows = self.rows()
        return rows[0] if rows else None

    def rows(self) -> list:
        if self._rows is None:
            cursor = self._cursor
            try:
                if any(entry[-1] is cursor for entry in self._conn.info.get(_LATER) or ()):
                    _send_later(self._conn)
                raw = cursor.fetchall()
                self._rows = self._stmt._converted(self._conn.dialect, raw, lambda: cursor.description)
            finally:
                cursor.close()
        return self._rows


def _bind_processor(type_, dialect):
    """The statement's own conversion of a bound value, with SQLite's stored time written by ``isoformat``.

    SQLAlchemy writes a SQLite ``DATETIME`` by filling a dict of seven fields into its format string; for the
    default format, a naive ``datetime``'s ``isoformat(" ", "microseconds")`` is the same text at a fraction of the
    cost (a call cycle binds fifteen times, issue 19). Anything else goes the statement type's own way."""
    impl = type_.dialect_impl(dialect)
    slow = impl.bind_processor(dialect)
    if not (isinstance(impl, _SQLITE_DATETIME) and impl._storage_format == _SQLITE_DATETIME._storage_format):
        return slow
    whole = datetime.datetime

    def fast(value):
        if type(value) is whole and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return slow(value)
    return fast


try:  # the PostgreSQL driver's cursor for native placeholders; absent where only SQLite is installed
    from psycopg import RawCursor as _RawCursor
except ImportError:  # pragma: no cover
    _RawCursor = None

_LATER = "onevisit.later"  # a connection's writes sent with its next statement (``Prebuilt.later``)
_PG_IDLE = 0  # libpq's PQTRANS_IDLE: no transaction open on the connection yet


def _send_later(conn: Connection, *, then: tuple | None = None, commit: bool = False) -> None:
    """Send the connection's pending writes (``Prebuilt.later``), then ``then`` (cursor, SQL, values) and/or
    COMMIT, in one round trip: psycopg's pipeline mode, whose end waits for every result. ``then``'s rows are
    read from its cursor afterwards. A failure is raised as SQLAlchemy's error, as any statement's."""
    pending = conn.info.get(_LATER) or []
    batch, pending[:] = list(pending), []
    dbapi = conn.connection.dbapi_connection
    cursor = _RawCursor(dbapi)
    try:
        with dbapi.pipeline():
            for sql, args, own in batch:  # ``own``: a read sent ``ahead``, its rows kept on its cursor
                (own or cursor).execute(sql, args)
            if then is not None:
                then[0].execute(then[1], then[2])
            if commit:
                cursor.execute("COMMIT")  # psycopg sees the transaction ended: SQLAlchemy's own commit is a no-op
    except conn.dialect.loaded_dbapi.Error as e:
        sql = "; ".join([entry[0] for entry in batch] + ([then[1]] if then else []))
        raise exc.DBAPIError.instance(sql, None, e, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from e
    finally:
        cursor.close()


def _begin_later(engine: Engine) -> None:
    """A transaction's BEGIN sent with its first statement: psycopg's own BEGIN is a round trip of its own.

    psycopg sends BEGIN before a transaction's first statement and, in pipeline mode, waits for its answer before
    anything else goes out; the grouped writes' one connection paid that round trip per group, in the leading
    thread that every hot write of the process waits on (issue 19). Here the driver connection is in autocommit
    (psycopg sends no BEGIN) and the dialect's begin step puts ``BEGIN`` first among the connection's writes sent
    ``later``, so it goes out with whatever the transaction sends first (``_watch_later`` sends it before any other
    statement, savepoint or commit; a rollback before that drops it: nothing was begun). Once BEGIN has run, the
    server's transaction is psycopg's as usual: its ``commit()`` and ``rollback()`` go by the transaction status
    the server reports, not by the autocommit flag."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.autocommit = True

    def do_begin(fairy) -> None:  # noqa: ANN001 - the pooled connection, whose ``info`` is the Connection's
        fairy.info.setdefault(_LATER, []).insert(0, ("BEGIN", None, None))
    engine.dialect.do_begin = do_begin


def _watch_later(engine: Engine) -> None:
    """Where a PostgreSQL connection's pending writes must go out first: before any other statement (ORM, Core,
    driver SQL), before a savepoint (inside one nothing waits: ``later_many``), with the commit; a rollback drops
    them (never sent)."""

    def send(conn, *_args) -> None:  # noqa: ANN001
        if conn.info.get(_LATER):
            _send_later(conn)

    def drop(conn, *_args) -> None:  # noqa: ANN001
        # A connection lost mid-transaction (the database cut off) is invalidated: what waited went with its DBAPI
        # connection, and asking for ``info`` would raise PendingRollbackError over the real error (a 500, not a 503).
        if not conn.invalidated:
            conn.info.pop(_LATER, None)

    def send_with_commit(conn) -> None:  # noqa: ANN001
        if conn.info.get(_LATER):
            _send_later(conn, commit=True)
    event.listen(engine, "before_execute", send)
    event.listen(engine, "savepoint", send)
    event.listen(engine, "commit", send_with_commit)
    event.listen(engine, "rollback", drop)


def _native_placeholders(sql: str, names: tuple[str, ...]) -> tuple[str, tuple[int, ...]] | None:
    """psycopg's ``%(name)s`` SQL → PostgreSQL's own ``$1 …`` and, for each ``$k``, its value's place in ``names``.

    psycopg parses a query for its placeholders on every execution of a statement longer than 4 kB (the claim of
    下一位 is) and keeps parsed short ones in a cache it looks up each time; a ``RawCursor`` with ``$k`` sends the
    SQL as it is (issue 19). ``None`` when the SQL holds a ``%`` that is not a placeholder (left to psycopg)."""
    if _RawCursor is None:
        return None
    order: list[int] = []
    slots: dict[str, int] = {}

    def slot(m: re.Match) -> str:
        name = m.group(1)
        if name not in slots:
            slots[name] = len(order) + 1
            order.append(names.index(name))
        return f"${slots[name]}"
    raw = re.sub(r"%\(([^)]+)\)s", slot, sql)
    if "%" in raw or "$" in sql:
        return None
    return raw, tuple(order)


class _ByColumnType:
    """A result processor to be chosen by the column type the driver reports (not known before a first execution)."""

    def __init__(self, impl) -> None:
        self.impl = impl

    def __call__(self, value):  # only before the first rows came back; never reached with rows
        raise AssertionError("a column-type processor used before it was chosen")


def _result_processor(impl, dialect):
    try:
        return impl.result_processor(dialect, None)
    except (TypeError, KeyError):  # psycopg's numerics choose by the column's type code
        return _ByColumnType(impl)


def _row_type(keys: tuple[str, ...]):
    # rename: an unnamed column (a scalar subquery) or a repeated name gets a positional name (_2)
    return namedtuple("PrebuiltRow", [k if isinstance(k, str) else "_" for k in keys], rename=True)


class compared_as_stored(FunctionElement):
    """A stored time column in a comparison that runs per row, compared as stored: SQLite gives a ``DATETIME``
    column numeric affinity, so comparing it with a bound time first tries to read that text as a number —
    again for every row (``sqlite3AtoF`` was a tenth of the wait range's instructions, issue 19). ``+column``
    has no affinity, so the texts compare as they are, with the same outcome (a time's text is never a number).
    Not for a comparison an index should serve: ``+`` hides the column from the planner. Other engines: the column.
    """

    inherit_cache = True

    def __init__(self, column) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(compared_as_stored, "sqlite")
def _compared_as_stored_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.clauses, **kw)}"


@compiles(compared_as_stored)
def _compared_as_stored_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)

"""Engines and sessions. Nothing connects at import (STYLE rule 1).

SQLite: WAL journal, a busy timeout, and every *write* transaction opened with ``BEGIN IMMEDIATE``
so two kiosks or two clerks never interleave a read-modify-write (DESIGN: concurrency). Reads use
plain deferred transactions on a second engine so screens and polling never take the write lock.
PostgreSQL: one engine; ``call_next`` adds ``FOR UPDATE SKIP LOCKED`` to the same query.
"""
from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_S = 30.0


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
                           pool_size=20, max_overflow=40, pool_timeout=60)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    # BEGIN sent on the driver's connection in the dialect's own begin step, where a failure still becomes
    # SQLAlchemy's OperationalError (``run_write`` retries a busy one); the "begin" event's exec_driver_sql ran
    # it through the whole statement machinery, twice a request (issue 19).
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    engine.dialect.do_begin = lambda conn: conn.dbapi_connection.execute(begin).close()

    return engine


class Database:
    """The hall database: a writer and a reader engine (the same one on PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.writer = _sqlite_engine(url, immediate=True)
            self.reader = _sqlite_engine(url, immediate=False)
        else:
            # A steady pool: with many request threads, overflow connections would be opened and
            # closed on every burst (a PostgreSQL backend fork each); waiting briefly for a pooled
            # connection is cheaper, and keeps two processes under max_connections = 100.
            size = int(os.environ.get("ONEVISIT_DB_POOL", "16"))
            self.writer = create_engine(url, pool_size=size, max_overflow=4, pool_timeout=60, pool_pre_ping=True)
            self.reader = self.writer
        # SQLite admits one writer at a time; queueing writers of this process on a lock instead of
        # SQLite's busy handler (which sleeps in growing steps) keeps the latency tail short.
        # Other processes on the same file still wait through busy_timeout.
        self._write_lock = _FileWriteLock(url) if self.is_sqlite and ":memory:" not in url else nullcontext()
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Open a write transaction; the caller commits, anything else rolls back."""
        with self._write_lock, self._write_sessions() as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Open a read-only session; closing it ends the transaction and keeps loaded rows readable."""
        with self._read_sessions() as session:
            yield session

    def run_write(self, fn: Callable[[Session], T], *, retries: int = 5) -> T:
        """Run ``fn`` in a write transaction and commit; retry when SQLite reports the file busy."""
        for attempt in range(retries):
            try:
                with self.write() as session:
                    result = fn(session)
                    session.commit()
                    return result
            except OperationalError as e:
                if attempt + 1 == retries or not _is_busy(e):
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


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


def core(session: Session) -> Connection:
    """Return the session's connection for a prebuilt Core statement, flushing pending ORM changes first.

    Hot paths (issue, call) run statements built once at import through the connection: it skips
    the ORM's per-statement work. Core statements do not autoflush, so flush here.
    """
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

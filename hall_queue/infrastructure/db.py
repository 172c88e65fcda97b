"""Engines and sessions. Nothing connects at import (STYLE rule 1).

SQLite: WAL journal, a busy timeout, and every *write* transaction opened with ``BEGIN IMMEDIATE``
so two kiosks or two clerks never interleave a read-modify-write (DESIGN: concurrency). Reads use
plain deferred transactions on a second engine so screens and polling never take the write lock.
PostgreSQL: one engine; ``call_next`` adds ``FOR UPDATE SKIP LOCKED`` to the same query.
"""
from __future__ import annotations

import fcntl
import os
from collections import namedtuple
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc
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

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

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
        procs = {n: p for n, b in binds.items() if (p := b.type.dialect_impl(dialect).bind_processor(dialect))}
        columns = list(getattr(self.stmt, "exported_columns", ())) if self.stmt.is_dml else \
            list(self.stmt.selected_columns)
        row_procs = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        row_type = _row_type(tuple(c.key for c in columns)) if columns else None
        prepared = (sql, names, fixed, procs, row_procs, row_type, compiled.positional)
        self._by_dialect[(dialect.name, dialect.driver)] = prepared
        return prepared

    def run(self, conn: Connection, params: dict | None = None) -> list:
        """Execute with ``params`` (by bind name); return the rows (plain named tuples), [] when none."""
        dialect = conn.dialect
        sql, names, fixed, procs, row_procs, row_type, positional = \
            self._by_dialect.get((dialect.name, dialect.driver)) or self._prepare(dialect)
        given = {**fixed, **params} if params else fixed
        values = [(procs[n](given[n]) if n in procs else given[n]) for n in names]
        args = tuple(values) if positional else dict(zip(names, values))
        assert conn.in_transaction(), "a prebuilt statement runs inside the session's transaction"
        if conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute or conn.engine.echo:
            result = conn.exec_driver_sql(sql, args)
            rows = result.fetchall() if result.returns_rows else []
        else:
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute(sql, args)
                rows = cursor.fetchall() if cursor.description is not None else []
            except dialect.loaded_dbapi.Error as e:
                raise exc.DBAPIError.instance(sql, args, e, dialect.loaded_dbapi.Error, dialect=dialect) from e
            finally:
                cursor.close()
        if row_type is None:
            return []
        if any(row_procs):
            return [row_type(*[(p(v) if p else v) for p, v in zip(row_procs, r)]) for r in rows]
        return [row_type(*r) for r in rows]


def _row_type(keys: tuple[str, ...]):
    return namedtuple("PrebuiltRow", keys)

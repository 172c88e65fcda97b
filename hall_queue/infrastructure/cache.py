"""Short-lived per-process caches of rows that rarely change: tokens, hall settings, the hall calendar,
the catalogue's item → queue routes.

Issuing a ticket reads all of these, and reading them cost a third of the request. A change to a
watched table committed through any ``Session`` of this process clears the caches that depend on it
at once (ORM flushes and Core insert/update/delete run through a session are both seen); a change
made by another process is seen within the cache's time to live. Entries are keyed per database, so
two databases in one process (tests, tools) never share one.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_MISSING = object()
RELOAD_GRACE_S = 1.0  # how long the others keep a lapsed entry while one caller reads it again (``TtlCache._lapsed``)
_by_table: dict[str, list[TtlCache]] = {}
_CHANGED = "onevisit_changed_tables"
_STALE_KEYS = "onevisit_stale_cache_keys"


class TtlCache:
    """A dict whose entries live ``ttl_s`` seconds and vanish when one of ``tables`` changes here."""

    def __init__(self, ttl_s: float, tables: set[str], *, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[tuple[str, Hashable], tuple[Any, float]] = {}
        self._lock = threading.Lock()
        for table in tables:
            _by_table.setdefault(table, []).append(self)

    def get(self, session: Session, key: Hashable) -> Any:
        """Return the cached value, or ``MISSING`` when absent or stale (see ``_lapsed``)."""
        full = (_namespace(session), key)
        hit = self._entries.get(full)
        if hit is None:
            return _MISSING
        if hit[1] < time.monotonic():
            return self._lapsed(full, hit)
        return hit[0]

    def _lapsed(self, full: tuple[str, Hashable], hit: tuple[Any, float]) -> Any:
        """An entry past its time: the first caller gets ``MISSING`` and reads it again; the others keep its value
        for up to ``RELOAD_GRACE_S`` meanwhile.

        Why (issue 19): when an entry lapsed, every request in flight missed it together and read the same rows
        (a kiosk token, the hall's settings, the catalogue's routes): every 5 s, eight kiosks' issues took 110 ms
        instead of 26. One reads; the rest answer from a value at most a reload older than before."""
        with self._lock:
            if self._entries.get(full) is hit:
                self._entries[full] = (hit[0], time.monotonic() + RELOAD_GRACE_S)
                return _MISSING
        now = self._entries.get(full)
        return now[0] if now is not None and now[1] >= time.monotonic() else _MISSING

    def peek(self, bind: Any, key: Hashable) -> Any:
        """``get`` by the engine a session would use, for a hit without opening a session (``MISSING`` otherwise)."""
        ns = getattr(bind, "_onevisit_cache_ns", None)
        if ns is None:
            return _MISSING
        hit = self._entries.get((ns, key))
        if hit is None or hit[1] < time.monotonic():
            return _MISSING
        return hit[0]

    def put(self, session: Session, key: Hashable, value: Any) -> Any:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[(_namespace(session), key)] = (value, time.monotonic() + self.ttl_s)
        return value

    def get_many(self, session: Session, keys: list, load: Any) -> dict:
        """The values of ``keys`` that exist: kept ones, and the rest from ``load(missing keys)`` (a dict of those
        found, read in one go) — a key ``load`` did not find is remembered as absent too."""
        out, missing = {}, []
        for key in keys:
            hit = self.get(session, key)
            if hit is MISSING:
                missing.append(key)
            elif hit is not None:
                out[key] = hit
        if missing:
            found = load(missing)
            for key in missing:
                if (value := self.put(session, key, found.get(key))) is not None:
                    out[key] = value
        return out

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def forget_after_commit(self, session: Session, key: Hashable) -> None:
        """Drop ``key`` once ``session`` commits (a value that one row's change makes stale, not a whole table's).

        Dropped under every engine of the process (a database's reader and writer engines keep entries apart).
        """
        session.info.setdefault(_STALE_KEYS, []).append((self, key, None))

    def update_after_commit(self, session: Session, key: Hashable, change: Any) -> None:
        """Replace ``key``'s value by ``change(value)`` once ``session`` commits (under every engine, where cached)."""
        session.info.setdefault(_STALE_KEYS, []).append((self, key, change))

    def _update(self, key: Hashable, change: Any) -> None:
        with self._lock:
            for full_key in [k for k in self._entries if k[1] == key]:
                value, expires = self._entries[full_key]
                self._entries[full_key] = (change(value), expires)

    def _drop(self, key: Hashable) -> None:
        with self._lock:
            for full_key in [k for k in self._entries if k[1] == key]:
                del self._entries[full_key]


MISSING = _MISSING


class SharedRead:
    """One read for the callers that want the same rows at the same moment, each sure to see its own writes.

    ``get`` joins a read of the same key that is in flight and began at or after the caller's ``floor`` — the
    database's ``changes`` taken after the caller's own commit (``Database.changes``), so that read began after the
    commit and sees it; otherwise the caller reads itself (and others may join it). Nothing is kept once a read ends:
    this is not a cache, only a way for callers that arrive together to share one statement.

    Why (issue 19): a group commit answers several clerks' 下一位 at one moment, and each then read its queue's figures
    for the screens after commit — the same statement and, for windows on the same queue, the same answer, one
    round trip and one scan of the queue's waiting tickets each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flying: dict[Hashable, tuple[int, Future]] = {}

    def get(self, session: Session, key: Hashable, floor: int, read: Callable[[], Any]) -> Any:
        full = (_namespace(session), key)
        with self._lock:
            flying = self._flying.get(full)
            if flying is not None and flying[0] >= floor:
                joined = flying[1]
            else:
                joined, mine = None, Future()
                self._flying[full] = (floor, mine)
        if joined is not None:
            return joined.result()
        try:
            rows = read()
        except BaseException as e:
            mine.set_exception(e)
            raise
        else:
            mine.set_result(rows)
            return rows
        finally:
            with self._lock:
                if self._flying.get(full, (0, None))[1] is mine:
                    del self._flying[full]


def _namespace(session: Session) -> str:
    # Kept in the session too: a session never changes its engine, and resolving the bind on each of the
    # dozen lookups of a call cycle showed in its profile (issue 19).
    ns = session.info.get(_NAMESPACE)
    if ns is None:
        bind = session.get_bind()
        ns = getattr(bind, "_onevisit_cache_ns", None)
        if ns is None:
            ns = bind._onevisit_cache_ns = secrets.token_hex(8)  # type: ignore[union-attr]
        session.info[_NAMESPACE] = ns
    return ns


_NAMESPACE = "onevisit_cache_namespace"


def forget(*tables: str) -> None:
    """Clear every cache that depends on one of ``tables`` (all of them when none is named)."""
    caches = {id(c): c for t in (tables or list(_by_table)) for c in _by_table.get(t, [])}
    for cache in caches.values():
        cache.clear()


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _flush_context: Any) -> None:
    tables = {getattr(o, "__tablename__", None) for o in (*session.new, *session.dirty, *session.deleted)}
    if watched := tables & _by_table.keys():
        session.info.setdefault(_CHANGED, set()).update(watched)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: Any) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table.name in _by_table:
        state.session.info.setdefault(_CHANGED, set()).add(table.name)


@event.listens_for(Session, "after_commit")
def _clear_after_commit(session: Session) -> None:
    if changed := session.info.pop(_CHANGED, None):
        forget(*changed)
    for cache, key, change in session.info.pop(_STALE_KEYS, ()):
        if change is None:
            cache._drop(key)
        else:
            cache._update(key, change)

# No rollback hook: a change noted in a transaction that then rolls back only clears a cache for
# nothing, which costs a miss — never a stale answer.

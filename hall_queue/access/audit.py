"""Audit log: every staff and device action that changes the hall (004 §8.4)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from hall_queue.domain.vocabulary import MANAGER_ROLES
from hall_queue.infrastructure.db import Prebuilt, core
from hall_queue.domain.models import AuditEvent

# Every staff action and every ticket writes one: through the driver (db.Prebuilt, issue 19).
_INSERT = Prebuilt(insert(AuditEvent), keys=("hall_id", "at", "actor_kind", "actor_id", "action", "ticket_id",
                                             "window_id", "detail"))


@dataclass(frozen=True)
class Actor:
    """Who asks: a staff member (with role), a device (kiosk/screen/pad), or the system itself."""

    kind: str  # staff | kiosk | screen | pad | system | visitor (holder of a slip's follow code)
    id: int | None = None
    role: str | None = None  # admin | manager | clerk for staff
    hall_id: int | None = None
    window_id: int | None = None  # for window-bound devices

    @property
    def is_manager(self) -> bool:
        return self.kind == "staff" and self.role in MANAGER_ROLES

    @property
    def is_system(self) -> bool:
        return self.kind == "system"


SYSTEM = Actor(kind="system")


def record(session: Session, *, actor: Actor, action: str, at: datetime, hall_id: int | None,
           ticket_id: int | None = None, window_id: int | None = None, **detail: Any) -> None:
    """Append one audit event to the current transaction.

    A Core insert on the session's connection, not ``session.add``: every staff action records one,
    and the ORM's unit of work would cost more than the action itself. Pending rows are flushed
    first (``db.core``): the event may name a hall created in this same transaction. Inside ``batched``
    the row is held and written with the batch's others.
    """
    row = {"hall_id": hall_id, "at": at, "actor_kind": actor.kind, "actor_id": actor.id, "action": action,
           "ticket_id": ticket_id, "window_id": window_id, "detail": detail}
    held = session.info.get(_HELD)
    if held is not None:
        held.append(row)
    else:
        _INSERT.later(core(session), row)


_HELD = "onevisit.audit_held"


@contextmanager
def batched(session: Session) -> Iterator[list[dict[str, Any]]]:
    """Hold the audit rows recorded inside, then write them, in the order held, in one statement.

    The clerk's 下一位 records three (the finish, the 即办 case's step, the call): one statement instead of
    three under the writer lock (issue 19). Only for code that does not read the audit log back inside; a
    batch inside a batch joins the outer one. Yields the rows held so far (in the order they will be written).
    On an error the rows are dropped, as the transaction is.
    """
    if _HELD in session.info:
        yield session.info[_HELD]
        return
    held: list[dict[str, Any]] = []
    session.info[_HELD] = held
    try:
        yield held
    finally:
        del session.info[_HELD]
    if held:  # a list is one executemany: one statement however many rows
        _INSERT.later_many(core(session), held)


# ---------------------------------------------------------------- tamper-evident chain
# Sealing runs in the periodic duty, not in the request: a chain link per request would make every
# write in the hall wait on one row. Events are sealed in id order; one committed late (PostgreSQL)
# simply gets a later link. Links are HMAC-SHA256 keyed from the data key, so rewriting the whole
# chain needs the key as well as the database.

def _canonical(e, seq: int) -> bytes:
    import json

    return json.dumps([e.id, e.hall_id, e.at.isoformat(), e.actor_kind, e.actor_id, e.action, e.ticket_id,
                       e.window_id, e.detail, seq], sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), default=str).encode()


def _link(key: bytes, prev: str, e, seq: int | None = None) -> str:
    """The link of ``e`` (an ``AuditEvent`` or a row of its columns) at chain position ``seq`` (default its own)."""
    import hashlib
    import hmac

    return hmac.new(key, prev.encode() + b"|" + _canonical(e, e.chain_seq if seq is None else seq),
                    hashlib.sha256).hexdigest()


def chain_key(secret: str) -> bytes:
    import hashlib

    return hashlib.sha256(b"onevisit-audit-chain|" + secret.encode()).digest()


_HEAD = (select(AuditEvent.chain_seq, AuditEvent.chain_hash).where(AuditEvent.chain_seq.is_not(None))
         .order_by(AuditEvent.chain_seq.desc()).limit(1))
_UNSEALED = (select(*AuditEvent.__table__.c).where(AuditEvent.chain_seq.is_(None))
             .order_by(AuditEvent.id).limit(bindparam("n")))
_SEAL = (update(AuditEvent.__table__)
         .where(AuditEvent.__table__.c.id == bindparam("b_id"), AuditEvent.__table__.c.chain_seq.is_(None))
         .values(chain_seq=bindparam("b_seq"), chain_hash=bindparam("b_hash")))
_HEAD_LOCKED = _HEAD.with_for_update()  # PostgreSQL: a second sealer waits for this one's commit
# PostgreSQL: a batch's links in one statement, the arrays unnested — an executemany sent 200 UPDATEs, each a message
# psycopg writes and polls for and a statement PostgreSQL runs: every five seconds a burst of the duty thread's CPU
# (and GIL) and the database's beside the hall's requests, in the call cycle's p99 (issue 19). The same rows change.
_SEAL_ARRAYS = text(
    "UPDATE audit_events SET chain_seq = v.seq, chain_hash = v.hash"
    " FROM unnest(CAST(:ids AS INTEGER[]), CAST(:seqs AS INTEGER[]), CAST(:hashes AS VARCHAR[])) AS v(id, seq, hash)"
    " WHERE audit_events.id = v.id AND audit_events.chain_seq IS NULL")
SEAL_BATCH = 200  # links written per write transaction by the duty round


def _next_links(session: Session, key: bytes, limit: int) -> tuple[tuple | None, list[dict]]:
    """The chain's head (seq, hash) and the links of the next ``limit`` unsealed events after it."""
    head = session.execute(_HEAD).first()
    seq, prev = (head[0], head[1]) if head else (0, "genesis")
    links = []
    for e in session.execute(_UNSEALED, {"n": limit}):
        seq += 1
        prev = _link(key, prev, e, seq)
        links.append({"b_id": e.id, "b_seq": seq, "b_hash": prev})
    return (tuple(head) if head else None), links


def _write_links(session: Session, head: tuple | None, links: list[dict]) -> int:
    """Write links computed from ``head``; none if the chain moved on meanwhile (another sealer)."""
    now = session.execute(_HEAD_LOCKED).first()
    if (tuple(now) if now else None) != head:
        return 0
    conn = core(session)
    if links and conn.dialect.name == "postgresql":
        conn.execute(_SEAL_ARRAYS, {"ids": [link["b_id"] for link in links], "seqs": [link["b_seq"] for link in links],
                                    "hashes": [link["b_hash"] for link in links]})
    elif links:
        conn.execute(_SEAL, links)
    return len(links)


def seal(session: Session, key: bytes, *, limit: int = 5000) -> int:
    """Link unsealed audit events onto the chain in this transaction; return how many were sealed."""
    head, links = _next_links(session, key, limit)
    return _write_links(session, head, links)


def seal_pending(db, key: bytes, *, batch: int = SEAL_BATCH, pause_s: float = 0.0) -> int:
    """Seal every pending event, ``batch`` at a time: read and hashed outside the writer lock, written inside.

    Why (issue 19): eight clerks calling leave thousands of audit rows between two duty rounds; sealing them
    through the ORM in one write transaction held SQLite's single writer lock for 237-288 ms of CPU (up to
    0.77 s on the loaded test machine) and every clerk's 下一位 waited behind it — the call cycle's p99 spikes. Now
    a batch's write is one executemany (≈ 7 ms CPU at most measured). The chain cannot fork: the head is
    checked again inside the write (locked on PostgreSQL), and ``chain_seq`` is unique. ``pause_s``: sleep between
    two batches (the duty thread leaves the requests the GIL; ``duties.DUTY_GAP_S``).
    """
    sealed = 0
    while True:
        if sealed and pause_s:
            time.sleep(pause_s)
        with db.read_core() as s:  # two Core statements: no ORM session (a batch's read costs less than its hashing)
            head, links = _next_links(s, key, batch)
        if not links:
            return sealed
        written = db.run_write(lambda s: _write_links(s, head, links))
        sealed += written
        if written < batch:  # the last batch, or another sealer moved the chain: the next round goes on
            return sealed


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    sealed: int
    unsealed: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "sealed": self.sealed, "unsealed": self.unsealed,
                "first_bad_seq": self.first_bad_seq, "problem": self.problem}


def verify(session: Session, key: bytes) -> ChainReport:
    """Walk the chain from its start; report the first missing, reordered or altered link."""
    from sqlalchemy import func, select

    prev, expected, sealed = "genesis", 1, 0
    for e in session.scalars(select(AuditEvent).where(AuditEvent.chain_seq.is_not(None))
                             .order_by(AuditEvent.chain_seq)).yield_per(1000):
        if e.chain_seq != expected:
            return ChainReport(False, sealed, 0, expected, f"link {expected} is missing (deleted event?)")
        if _link(key, prev, e) != e.chain_hash:
            return ChainReport(False, sealed, 0, e.chain_seq, f"event {e.id} (link {e.chain_seq}) was altered")
        prev, expected, sealed = e.chain_hash, expected + 1, sealed + 1
    unsealed = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.chain_seq.is_(None))) or 0
    return ChainReport(True, sealed, unsealed)


def verify_tail(session: Session, key: bytes, links: int) -> tuple[ChainReport, int]:
    """Check the newest ``links`` links of the chain; return the report and how many links there are in all.

    Each link is checked against its stored predecessor, so a stretch of the chain is checked on its own: an
    edited event or a deleted one inside the stretch is found as by ``verify``, which walks the whole chain
    (``onevisit audit verify``, and the managers' 完整校验) and takes time on a large log.
    """
    from sqlalchemy import func, select

    total = session.scalar(select(func.max(AuditEvent.chain_seq))) or 0
    unsealed = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.chain_seq.is_(None))) or 0
    start = max(1, total - links + 1)
    prev = "genesis"
    if start > 1:
        prev = session.scalar(select(AuditEvent.chain_hash).where(AuditEvent.chain_seq == start - 1))
        if prev is None:
            return ChainReport(False, 0, unsealed, start - 1, f"link {start - 1} is missing (deleted event?)"), total
    expected, checked = start, 0
    for e in session.scalars(select(AuditEvent).where(AuditEvent.chain_seq >= start)
                             .order_by(AuditEvent.chain_seq)).yield_per(1000):
        if e.chain_seq != expected:
            return ChainReport(False, checked, unsealed, expected, f"link {expected} is missing (deleted event?)"), total
        if _link(key, prev, e) != e.chain_hash:
            return ChainReport(False, checked, unsealed, e.chain_seq,
                               f"event {e.id} (link {e.chain_seq}) was altered"), total
        prev, expected, checked = e.chain_hash, expected + 1, checked + 1
    return ChainReport(True, checked, unsealed), total

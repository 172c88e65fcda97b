"""受理号 (002 §8.2.2): per hall and year, in a configurable format, gap-free and never duplicated.

The counter row is bumped with one ``UPDATE … RETURNING`` inside the clerk's finish transaction: the
row lock (PostgreSQL) or the write lock (SQLite ``BEGIN IMMEDIATE``) serialises concurrent finishes,
and a finish that rolls back (or a server killed mid-way) takes its number back with it.
"""
from __future__ import annotations

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.models import Case, CaseCounter
from hall_queue.domain.vocabulary import DEFAULT_ACCEPTANCE_FORMAT
from hall_queue.infrastructure.db import Ahead, Prebuilt, core

_BUMP = (update(CaseCounter)
         .where(CaseCounter.hall_id == bindparam("b_hall"), CaseCounter.year == bindparam("b_year"))
         .values(last_seq=CaseCounter.last_seq + 1)
         .returning(CaseCounter.last_seq))
# The finish's first number, unless the ticket came to collect results (统一出件: it opens nothing): the
# check rides on the bump, one statement instead of two on every clerk's finish (issue 19).
_BUMP_UNLESS_PICKUP = Prebuilt(_BUMP.where(~exists().where(Case.pickup_ticket_id == bindparam("b_ticket"))))
_BUMP_RUN = Prebuilt(_BUMP)


def format_acceptance_no(fmt: str, *, hall_code: str, year: int, seq: int) -> str:
    """Render the hall's format; fields ``{hall}``, ``{yyyy}`` and ``{seq}`` (e.g. ``{seq:06d}``)."""
    return (fmt or DEFAULT_ACCEPTANCE_FORMAT).format(hall=hall_code.upper(), yyyy=f"{year:04d}", seq=seq)


def check_format(fmt: str) -> str:
    """Check a format a manager enters; raise InvalidRequest naming the problem."""
    try:
        a = format_acceptance_no(fmt, hall_code="X", year=2026, seq=1)
        b = format_acceptance_no(fmt, hall_code="X", year=2026, seq=2)
    except (KeyError, ValueError, IndexError) as e:
        raise InvalidRequest(f"acceptance number format {fmt!r} is not valid: use {{hall}}, {{yyyy}} and {{seq}}",
                             code="bad_format") from e
    if "{seq" not in fmt or a == b or len(a) > 36:
        raise InvalidRequest("the acceptance number format must contain {seq} and stay within 36 characters",
                             code="bad_format")
    return fmt


def first_seq_ahead(session: Session, hall_id: int, year: int, ticket_id: int) -> Ahead:
    """``first_seq_unless_pickup``'s bump, sent ahead: with the transaction's next statement (PostgreSQL: one round
    trip for both; SQLite: at once). Its answer is read by ``first_seq_unless_pickup(…, sent=)``."""
    return _BUMP_UNLESS_PICKUP.ahead(core(session), {"b_hall": hall_id, "b_year": year, "b_ticket": ticket_id})


def first_seq_unless_pickup(session: Session, hall_id: int, year: int, ticket_id: int, *,
                            sent: Ahead | None = None) -> int | None:
    """Take the next number of (hall, year) for the finish of ``ticket_id``; None if the ticket is a pickup ticket.

    ``sent``: the bump sent by ``first_seq_ahead`` for the same hall, year and ticket."""
    row = sent.first() if sent is not None else \
        _BUMP_UNLESS_PICKUP.first(core(session), {"b_hall": hall_id, "b_year": year, "b_ticket": ticket_id})
    if row is not None:
        return row[0]
    if session.scalar(select(Case.id).where(Case.pickup_ticket_id == ticket_id).limit(1)) is not None:
        return None
    return next_seq(session, hall_id, year)  # the year's first number: the counter row is made there


def next_seq(session: Session, hall_id: int, year: int) -> int:
    """Take the next sequence number of (hall, year) in the caller's transaction."""
    row = _BUMP_RUN.first(core(session), {"b_hall": hall_id, "b_year": year})
    if row is not None:
        return row[0]
    if session.scalar(select(CaseCounter.last_seq).where(CaseCounter.hall_id == hall_id,
                                                         CaseCounter.year == year)) is not None:
        # PostgreSQL (READ COMMITTED): another finish created the row after our UPDATE looked.
        return next_seq(session, hall_id, year)
    try:
        with session.begin_nested():
            session.add(CaseCounter(hall_id=hall_id, year=year, last_seq=1))
        return 1
    except IntegrityError:
        return next_seq(session, hall_id, year)  # created meanwhile by another process

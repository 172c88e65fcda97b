"""Taking a ticket: validation, routing, atomic numbering, people ahead and estimated wait."""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.queueing.green_channel import check_priority
from hall_queue.queueing.guards import count_id_ticket
from hall_queue.queueing.wait_range import WaitRange, estimate_wait_range, kept_wait_range, ticket_wait_range
from hall_queue.catalog.materials import merged_materials
from hall_queue.access import audit
from hall_queue.domain import calendar as halls
from hall_queue.infrastructure import hall_store
from hall_queue.access.audit import Actor
from hall_queue.domain.clock import epoch_seconds
from hall_queue.infrastructure.db import Ahead, Database, IdBlock, Prebuilt, core
from hall_queue.domain.errors import DomainError, InvalidRequest, NotFound, QueueClosed, WrongState
from hall_queue.queueing.estimates import (
    estimated_wait_s,
    people_ahead,
    queue_load,
    queue_stats,
)
from hall_queue.domain.events import DomainEvent, QueueStatsChanged, TicketFinished, TicketIssued
from hall_queue.access.identity import IdentityVault, mask_id_number, mask_name
from hall_queue.domain.models import (
    Hall,
    Ticket,
    TicketCounter,
    TicketItem,
)
from hall_queue.queueing.presenters import iso, ticket_view
from hall_queue.queueing.routing import (
    BundleRoute,
    ItemRoute,
    QueueRef,
    load_bundle_route,
    load_item_routes,
    route_bundle,
    route_items,
)

_NUMBER = re.compile(r"^([A-Z]{1,2})([0-9]{3,6})$")


def format_number(prefix: str, seq: int) -> str:
    """Return the display number: ``A001`` … ``A999``, widening to ``A1000`` past 999."""
    return f"{prefix}{seq:03d}"


def parse_ticket_number(text: str) -> tuple[str, int]:
    """Split ``A023`` into (``A``, 23).

    :raises ValueError: when the text is not a ticket number.
    """
    m = _NUMBER.match(text.strip().upper()) if isinstance(text, str) else None
    if not m or int(m.group(2)) == 0:
        raise ValueError(f"not a ticket number: {text!r}")
    if len(m.group(2)) > 3 and m.group(2).startswith("0"):
        raise ValueError(f"not a ticket number (numbers past 999 have no leading zero): {text!r}")
    return m.group(1), int(m.group(2))


@dataclass
class IssueRequest:
    item_ids: list[int] = field(default_factory=list)
    bundle_id: int | None = None
    priority_class: str = "ordinary"
    green_reason: str | None = None
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    idempotency_key: str | None = None
    source: str = "walk_in"
    slot_start: datetime | None = None


@dataclass
class IssuedTicket:
    """A ticket just issued (or replayed): its public view plus people ahead and estimated wait."""

    ticket_view: dict
    people_ahead: int
    estimated_wait_s: int
    route_reason: str
    follow_code: str
    replayed: bool = False
    serving_windows: int | None = None  # 0: nobody serves the queue now, so no estimate is credible
    wait: WaitRange | None = None  # the range a visitor is told (issue 17)
    range_due: dict | None = None  # what ``fill_wait_range`` needs when the range is read after commit

    @property
    def id(self) -> int:
        return self.ticket_view["id"]

    @property
    def number(self) -> str:
        return self.ticket_view["number"]

    @classmethod
    def of(cls, ticket: Ticket, ahead: int, wait_s: int, reason: str, *, replayed: bool = False) -> IssuedTicket:
        return cls(ticket_view(ticket), ahead, wait_s, reason, ticket.follow_code, replayed)

    def view(self) -> dict:
        view = {**self.ticket_view, "people_ahead": self.people_ahead, "estimated_wait_s": self.estimated_wait_s,
                "route_reason": self.route_reason, "follow_code": self.follow_code, "replayed": self.replayed}
        if self.serving_windows is not None:
            view["serving_windows"] = self.serving_windows
        if self.wait is not None:
            view.update(self.wait.view())
        return view


# Issuing is the hall's busiest write: its statements are built once (see routing.py on why).
_BUMP = {
    capped: Prebuilt(update(TicketCounter)
    .where(TicketCounter.queue_id == bindparam("b_queue"), TicketCounter.service_day == bindparam("b_day"),
           *((TicketCounter.last_seq < bindparam("b_cap"),) if capped else ()))
    .values(last_seq=TicketCounter.last_seq + 1,
            last_key=case((TicketCounter.last_key + 0.001 > bindparam("now_key"), TicketCounter.last_key + 0.001),
                          else_=bindparam("now_key")))
    .returning(TicketCounter.last_seq, TicketCounter.last_key))
    for capped in (False, True)
}
# The columns ``issue_ticket`` gives a new ticket (its ``values``); the others keep their NULL.
_TICKET_VALUES = ("hall_id", "queue_id", "number_queue_id", "service_day", "seq", "leg", "number", "priority_class",
                  "green_reason", "source", "status", "bundle_id", "issued_at", "queue_key", "slot_start",
                  "recall_count", "requeue_count", "follow_code", "idempotency_key", "outcome_detail", "masked_name",
                  "masked_id", "id_hash", "id_cipher", "phone_cipher")
_TICKET_KEYS = frozenset(_TICKET_VALUES)
_INSERT_TICKET = Prebuilt(insert(Ticket).returning(Ticket.id), keys=_TICKET_VALUES)
# PostgreSQL: the id taken first (``IdBlock``), the insert sent ``later`` — one round trip fewer per issue.
_INSERT_TICKET_WITH_ID = Prebuilt(insert(Ticket), keys=("id", *_TICKET_VALUES))
_TICKET_IDS = IdBlock("tickets_id_seq")
# Every kiosk request carries an Idempotency-Key (kiosk/agent.py), so every issue looks for its replay first; as an
# ORM query of the whole ticket that look cost a fifth of the issue (issue 19). Found, the ticket is loaded.
_REPLAYED_ID = Prebuilt(select(Ticket.id).where(Ticket.hall_id == bindparam("hall_id"),
                                                Ticket.idempotency_key == bindparam("key")))
_INSERT_TICKET_ITEMS = Prebuilt(insert(TicketItem), keys=("ticket_id", "item_id"))


def _bump_counter(session: Session, hall_id: int, queue: QueueRef, day, now_key: float) -> tuple[int, float]:
    """Take the next number of (queue, day) and its calling-order key, atomically; refuse past the daily cap.

    One ``UPDATE … RETURNING`` on the counter row: the row lock (PostgreSQL) or the write lock
    (SQLite ``BEGIN IMMEDIATE``) makes two kiosks never read the same value. Keys rise at least
    1 ms per ticket, so a late visitor can be re-queued *between* two tickets of the same second.
    """
    capped = queue.daily_cap is not None
    params = {"b_queue": queue.id, "b_day": day, "now_key": now_key, **({"b_cap": queue.daily_cap} if capped else {})}
    row = _BUMP[capped].first(core(session), params)
    if row is not None:
        return row[0], row[1]
    last_seq = session.scalar(select(TicketCounter.last_seq).where(TicketCounter.queue_id == queue.id,
                                                                   TicketCounter.service_day == day))
    if last_seq is not None:
        if capped and last_seq >= queue.daily_cap:
            raise QueueClosed(f"queue {queue.prefix} has reached its daily cap of {queue.daily_cap} tickets",
                              code="daily_cap_reached")
        # PostgreSQL (READ COMMITTED): another kiosk's first ticket of the day committed the row
        # after our UPDATE looked and before this SELECT did. Take the next number from it.
        return _bump_counter(session, hall_id, queue, day, now_key)
    if queue.daily_cap is not None and queue.daily_cap < 1:
        raise QueueClosed(f"queue {queue.prefix} takes no tickets today", code="daily_cap_reached")
    # First ticket of the day: keep keys rising across days too (a requeue may sit above "now").
    last_key = session.scalar(select(func.max(Ticket.queue_key)).where(Ticket.queue_id == queue.id))
    key = now_key if last_key is None else max(now_key, last_key + 0.001)
    try:
        with session.begin_nested():
            session.add(TicketCounter(queue_id=queue.id, service_day=day, hall_id=hall_id, last_seq=1, last_key=key))
        return 1, key
    except IntegrityError:
        # Another process created the row first (PostgreSQL); take the next number from it.
        return _bump_counter(session, hall_id, queue, day, now_key)


def _insert_ticket(conn, values: dict) -> int:
    """Write the new ticket; return its id."""
    return _TICKET_IDS.insert(conn, values, with_id=_INSERT_TICKET_WITH_ID, returning_id=_INSERT_TICKET)


def _resolve_matter(session: Session, hall: Hall, req: IssueRequest) -> tuple[list[ItemRoute], BundleRoute | None]:
    if req.bundle_id is not None and req.item_ids:
        raise InvalidRequest("give either item_ids or bundle_id, not both", code="invalid")
    if req.bundle_id is not None:
        bundle = load_bundle_route(session, req.bundle_id)
        if bundle is None or bundle.hall_id != hall.id or not bundle.active:
            raise NotFound(f"bundle {req.bundle_id} not found in this hall")
        return bundle.items, bundle
    if not req.item_ids:
        raise InvalidRequest("choose at least one service item or a bundle", code="no_matter")
    ids = list(dict.fromkeys(req.item_ids))
    by_id = load_item_routes(session, ids)
    for i in ids:
        item = by_id.get(i)
        if item is None or item.hall_id != hall.id or not item.active:
            raise NotFound(f"service item {i} not found in this hall")
    return [by_id[i] for i in ids], None


class ReplayedLate(Exception):
    """A retried request's ticket, found by the look sent ahead (``issue_ticket(replay_ahead=True)``) only once this
    write had begun to issue anew: the write is undone, and run again with the look first (``replay_ahead=False``)
    — or, in a group, with the group's savepoints, inside which the look is answered at once."""


@contextmanager
def _retry_answered_first(late: Ahead | None, key: str | None) -> Iterator[None]:
    """A refusal met while the replay look sent ahead is still unread: a retried request whose ticket exists gets
    that ticket (``ReplayedLate``), whatever would refuse a new one now (the hall closed since, a cap reached)."""
    try:
        yield
    except DomainError as e:
        if late is not None and late.rows():
            raise ReplayedLate(key) from e
        raise


def _same_request(ticket: Ticket, req: IssueRequest, vault: IdentityVault) -> bool:
    """Tell whether ``req`` asks for what ``ticket`` was issued for: only a retry gets the ticket again, never
    another visitor (or another kiosk reusing a key) — that would hand out someone else's slip."""
    matter = (ticket.bundle_id == req.bundle_id if req.bundle_id is not None
              else ticket.bundle_id is None and {i.id for i in ticket.items} == set(req.item_ids))
    person = (ticket.id_hash is None if not req.id_number
              else ticket.id_hash is not None and vault.hash_matches(req.id_number, ticket.id_hash))
    return (matter and person and ticket.source == req.source and ticket.priority_class == req.priority_class
            and ticket.green_reason == req.green_reason)


def issue_ticket(session: Session, hall: Hall, req: IssueRequest, *, now: datetime, vault: IdentityVault,
                 actor: Actor, range_after_commit: bool = False,
                 replay_ahead: bool = False) -> tuple[IssuedTicket, list[DomainEvent]]:
    """Issue a ticket; with an idempotency key, a retried request returns the same ticket.

    ``range_after_commit``: leave the wait range (issue 17) to ``fill_wait_range`` in a read after the
    commit, so its statement is not held under the writer lock (the kiosk's issue path, issue 19).
    ``replay_ahead`` (the kiosk's issue path, whose caller handles ``ReplayedLate``): on PostgreSQL the look for a
    replay goes out with the number's bump, in one round trip instead of one of its own (issue 19); a replay found
    then (a kiosk's retry: rare) raises ``ReplayedLate``, which undoes everything this write did.
    """
    late = None  # the replay look sent ahead, not answered yet
    if req.idempotency_key:
        params = {"hall_id": hall.id, "key": req.idempotency_key}
        if replay_ahead:
            late = _REPLAYED_ID.ahead(core(session), params)
            found = None
            if late.answered:  # SQLite, a savepoint: it ran at once
                row, late = late.first(), None
                found = row[0] if row is not None else None
        else:
            found = _REPLAYED_ID.scalar(core(session), params)
        existing = session.get(Ticket, found) if found is not None else None
        if existing is not None:
            if not _same_request(existing, req, vault):
                raise InvalidRequest("this Idempotency-Key was used for another ticket request",
                                     code="idempotency_key_reused")
            ahead = people_ahead(session, existing)
            replay = IssuedTicket.of(existing, ahead,
                                     estimated_wait_s(session, existing.queue, ahead, hall.default_service_s),
                                     "replayed", replayed=True)
            replay.wait = ticket_wait_range(session, existing, now=now, default_s=hall.default_service_s, ahead=ahead)
            return replay, []
    with _retry_answered_first(late, req.idempotency_key):
        check_priority(req.priority_class, req.green_reason)
        if req.id_number is not None and not req.id_number.strip():
            raise InvalidRequest("id_number is empty")
        if not hall_store.is_open_now(session, hall, now):
            # 004 §8.2 never refuses walk-ins for lack of a booking, but a ticket that cannot be served
            # today helps nobody: the kiosk offers booking instead.
            raise QueueClosed("the hall is closed now; please book an appointment", code="hall_closed")
        items, bundle = _resolve_matter(session, hall, req)
        queue, reason, windows = route_bundle(session, bundle) if bundle is not None else route_items(session, items)
        day = halls.service_day(hall, now)
        id_hash = vault.id_hash(req.id_number) if req.id_number else None
        count_id_ticket(session, hall_id=hall.id, cap=hall.id_daily_ticket_cap, day=day, id_hash=id_hash,
                        items=[(i.id, i.name) for i in items])
    # The ticket's values are made before its number is taken: on PostgreSQL the counter's row stays locked
    # from the bump to commit, and the encryption and follow code need no number (issue 19).
    values = dict(
        hall_id=hall.id, queue_id=queue.id, number_queue_id=queue.id, service_day=day, seq=None, leg=0,
        number=None, priority_class=req.priority_class, green_reason=req.green_reason,
        source=req.source, status="waiting", bundle_id=bundle.id if bundle else None, issued_at=now,
        queue_key=None, slot_start=req.slot_start, recall_count=0, requeue_count=0,
        follow_code=secrets.token_urlsafe(12), idempotency_key=req.idempotency_key, outcome_detail={},
        masked_name=mask_name(req.name) if req.name else None,
        masked_id=mask_id_number(req.id_number) if req.id_number else None,
        id_hash=id_hash,
        id_cipher=vault.encrypt(req.id_number.strip().upper()) if req.id_number else None,
        phone_cipher=vault.encrypt(req.phone.strip()) if req.phone else None,
    )
    assert values.keys() == _TICKET_KEYS, "the prebuilt insert names every value given"
    with _retry_answered_first(late, req.idempotency_key):  # the daily cap
        seq, key = _bump_counter(session, hall.id, queue, day, epoch_seconds(now))
    if late is not None and late.rows():  # answered in the bump's round trip
        raise ReplayedLate(req.idempotency_key)
    values["seq"], values["number"], values["queue_key"] = seq, format_number(queue.prefix, seq), key
    conn = core(session)
    ticket_id = _insert_ticket(conn, values)
    _INSERT_TICKET_ITEMS.later_many(conn, [{"ticket_id": ticket_id, "item_id": i.id} for i in items])
    audit.record(session, actor=actor, action="ticket.issue", at=now, hall_id=hall.id, ticket_id=ticket_id,
                 number=values["number"], queue=queue.prefix, source=req.source, priority=req.priority_class)
    view = issued_view(ticket_id, values, queue, items, bundle)
    # The new ticket has the queue's highest key, so everyone else waiting is ahead of it.
    load = queue_load(session, queue.id, hall.default_service_s, windows=windows)
    ahead = max(load.waiting - 1, 0)
    wait = load.wait_for(ahead)
    due = dict(hall_id=hall.id, queue_id=queue.id, key=key, ticket_id=ticket_id, priority_class=req.priority_class,
               now=now, default_s=hall.default_service_s, ahead=ahead, last_in_line=True)
    issued = IssuedTicket(view, ahead, wait, reason, values["follow_code"], serving_windows=load.windows,
                          range_due=due)
    if not range_after_commit:
        fill_wait_range(session, issued)
    events: list[DomainEvent] = [
        TicketIssued(hall.id, {"ticket": view, "people_ahead": ahead, "estimated_wait_s": wait}),
        QueueStatsChanged(hall.id, {"queues": [queue_stats(session, hall, queue, load)]}),
    ]
    return issued, events


def fill_wait_range(session: Session, issued: IssuedTicket) -> IssuedTicket:
    """Compute the wait range of a just-issued ticket (in its transaction, or in a read after commit)."""
    if issued.range_due is not None:
        issued.wait = estimate_wait_range(session, **issued.range_due)
        issued.range_due = None
    return issued


def fill_wait_range_after_commit(db: Database, issued: IssuedTicket) -> IssuedTicket:
    """Compute a just-issued ticket's wait range after its commit: from the queue's kept reads when they hold
    (no read at all), else in a read whose queue reads are kept for the next tickets (``wait_range``, issue 19)."""
    if issued.range_due is None:
        return issued
    keep = (db.url, db.changes)  # taken before the read: a write ending meanwhile leaves nothing kept
    wait = kept_wait_range(keep, db.reader, **issued.range_due)
    if wait is None:
        with db.read_core() as reader:
            wait = estimate_wait_range(reader, **issued.range_due, keep=keep)
    issued.wait, issued.range_due = wait, None
    return issued


def issued_view(ticket_id: int, values: dict, queue: QueueRef, items: list[ItemRoute],
                bundle: BundleRoute | None) -> dict:
    """The ``ticket_view`` of a ticket inserted from ``values``, without loading it back."""
    return {
        "id": ticket_id, "number": values["number"], "queue_id": queue.id, "queue_prefix": queue.prefix,
        "status": "waiting", "priority_class": values["priority_class"], "green_reason": values["green_reason"],
        "source": values["source"], "item_ids": sorted(i.id for i in items),
        "items": [i.name for i in sorted(items, key=lambda i: i.id)],
        "bundle_id": bundle.id if bundle else None, "bundle": bundle.name if bundle else None,
        "masked_name": values["masked_name"], "masked_id": values["masked_id"],
        "issued_at": iso(values["issued_at"]), "called_at": None, "started_at": None, "finished_at": None,
        "window_id": None, "target_window_id": None, "recall_count": 0, "call_reason": None, "outcome": None,
        "transferred_from_id": None, "origin_ticket_id": None, "slot_start": iso(values["slot_start"]),
        "service_day": values["service_day"].isoformat(),
        # The one merged materials list of the matter (003 §3.8): the kiosk prints exactly this.
        "materials": merged_materials(items),
    }


def cancel_ticket(session: Session, ticket: Ticket, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Cancel a waiting ticket (the visitor leaves, or a manager removes it)."""
    if ticket.status != "waiting":
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only a waiting ticket can be cancelled")
    ticket.status = "cancelled"
    ticket.closed_at = now
    audit.record(session, actor=actor, action="ticket.cancel", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id)
    hall = session.get(Hall, ticket.hall_id)
    return [TicketFinished(ticket.hall_id, {"ticket": ticket_view(ticket)}),
            QueueStatsChanged(ticket.hall_id, {"queues": [queue_stats(session, hall, ticket.queue)]})]

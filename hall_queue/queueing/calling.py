"""Calling: ``call_next`` and the clerk's actions on the ticket in hand.

``call_next`` walks the window's ordered rules (managers configure them per window):

1. ``transferred``   – tickets transferred to this window (or to a window it covers) first;
2. ``appointment``   – checked-in appointments whose slot has begun, earliest slot first;
3. ``helper_overdue``– a helper-queue ticket that has waited past ``after_s``;
4. ``interleave``    – green channel and ordinary tickets interleaved by a ratio (e.g. 1 : 2), or
   ``ageing``        – green tickets count as issued ``green_bonus_s`` earlier;
   never strict priority, which starves ordinary visitors;
5. ``helper``        – helper queues, only when the primary queues are empty.

Within a class the longest wait goes first across all the window's primary queues; ties break on
the ticket id, and every ordering column is NOT NULL, so the answer never depends on how a
database sorts NULLs. The walk and the claim are one statement (``claiming``), run inside a write
transaction: SQLite ``BEGIN IMMEDIATE`` or PostgreSQL ``FOR UPDATE SKIP LOCKED``, through the same code.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm import Session, joinedload

from hall_queue.domain.vocabulary import CALL_RULES, CALL_SPECIFIC_REASON, DEFAULT_CALL_RULES, PRIORITY_CLASSES
from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault
from hall_queue.cases.intake import case_items, number_ahead, open_cases
from hall_queue.domain.clock import epoch_seconds
from hall_queue.infrastructure.db import Prebuilt, core
from hall_queue.domain.errors import Forbidden, InvalidRequest, NotFound, WrongState
from hall_queue.domain.events import (
    DomainEvent,
    QueueStatsChanged,
    TicketCalled,
    TicketFinished,
    TicketRecalled,
    TicketRequeued,
    TicketStarted,
    TicketTransferred,
    WindowStatusChanged,
)
from hall_queue.domain.models import IN_HAND_STATUSES, OUTCOMES, Hall, Queue, Ticket, Window
from hall_queue.queueing import claiming
from hall_queue.queueing.estimates import pace_changed, queue_stats_due
from hall_queue.queueing.presenters import ticket_view
from hall_queue.queueing.ticketing import queue_stats

DEFAULT_RULES = DEFAULT_CALL_RULES
RULE_NAMES = CALL_RULES


def validate_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check a window's rule list; raise InvalidRequest naming the first problem."""
    if not isinstance(rules, list) or not rules:
        raise InvalidRequest("call_rules must be a non-empty list")
    seen = set()
    out = []
    for r in rules:
        name = r.get("rule") if isinstance(r, dict) else None
        if name not in RULE_NAMES:
            raise InvalidRequest(f"unknown call rule {name!r}; use one of {', '.join(RULE_NAMES)}")
        if name in seen:
            raise InvalidRequest(f"call rule {name!r} appears twice")
        seen.add(name)
        if name == "interleave":
            g, o = r.get("green", 1), r.get("ordinary", 2)
            if not (isinstance(g, int) and isinstance(o, int) and 1 <= g <= 20 and 1 <= o <= 20):
                raise InvalidRequest("interleave needs integer green and ordinary shares between 1 and 20")
            out.append({"rule": name, "green": g, "ordinary": o})
        elif name in ("helper_overdue", "ageing"):
            key = "after_s" if name == "helper_overdue" else "green_bonus_s"
            v = r.get(key, 900 if name == "helper_overdue" else 600)
            if not isinstance(v, int) or not 0 <= v <= 86400:
                raise InvalidRequest(f"{name}.{key} must be seconds between 0 and 86400")
            out.append({"rule": name, key: v})
        else:
            out.append({"rule": name})
    if "interleave" in seen and "ageing" in seen:
        raise InvalidRequest("use either interleave or ageing, not both")
    return out


_IN_HAND = (select(Ticket.id).where(Ticket.window_id == bindparam("window_id"), claiming.in_hand(Ticket.status))
            .order_by(Ticket.id).limit(1))
ALL_CLASSES = PRIORITY_CLASSES
# Loading a ticket in hand to finish it: its queue, items, bundle and window come in one statement, so the finished ticket's view and the clerk check need no further reads.
IN_HAND_LOAD = (joinedload(Ticket.queue, innerjoin=True), joinedload(Ticket.items), joinedload(Ticket.bundle),
                joinedload(Ticket.window))


def ticket_in_hand(session: Session, window: Window) -> Ticket | None:
    ticket_id = core(session).execute(_IN_HAND, {"window_id": window.id}).scalar()
    return session.get(Ticket, ticket_id) if ticket_id is not None else None


@dataclass(frozen=True)
class Called:
    """A ticket just called: its view (``ticket_view``'s shape), why, and the window."""

    view: dict[str, Any]
    reason: str
    window: dict[str, Any]

    def answer(self) -> dict[str, Any]:
        return {"ticket": self.view, "reason": self.reason,
                "window": {"id": self.window["id"], "number": self.window["number"]}}



def _require_clerk_at(window: Window, actor: Actor) -> None:
    if actor.is_system or actor.is_manager:
        return
    if actor.kind != "staff" or window.clerk_id != actor.id:
        raise Forbidden(f"you are not signed in at window {window.number}")


def _window_for_ticket(session: Session, ticket: Ticket, actor: Actor) -> Window:
    if ticket.window_id is None:
        raise WrongState(f"ticket {ticket.number} is {ticket.status}, not at a window")
    window = session.get(Window, ticket.window_id)
    assert window is not None
    _require_clerk_at(window, actor)
    return window


def claim_next(session: Session, window_id: int, *, now: datetime, actor: Actor,
               rows: list | None = None) -> tuple[Called | None, list[DomainEvent]]:
    """Call the next ticket to the window: the rule walk and the claim in one statement (``claiming``).

    Statements: the window's rows (fresh: open, clerk, pause, cover), the claim, the audit row. The
    window's queues and the names in the answer come from per-process caches; the queue figures of
    the ``QueueStatsChanged`` event and the near-turn check are one read after commit
    (``bootstrap.EVENT_HANDLERS``), outside the writer lock. Returns None (and no event) when nothing waits.
    ``rows``: the window's rows (``_calling_window``) when the caller read them in this transaction.
    """
    rows = rows or _calling_window(session, window_id, actor)
    window = rows[0]
    rules = window.call_rules or DEFAULT_RULES
    target_ids = tuple(r.id for r in rows)
    primary, helper = claiming.scope_queues(session, target_ids)
    interleave = next((r for r in rules if r["rule"] == "interleave"), None)
    want = None
    if interleave is not None and primary:
        pattern = ["green"] * interleave.get("green", 1) + ["ordinary"] * interleave.get("ordinary", 2)
        want = pattern[window.pattern_pos % len(pattern)]
    shape = claiming.WindowShape(window.id, target_ids, primary, helper, claiming.rules_key(rules))
    conn = core(session)
    stmt = claiming.claim_statement(shape, want, conn.dialect.name)
    row = None
    if stmt is not None:
        claimed = stmt.run(conn, claiming.claim_params(shape, hall_id=window.hall_id, clerk_id=window.clerk_id,
                                                       now=now, now_epoch=epoch_seconds(now)))
        row = claimed[0] if claimed else None
    if row is None:
        # Nothing claimed: either nothing waits, or the window still holds a ticket (the claim's guard).
        _refuse_if_holding(session, window)
        return None, []
    if want is not None and row.call_reason == claiming.interleave_reason(interleave, want):
        conn.execute(_ADVANCE_PATTERN, {"window_id": window.id, "pos": (window.pattern_pos + 1) % len(pattern)})
    return _called(session, window, target_ids, row, actor=actor, now=now, action="ticket.call")


def _calling_window(session: Session, window_id: int, actor: Actor) -> list:
    """The window's rows (its own first, then the posts it covers) once it may call: open, staffed, not paused or covered."""
    rows = claiming.window_rows(session, window_id)
    window = rows[0] if rows else None
    if window is None or (actor.hall_id is not None and window.hall_id != actor.hall_id):
        raise NotFound(f"window {window_id} not found")
    _require_clerk_at(window, actor)
    if not window.is_open:
        raise WrongState(f"window {window.number} is closed", code="window_closed")
    if window.clerk_id is None:
        raise WrongState(f"no clerk is signed in at window {window.number}", code="not_signed_in")
    if window.paused_at is not None:
        raise WrongState(f"window {window.number} is paused; resume first", code="window_paused")
    if window.covered_by_id is not None:
        raise WrongState(f"window {window.number} is covered by another window; resume first", code="window_covered")
    return rows


def _refuse_if_holding(session: Session, window: Any) -> None:
    held = core(session).execute(_IN_HAND_NUMBER, {"window_id": window.id}).first()
    if held is not None:
        raise WrongState(f"ticket {held[0]} is still in hand at window {window.number}; finish it, mark "
                         f"no-show or transfer it first", code="ticket_in_hand")


def _called(session: Session, window: Any, target_ids: tuple[int, ...], row: Any, *, actor: Actor, now: datetime,
            action: str) -> tuple[Called, list[DomainEvent]]:
    audit.record(session, actor=actor, action=action, at=now, hall_id=window.hall_id, ticket_id=row.id,
                 window_id=window.id, number=row.number, reason=row.call_reason)
    view = claiming.claimed_view(session, row)
    brief = {"id": window.id, "number": window.number, "name": window.name}
    return Called(view, row.call_reason, brief), [
        TicketCalled(window.hall_id, {"ticket": view, "window": brief}, window_ids=target_ids),
        queue_stats_due(window.hall_id, row.queue_id, near_turn=True),  # its read also looks for the near-turn SMS
    ]


_TICKET_BRIEF = select(Ticket.number, Ticket.hall_id, Ticket.status, Ticket.queue_id, Ticket.target_window_id)


def call_ticket(session: Session, window_id: int, ticket_id: int, *, now: datetime,
                actor: Actor) -> tuple[Called, list[DomainEvent]]:
    """指定呼叫: call one chosen waiting ticket of the window's queues (or of the posts it covers, AB岗).

    The same window checks as ``claim_next`` (open, staffed by this clerk, not paused, not covered,
    nothing in hand); the ticket must wait in a queue the window serves, or be transferred to it or
    to a post it covers. The call is audited as ``ticket.call_specific`` and reads "指定呼叫" as its reason.
    """
    rows = _calling_window(session, window_id, actor)
    window = rows[0]
    target_ids = tuple(r.id for r in rows)
    brief = core(session).execute(_TICKET_BRIEF.where(Ticket.id == ticket_id)).first()
    if brief is None or brief.hall_id != window.hall_id:
        raise NotFound(f"ticket {ticket_id} not found")
    if brief.status != "waiting":
        raise WrongState(f"ticket {brief.number} is {brief.status}, not waiting", code="not_waiting")
    primary, helper = claiming.scope_queues(session, target_ids)
    served = brief.target_window_id in target_ids if brief.target_window_id is not None \
        else brief.queue_id in primary + helper
    if not served:
        raise WrongState(f"ticket {brief.number} waits in a queue window {window.number} does not serve",
                         code="not_your_queue")
    _refuse_if_holding(session, window)
    row = core(session).execute(claiming.CALL_ONE, {
        "c_ticket": ticket_id, "c_window": window.id, "c_clerk": window.clerk_id, "c_now": now,
        "c_why": CALL_SPECIFIC_REASON}).first()
    if row is None:  # another window called it between the look and the claim
        raise WrongState(f"ticket {brief.number} is no longer waiting", code="not_waiting")
    return _called(session, window, target_ids, row, actor=actor, now=now, action="ticket.call_specific")


_IN_HAND_NUMBER = (select(Ticket.number).where(Ticket.window_id == bindparam("window_id"),
                                               claiming.in_hand(Ticket.status)).order_by(Ticket.id).limit(1))
# A Core update: the window's place in its interleave pattern is no cached setting (cache.py).
_ADVANCE_PATTERN = update(Window).where(Window.id == bindparam("window_id")).values(pattern_pos=bindparam("pos"))


def call_next(session: Session, window: Window, *, now: datetime, actor: Actor) -> tuple[Ticket | None, list[DomainEvent]]:
    """Call the next ticket to ``window``; return it (an ORM ticket) or None (and no event) when nothing waits."""
    called, events = claim_next(session, window.id, now=now, actor=actor)
    if window in session:
        session.expire(window, ["pattern_pos"])
    if called is None:
        return None, []
    return session.get(Ticket, called.view["id"], populate_existing=True), events


# Built once (issue 19): ``session.get`` with these options builds a statement and its cache key on every call.
_LOAD_IN_HAND = select(Ticket).options(*IN_HAND_LOAD).where(Ticket.id == bindparam("ticket_id"))
# PostgreSQL: the row locked by the load itself, so the finish needs no second read to lock it (``finish``).
_LOAD_IN_HAND_LOCKED = _LOAD_IN_HAND.with_for_update(of=Ticket, key_share=True).execution_options(populate_existing=True)
# The 下一位's ticket in hand: the claim's columns (its view) and what its cases copy, its items' ids in the same
# row, as a plain record (``HeldTicket``) — no ORM load (issue 19: the load with queue, items and bundle cost a
# fifth of the cycle). The window's rows are read for the call anyway (``claiming.window_rows``).
_LOAD_FOR_NEXT = (select(*claiming.CLAIMED_COLUMNS, Ticket.id_hash, Ticket.id_cipher, Ticket.phone_cipher,
                         claiming.ITEM_IDS)
                  .where(Ticket.id == bindparam("ticket_id")))
# PostgreSQL: the row locked by the load itself, so the finish needs no second read to lock it (``finish``).
_LOAD_FOR_NEXT_BY_LOCK = {False: Prebuilt(_LOAD_FOR_NEXT), True: Prebuilt(_LOAD_FOR_NEXT.with_for_update(of=Ticket, key_share=True))}


class HeldTicket(SimpleNamespace):
    """The ticket in hand for the 下一位, a plain record: its columns (``_LOAD_FOR_NEXT``) and ``items``, the
    ``intake.CaseItem`` of its service items in id order (as ``Ticket.items``). The finish sets its new values here."""


def load_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """Load a ticket with what finishing it and its view need (``IN_HAND_LOAD``); on PostgreSQL, lock its row."""
    stmt = _LOAD_IN_HAND if session.get_bind().dialect.name == "sqlite" else _LOAD_IN_HAND_LOCKED
    return session.execute(stmt, {"ticket_id": ticket_id}).unique().scalar_one_or_none()


def load_ticket_for_next(session: Session, ticket_id: int, *, window_id: int | None = None) -> HeldTicket | None:
    """The ticket for ``finish_and_call_next`` as a ``HeldTicket``; on PostgreSQL, its row locked.

    ``window_id``: the window's rows are read too, right after the ticket (locked in that order, as before), for the
    call (``claiming.window_rows``): on PostgreSQL both reads go out in one round trip (``Prebuilt.ahead``)."""
    conn = core(session)
    read = _LOAD_FOR_NEXT_BY_LOCK[conn.dialect.name != "sqlite"].ahead(conn, {"ticket_id": ticket_id})
    if window_id is not None:
        claiming.read_window_rows_ahead(session, window_id)
    rows = read.rows()
    if not rows:
        return None
    held = HeldTicket(**rows[0]._asdict())
    held.items = case_items(session, claiming.item_ids(held.item_ids))
    return held


def finish_and_call_next(session: Session, window_id: int, ticket: HeldTicket, *, outcome: str, note: str | None = None,
                         detail: dict[str, Any] | None = None, now: datetime, actor: Actor,
                         vault: IdentityVault | None = None,
                         row_locked: bool = False) -> tuple[dict[str, Any], Called | None, list[DomainEvent]]:
    """The clerk's 下一位 with a ticket in hand: finish it and call the next, in the caller's one transaction.

    ``ticket`` must be the ticket in hand at this window: a repeated press (double click, retry)
    names a ticket already finished and is refused, so it never finishes the visitor just called.
    Returns the finished ticket's view, the call (None when nothing waits) and the events of both.
    ``ticket``: read by ``load_ticket_for_next`` in this transaction, which locks its row on PostgreSQL
    (``row_locked=True``; a ``HeldTicket`` cannot be re-read by the finish).
    """
    if ticket.window_id != window_id or ticket.status not in IN_HAND_STATUSES:
        raise WrongState(f"ticket {ticket.number} is not in hand at this window", code="not_in_hand")
    detail = detail or {}
    # The window's rows, read once (locked on PostgreSQL) for the finish's clerk check and the call: the finish
    # does not change them, and a window that may not call refuses the whole 下一位 either way (one transaction).
    rows = _calling_window(session, window_id, actor)
    with audit.batched(session) as held:  # the finish's, the cases' and the call's audit rows: one statement
        window = _close_ticket(session, ticket, outcome=outcome, note=note, detail=detail, now=now, actor=actor,
                               row_locked=row_locked, window=rows[0])
        finished = claiming.row_view(session, ticket, ticket.items)
        # The call before the cases, but the first case's number bump sent ahead with the claim: on PostgreSQL one
        # round trip for both (issue 19). The hall's acceptance-number counter's row lock, which every case-opening
        # finish of the hall waits on until commit, is taken just before the claim runs, in the same trip, so it is
        # not held across a round trip more than before (the claim skips locked rows: it waits on nothing).
        # The audit log keeps the order of a finish, then a call.
        bump = number_ahead(session, ticket, outcome=outcome, note=note, detail=detail, now=now)
        mark = len(held)
        called, more = claim_next(session, window_id, now=now, actor=actor, rows=rows)
        call_rows = held[mark:]
        del held[mark:]
        _, case_events = open_cases(session, ticket, outcome=outcome, note=note, detail=detail, now=now, actor=actor,
                                    vault=vault, bump=bump)
        held.extend(call_rows)
    done = TicketFinished(ticket.hall_id, {"ticket": finished, "window": _window_brief(window)}, window_ids=(window.id,))
    return finished, called, [done, *case_events, *more]


def _window_brief(w: Window) -> dict[str, Any]:
    return {"id": w.id, "number": w.number, "name": w.name}


def recall(session: Session, ticket: Ticket, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Call the ticket in hand again (重呼), at most the hall's ``max_recalls`` times."""
    if ticket.status != "called":
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only a called ticket can be recalled")
    window = _window_for_ticket(session, ticket, actor)
    hall = session.get(Hall, ticket.hall_id)
    if ticket.recall_count >= hall.max_recalls:
        raise WrongState(f"ticket {ticket.number} was already recalled {ticket.recall_count} times; mark it no-show",
                         code="recall_limit")
    # Issue 17: a minimum gap between two calls of one ticket, so a visitor walking up is not skipped
    # by a burst of recalls followed by a no-show.
    last = max((t for t in (ticket.recalled_at, ticket.called_at) if t is not None), default=None)
    gap = hall.recall_min_gap_s
    if gap > 0 and last is not None and (now - last).total_seconds() < gap:
        wait = int(gap - (now - last).total_seconds()) + 1
        raise WrongState(f"刚刚呼叫过{ticket.number}，请{wait}秒后再重呼", code="recall_too_soon")
    ticket.recall_count += 1
    ticket.recalled_at = now
    audit.record(session, actor=actor, action="ticket.recall", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 window_id=window.id, count=ticket.recall_count)
    return [TicketRecalled(ticket.hall_id, {"ticket": ticket_view(ticket), "window": _window_brief(window)},
                           window_ids=(window.id,))]


def mark_no_show(session: Session, ticket: Ticket, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """The called visitor did not come (过号)."""
    if ticket.status != "called":
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only a called ticket can be a no-show")
    window = _window_for_ticket(session, ticket, actor)
    hall = session.get(Hall, ticket.hall_id)
    # Not absent before one recall or the hall's minimum time since the call: the visitor may be on the way.
    waited = (now - ticket.called_at).total_seconds() if ticket.called_at is not None else 0
    if ticket.recall_count < 1 and waited < hall.no_show_min_s:
        raise WrongState(f"ticket {ticket.number} was called {int(waited)} s ago; recall first or wait "
                         f"{hall.no_show_min_s} s", code="no_show_too_soon")
    ticket.status = "no_show"
    ticket.closed_at = now
    audit.record(session, actor=actor, action="ticket.no_show", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 window_id=window.id)
    return [TicketFinished(ticket.hall_id, {"ticket": ticket_view(ticket)}, window_ids=(window.id,))]


def requeue_late(session: Session, ticket: Ticket, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Put a late visitor's no-show ticket back, the hall's ``late_requeue_places`` places behind the head."""
    # The window that called the visitor (or a manager) puts them back: a clerk acts only at their own window.
    if ticket.window_id is not None:
        _window_for_ticket(session, ticket, actor)
    if ticket.status != "no_show":
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only a no-show ticket can be re-queued")
    if ticket.requeue_count >= 1:
        raise WrongState(f"ticket {ticket.number} was already re-queued once; please take a new ticket",
                         code="requeue_limit")
    hall = session.get(Hall, ticket.hall_id)
    places = max(hall.late_requeue_places, 0)
    keys = list(session.scalars(select(Ticket.queue_key).where(Ticket.queue_id == ticket.queue_id,
                                                               Ticket.status == "waiting")
                                .order_by(Ticket.queue_key, Ticket.id).limit(places + 1)))
    if places == 0:
        ticket.queue_key = keys[0] - 1.0 if keys else epoch_seconds(now)
    elif len(keys) > places:
        ticket.queue_key = (keys[places - 1] + keys[places]) / 2  # between the Nth and the N+1th
    elif keys:
        ticket.queue_key = keys[-1] + 0.001
    else:
        ticket.queue_key = epoch_seconds(now)
    ticket.status = "waiting"
    ticket.requeue_count += 1
    ticket.recall_count = 0
    ticket.window_id = None
    ticket.clerk_id = None
    ticket.closed_at = None
    audit.record(session, actor=actor, action="ticket.requeue", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 places=places)
    return [TicketRequeued(ticket.hall_id, {"ticket": ticket_view(ticket)}),
            QueueStatsChanged(ticket.hall_id, {"queues": [queue_stats(session, hall, ticket.queue)]})]


def start(session: Session, ticket: Ticket, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """The visitor arrived at the window: service starts."""
    if ticket.status != "called":
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only a called ticket can start")
    window = _window_for_ticket(session, ticket, actor)
    ticket.status = "serving"
    ticket.started_at = now
    audit.record(session, actor=actor, action="ticket.start", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 window_id=window.id)
    return [TicketStarted(ticket.hall_id, {"ticket": ticket_view(ticket), "window": _window_brief(window)},
                          window_ids=(window.id,))]


def _check_outcome(outcome: str, note: str | None, detail: dict[str, Any]) -> None:
    if outcome not in OUTCOMES:
        raise InvalidRequest(f"outcome must be one of {', '.join(OUTCOMES)}", code="bad_outcome")
    if outcome == "refused" and not (note and note.strip()):
        raise InvalidRequest("a refusal (不予受理) needs its reason in note", code="reason_required")
    if outcome == "notice" and not detail.get("missing_materials"):
        # 000 §9.3.3 / 002 §8.2.3: the notice lists every missing material at once.
        raise InvalidRequest("a one-time notice (一次性告知) needs detail.missing_materials", code="materials_required")
    if outcome == "deferred" and not detail.get("deferred_materials"):
        # 000 §9.3.6: accept first, and state the materials to supply, the deadline and the promise.
        raise InvalidRequest("accepting with deferred materials (容缺受理) needs detail.deferred_materials",
                             code="materials_required")


_FINISH = Prebuilt(update(Ticket).where(Ticket.id == bindparam("t_id"))
           .values(started_at=bindparam("t_started_at"), status=bindparam("t_status"),
                   finished_at=bindparam("t_finished_at"), closed_at=bindparam("t_closed_at"),
                   outcome=bindparam("t_outcome"), outcome_note=bindparam("t_outcome_note"),
                   outcome_detail=bindparam("t_outcome_detail", type_=Ticket.__table__.c.outcome_detail.type)))


def finish(session: Session, ticket: Ticket, *, outcome: str, note: str | None = None,
           detail: dict[str, Any] | None = None, now: datetime, actor: Actor,
           vault: IdentityVault | None = None, row_locked: bool = False) -> list[DomainEvent]:
    """Finish the ticket in hand with an outcome (受理 / 办结 / 一次性告知 / 容缺受理 / 不予受理 / 咨询).

    The cases (办件) of the items decided open in this same transaction (``cases.intake``): a crash
    never leaves a finished ticket without its cases, nor a case without its finish. ``row_locked``: the
    caller loaded ``ticket`` with ``load_ticket`` in this transaction (its row locked on PostgreSQL).
    """
    detail = detail or {}
    with audit.batched(session):  # the finish's audit row and its cases' in one statement
        window = _close_ticket(session, ticket, outcome=outcome, note=note, detail=detail, now=now, actor=actor,
                               row_locked=row_locked, window=None)
        _, case_events = open_cases(session, ticket, outcome=outcome, note=note, detail=detail, now=now,
                                    actor=actor, vault=vault)
    return [TicketFinished(ticket.hall_id, {"ticket": ticket_view(ticket), "window": _window_brief(window)},
                           window_ids=(window.id,)), *case_events]


def _close_ticket(session: Session, ticket: Ticket, *, outcome: str, note: str | None, detail: dict[str, Any],
                  now: datetime, actor: Actor, row_locked: bool, window: Any) -> Any:
    """The finish up to its cases: check, write the ticket done with its audit row; return its window.

    ``window``: the row of the ticket's window when the caller read it and checked its clerk, else None.
    """
    # Lock the row and read it again (PostgreSQL: a second finish of the same ticket waits here, then sees it
    # done): a ticket is finished once, so its cases (办件) are opened once. SQLite's writer lock does the same.
    # On SQLite the transaction began with the writer lock (BEGIN IMMEDIATE), so the row just loaded is current;
    # a row ``load_ticket`` locked was read after the lock was granted, so it is current too.
    if not row_locked and session.get_bind().dialect.name != "sqlite":
        locked = session.execute(select(Ticket.status).where(Ticket.id == ticket.id).with_for_update(key_share=True)).scalar_one()
        if locked != ticket.status:  # another finish (or call) committed meanwhile
            session.refresh(ticket)
    if ticket.status not in IN_HAND_STATUSES:
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only a called or serving ticket can be finished")
    if window is None:
        window = _window_for_ticket(session, ticket, actor)
    _check_outcome(outcome, note, detail)
    values = {"started_at": ticket.started_at or ticket.called_at or now, "status": "done", "finished_at": now,
              "closed_at": now, "outcome": outcome, "outcome_note": note, "outcome_detail": detail}
    # A prebuilt Core update, its values then set on the loaded ticket as committed (issue 19): the ORM's
    # flush of this one row cost as much as the rest of the finish.
    # Sent ``later``: on PostgreSQL with the next statement (the claim of 下一位, the case's number), no round trip.
    _FINISH.later(core(session), {"t_id": ticket.id, **{f"t_{k}": v for k, v in values.items()}})
    if isinstance(ticket, HeldTicket):
        ticket.__dict__.update(values)
    else:
        for key, value in values.items():
            set_committed_value(ticket, key, value)
    pace_changed(session, ticket.queue_id, values["started_at"], now)  # the queue's cached pace takes it in at commit
    audit.record(session, actor=actor, action="ticket.finish", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 window_id=window.id, outcome=outcome)
    return window


def transfer(session: Session, ticket: Ticket, *, to_window: Window | None = None, to_queue: Queue | None = None,
             note: str | None = None, now: datetime, actor: Actor) -> tuple[Ticket, list[DomainEvent]]:
    """Hand the visitor on (按责转办) keeping the original issue time, so they do not wait again."""
    if (to_window is None) == (to_queue is None):
        raise InvalidRequest("transfer to exactly one of window_id or queue_id")
    if ticket.status not in IN_HAND_STATUSES:
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only the ticket in hand can be transferred")
    window = _window_for_ticket(session, ticket, actor)
    if to_window is not None:
        if to_window.hall_id != ticket.hall_id:
            raise NotFound(f"window {to_window.id} not found in this hall")
        if to_window.id == window.id:
            raise InvalidRequest("cannot transfer a ticket to the window that holds it")
        if not to_window.is_open:
            raise WrongState(f"window {to_window.number} is closed", code="window_closed")
        queue_id = next((s.queue_id for s in to_window.served if s.role == "primary"), None) or \
            next((s.queue_id for s in to_window.served), None) or ticket.queue_id
    else:
        assert to_queue is not None
        if to_queue.hall_id != ticket.hall_id or not to_queue.active:
            raise NotFound(f"queue {to_queue.id} not found in this hall")
        queue_id = to_queue.id
    ticket.status = "transferred"
    ticket.closed_at = now
    ticket.finished_at = now
    if ticket.started_at is None:
        ticket.started_at = ticket.called_at or now
    nxt = Ticket(
        hall_id=ticket.hall_id, queue_id=queue_id, number_queue_id=ticket.number_queue_id,
        service_day=ticket.service_day, seq=ticket.seq, leg=ticket.leg + 1, number=ticket.number,
        priority_class=ticket.priority_class, green_reason=ticket.green_reason, source="transfer", status="waiting",
        bundle_id=ticket.bundle_id, masked_name=ticket.masked_name, masked_id=ticket.masked_id,
        id_hash=ticket.id_hash, id_cipher=ticket.id_cipher, phone_cipher=ticket.phone_cipher,
        issued_at=ticket.issued_at, queue_key=ticket.queue_key, slot_start=ticket.slot_start,
        target_window_id=to_window.id if to_window is not None else None,
        transferred_from_id=ticket.id, origin_ticket_id=ticket.origin_ticket_id or ticket.id,
        transfer_note=note, follow_code=_follow_code(), outcome_detail={},
    )
    nxt.items = list(ticket.items)
    session.add(nxt)
    session.flush()
    audit.record(session, actor=actor, action="ticket.transfer", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 window_id=window.id, to_window=to_window.id if to_window else None, to_queue=queue_id,
                 new_ticket_id=nxt.id, note=note)
    hall = session.get(Hall, ticket.hall_id)
    targets = (window.id,) + ((to_window.id,) if to_window is not None else ())
    return nxt, [
        TicketTransferred(ticket.hall_id, {"from": ticket_view(ticket), "ticket": ticket_view(nxt), "note": note},
                          window_ids=targets),
        QueueStatsChanged(ticket.hall_id, {"queues": [queue_stats(session, hall, nxt.queue)]}),
    ]


def _follow_code() -> str:
    import secrets

    return secrets.token_urlsafe(12)


def window_changed(window: Window, payload: dict[str, Any]) -> WindowStatusChanged:
    return WindowStatusChanged(window.hall_id, payload, window_ids=(window.id,))

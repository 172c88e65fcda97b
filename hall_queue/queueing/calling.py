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
database sorts NULLs. Claims run inside a write transaction: SQLite ``BEGIN IMMEDIATE`` or
PostgreSQL ``FOR UPDATE SKIP LOCKED``, through the same code.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from hall_queue.domain.vocabulary import CALL_RULES, DEFAULT_CALL_RULES, PRIORITY_CLASSES
from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault
from hall_queue.cases.intake import open_cases
from hall_queue.domain.clock import epoch_seconds
from hall_queue.infrastructure.db import core
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
from hall_queue.infrastructure.hall_store import hall_settings
from hall_queue.domain.models import IN_HAND_STATUSES, OUTCOMES, Hall, Queue, Ticket, Window, WindowQueue
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


@dataclass
class Scope:
    """What a window serves right now: its own post plus any post it covers (顶岗)."""

    window: Window
    covered_ids: list[int]
    primary: list[int]
    helper: list[int]

    @property
    def target_ids(self) -> list[int]:
        return [self.window.id] + self.covered_ids


# call_next runs on every press of "next": its statements are built once and return plain rows
# (see routing.py on why); only the ticket finally claimed is loaded as an ORM object.
_SCOPE = (
    select(Window.id, WindowQueue.queue_id, WindowQueue.role)
    .select_from(Window).outerjoin(WindowQueue, WindowQueue.window_id == Window.id)
    .where(or_(Window.id == bindparam("window_id"), Window.covered_by_id == bindparam("window_id")))
    .order_by((Window.id != bindparam("window_id")), Window.number, Window.id, WindowQueue.rank, WindowQueue.queue_id)
)
_IN_HAND = (select(Ticket.id).where(Ticket.window_id == bindparam("window_id"), Ticket.status.in_(IN_HAND_STATUSES))
            .order_by(Ticket.id).limit(1))
_ANY_WAITING = (select(Ticket.id).where(
    Ticket.status == "waiting",
    or_(Ticket.queue_id.in_(bindparam("queue_ids", expanding=True)),
        Ticket.target_window_id.in_(bindparam("window_ids", expanding=True)))).limit(1))


def window_scope(session: Session, window: Window) -> Scope:
    covered: list[int] = []
    primary: list[int] = []
    helper: list[int] = []
    for window_id, queue_id, role in core(session).execute(_SCOPE, {"window_id": window.id}):
        if window_id != window.id and window_id not in covered:
            covered.append(window_id)
        if queue_id is None:
            continue
        bucket = primary if role == "primary" else helper
        if queue_id not in bucket:
            bucket.append(queue_id)
    helper = [q for q in helper if q not in primary]
    return Scope(window, covered, primary, helper)


def ticket_in_hand(session: Session, window: Window) -> Ticket | None:
    ticket_id = core(session).execute(_IN_HAND, {"window_id": window.id}).scalar()
    return session.get(Ticket, ticket_id) if ticket_id is not None else None


ALL_CLASSES = PRIORITY_CLASSES
CLASS_GROUPS = {"green": ("green",), "ordinary": ("ordinary", "appointment")}


@dataclass
class Pick:
    ticket: _Head | Ticket | None
    why: str
    advance_pattern: bool = False


@dataclass(frozen=True)
class _Head:
    """A candidate at the head of a (queue, class): just what ordering needs."""

    id: int
    queue_key: float
    slot_start: datetime | None


_HEAD_CACHE: dict[tuple, Any] = {}


def _head_statement(variant: str, with_exclude: bool):
    """The head seek for one (queue, class), built once per variant."""
    key = (variant, with_exclude)
    stmt = _HEAD_CACHE.get(key)
    if stmt is None:
        cond = [Ticket.queue_id == bindparam("queue_id"), Ticket.status == "waiting",
                Ticket.priority_class == bindparam("cls"), Ticket.target_window_id.is_(None)]
        order: tuple = (Ticket.queue_key, Ticket.id)
        if variant == "slot":
            cond += [Ticket.slot_start.is_not(None), Ticket.slot_start <= bindparam("now")]
            order = (Ticket.slot_start, Ticket.queue_key, Ticket.id)
        elif variant == "overdue":
            cond.append(Ticket.queue_key <= bindparam("key_limit"))
        if with_exclude:
            cond.append(Ticket.id.not_in(bindparam("exclude", expanding=True)))
        # SKIP LOCKED here, not only in _claim: eight clerks pressing "next" at once each pass
        # over the heads the others are taking instead of all choosing the same one and retrying.
        stmt = (select(Ticket.id, Ticket.queue_key, Ticket.slot_start).where(*cond).order_by(*order).limit(1)
                .with_for_update(skip_locked=True))
        _HEAD_CACHE[key] = stmt
    return stmt


def _head(session: Session, queue_ids: list[int], classes: Iterable[str], exclude: set[int], *,
          variant: str = "plain", now: datetime | None = None, key_limit: float | None = None) -> _Head | None:
    """Return the oldest waiting, untargeted ticket over the (queue, class) pairs.

    One ``LIMIT 1`` index seek per pair (index ``ix_ticket_head``) instead of one query over all
    of them: an ``IN`` list before the ordering column would make the database sort every waiting
    ticket, and ``call_next`` would slow down as the backlog grows.
    """
    by_slot = variant == "slot"
    stmt = _head_statement(variant, bool(exclude))
    conn = core(session)
    best: _Head | None = None
    for queue_id in queue_ids:
        for cls in classes:
            params: dict[str, Any] = {"queue_id": queue_id, "cls": cls}
            if by_slot:
                params["now"] = now
            elif variant == "overdue":
                params["key_limit"] = key_limit
            if exclude:
                params["exclude"] = list(exclude)
            row = conn.execute(stmt, params).first()
            if row is None:
                continue
            t = _Head(*row)
            if best is None or _key(t, by_slot) < _key(best, by_slot):
                best = t
    return best


_TRANSFERRED = {
    with_exclude: select(Ticket.id, Ticket.queue_key, Ticket.slot_start, Ticket.target_window_id)
    .where(Ticket.hall_id == bindparam("hall_id"), Ticket.status == "waiting",
           Ticket.target_window_id.in_(bindparam("window_ids", expanding=True)),
           *((Ticket.id.not_in(bindparam("exclude", expanding=True)),) if with_exclude else ()))
    .order_by(Ticket.queue_key, Ticket.id).limit(1).with_for_update(skip_locked=True)
    for with_exclude in (False, True)
}


def _key(t: _Head, by_slot: bool) -> tuple:
    return (t.slot_start, t.queue_key, t.id) if by_slot else (t.queue_key, t.id)


def _pick(session: Session, scope: Scope, rules: list[dict[str, Any]], now: datetime, exclude: set[int]) -> Pick:
    hall_id = scope.window.hall_id
    for rule in rules:
        name = rule["rule"]
        if name == "transferred":
            params: dict[str, Any] = {"hall_id": hall_id, "window_ids": scope.target_ids}
            if exclude:
                params["exclude"] = list(exclude)
            row = core(session).execute(_TRANSFERRED[bool(exclude)], params).first()
            if row is not None:
                why = "transferred to this window" if row[3] == scope.window.id else \
                    "aimed at a window this one covers (A/B post)"
                return Pick(_Head(row[0], row[1], row[2]), why)
        elif name == "appointment" and scope.primary:
            t = _head(session, scope.primary, ("appointment",), exclude, variant="slot", now=now)
            if t is not None:
                return Pick(t, "checked-in appointment whose slot has begun")
        elif name == "helper_overdue" and scope.helper:
            after = rule.get("after_s", 900)
            t = _head(session, scope.helper, ALL_CLASSES, exclude, variant="overdue",
                      key_limit=epoch_seconds(now) - after)
            if t is not None:
                return Pick(t, f"helper queue ticket waited over {after // 60} min")
        elif name == "interleave" and scope.primary:
            pick = _interleave(session, scope, rule, exclude)
            if pick.ticket is not None:
                return pick
        elif name == "ageing" and scope.primary:
            bonus = rule.get("green_bonus_s", 600)
            g = _head(session, scope.primary, CLASS_GROUPS["green"], exclude)
            o = _head(session, scope.primary, CLASS_GROUPS["ordinary"], exclude)
            if g is not None and (o is None or (g.queue_key - bonus, g.id) <= (o.queue_key, o.id)):
                return Pick(g, f"green channel, counted {bonus // 60} min earlier (ageing)")
            if o is not None:
                return Pick(o, "longest wait in this window's queues")
        elif name == "helper" and scope.helper:
            t = _head(session, scope.helper, ALL_CLASSES, exclude)
            if t is not None:
                return Pick(t, "helper queue (primary queues empty)")
    return Pick(None, "no ticket waiting")


def _interleave(session: Session, scope: Scope, rule: dict[str, Any], exclude: set[int]) -> Pick:
    """Serve green and ordinary tickets in a fixed pattern, e.g. G O O G O O for 1 : 2.

    The window's place in the pattern advances only when the class it wants is served, so a burst
    of green visitors after a quiet spell is still interleaved, never served all at once.
    """
    g_share, o_share = rule.get("green", 1), rule.get("ordinary", 2)
    pattern = ["green"] * g_share + ["ordinary"] * o_share
    want = pattern[scope.window.pattern_pos % len(pattern)]
    label = {"green": "green channel", "ordinary": "longest wait"}
    t = _head(session, scope.primary, CLASS_GROUPS[want], exclude)
    if t is not None:
        return Pick(t, f"{label[want]} ({g_share} green : {o_share} ordinary)", advance_pattern=True)
    other = "ordinary" if want == "green" else "green"
    t = _head(session, scope.primary, CLASS_GROUPS[other], exclude)
    if t is not None:
        return Pick(t, f"{label[other]} (no {want} ticket waiting)")
    return Pick(None, "")


def _claim(session: Session, ticket_id: int) -> Ticket | None:
    """Lock and load the chosen ticket if it is still waiting; None when another window got it first.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` passes over a row another clerk is claiming, and the
    status is re-checked once the lock is held. SQLite ignores the clause; ``BEGIN IMMEDIATE``
    already makes this transaction the only writer.
    """
    # The queue comes in the same statement: the call's event shows its prefix.
    return session.scalars(select(Ticket).where(Ticket.id == ticket_id, Ticket.status == "waiting")
                           .options(joinedload(Ticket.queue, innerjoin=True))
                           .with_for_update(skip_locked=True, of=Ticket)
                           .execution_options(populate_existing=True)).first()


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


def call_next(session: Session, window: Window, *, now: datetime, actor: Actor) -> tuple[Ticket | None, list[DomainEvent]]:
    """Call the next ticket to ``window``; return None (and no event) when nothing waits."""
    # Two consoles of one window pressing at once must not both pass the "nothing in hand" check.
    # SQLite: BEGIN IMMEDIATE already made this the only writer before the window was read.
    if session.get_bind().dialect.name != "sqlite":
        session.scalars(select(Window).where(Window.id == window.id).with_for_update()
                        .execution_options(populate_existing=True)).one()
    _require_clerk_at(window, actor)
    if not window.is_open:
        raise WrongState(f"window {window.number} is closed", code="window_closed")
    if window.clerk_id is None:
        raise WrongState(f"no clerk is signed in at window {window.number}", code="not_signed_in")
    if window.paused_at is not None:
        raise WrongState(f"window {window.number} is paused; resume first", code="window_paused")
    if window.covered_by_id is not None:
        raise WrongState(f"window {window.number} is covered by another window; resume first", code="window_covered")
    held = ticket_in_hand(session, window)
    if held is not None:
        raise WrongState(f"ticket {held.number} is still in hand at window {window.number}; finish it, mark "
                         f"no-show or transfer it first", code="ticket_in_hand")
    scope = window_scope(session, window)
    rules = window.call_rules or DEFAULT_RULES
    # Fast path for the most common press of "next": nothing waits anywhere this window looks.
    if core(session).execute(_ANY_WAITING, {"queue_ids": scope.primary + scope.helper,
                                            "window_ids": scope.target_ids}).first() is None:
        return None, []
    exclude: set[int] = set()
    while True:
        pick = _pick(session, scope, rules, now, exclude)
        if pick.ticket is None:
            return None, []
        ticket = _claim(session, pick.ticket.id)
        if ticket is not None:
            break
        exclude.add(pick.ticket.id)  # taken meanwhile by another window: choose again
    why = pick.why
    if pick.advance_pattern:
        rule = next(r for r in rules if r["rule"] == "interleave")
        window.pattern_pos = (window.pattern_pos + 1) % (rule.get("green", 1) + rule.get("ordinary", 2))
    ticket.status = "called"
    ticket.called_at = now
    ticket.window_id = window.id
    ticket.clerk_id = window.clerk_id
    ticket.call_reason = why
    audit.record(session, actor=actor, action="ticket.call", at=now, hall_id=window.hall_id, ticket_id=ticket.id,
                 window_id=window.id, number=ticket.number, reason=why)
    hall = hall_settings(session, window.hall_id)
    return ticket, [
        TicketCalled(window.hall_id, {"ticket": ticket_view(ticket), "window": _window_brief(window)},
                     window_ids=tuple(scope.target_ids)),
        QueueStatsChanged(window.hall_id, {"queues": [queue_stats(session, hall, ticket.queue)]}),
    ]


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
    ticket.recall_count += 1
    audit.record(session, actor=actor, action="ticket.recall", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 window_id=window.id, count=ticket.recall_count)
    return [TicketRecalled(ticket.hall_id, {"ticket": ticket_view(ticket), "window": _window_brief(window)},
                           window_ids=(window.id,))]


def mark_no_show(session: Session, ticket: Ticket, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """The called visitor did not come (过号)."""
    if ticket.status != "called":
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only a called ticket can be a no-show")
    window = _window_for_ticket(session, ticket, actor)
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


def finish(session: Session, ticket: Ticket, *, outcome: str, note: str | None = None,
           detail: dict[str, Any] | None = None, now: datetime, actor: Actor,
           vault: IdentityVault | None = None) -> list[DomainEvent]:
    """Finish the ticket in hand with an outcome (受理 / 办结 / 一次性告知 / 容缺受理 / 不予受理 / 咨询).

    The cases (办件) of the items decided open in this same transaction (``cases.intake``): a crash
    never leaves a finished ticket without its cases, nor a case without its finish.
    """
    detail = detail or {}
    if ticket.status not in IN_HAND_STATUSES:
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only a called or serving ticket can be finished")
    window = _window_for_ticket(session, ticket, actor)
    _check_outcome(outcome, note, detail)
    if ticket.started_at is None:
        ticket.started_at = ticket.called_at or now
    ticket.status = "done"
    ticket.finished_at = now
    ticket.closed_at = now
    ticket.outcome = outcome
    ticket.outcome_note = note
    ticket.outcome_detail = detail
    audit.record(session, actor=actor, action="ticket.finish", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 window_id=window.id, outcome=outcome)
    _, case_events = open_cases(session, ticket, outcome=outcome, note=note, detail=detail, now=now, actor=actor,
                                vault=vault)
    return [TicketFinished(ticket.hall_id, {"ticket": ticket_view(ticket), "window": _window_brief(window)},
                           window_ids=(window.id,)), *case_events]


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

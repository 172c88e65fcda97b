"""The claim of ``call_next``: the window's whole rule walk in ONE statement, built once per window shape.

``UPDATE tickets SET status = 'called', … FROM (<pick>) WHERE tickets.id = pick.id AND status = 'waiting'
AND <nothing in hand at the window> RETURNING …`` on both engines (SQLite ≥ 3.33, PostgreSQL).

``<pick>`` is a ``UNION ALL`` of one ``LIMIT 1`` head seek per (rule, queue, class) — each an index
seek on ``ix_ticket_head`` / ``ix_ticket_slot`` / ``ix_ticket_target``, so the cost stays flat as the
backlog grows — ordered by ``(rule rank, preference, slot, key, id)`` and cut to one row. That is the
rule walk of ``calling`` (first rule with a candidate wins; within a rule the rule's own order)
expressed as a sort: every branch of a rule is the head of its (queue, class) under that rule's order,
so the first row is what walking the rules one by one would have chosen. Every ordering column is
NOT NULL within a rank, so the answer never depends on how a database sorts NULLs.

PostgreSQL: each head seek is ``FOR UPDATE SKIP LOCKED``: eight clerks pressing "next" at once pass
over the heads the others are taking, and the row a seek returns is already locked by this
transaction, so the UPDATE cannot lose it. SQLite ignores the clause; ``BEGIN IMMEDIATE`` already
made this transaction the only writer.

The statement text depends only on the window's *shape* (its rules, how many primary and helper
queues it serves, and for ``interleave`` which class the pattern wants now), so it is built once
per shape and cached; queue ids, times and the window are bound parameters.
"""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Float, Integer, String, bindparam, case, cast, exists, func, literal, null, or_, \
    select, union_all, update
from sqlalchemy.orm import Session, aliased

from hall_queue.catalog.materials import merged_materials
from hall_queue.domain.clock import iso
from hall_queue.domain.models import IN_HAND_STATUSES, Bundle, Queue, Ticket, TicketItem, Window, WindowQueue
from hall_queue.domain.vocabulary import PRIORITY_CLASSES
from hall_queue.infrastructure.cache import MISSING, TtlCache
from hall_queue.infrastructure.db import Prebuilt, core, fixed_limit, one_of
from hall_queue.queueing.routing import load_item_routes

CLASS_GROUPS = {"green": ("green",), "ordinary": ("ordinary", "appointment")}

# What the call's answer and event need of the claimed ticket (ticket_view without the ORM).
CLAIMED_COLUMNS = (Ticket.id, Ticket.hall_id, Ticket.number, Ticket.queue_id, Ticket.status, Ticket.priority_class,
                   Ticket.green_reason, Ticket.source, Ticket.bundle_id, Ticket.masked_name, Ticket.masked_id,
                   Ticket.issued_at, Ticket.called_at, Ticket.started_at, Ticket.finished_at, Ticket.window_id,
                   Ticket.target_window_id, Ticket.recall_count, Ticket.call_reason, Ticket.outcome,
                   Ticket.transferred_from_id, Ticket.origin_ticket_id, Ticket.slot_start, Ticket.service_day)


# The ticket's service items in the same statement: "3,7" (group_concat / string_agg).
ITEM_IDS = (select(func.aggregate_strings(cast(TicketItem.item_id, String), ","))
             .where(TicketItem.ticket_id == Ticket.id).correlate(Ticket).scalar_subquery().label("item_ids"))


@dataclass(frozen=True)
class WindowShape:
    """What a window serves right now: its own post plus any post it covers (顶岗), and its rules."""

    window_id: int
    target_ids: tuple[int, ...]
    primary: tuple[int, ...]
    helper: tuple[int, ...]
    rules: tuple[tuple[tuple[str, Any], ...], ...]  # each rule as sorted items (hashable)

    def key(self, want: str | None, dialect: str) -> Hashable:
        return (len(self.target_ids), len(self.primary), len(self.helper), self.rules, want, dialect)


# ---------------------------------------------------------------- scope (which queues, cached)

_SERVED = (select(WindowQueue.window_id, WindowQueue.queue_id, WindowQueue.role)
           .where(WindowQueue.window_id.in_(bindparam("window_ids", expanding=True)))
           .order_by(WindowQueue.rank, WindowQueue.queue_id))
_QUEUE_NAMES = select(Queue.id, Queue.prefix, Queue.name).where(Queue.id == bindparam("queue_id"))
# A window's queues change when a manager configures it: cached per process like hall settings
# (cache.py clears it when this process commits a change, another process's within the TTL).
_served = TtlCache(5.0, {WindowQueue.__tablename__})
_queue_names = TtlCache(60.0, {Queue.__tablename__})
_BUNDLE_NAME = select(Bundle.name).where(Bundle.id == bindparam("bundle_id"))
_bundle_names = TtlCache(60.0, {Bundle.__tablename__})


def scope_queues(session: Session, target_ids: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(primary, helper) queue ids served by the window and the windows it covers, own window first.

    ``target_ids[0]`` is the window itself; covered windows follow in (number, id) order.
    """
    hit = _served.get(session, target_ids)
    if hit is not MISSING:
        return hit
    rows = core(session).execute(_SERVED, {"window_ids": list(target_ids)}).all()
    order = {wid: i for i, wid in enumerate(target_ids)}
    rows.sort(key=lambda r: order[r[0]])  # stable: rank order within each window
    primary: list[int] = []
    helper: list[int] = []
    for _wid, qid, role in rows:
        bucket = primary if role == "primary" else helper
        if qid not in bucket:
            bucket.append(qid)
    result = (tuple(primary), tuple(q for q in helper if q not in primary))
    return _served.put(session, target_ids, result)


def queue_names(session: Session, queue_id: int) -> tuple[str, str] | None:
    """(prefix, name) of a queue, cached."""
    hit = _queue_names.get(session, queue_id)
    if hit is MISSING:
        row = core(session).execute(_QUEUE_NAMES, {"queue_id": queue_id}).first()
        hit = _queue_names.put(session, queue_id, (row[1], row[2]) if row is not None else None)
    return hit


def bundle_name(session: Session, bundle_id: int) -> str | None:
    hit = _bundle_names.get(session, bundle_id)
    if hit is MISSING:
        hit = _bundle_names.put(session, bundle_id,
                                core(session).execute(_BUNDLE_NAME, {"bundle_id": bundle_id}).scalar())
    return hit


def item_ids(aggregated: str | None) -> list[int]:
    """The ids of ``ITEM_IDS`` ("7,3"), in id order as ``Ticket.items``."""
    return sorted(int(i) for i in aggregated.split(",")) if aggregated else []


def claimed_view(session: Session, row: Any) -> dict[str, Any]:
    """``presenters.ticket_view`` of the claimed row, from the row and cached names (no ORM load)."""
    ids = item_ids(row.item_ids)
    routes = load_item_routes(session, ids)
    return row_view(session, row, [routes[i] for i in ids if i in routes])


def row_view(session: Session, row: Any, items: list[Any]) -> dict[str, Any]:
    """``presenters.ticket_view`` of a ticket's row (``CLAIMED_COLUMNS``) and its items (id, code, name, materials)."""
    names = queue_names(session, row.queue_id)
    return {
        "id": row.id, "number": row.number, "queue_id": row.queue_id,
        "queue_prefix": names[0] if names else None, "status": row.status, "priority_class": row.priority_class,
        "green_reason": row.green_reason, "source": row.source, "item_ids": [i.id for i in items],
        "items": [i.name for i in items], "bundle_id": row.bundle_id,
        "bundle": bundle_name(session, row.bundle_id) if row.bundle_id is not None else None,
        "masked_name": row.masked_name, "masked_id": row.masked_id, "issued_at": iso(row.issued_at),
        "called_at": iso(row.called_at), "started_at": iso(row.started_at), "finished_at": iso(row.finished_at),
        "window_id": row.window_id, "target_window_id": row.target_window_id, "recall_count": row.recall_count,
        "call_reason": row.call_reason, "outcome": row.outcome, "transferred_from_id": row.transferred_from_id,
        "origin_ticket_id": row.origin_ticket_id, "slot_start": iso(row.slot_start),
        "service_day": row.service_day.isoformat(),
        "materials": merged_materials(items),
    }


# ---------------------------------------------------------------- the window's state (never cached)

_WINDOW_COLUMNS = (Window.id, Window.hall_id, Window.number, Window.name, Window.is_open, Window.clerk_id,
                   Window.paused_at, Window.covered_by_id, Window.call_rules, Window.pattern_pos)
_WINDOW_ROWS_READ = (select(*_WINDOW_COLUMNS)
                     .where(or_(Window.id == bindparam("window_id"), Window.covered_by_id == bindparam("window_id")))
                     .order_by(Window.id != bindparam("window_id"), Window.number, Window.id))
_WINDOW_ROWS = {False: Prebuilt(_WINDOW_ROWS_READ), True: Prebuilt(_WINDOW_ROWS_READ.with_for_update(of=Window, key_share=True))}


def window_rows(session: Session, window_id: int) -> list:
    """The window's row first, then the windows it covers: one statement, read fresh on every call.

    PostgreSQL locks them (``FOR NO KEY UPDATE``): two consoles of one window pressing at once must not
    both pass the "nothing in hand" check. SQLite: ``BEGIN IMMEDIATE`` already made this the only writer.
    Not ``FOR UPDATE``: that also blocks the foreign-key checks (``KEY SHARE``) of rows inserted elsewhere that
    name these windows — the duty round's idle intervals deadlocked with a group of 下一位 holding several windows.
    """
    ahead = session.info.pop(_WINDOW_ROWS_AHEAD, None)
    if ahead is not None and ahead[0] == window_id:
        return ahead[1]
    return _read_window_rows(session, window_id)


def _read_window_rows(session: Session, window_id: int) -> list:
    lock = session.get_bind().dialect.name != "sqlite"
    return _WINDOW_ROWS[lock].run(core(session), {"window_id": window_id})


_WINDOW_ROWS_AHEAD = "onevisit.window_rows_ahead"  # session.info: (window id, its rows) read with the ticket in hand


def read_window_rows_ahead(session: Session, window_id: int) -> None:
    """Read the window's rows now, for this transaction's next ``window_rows`` of it (the 下一位 reads them with the
    ticket in hand: one round trip on PostgreSQL, see ``calling.load_ticket_for_next``)."""
    session.info.pop(_WINDOW_ROWS_AHEAD, None)
    session.info[_WINDOW_ROWS_AHEAD] = (window_id, _read_window_rows(session, window_id))


# ---------------------------------------------------------------- the claim statement

def in_hand(status) -> Any:
    """``status`` is one of the in-hand statuses (``db.one_of``: no expanding ``IN`` in the claim)."""
    return one_of(status, IN_HAND_STATUSES)


_claims: dict[Hashable, Any] = {}


def _why(text: str):
    return cast(literal(text), String)


def _branch(rank: int, pref: int, why, *conds, order: tuple, slot: bool = False, key=None):
    """One head seek: the first waiting ticket under ``conds`` in ``order``, with its sort columns."""
    sel = (select(Ticket.id.label("id"), literal(rank, Integer).label("rank"), literal(pref, Integer).label("pref"),
                  (Ticket.slot_start if slot else cast(null(), DateTime)).label("slot"),
                  cast(key if key is not None else Ticket.queue_key, Float).label("k"), why.label("why"))
           .where(one_of(Ticket.status, ["waiting"]), *conds).order_by(*order).limit(fixed_limit(1))
           .with_for_update(skip_locked=True, of=Ticket, key_share=True))
    return select(sel.subquery())


def _head_conds(param: str, cls: str) -> list:
    # The class written into the SQL (``one_of``): a generic plan knows which class's head it seeks (db.fixed_limit).
    return [Ticket.queue_id == bindparam(param), one_of(Ticket.priority_class, [cls]), Ticket.target_window_id.is_(None)]


_LABEL = {"green": "绿色通道", "ordinary": "普通号等候最久"}
_CLASS_LABEL = {"green": "绿色通道号", "ordinary": "普通号"}


def interleave_reason(rule: dict[str, Any], want: str) -> str:
    """The reason of a call that served the class the interleave pattern wanted (the pattern then advances)."""
    return f"{_LABEL[want]}（绿色通道与普通号按 {rule.get('green', 1)}∶{rule.get('ordinary', 2)} 交替）"


def claim_statement(shape: WindowShape, want: str | None, dialect: str):
    """Build (once per shape) the UPDATE … FROM (pick) … RETURNING that claims the next ticket (``Prebuilt``)."""
    key = shape.key(want, dialect)
    stmt = _claims.get(key)
    if stmt is not None:
        return stmt
    plain = (Ticket.queue_key, Ticket.id)
    branches = []
    for rank, items in enumerate(shape.rules):
        rule = dict(items)
        name = rule["rule"]
        if name == "transferred":
            why = case((Ticket.target_window_id == bindparam("c_window"), "转办至本窗口"),
                       else_="转办至本窗口顶岗的窗口（AB岗）")
            branches.append(_branch(rank, 0, cast(why, String), Ticket.hall_id == bindparam("c_hall"),
                                    Ticket.target_window_id.in_(
                                        [bindparam(f"t{i}") for i in range(len(shape.target_ids))]),
                                    order=plain))
        elif name == "appointment":
            for i in range(len(shape.primary)):
                branches.append(_branch(rank, 0, _why("已签到的预约号，预约时段已开始"),
                                        *_head_conds(f"p{i}", "appointment"), Ticket.slot_start.is_not(None),
                                        Ticket.slot_start <= bindparam("c_now"), slot=True,
                                        order=(Ticket.slot_start, Ticket.queue_key, Ticket.id)))
        elif name == "helper_overdue":
            after = rule.get("after_s", 900)
            for i in range(len(shape.helper)):
                for cls in PRIORITY_CLASSES:
                    branches.append(_branch(rank, 0, _why(f"协办队列号票已等候超过{after // 60}分钟"),
                                            *_head_conds(f"h{i}", cls),
                                            Ticket.queue_key <= bindparam(f"limit{rank}"), order=plain))
        elif name == "interleave" and shape.primary:
            other = "ordinary" if want == "green" else "green"
            for i in range(len(shape.primary)):
                for group, pref, why in ((want, 0, interleave_reason(rule, want)),
                                         (other, 1, f"{_LABEL[other]}（暂无{_CLASS_LABEL[want]}等候）")):
                    for cls in CLASS_GROUPS[group]:
                        branches.append(_branch(rank, pref, _why(why), *_head_conds(f"p{i}", cls), order=plain))
        elif name == "ageing":
            bonus = rule.get("green_bonus_s", 600)
            for i in range(len(shape.primary)):
                branches.append(_branch(rank, 0, _why(f"绿色通道（按提前{bonus // 60}分钟取号计）"),
                                        *_head_conds(f"p{i}", "green"), order=plain,
                                        key=Ticket.queue_key - literal(float(bonus), Float)))
                for cls in CLASS_GROUPS["ordinary"]:
                    branches.append(_branch(rank, 0, _why("本窗口队列中等候最久"),
                                            *_head_conds(f"p{i}", cls), order=plain))
        elif name == "helper":
            for i in range(len(shape.helper)):
                for cls in PRIORITY_CLASSES:
                    branches.append(_branch(rank, 0, _why("协办队列（主办队列无人等候）"),
                                            *_head_conds(f"h{i}", cls), order=plain))
    if not branches:
        _claims[key] = None
        return None
    cand = (union_all(*branches) if len(branches) > 1 else branches[0]).subquery("cand")
    pick = (select(cand.c.id, cand.c.why).order_by(cand.c.rank, cand.c.pref, cand.c.slot, cand.c.k, cand.c.id)
            .limit(fixed_limit(1)).subquery("pick"))
    held = aliased(Ticket)
    stmt = (update(Ticket)
            .where(Ticket.id == pick.c.id, one_of(Ticket.status, ["waiting"]),
                   ~exists().where(held.window_id == bindparam("c_window"), in_hand(held.status)))
            .values(status="called", called_at=bindparam("c_now"), window_id=bindparam("c_window"),
                    clerk_id=bindparam("c_clerk"), call_reason=pick.c.why)
            .returning(*CLAIMED_COLUMNS, ITEM_IDS))
    _claims[key] = Prebuilt(stmt)
    return _claims[key]


_held = aliased(Ticket)
# 指定呼叫: claim one named waiting ticket, under the same "nothing in hand" guard as the rule walk
# (the caller checked that the ticket waits for this window). PostgreSQL re-checks ``status`` after
# the row lock, so of two windows naming the same ticket one gets no row.
CALL_ONE = (update(Ticket)
            .where(Ticket.id == bindparam("c_ticket"), Ticket.status == "waiting",
                   ~exists().where(_held.window_id == bindparam("c_window"), in_hand(_held.status)))
            .values(status="called", called_at=bindparam("c_now"), window_id=bindparam("c_window"),
                    clerk_id=bindparam("c_clerk"), call_reason=bindparam("c_why"))
            .returning(*CLAIMED_COLUMNS, ITEM_IDS))


def claim_params(shape: WindowShape, *, hall_id: int, clerk_id: int, now, now_epoch: float) -> dict[str, Any]:
    params: dict[str, Any] = {"c_window": shape.window_id, "c_hall": hall_id, "c_clerk": clerk_id, "c_now": now}
    params.update({f"t{i}": w for i, w in enumerate(shape.target_ids)})
    params.update({f"p{i}": q for i, q in enumerate(shape.primary)})
    params.update({f"h{i}": q for i, q in enumerate(shape.helper)})
    for rank, items in enumerate(shape.rules):
        rule = dict(items)
        if rule["rule"] == "helper_overdue":
            params[f"limit{rank}"] = now_epoch - rule.get("after_s", 900)
    return params


def rules_key(rules: list[dict[str, Any]]) -> tuple:
    return tuple(tuple(sorted(r.items())) for r in rules)


__all__ = ["CALL_ONE", "CLAIMED_COLUMNS", "CLASS_GROUPS", "WindowShape", "bundle_name", "claim_params", "claim_statement",
           "claimed_view", "interleave_reason", "queue_names", "rules_key", "scope_queues", "window_rows"]

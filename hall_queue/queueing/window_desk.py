"""What a clerk at a window may look up beyond the ticket view: the visitor's full ID number (only on an
explicit, audited reveal) and the deferred materials (容缺受理, 000 §9.3.6) whose promised date has passed.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from hall_queue.access import audit
from hall_queue.domain import calendar as halls
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import Forbidden, WrongState
from hall_queue.access.identity import IdentityVault
from hall_queue.domain.models import IN_HAND_STATUSES, Hall, Ticket, Window
from hall_queue.queueing.claiming import scope_queues
from hall_queue.queueing.presenters import iso

# Deferred promises are looked for among tickets finished in this many days.
DEFERRED_LOOKBACK = timedelta(days=180)


def reveal_identity(session: Session, ticket: Ticket, *, vault: IdentityVault, actor: Actor,
                    now: datetime) -> dict[str, Any]:
    """Decrypt the visitor's ID number for the clerk holding the ticket; the reveal is audited."""
    window = session.get(Window, ticket.window_id) if ticket.window_id else None
    if ticket.status not in IN_HAND_STATUSES or window is None:
        raise WrongState(f"ticket {ticket.number} is not in hand at a window", code="not_in_hand")
    if actor.kind != "staff" or window.clerk_id != actor.id:
        raise Forbidden("only the clerk holding the ticket may reveal the visitor's identity")
    if not ticket.id_cipher:
        raise WrongState(f"ticket {ticket.number} has no ID number on record", code="no_identity")
    id_number = vault.decrypt(ticket.id_cipher)
    # The audit keeps who looked, at which ticket, and the masked form only (个人信息保护法).
    audit.record(session, actor=actor, action="identity.reveal", at=now, hall_id=ticket.hall_id,
                 ticket_id=ticket.id, window_id=window.id, masked_id=ticket.masked_id)
    return {"ticket_id": ticket.id, "id_number": id_number, "masked_id": ticket.masked_id,
            "masked_name": ticket.masked_name, "revealed_at": iso(now)}


def overdue_deferred(session: Session, hall: Hall, *, now: datetime, window_id: int | None = None) -> list[dict]:
    """List deferred materials whose due date is before today (hall's local day), oldest first."""
    today: date = halls.service_day(hall, now)
    q = (select(Ticket).where(Ticket.hall_id == hall.id, Ticket.status == "done", Ticket.outcome == "deferred",
                              Ticket.finished_at >= now - DEFERRED_LOOKBACK)
         .order_by(Ticket.finished_at))
    if window_id is not None:
        q = q.where(Ticket.window_id == window_id)
    rows = []
    for t in session.scalars(q):
        for m in (t.outcome_detail or {}).get("deferred_materials", []):
            try:
                due = date.fromisoformat(str(m.get("due_date")))
            except ValueError:
                continue
            if due < today and not m.get("supplied_at"):
                rows.append({"ticket_id": t.id, "number": t.number, "window_id": t.window_id,
                             "masked_name": t.masked_name, "items": [i.name for i in t.items],
                             "material": m.get("name"), "due_date": due.isoformat(), "promise": m.get("promise"),
                             "days_overdue": (today - due).days, "finished_at": iso(t.finished_at)})
    rows.sort(key=lambda r: (r["due_date"], r["ticket_id"]))
    return rows


# ---------------------------------------------------------------- the console's lists (指定呼叫, 过号重排)

WAITING_LIST_LIMIT = 100


def _desk_scope(session: Session, window: Window, actor: Actor) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(the window and the posts it covers, the queues they serve) for a clerk signed in there or a manager."""
    if not (actor.is_system or actor.is_manager) and (actor.kind != "staff" or window.clerk_id != actor.id):
        raise Forbidden(f"you are not signed in at window {window.number}")
    targets = (window.id, *session.scalars(select(Window.id).where(Window.covered_by_id == window.id)
                                         .order_by(Window.number, Window.id)))
    primary, helper = scope_queues(session, targets)
    return targets, primary + helper


def _brief(t: Ticket, now: datetime) -> dict[str, Any]:
    # Masked identity only; the wait counts from the ticket's issue (a transfer keeps the original time).
    return {"id": t.id, "number": t.number, "queue_id": t.queue_id, "queue_prefix": t.queue.prefix,
            "queue_name": t.queue.name, "priority_class": t.priority_class, "source": t.source,
            "masked_name": t.masked_name, "items": [i.name for i in t.items],
            "bundle": t.bundle.name if t.bundle is not None else None,
            "transferred": t.target_window_id is not None, "issued_at": iso(t.issued_at),
            "slot_start": iso(t.slot_start), "wait_s": max(0, int((now - t.issued_at).total_seconds())),
            "called_at": iso(t.called_at), "closed_at": iso(t.closed_at), "requeue_count": t.requeue_count}


def desk_lists(session: Session, hall: Hall, window: Window, *, now: datetime, actor: Actor) -> dict[str, Any]:
    """What the clerk console lists beside the ticket in hand: who waits for this window (to call one by
    name, 指定呼叫), today's no-shows it may put back (过号重排), and its served count and average service time."""
    targets, queues = _desk_scope(session, window, actor)
    day = halls.service_day(hall, now)
    load = (selectinload(Ticket.items), joinedload(Ticket.queue), joinedload(Ticket.bundle))
    waiting = session.scalars(
        select(Ticket).options(*load)
        .where(Ticket.hall_id == hall.id, Ticket.status == "waiting",
               or_(Ticket.target_window_id.in_(targets),
                   and_(Ticket.target_window_id.is_(None), Ticket.queue_id.in_(queues))))
        .order_by(Ticket.queue_key, Ticket.id).limit(WAITING_LIST_LIMIT)).unique().all()
    no_shows = session.scalars(
        select(Ticket).options(*load)
        .where(Ticket.hall_id == hall.id, Ticket.status == "no_show", Ticket.service_day == day,
               or_(Ticket.window_id.in_(targets), Ticket.queue_id.in_(queues)))
        .order_by(Ticket.closed_at.desc(), Ticket.id.desc()).limit(WAITING_LIST_LIMIT)).unique().all()
    ended = session.execute(select(Ticket.status, Ticket.called_at, Ticket.started_at, Ticket.finished_at)
                            .where(Ticket.window_id == window.id, Ticket.status.in_(("done", "transferred")),
                                   Ticket.service_day == day)).all()
    served = [row for row in ended if row.status == "done"]
    # Service time runs from the start of service (or the call, when 开始办理 was never pressed) to the finish, for
    # every leg that ended here, handed on included (the clerk served it too): the statistics' service_mean_s.
    spans = [(f - (s or c)).total_seconds() for _, c, s, f in ended if f is not None and (s or c) is not None]
    return {"waiting": [_brief(t, now) for t in waiting],
            "no_shows": [{**_brief(t, now), "can_requeue": t.requeue_count < 1} for t in no_shows],
            "today": {"service_day": day.isoformat(), "served": len(served),
                      "avg_service_s": round(sum(spans) / len(spans)) if spans else None},
            # The console greys 过号 out until one recall or this long since the call (the server decides).
            "rules": {"no_show_min_s": hall.no_show_min_s, "max_recalls": hall.max_recalls}}

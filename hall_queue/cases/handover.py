"""Collecting results at the hall (统一出件, 001 §7.3; 003 §8.4): the kiosk finds the visitor's ready results
(by ID card, receipt QR code or acceptance number) and issues a handover ticket routed to the handover
window with those cases attached; the handover clerk sees them with the ticket and hands each over
after the card matches (``lifecycle.hand_over``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault
from hall_queue.cases.intake import lookup_hash
from hall_queue.cases.lifecycle import brief
from hall_queue.domain.errors import Forbidden, NotFound, WrongState
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.vocabulary import IN_HAND_STATUSES, OPEN_STATUSES
from hall_queue.domain.models import (
    Case,
    CaseEvent,
    CaseHandover,
    Department,
    Hall,
    QueueItem,
    ServiceItem,
    Ticket,
    Window,
    WindowQueue,
)
from hall_queue.queueing.ticketing import IssuedTicket, IssueRequest, issue_ticket


def _top_ready(session: Session, hall: Hall, *, vault: IdentityVault, id_number: str | None,
               acceptance_no: str | None, code: str | None, lock: bool) -> list[Case]:
    q = select(Case).where(Case.hall_id == hall.id, Case.parent_id.is_(None), Case.state == "result_ready")
    if id_number:
        q = q.where(Case.id_hash == vault.id_hash(id_number))
    elif code:
        q = q.where(Case.lookup_hash == lookup_hash(code))
    elif acceptance_no:
        number = acceptance_no.strip().upper()
        # A bundle item's number (…-01) finds its bundle: a bundle is collected whole.
        parent = select(Case.parent_id).where(Case.hall_id == hall.id, Case.acceptance_no == number).scalar_subquery()
        q = q.where(or_(Case.acceptance_no == number, Case.id == parent))
    else:
        return []
    if lock:  # two kiosks issuing for the same results take turns (PostgreSQL row locks; SQLite has one writer)
        q = q.with_for_update()
    return list(session.scalars(q.order_by(Case.id)))


def _on_open_ticket(session: Session, cases: list[Case]) -> set[int]:
    """The cases already attached to a handover ticket still waiting or in hand.

    Its own statement, after the rows are locked: under PostgreSQL's READ COMMITTED it sees a ticket
    another transaction committed while this one waited for the lock.
    """
    tickets = {c.pickup_ticket_id for c in cases if c.pickup_ticket_id is not None}
    if not tickets:
        return set()
    open_ids = set(session.scalars(select(Ticket.id).where(Ticket.id.in_(tickets), Ticket.status.in_(OPEN_STATUSES))))
    return {c.id for c in cases if c.pickup_ticket_id in open_ids}


def ready_results(session: Session, hall: Hall, *, vault: IdentityVault, id_number: str | None = None,
                  acceptance_no: str | None = None, code: str | None = None,
                  lock: bool = False) -> tuple[list[Case], list[Case]]:
    """The applicant's results waiting at the handover window (top-level cases: a bundle is collected whole):
    those free to collect, and those already on an open handover ticket.

    A result is on at most one open handover ticket (001 §7.3 统一出件 — one ticket, one window, one sign-off);
    once that ticket is finished with the result still there, it may be collected again.
    """
    rows = _top_ready(session, hall, vault=vault, id_number=id_number, acceptance_no=acceptance_no, code=code,
                      lock=lock)
    taken = _on_open_ticket(session, rows)
    return [c for c in rows if c.id not in taken], [c for c in rows if c.id in taken]


def handover_item(session: Session, hall: Hall) -> ServiceItem:
    """The catalogue item whose queue the handover window serves (e.g. 办件结果领取)."""
    item = session.scalar(select(ServiceItem).join(QueueItem, QueueItem.item_id == ServiceItem.id)
                          .join(WindowQueue, WindowQueue.queue_id == QueueItem.queue_id)
                          .join(Window, Window.id == WindowQueue.window_id)
                          .where(Window.hall_id == hall.id, Window.kind == "handover", WindowQueue.role == "primary",
                                 ServiceItem.active.is_(True)).order_by(Window.number, ServiceItem.id).limit(1))
    if item is None:
        raise WrongState("this hall has no handover window serving a queue", code="no_handover_window")
    return item


def issue_pickup(session: Session, hall: Hall, *, vault: IdentityVault, now: datetime, actor: Actor,
                 id_number: str | None = None, name: str | None = None, acceptance_no: str | None = None,
                 code: str | None = None, idempotency_key: str | None = None
                 ) -> tuple[IssuedTicket, list[Case], list[DomainEvent]]:
    """Issue the handover ticket for the visitor's ready results and attach them to it."""
    prev = session.scalar(select(Ticket.id).where(Ticket.hall_id == hall.id, Ticket.idempotency_key == idempotency_key)
                          ) if idempotency_key else None
    if prev is not None:  # a retried press: the ticket exists and its cases are attached already
        cases = list(session.scalars(select(Case).where(Case.pickup_ticket_id == prev).order_by(Case.id)))
    else:
        cases, taken = ready_results(session, hall, vault=vault, id_number=id_number, acceptance_no=acceptance_no,
                                     code=code, lock=True)
        if not cases and taken:
            raise WrongState("这些办理结果已经取过号，请留意叫号，到出件窗口领取", code="already_on_ticket")
    if not cases:
        raise NotFound("no result is waiting for collection", code="no_results")
    item = handover_item(session, hall)
    issued, events = issue_ticket(session, hall, IssueRequest(item_ids=[item.id], id_number=id_number, name=name,
                                                              idempotency_key=idempotency_key),
                                  now=now, vault=vault, actor=actor)
    for c in cases:
        c.pickup_ticket_id = issued.id
    return issued, cases, events


def _location(session: Session, case: Case) -> str:
    """Where the result lies: the place the department gave when it marked the result ready, else its name."""
    ids = [case.id] + [k.id for k in case.children]
    ev = session.scalar(select(CaseEvent).where(CaseEvent.case_id.in_(ids), CaseEvent.action == "result_ready")
                        .order_by(CaseEvent.id.desc()).limit(1))
    place = str((ev.detail or {}).get("location") or "") if ev is not None else ""
    if place:
        return place
    dept = session.get(Department, case.department_id) if case.department_id else None
    return f"{dept.name}送来的结果（出件窗口）" if dept is not None else "出件窗口"


def cases_of_pickup(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    """The results a handover ticket came for, each with where it lies and how it was handed over."""
    out = []
    for c in session.scalars(select(Case).where(Case.pickup_ticket_id == ticket_id).order_by(Case.id)):
        last = session.scalar(select(CaseHandover).where(CaseHandover.case_id.in_([c.id] + [k.id for k in c.children]))
                              .order_by(CaseHandover.id.desc()).limit(1))
        out.append({**brief(c), "location": _location(session, c), "items": [k.title for k in c.children],
                    "handover": None if last is None else {
                        "method": last.method, "courier_company": last.courier_company,
                        "tracking_no": last.tracking_no, "id_checked": last.id_checked}})
    return out


def check_at_desk(session: Session, case: Case, ticket_id: int, actor: Actor) -> int:
    """Check the case came with this handover ticket, which is in hand at the actor's window; return the window."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.hall_id != case.hall_id:
        raise NotFound(f"ticket {ticket_id} not found")
    if case.pickup_ticket_id != ticket.id:
        raise WrongState(f"case {case.acceptance_no} did not come with ticket {ticket.number}", code="not_on_ticket")
    if ticket.status not in IN_HAND_STATUSES or ticket.window_id is None:
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; hand results over while it is in hand",
                         code="ticket_not_in_hand")
    if actor.kind == "staff" and not actor.is_manager:
        clerk = session.scalar(select(Window.clerk_id).where(Window.id == ticket.window_id))
        if clerk != actor.id:
            raise Forbidden(f"ticket {ticket.number} is in hand at another window", code="other_window")
    return ticket.window_id

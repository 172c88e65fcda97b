"""Collecting results at the hall (统一出件, 001 §7.3; 003 §8.4): the kiosk finds the visitor's ready results
(by ID card, receipt QR code or acceptance number) and issues a handover ticket routed to the handover
window with those cases attached; the handover clerk sees them with the ticket and hands each over
after the card matches (``lifecycle.hand_over``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault
from hall_queue.cases.intake import lookup_hash
from hall_queue.cases.lifecycle import brief
from hall_queue.domain.errors import NotFound, WrongState
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Case, Hall, QueueItem, ServiceItem, Window, WindowQueue
from hall_queue.queueing.ticketing import IssuedTicket, IssueRequest, issue_ticket


def ready_results(session: Session, hall: Hall, *, vault: IdentityVault, id_number: str | None = None,
                  acceptance_no: str | None = None, code: str | None = None) -> list[Case]:
    """The applicant's results waiting at the handover window (top-level cases: a bundle is collected whole)."""
    q = select(Case).where(Case.hall_id == hall.id, Case.parent_id.is_(None), Case.state == "result_ready")
    if id_number:
        q = q.where(Case.id_hash == vault.id_hash(id_number))
    elif code:
        q = q.where(Case.lookup_hash == lookup_hash(code))
    elif acceptance_no:
        q = q.where(Case.acceptance_no == acceptance_no.strip().upper())
    else:
        return []
    return list(session.scalars(q.order_by(Case.id)))


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
    cases = ready_results(session, hall, vault=vault, id_number=id_number, acceptance_no=acceptance_no, code=code)
    if idempotency_key:  # a retried press: the ticket exists and its cases are attached already
        from hall_queue.domain.models import Ticket

        prev = session.scalar(select(Ticket.id).where(Ticket.hall_id == hall.id,
                                                      Ticket.idempotency_key == idempotency_key))
        if prev is not None:
            cases = list(session.scalars(select(Case).where(Case.pickup_ticket_id == prev).order_by(Case.id)))
    if not cases:
        raise NotFound("no result is waiting for collection", code="no_results")
    item = handover_item(session, hall)
    issued, events = issue_ticket(session, hall, IssueRequest(item_ids=[item.id], id_number=id_number, name=name,
                                                              idempotency_key=idempotency_key),
                                  now=now, vault=vault, actor=actor)
    for c in cases:
        c.pickup_ticket_id = issued.id
    return issued, cases, events


def cases_of_pickup(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    return [brief(c) for c in session.scalars(select(Case).where(Case.pickup_ticket_id == ticket_id)
                                              .order_by(Case.id))]

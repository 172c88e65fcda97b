"""What a clerk at a window may look up beyond the ticket view: the visitor's full ID number (only on an
explicit, audited reveal) and the deferred materials (容缺受理, 000 §9.3.6) whose promised date has passed.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.domain import calendar as halls
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import Forbidden, WrongState
from hall_queue.access.identity import IdentityVault
from hall_queue.domain.models import IN_HAND_STATUSES, Hall, Ticket, Window
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

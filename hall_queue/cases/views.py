"""What staff, the approval system and the applicant read about cases — masked data only."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.cases import clock
from hall_queue.cases.intake import opened_by_finish
from hall_queue.cases.lifecycle import brief
from hall_queue.cases.supply import page_views
from hall_queue.domain.clock import iso
from hall_queue.domain.models import (
    Case,
    CaseDocument,
    CaseEvent,
    CaseHandover,
    DeferredMaterial,
    Department,
    Hall,
    TicketAttachment,
)
from hall_queue.domain.vocabulary import (
    CASE_DECISION_LABELS,
    CASE_DOCUMENT_TITLES,
    CASE_FINAL_STATES,
    CASE_STATE_LABELS,
    CLOCK_RUNNING_STATES,
    HANDOVER_LABELS,
)


def cases_of_ticket(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    """The top-level cases a finish opened, with their papers (for the clerk's receipt).

    Two reads whatever the bundle's size (parents and children share the ticket; papers in one query),
    and none right after the finish that wrote them (``intake.opened_by_finish``): this runs inside the
    clerk's 下一位 transaction, under the writer lock.
    """
    written = opened_by_finish(session, ticket_id)
    if written is not None:  # the finish of this same transaction wrote them: nothing to read back
        rows, docs = written
        docs = [d for d in docs if d.case_id is not None]
    else:
        rows = session.scalars(select(Case).where(Case.ticket_id == ticket_id).order_by(Case.id)).all()
        if not rows:
            return []
        docs = session.scalars(select(CaseDocument).where(CaseDocument.case_id.in_([c.id for c in rows]))
                               .order_by(CaseDocument.id)).all()
    kids: dict[int, list[Case]] = {}
    for c in rows:
        if c.parent_id is not None:
            kids.setdefault(c.parent_id, []).append(c)
    out = []
    for c in rows:
        if c.parent_id is not None:
            continue
        family = {c.id, *(k.id for k in kids.get(c.id, []))}
        out.append({**brief(c), "documents": [_document(d) for d in docs if d.case_id in family],
                    "children": [brief(k) for k in kids.get(c.id, [])]})
    return out


def _document(d: CaseDocument) -> dict[str, Any]:
    return {"id": d.id, "kind": d.kind, "title": CASE_DOCUMENT_TITLES[d.kind], "number": d.number,
            "case_id": d.case_id, "issued_at": iso(d.issued_at), "prints": d.prints}


def documents_of(session: Session, case: Case) -> list[dict[str, Any]]:
    ids = [case.id] + [k.id for k in case.children]
    docs = session.scalars(select(CaseDocument).where(CaseDocument.case_id.in_(ids)).order_by(CaseDocument.id)).all()
    return [_document(d) for d in docs]


def timeline(session: Session, case: Case) -> list[dict[str, Any]]:
    evs = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    return [{"at": iso(e.at), "action": e.action, "from_state": e.from_state, "to_state": e.to_state,
             "state_label": CASE_STATE_LABELS.get(e.to_state, e.to_state), "note": e.note,
             "actor_kind": e.actor_kind, "actor_id": e.actor_id, "detail": e.detail} for e in evs]


def deferred_of(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(select(DeferredMaterial).where(DeferredMaterial.case_id == case.id)
                           .order_by(DeferredMaterial.id)).all()
    return [{"id": m.id, "name": m.name, "due_on": m.due_on.isoformat(), "state": m.state,
             "supplied_at": iso(m.supplied_at), "promise": m.promise} for m in rows]


def case_detail(session: Session, case: Case, *, now: datetime) -> dict[str, Any]:
    """Everything staff see of one case (masked): state, clock, events, papers, owed materials, scans."""
    hall = session.get(Hall, case.hall_id)
    today = clock.local_day(hall, now)
    dept = session.get(Department, case.department_id) if case.department_id else None
    handover = session.scalar(select(CaseHandover).where(CaseHandover.case_id == case.id))
    scans = session.execute(select(TicketAttachment.id, TicketAttachment.position, TicketAttachment.content_type)
                            .where(TicketAttachment.ticket_id == case.ticket_id)
                            .order_by(TicketAttachment.position)).all() if case.ticket_id else []
    return {**brief(case), "masked_id": case.masked_id, "item_id": case.item_id, "bundle_id": case.bundle_id,
            "department": {"id": dept.id, "code": dept.code, "name": dept.name} if dept else None,
            "outcome": case.outcome, "blocking": case.blocking, "promised_days": case.promised_days,
            "accepted_at": iso(case.accepted_at), "decided_at": iso(case.decided_at), "ready_at": iso(case.ready_at),
            "handed_over_at": iso(case.handed_over_at), "closed_at": iso(case.closed_at),
            "decision_label": CASE_DECISION_LABELS.get(case.decision or ""), "decision_reason": case.decision_reason,
            "clock": {"running": case.state in CLOCK_RUNNING_STATES, "stopped_since": case.clock_stopped_on and
                      case.clock_stopped_on.isoformat(), "stopped_working_days": case.stopped_working_days,
                      "working_days_left": clock.working_days_left(session, case, today)
                      if case.state not in CASE_FINAL_STATES else None},
            "special_procedures": case.special_procedures, "intermediary_service": case.intermediary_service,
            "visits": case.visits, "events": timeline(session, case), "documents": documents_of(session, case),
            "deferred_materials": deferred_of(session, case),
            "handover": {"method": handover.method, "method_label": HANDOVER_LABELS[handover.method],
                         "at": iso(handover.at), "courier_company": handover.courier_company,
                         "tracking_no": handover.tracking_no, "id_checked": handover.id_checked}
            if handover else None,
            "scans": [{"id": a, "position": p, "content_type": ct} for a, p, ct in scans],
            "supplied_pages": page_views(session, case),  # 容缺 materials scanned at the kiosk
            "children": [brief(k) for k in case.children]}


def inbox(session: Session, hall_id: int, department_id: int, *, now: datetime,
          states: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """A department's cases still owed work, the most urgent first, with working days left."""
    hall = session.get(Hall, hall_id)
    today = clock.local_day(hall, now)
    q = select(Case).where(Case.hall_id == hall_id, Case.department_id == department_id,
                           Case.state.not_in(CASE_FINAL_STATES + ("accepted",)))
    if states:
        q = q.where(Case.state.in_(states))
    rows = session.scalars(q.order_by(Case.due_on, Case.id)).all()
    return [{**brief(c), "working_days_left": clock.working_days_left(session, c, today)
             if c.state in CLOCK_RUNNING_STATES else None,
             "overdue": c.state in CLOCK_RUNNING_STATES and today > c.due_on} for c in rows]

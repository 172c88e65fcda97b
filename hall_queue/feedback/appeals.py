"""申诉复核 (国办发〔2019〕51号): the rated side appeals a bad rating as mistaken or malicious; a manager
decides with a reason. An upheld appeal takes the rating out of every indicator (``Rating.excluded``) and
ends its rectification as ``excluded``; both the appeal and the decision are kept and audited (004 §8.4).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain.clock import iso
from hall_queue.domain.errors import Forbidden, InvalidRequest, WrongState
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Rating, RatingAppeal, Rectification
from hall_queue.domain.vocabulary import APPEAL_KINDS, BAD_RATING_MAX
from hall_queue.feedback import provincial
from hall_queue.feedback.ratings import RectificationChanged

APPEAL_KIND_LABELS = {"mistaken": "误评", "malicious": "恶意差评"}
APPEAL_STATUS_LABELS = {"pending": "待复核", "upheld": "申诉成立", "rejected": "申诉不成立"}


def appeal_view(a: RatingAppeal) -> dict[str, Any]:
    return {"id": a.id, "rating_id": a.rating_id, "kind": a.kind, "kind_label": APPEAL_KIND_LABELS[a.kind],
            "reason": a.reason, "filed_by_id": a.filed_by_id, "filed_at": iso(a.filed_at), "status": a.status,
            "status_label": APPEAL_STATUS_LABELS[a.status], "decided_by_id": a.decided_by_id,
            "decided_at": iso(a.decided_at), "decision_reason": a.decision_reason}


def file_appeal(session: Session, rating: Rating, *, kind: str, reason: str, actor: Actor,
                now: datetime) -> tuple[RatingAppeal, list[DomainEvent]]:
    """Appeal a bad rating: the clerk it names, or a manager on the window's behalf; once per rating."""
    if actor.kind != "staff" or not (actor.is_manager or actor.id == rating.clerk_id):
        raise Forbidden("only the rated clerk or a hall manager may appeal a rating")
    if rating.score > BAD_RATING_MAX:
        raise InvalidRequest("only a bad rating can be appealed", code="not_bad")
    if kind not in APPEAL_KINDS:
        raise InvalidRequest(f"kind must be one of {', '.join(APPEAL_KINDS)}", code="bad_kind")
    if not reason.strip():
        raise InvalidRequest("state why the rating was mistaken or malicious", code="reason_required")
    if session.scalar(select(RatingAppeal.id).where(RatingAppeal.rating_id == rating.id)) is not None:
        raise WrongState(f"rating {rating.id} was already appealed", code="already_appealed")
    appeal = RatingAppeal(hall_id=rating.hall_id, rating_id=rating.id, kind=kind, reason=reason.strip()[:1000],
                          filed_by_id=actor.id, filed_at=now, status="pending", decision_reason="")
    session.add(appeal)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as e:
        raise WrongState(f"rating {rating.id} was already appealed", code="already_appealed") from e
    audit.record(session, actor=actor, action="rating.appeal", at=now, hall_id=rating.hall_id,
                 ticket_id=rating.ticket_id, rating_id=rating.id, appeal_id=appeal.id, kind=kind)
    return appeal, []


def decide_appeal(session: Session, appeal: RatingAppeal, *, upheld: bool, reason: str, actor: Actor,
                  now: datetime) -> list[DomainEvent]:
    """A manager's decision, with its reason; upheld takes the rating out of the indicators."""
    if not actor.is_manager:
        raise Forbidden("only hall managers decide appeals")
    if appeal.status != "pending":
        raise WrongState(f"appeal {appeal.id} was already decided", code="already_decided")
    if not reason.strip():
        raise InvalidRequest("give the reason for the decision", code="reason_required")
    appeal.status = "upheld" if upheld else "rejected"
    appeal.decided_by_id, appeal.decided_at, appeal.decision_reason = actor.id, now, reason.strip()[:1000]
    rating = session.get(Rating, appeal.rating_id)
    events: list[DomainEvent] = []
    audit.record(session, actor=actor, action=f"rating.appeal_{appeal.status}", at=now, hall_id=appeal.hall_id,
                 ticket_id=rating.ticket_id, rating_id=rating.id, appeal_id=appeal.id)
    if upheld:
        rating.excluded = True
        case = session.scalar(select(Rectification).where(Rectification.rating_id == rating.id))
        if case is not None and case.status != "closed":
            case.status, case.closed_at, case.closed_by_id = "excluded", now, actor.id
            events.append(RectificationChanged(case.hall_id, {"id": case.id, "status": case.status,
                                                              "window_id": case.window_id}))
            provincial.enqueue_rectification(session, case, now=now)
    return events

"""好差评 (003 §10.4, 004 §8.5): the visitor rates a finished ticket on the window's pad, once; a bad
rating opens a rectification case (差评整改) that managers assign, fix, answer the visitor and close.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.domain import calendar as halls
from hall_queue.domain.vocabulary import BAD_RATING_MAX, RATING_LABELS, RECTIFY_WORKING_DAYS
from hall_queue.infrastructure import hall_store
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import Forbidden, InvalidRequest, NotFound, WrongState
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import (
    RATING_SCORES,
    Hall,
    Rating,
    Rectification,
    Staff,
    Ticket,
)
from hall_queue.queueing.presenters import iso

SCORE_LABELS = RATING_LABELS
# Reasons a visitor may tick for a bad rating (the pad shows the Chinese labels).
LOW_REASONS = {
    "attitude": "服务态度不好",
    "efficiency": "办理效率低、时间长",
    "notice": "未一次性告知，要求反复补材料",
    "extra_materials": "要求提供清单以外的材料",
    "waiting": "排队等候时间长",
    "unclear": "政策解释不清楚",
    "facilities": "环境设施不便",
    "other": "其他",
}
# The pad may rate the ticket just finished at its window for this long after "finish".
RATING_OPEN_FOR = timedelta(minutes=10)


@dataclass(frozen=True)
class RatingReceived(DomainEvent):
    """A visitor rated a ticket (window room: the pad says thanks; hall room: the dashboard counts)."""

    name = "rating"


@dataclass(frozen=True)
class RectificationChanged(DomainEvent):
    name = "rectification"


def end_of_local_day(hall: Hall, day: date) -> datetime:
    """The last second of ``day`` in the hall's time zone, as naive UTC."""
    return halls.to_utc(hall, datetime.combine(day, time(23, 59, 59)))


def rating_view(r: Rating) -> dict[str, Any]:
    return {"id": r.id, "ticket_id": r.ticket_id, "window_id": r.window_id, "clerk_id": r.clerk_id,
            "score": r.score, "label": SCORE_LABELS[r.score], "reasons": list(r.reasons or []),
            "reason_labels": [LOW_REASONS.get(x, x) for x in (r.reasons or [])], "comment": r.comment,
            "rated_at": iso(r.rated_at)}


def rectification_view(c: Rectification, *, now: datetime) -> dict[str, Any]:
    return {"id": c.id, "status": c.status, "rating": rating_view(c.rating), "ticket_id": c.ticket_id,
            "window_id": c.window_id, "responsible_clerk_id": c.responsible_clerk_id,
            "opened_at": iso(c.opened_at), "deadline": iso(c.deadline),
            "overdue": c.status != "closed" and now > c.deadline,
            "fix_plan": c.fix_plan, "fix": c.fix, "fixed_at": iso(c.fixed_at), "feedback": c.feedback,
            "feedback_at": iso(c.feedback_at), "closed_at": iso(c.closed_at)}


def ratable_ticket(session: Session, window_id: int, *, now: datetime) -> Ticket | None:
    """The ticket the window's pad may rate now: the one finished last there, recently, not yet rated."""
    t = session.scalar(select(Ticket).where(Ticket.window_id == window_id, Ticket.status == "done")
                       .order_by(Ticket.finished_at.desc(), Ticket.id.desc()).limit(1))
    if t is None or t.finished_at is None or now - t.finished_at > RATING_OPEN_FOR:
        return None
    if session.scalar(select(Rating.id).where(Rating.ticket_id == t.id)) is not None:
        return None
    return t


def rate_ticket(session: Session, ticket: Ticket, *, score: int, reasons: list[str], comment: str, actor: Actor,
                now: datetime) -> tuple[Rating, list[DomainEvent]]:
    """Record the visitor's rating of the ticket just finished at the pad's window (once)."""
    if actor.kind != "pad" or actor.window_id is None:
        raise Forbidden("only a window's rating pad records ratings")
    if ticket.window_id != actor.window_id:
        raise Forbidden("this pad belongs to another window")
    if score not in RATING_SCORES:
        raise InvalidRequest("score must be 1 (非常不满意) to 5 (非常满意)", code="bad_score")
    unknown = [r for r in reasons if r not in LOW_REASONS]
    if unknown:
        raise InvalidRequest(f"unknown reasons: {', '.join(unknown)}", code="bad_reason")
    comment = comment.strip()
    if score <= BAD_RATING_MAX and not (reasons or comment):
        raise InvalidRequest("a bad rating needs at least one reason", code="reason_required")
    if session.scalar(select(Rating.id).where(Rating.ticket_id == ticket.id)) is not None:
        raise WrongState(f"ticket {ticket.number} was already rated", code="already_rated")
    latest = ratable_ticket(session, ticket.window_id, now=now)
    if ticket.status != "done" or latest is None or latest.id != ticket.id:
        raise WrongState(f"ticket {ticket.number} is not the ticket just finished at this window",
                         code="not_ratable")
    rating = Rating(hall_id=ticket.hall_id, ticket_id=ticket.id, window_id=ticket.window_id, clerk_id=ticket.clerk_id,
                    score=score, reasons=list(dict.fromkeys(reasons)) if score <= BAD_RATING_MAX else [],
                    comment=comment[:500], rated_at=now, device_token_id=actor.id)
    session.add(rating)
    try:
        session.flush()
    except IntegrityError as e:  # a second pad request raced this one (PostgreSQL)
        raise WrongState(f"ticket {ticket.number} was already rated", code="already_rated") from e
    audit.record(session, actor=actor, action="rating.give", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 window_id=ticket.window_id, score=score)
    events: list[DomainEvent] = [RatingReceived(ticket.hall_id, {"ticket_id": ticket.id, "number": ticket.number,
                                                                 "window_id": ticket.window_id, "score": score},
                                                window_ids=(ticket.window_id,))]
    if score <= BAD_RATING_MAX:
        hall = session.get(Hall, ticket.hall_id)
        due = hall_store.add_working_days(session, hall.id, halls.local_time(hall, now).date(), RECTIFY_WORKING_DAYS)
        case = Rectification(hall_id=ticket.hall_id, rating_id=rating.id, ticket_id=ticket.id,
                             window_id=ticket.window_id, responsible_clerk_id=ticket.clerk_id, status="open",
                             opened_at=now, deadline=end_of_local_day(hall, due))
        session.add(case)
        session.flush()
        audit.record(session, actor=actor, action="rectification.open", at=now, hall_id=ticket.hall_id,
                     ticket_id=ticket.id, window_id=ticket.window_id, rectification_id=case.id)
        events.append(RectificationChanged(ticket.hall_id, {"id": case.id, "status": "open",
                                                            "window_id": ticket.window_id}))
    return rating, events


def _changed(case: Rectification) -> RectificationChanged:
    return RectificationChanged(case.hall_id, {"id": case.id, "status": case.status, "window_id": case.window_id})


def _require_manager(actor: Actor) -> None:
    if not actor.is_manager:
        raise Forbidden("only hall managers handle rectifications")


def assign_rectification(session: Session, case: Rectification, *, responsible_clerk_id: int | None,
                         deadline: date | None, fix_plan: str, actor: Actor, now: datetime) -> list[DomainEvent]:
    """Name who must fix it, by when, and how (谁办理、谁负责, 003 §10.4)."""
    _require_manager(actor)
    if case.status not in ("open", "assigned"):
        raise WrongState(f"rectification {case.id} is {case.status}; it can no longer be reassigned")
    if responsible_clerk_id is not None:
        staff = session.get(Staff, responsible_clerk_id)
        if staff is None or (staff.hall_id is not None and staff.hall_id != case.hall_id):
            raise NotFound(f"staff {responsible_clerk_id} not found")
        case.responsible_clerk_id = staff.id
    if deadline is not None:
        hall = session.get(Hall, case.hall_id)
        if deadline < halls.local_time(hall, now).date():
            raise InvalidRequest("the deadline cannot be in the past", code="bad_deadline")
        case.deadline = end_of_local_day(hall, deadline)
    if not fix_plan.strip():
        raise InvalidRequest("describe the required fix", code="fix_required")
    case.fix_plan = fix_plan.strip()[:1000]
    case.assigned_by_id = actor.id
    case.status = "assigned"
    audit.record(session, actor=actor, action="rectification.assign", at=now, hall_id=case.hall_id,
                 ticket_id=case.ticket_id, window_id=case.window_id, rectification_id=case.id,
                 responsible=case.responsible_clerk_id)
    return [_changed(case)]


def record_fix(session: Session, case: Rectification, *, fix: str, actor: Actor, now: datetime) -> list[DomainEvent]:
    """Record what was done to put it right."""
    _require_manager(actor)
    if case.status not in ("assigned", "fixed"):
        raise WrongState(f"rectification {case.id} is {case.status}; assign it first")
    if not fix.strip():
        raise InvalidRequest("describe what was fixed", code="fix_required")
    case.fix = fix.strip()[:1000]
    case.fixed_at = now
    case.status = "fixed"
    audit.record(session, actor=actor, action="rectification.fix", at=now, hall_id=case.hall_id,
                 ticket_id=case.ticket_id, rectification_id=case.id)
    return [_changed(case)]


def record_feedback(session: Session, case: Rectification, *, feedback: str, actor: Actor,
                    now: datetime) -> list[DomainEvent]:
    """Record the answer given to the visitor (按时反馈, 003 §10.4)."""
    _require_manager(actor)
    if case.status == "closed":
        raise WrongState(f"rectification {case.id} is closed")
    if not feedback.strip():
        raise InvalidRequest("describe the feedback given to the visitor", code="feedback_required")
    case.feedback = feedback.strip()[:1000]
    case.feedback_at = now
    audit.record(session, actor=actor, action="rectification.feedback", at=now, hall_id=case.hall_id,
                 ticket_id=case.ticket_id, rectification_id=case.id)
    return [_changed(case)]


def close_rectification(session: Session, case: Rectification, *, actor: Actor, now: datetime) -> list[DomainEvent]:
    """Close a case once it was fixed and the visitor was answered."""
    _require_manager(actor)
    if case.status != "fixed" or case.feedback_at is None:
        raise WrongState(f"rectification {case.id} needs a recorded fix and feedback before closing",
                         code="not_ready")
    case.status = "closed"
    case.closed_at = now
    case.closed_by_id = actor.id
    audit.record(session, actor=actor, action="rectification.close", at=now, hall_id=case.hall_id,
                 ticket_id=case.ticket_id, rectification_id=case.id, overdue=now > case.deadline)
    return [_changed(case)]

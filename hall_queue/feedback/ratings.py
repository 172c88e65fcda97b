"""好差评 (003 §10.4, 004 §8.5): the visitor rates a finished ticket on the window's pad, once; a bad
rating opens a rectification case (差评整改) that managers assign, fix, answer the visitor and close.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain import calendar as halls
from hall_queue.domain.errors import Forbidden, InvalidRequest, NotFound, WrongState
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import (
    RATING_SCORES,
    Case,
    Hall,
    Rating,
    RatingSettings,
    Rectification,
    Staff,
    Ticket,
)
from hall_queue.domain.vocabulary import (
    BAD_RATING_MAX,
    CALLBACK_RATE_PCT,
    PHONE_RATING_OPEN_DAYS,
    RATING_LABELS,
    RECTIFY_WORKING_DAYS,
)
from hall_queue.feedback import provincial
from hall_queue.infrastructure import hall_store
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
# The same reasons for the phone's English mode (the rating page, kiosk/static/kiosk/rate.js).
LOW_REASONS_EN = {
    "attitude": "Unfriendly service", "efficiency": "Slow, took too long",
    "notice": "Not told everything at once; asked again and again for papers",
    "extra_materials": "Asked for papers not on the list", "waiting": "Long wait in the queue",
    "unclear": "Rules not explained clearly", "facilities": "Inconvenient hall or facilities", "other": "Other",
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
            "rated_at": iso(r.rated_at), "case_id": r.case_id, "channel": r.channel, "real_name": r.real_name,
            "excluded": r.excluded}


def summary(session: Session, hall: Hall, *, days: int, now: datetime) -> dict[str, Any]:
    """Summarise and list the ratings of the last ``days`` service days (today is the first of them).

    Days are the hall's service days, as in the statistics: ``days=1`` is today since the day boundary, not the
    last 24 hours (which reach into yesterday's afternoon)."""
    first = halls.service_day(hall, now) - timedelta(days=days - 1)
    since, _ = halls.service_days_span(hall, first, first)
    recent = (Rating.hall_id == hall.id, Rating.rated_at >= since)
    # A rating taken out by an upheld appeal (申诉复核) is listed but not counted.
    counts = dict(session.execute(select(Rating.score, func.count()).where(*recent, Rating.excluded.is_(False))
                                  .group_by(Rating.score)).all())
    rows = session.scalars(select(Rating).where(*recent).order_by(Rating.rated_at.desc(), Rating.id.desc()).limit(200))
    total = sum(counts.values())
    good = sum(n for score, n in counts.items() if score >= 4)
    return {"items": [rating_view(r) for r in rows], "days": days, "since_day": first.isoformat(), "total": total,
            "by_score": {str(k): counts.get(k, 0) for k in (5, 4, 3, 2, 1)},
            "good_rate": round(good / total, 4) if total else None}


def rectification_view(c: Rectification, *, now: datetime) -> dict[str, Any]:
    return {"id": c.id, "status": c.status, "rating": rating_view(c.rating), "ticket_id": c.ticket_id,
            "window_id": c.window_id, "responsible_clerk_id": c.responsible_clerk_id,
            "opened_at": iso(c.opened_at), "deadline": iso(c.deadline),
            "overdue": c.status not in ("closed", "excluded") and now > c.deadline,
            "fix_plan": c.fix_plan, "fix": c.fix, "fixed_at": iso(c.fixed_at), "feedback": c.feedback,
            "feedback_at": iso(c.feedback_at), "closed_at": iso(c.closed_at), "rater_answer": c.rater_answer,
            "rater_answered_at": iso(c.rater_answered_at), "reopened": c.reopened}


def ratable_ticket(session: Session, window_id: int, *, now: datetime) -> Ticket | None:
    """The ticket the window's pad may rate now: the one finished last there, recently, not yet rated."""
    t = session.scalar(select(Ticket).where(Ticket.window_id == window_id, Ticket.status == "done")
                       .order_by(Ticket.finished_at.desc(), Ticket.id.desc()).limit(1))
    if t is None or t.finished_at is None or now - t.finished_at > RATING_OPEN_FOR:
        return None
    if session.scalar(select(Rating.id).where(Rating.ticket_id == t.id)) is not None:
        return None
    return t


def settings_of(session: Session, hall_id: int) -> RatingSettings:
    """The hall's 好差评 settings, or the defaults (not added to the session) when none were saved."""
    row = session.get(RatingSettings, hall_id)
    if row is None:
        row = RatingSettings(hall_id=hall_id, rectify_working_days=RECTIFY_WORKING_DAYS,
                             callback_rate_pct=CALLBACK_RATE_PCT, region_code="", province_url="",
                             province_secret_cipher=None)
    return row


def case_of(session: Session, ticket: Ticket) -> Case | None:
    """The case (办件) the visit opened at this window: a bundle's parent, else the first item's case."""
    return session.scalar(select(Case).where(Case.ticket_id == ticket.id, Case.parent_id.is_(None))
                          .order_by(Case.id).limit(1))


def _check_rating(score: int, reasons: list[str], comment: str) -> str:
    if score not in RATING_SCORES:
        raise InvalidRequest("score must be 1 (非常不满意) to 5 (非常满意)", code="bad_score")
    unknown = [r for r in reasons if r not in LOW_REASONS]
    if unknown:
        raise InvalidRequest(f"unknown reasons: {', '.join(unknown)}", code="bad_reason")
    comment = comment.strip()
    if score <= BAD_RATING_MAX and not (reasons or comment):
        raise InvalidRequest("a bad rating needs at least one reason", code="reason_required")
    return comment


def _already_rated(session: Session, ticket: Ticket) -> bool:
    return session.scalar(select(Rating.id).where(Rating.ticket_id == ticket.id)) is not None


def rate_ticket(session: Session, ticket: Ticket, *, score: int, reasons: list[str], comment: str, actor: Actor,
                now: datetime) -> tuple[Rating, list[DomainEvent]]:
    """Record the visitor's rating of the ticket just finished at the pad's window (once)."""
    if actor.kind != "pad" or actor.window_id is None:
        raise Forbidden("only a window's rating pad records ratings")
    if ticket.window_id != actor.window_id:
        raise Forbidden("this pad belongs to another window")
    comment = _check_rating(score, reasons, comment)
    if _already_rated(session, ticket):
        raise WrongState(f"ticket {ticket.number} was already rated", code="already_rated")
    latest = ratable_ticket(session, ticket.window_id, now=now)
    if ticket.status != "done" or latest is None or latest.id != ticket.id:
        raise WrongState(f"ticket {ticket.number} is not the ticket just finished at this window",
                         code="not_ratable")
    return _record(session, ticket, score=score, reasons=reasons, comment=comment, channel="pad", actor=actor,
                   now=now)


def visit_legs(session: Session, ticket: Ticket) -> list[Ticket]:
    """Every leg of the visit the slip's QR belongs to (a transfer opens a leg at another window)."""
    origin = ticket.origin_ticket_id or ticket.id
    return list(session.scalars(select(Ticket).where((Ticket.id == origin) | (Ticket.origin_ticket_id == origin))
                                .order_by(Ticket.leg)))


def phone_ratable(session: Session, ticket: Ticket, *, now: datetime) -> list[Ticket]:
    """The finished legs of this visit the phone may still rate: one rating per ticket per window, once."""
    open_for = timedelta(days=PHONE_RATING_OPEN_DAYS)
    return [t for t in visit_legs(session, ticket) if t.status == "done" and t.window_id is not None
            and t.finished_at is not None and now - t.finished_at <= open_for and not _already_rated(session, t)]


def rate_from_phone(session: Session, slip_ticket: Ticket, ticket_id: int, *, score: int, reasons: list[str],
                    comment: str, now: datetime) -> tuple[Rating, list[DomainEvent]]:
    """Record a rating given on the visitor's phone from the slip's QR (扫码评价), once per finished leg."""
    legs = {t.id: t for t in visit_legs(session, slip_ticket)}
    ticket = legs.get(ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    comment = _check_rating(score, reasons, comment)
    if _already_rated(session, ticket):
        raise WrongState(f"ticket {ticket.number} was already rated", code="already_rated")
    if ticket not in phone_ratable(session, slip_ticket, now=now):
        raise WrongState(f"ticket {ticket.number} is not finished, or too long ago to rate", code="not_ratable")
    visitor = Actor(kind="visitor", hall_id=ticket.hall_id)
    return _record(session, ticket, score=score, reasons=reasons, comment=comment, channel="qr", actor=visitor,
                   now=now)


def _record(session: Session, ticket: Ticket, *, score: int, reasons: list[str], comment: str, channel: str,
            actor: Actor, now: datetime) -> tuple[Rating, list[DomainEvent]]:
    case = case_of(session, ticket)
    rating = Rating(hall_id=ticket.hall_id, ticket_id=ticket.id, window_id=ticket.window_id, clerk_id=ticket.clerk_id,
                    score=score, reasons=list(dict.fromkeys(reasons)) if score <= BAD_RATING_MAX else [],
                    comment=comment[:500], rated_at=now, device_token_id=actor.id if actor.kind == "pad" else None,
                    case_id=case.id if case else None, channel=channel, real_name=ticket.id_hash is not None,
                    excluded=False)
    session.add(rating)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as e:  # a second request raced this one (PostgreSQL)
        raise WrongState(f"ticket {ticket.number} was already rated", code="already_rated") from e
    audit.record(session, actor=actor, action="rating.give", at=now, hall_id=ticket.hall_id, ticket_id=ticket.id,
                 window_id=ticket.window_id, score=score, channel=channel)
    events: list[DomainEvent] = [RatingReceived(ticket.hall_id, {"ticket_id": ticket.id, "number": ticket.number,
                                                                 "window_id": ticket.window_id, "score": score},
                                                window_ids=(ticket.window_id,))]
    rectification = None
    if score <= BAD_RATING_MAX:
        hall = session.get(Hall, ticket.hall_id)
        rectification = Rectification(hall_id=ticket.hall_id, rating_id=rating.id, ticket_id=ticket.id,
                                      window_id=ticket.window_id, responsible_clerk_id=ticket.clerk_id,
                                      status="open", opened_at=now, deadline=rectify_deadline(session, hall, now))
        session.add(rectification)
        session.flush()
        audit.record(session, actor=actor, action="rectification.open", at=now, hall_id=ticket.hall_id,
                     ticket_id=ticket.id, window_id=ticket.window_id, rectification_id=rectification.id)
        events.append(_changed(rectification))
    provincial.enqueue_rating(session, rating, rectification, now=now)
    return rating, events


def rectify_deadline(session: Session, hall: Hall, now: datetime) -> datetime:
    """End of the hall's rectification term: its setting in working days of the hall calendar (003 §10.4)."""
    days = settings_of(session, hall.id).rectify_working_days
    due = hall_store.add_working_days(session, hall.id, halls.local_time(hall, now).date(), days)
    return end_of_local_day(hall, due)


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
    if case.status in ("closed", "excluded"):
        raise WrongState(f"rectification {case.id} is {case.status}")
    if not feedback.strip():
        raise InvalidRequest("describe the feedback given to the visitor", code="feedback_required")
    case.feedback = feedback.strip()[:1000]
    case.feedback_at = now
    case.rater_answer = case.rater_answered_at = None  # the rater is asked again about this answer
    audit.record(session, actor=actor, action="rectification.feedback", at=now, hall_id=case.hall_id,
                 ticket_id=case.ticket_id, rectification_id=case.id)
    return [_changed(case)]


def close_rectification(session: Session, case: Rectification, *, actor: Actor, now: datetime) -> list[DomainEvent]:
    """Close a case once it was fixed and the visitor was answered."""
    _require_manager(actor)
    if case.status != "fixed" or case.feedback_at is None or case.rater_answer == "not_satisfied":
        raise WrongState(f"rectification {case.id} needs a recorded fix and feedback before closing",
                         code="not_ready")
    case.status = "closed"
    case.closed_at = now
    case.closed_by_id = actor.id
    audit.record(session, actor=actor, action="rectification.close", at=now, hall_id=case.hall_id,
                 ticket_id=case.ticket_id, rectification_id=case.id, overdue=now > case.deadline)
    provincial.enqueue_rectification(session, case, now=now)
    return [_changed(case)]


def record_rater_answer(session: Session, case: Rectification, *, satisfied: bool, actor: Actor,
                        now: datetime) -> list[DomainEvent]:
    """Record whether the rater accepts the answer; "not satisfied" re-opens the case with a new term."""
    if not (actor.is_manager or actor.kind == "visitor"):
        raise Forbidden("only hall managers or the rater record the rater's answer")
    if case.status == "excluded":
        raise WrongState(f"rectification {case.id} was taken out by an appeal")
    if case.feedback_at is None or case.rater_answer is not None:
        raise WrongState(f"rectification {case.id} has no answer awaiting the rater's view", code="no_feedback")
    case.rater_answer = "satisfied" if satisfied else "not_satisfied"
    case.rater_answered_at = now
    if not satisfied:
        # 国办发〔2019〕51号: a rater not satisfied with the answer sends the case round again.
        previous = {"fix": case.fix, "feedback": case.feedback, "status": case.status}
        hall = session.get(Hall, case.hall_id)
        case.status = "assigned" if case.fix_plan else "open"
        case.reopened += 1
        case.closed_at = case.closed_by_id = None
        case.deadline = rectify_deadline(session, hall, now)
        audit.record(session, actor=actor, action="rectification.reopen", at=now, hall_id=case.hall_id,
                     ticket_id=case.ticket_id, rectification_id=case.id, previous=previous)
        # The platform holds the first answer; it learns of the re-opening the same way (003 §10.4).
        provincial.enqueue_rectification(session, case, now=now, kind="reopened")
    else:
        audit.record(session, actor=actor, action="rectification.rater_satisfied", at=now, hall_id=case.hall_id,
                     ticket_id=case.ticket_id, rectification_id=case.id)
    return [_changed(case)]

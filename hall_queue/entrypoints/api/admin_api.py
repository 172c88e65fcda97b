"""API of the staff side (issue 6a): socket tokens for pages, identity reveal, overdue deferred materials,
rating-pad tokens, ratings (好差评) and rectification cases (差评整改)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from flask import current_app, g, request, url_for
from pydantic import Field, StringConstraints
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.feedback import ratings
from hall_queue.queueing import window_desk
from hall_queue.access.auth import issue_token
from hall_queue.config import public_url
from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.vocabulary import RECTIFICATION_STATUSES
from hall_queue.domain.models import AccessToken, Rectification, Staff, Ticket, Window
from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.api.base import (
    MANAGERS,
    STAFF,
    get_hall,
    get_row,
    now,
    operation,
    window_device_guard,
    write,
)

# A page's Socket.IO connection authenticates once, at connect, with this short-lived token.
SOCKET_TOKEN_TTL = timedelta(minutes=2)
Text1000 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
ReasonCode = Literal[tuple(ratings.LOW_REASONS)]  # type: ignore[valid-type]


class SocketTokenOut(S.Out):
    token: str
    expires_in: int


class MeOut(S.Out):
    staff: S.StaffOut
    window_id: int | None


class RevealOut(S.Out):
    ticket_id: int
    id_number: str
    masked_id: str | None


class PadTokenIn(S.In):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


class PadTokenOut(S.Out):
    token: str
    window_id: int
    url: str


class RatingIn(S.In):
    score: Annotated[int, Field(ge=1, le=5)]
    reasons: Annotated[list[ReasonCode], Field(max_length=len(ratings.LOW_REASONS))] = []
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class RatingOut(S.Out):
    id: int
    ticket_id: int
    score: int
    rectification_id: int | None


class RatingPromptOut(S.Out):
    ticket: dict | None
    scores: dict
    reasons: dict


class AssignIn(S.In):
    responsible_clerk_id: S.Id | None = None
    deadline: date | None = None
    fix_plan: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class FixIn(S.In):
    fix: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class FeedbackIn(S.In):
    feedback: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class RectificationOut(S.Out):
    id: int
    status: str
    deadline: str
    overdue: bool


# ---------------------------------------------------------------- sessions

@operation("/auth/me", "GET", roles=STAFF, summary="Read who is logged in and the window they are signed in at",
           response=MeOut, tags=("auth",))
def auth_me():
    with runtime().db.read() as s:
        staff = s.get(Staff, g.actor.id)
        window_id = s.scalar(select(Window.id).where(Window.clerk_id == staff.id))
        return {"staff": {"id": staff.id, "username": staff.username, "role": staff.role,
                          "display_name": staff.display_name, "hall_id": staff.hall_id}, "window_id": window_id}


@operation("/auth/socket-token", "POST", roles=STAFF, summary="Get a short-lived token to connect to Socket.IO",
           response=SocketTokenOut, tags=("auth",))
def socket_token():
    def do(s: Session):
        token = issue_token(s, kind="staff", hall_id=g.actor.hall_id, staff_id=g.actor.id, now=now(),
                            ttl=SOCKET_TOKEN_TTL, name="socket")
        return {"token": token, "expires_in": int(SOCKET_TOKEN_TTL.total_seconds())}, []
    return write(do)


# ---------------------------------------------------------------- window desk

@operation("/tickets/<int:ticket_id>/reveal-identity", "POST", roles=STAFF,
           summary="Reveal the visitor's full ID number (clerk holding the ticket; audited)", response=RevealOut,
           tags=("calling",))
def reveal_identity(ticket_id: int):
    def do(s: Session):
        t = get_row(s, Ticket, ticket_id, "ticket")
        return window_desk.reveal_identity(s, t, vault=runtime().vault, actor=g.actor, now=now()), []
    return write(do)


@operation("/halls/<int:hall_id>/deferred-overdue", "GET", roles=STAFF,
           summary="List deferred materials (容缺受理) past their due date", response=S.ListOut, tags=("calling",),
           )
def deferred_overdue(hall_id: int):
    window_id = request.args.get("window_id", type=int)
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        if window_id is not None:
            get_row(s, Window, window_id, "window")
        return {"items": window_desk.overdue_deferred(s, hall, now=now(), window_id=window_id)}


@operation("/windows/<int:window_id>/desk-lists", "GET", roles=STAFF,
           summary="List who waits for the window (指定呼叫), today's no-shows (过号重排) and its served count",
           response=S.DeskListsOut, tags=("calling",))
def window_desk_lists(window_id: int):
    with runtime().db.read() as s:
        w = get_row(s, Window, window_id, "window")
        return window_desk.desk_lists(s, get_hall(s, w.hall_id), w, now=now(), actor=g.actor)


# ---------------------------------------------------------------- rating pads and ratings

@operation("/windows/<int:window_id>/pad-token", "POST", roles=MANAGERS,
           summary="Create the window's rating-pad token (earlier pad tokens of the window are revoked)",
           body=PadTokenIn, response=PadTokenOut, status=201, tags=("ratings",))
def pad_token(window_id: int, body: PadTokenIn):
    def do(s: Session):
        w = get_row(s, Window, window_id, "window")
        s.execute(update(AccessToken).where(AccessToken.kind == "pad", AccessToken.window_id == w.id,
                                            AccessToken.revoked_at.is_(None)).values(revoked_at=now()))
        token = issue_token(s, kind="pad", hall_id=w.hall_id, window_id=w.id, now=now(),
                            name=body.name or f"{w.number}号窗口评价器")
        audit.record(s, actor=g.actor, action="device.pad_token", at=now(), hall_id=w.hall_id, window_id=w.id)
        url = public_url(current_app.config) + url_for("hall_admin.pad", window_id=w.id, token=token)
        return ({"token": token, "window_id": w.id, "url": url}, 201), []
    return write(do)


@operation("/windows/<int:window_id>/rating-prompt", "GET", roles=("pad",),
           summary="Read the ticket the pad may ask the visitor to rate now", response=RatingPromptOut,
           tags=("ratings",))
def rating_prompt(window_id: int):
    window_device_guard(window_id)
    with runtime().db.read() as s:
        get_row(s, Window, window_id, "window")
        t = ratings.ratable_ticket(s, window_id, now=now())
        return {"ticket": {"id": t.id, "number": t.number, "items": [i.name for i in t.items]} if t else None,
                "scores": ratings.SCORE_LABELS, "reasons": ratings.LOW_REASONS}


@operation("/tickets/<int:ticket_id>/rating", "POST", roles=("pad",),
           summary="Rate the ticket just finished at the pad's window (once)", body=RatingIn, response=RatingOut,
           status=201, tags=("ratings",))
def rate(ticket_id: int, body: RatingIn):
    def do(s: Session):
        t = get_row(s, Ticket, ticket_id, "ticket")
        rating, events = ratings.rate_ticket(s, t, score=body.score, reasons=list(body.reasons),
                                             comment=body.comment, actor=g.actor, now=now())
        case_id = s.scalar(select(Rectification.id).where(Rectification.rating_id == rating.id))
        return ({"id": rating.id, "ticket_id": t.id, "score": rating.score, "rectification_id": case_id}, 201), events
    return write(do)


@operation("/halls/<int:hall_id>/ratings", "GET", roles=MANAGERS, summary="Summarise and list recent ratings",
           response=S.ListOut, tags=("ratings",))
def list_ratings(hall_id: int):
    days = min(max(request.args.get("days", 30, type=int), 1), 366)
    with runtime().db.read() as s:
        return ratings.summary(s, get_hall(s, hall_id), days=days, now=now())


# ---------------------------------------------------------------- rectification (差评整改)

@operation("/halls/<int:hall_id>/rectifications", "GET", roles=MANAGERS, summary="List rectification cases",
           response=S.ListOut, tags=("ratings",))
def list_rectifications(hall_id: int):
    status = request.args.get("status")
    if status is not None and status not in (*RECTIFICATION_STATUSES, "pending"):
        raise InvalidRequest(f"status must be one of {', '.join(RECTIFICATION_STATUSES)} or pending")
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        q = select(Rectification).where(Rectification.hall_id == hall.id)
        if status == "pending":
            q = q.where(Rectification.status.not_in(("closed", "excluded")))
        elif status:
            q = q.where(Rectification.status == status)
        cases = list(s.scalars(q.order_by(Rectification.deadline, Rectification.id).limit(500)))
        tickets = {t.id: t for t in s.scalars(select(Ticket).where(Ticket.id.in_([c.ticket_id for c in cases])))}
        windows = {w.id: w for w in s.scalars(select(Window).where(Window.hall_id == hall.id))}
        staff = {p.id: p for p in s.scalars(select(Staff).where(Staff.id.in_(
            [c.responsible_clerk_id for c in cases if c.responsible_clerk_id])))}
        items = []
        for c in cases:
            view = ratings.rectification_view(c, now=now())
            t = tickets.get(c.ticket_id)
            view["ticket_number"] = t.number if t else None
            view["window_number"] = windows[c.window_id].number if c.window_id in windows else None
            person = staff.get(c.responsible_clerk_id)
            view["responsible_name"] = person.display_name if person else None
            items.append(view)
        return {"items": items}


def _case_action(case_id: int, fn):
    def do(s: Session):
        case = get_row(s, Rectification, case_id, "rectification")
        events = fn(s, case)
        return ratings.rectification_view(case, now=now()), events
    return write(do)


@operation("/rectifications/<int:case_id>/assign", "POST", roles=MANAGERS,
           summary="Assign a rectification: responsible clerk, deadline, required fix", body=AssignIn,
           response=RectificationOut, tags=("ratings",))
def assign_rectification(case_id: int, body: AssignIn):
    return _case_action(case_id, lambda s, c: ratings.assign_rectification(
        s, c, responsible_clerk_id=body.responsible_clerk_id, deadline=body.deadline, fix_plan=body.fix_plan,
        actor=g.actor, now=now()))


@operation("/rectifications/<int:case_id>/fix", "POST", roles=MANAGERS, summary="Record what was fixed",
           body=FixIn, response=RectificationOut, tags=("ratings",))
def fix_rectification(case_id: int, body: FixIn):
    return _case_action(case_id, lambda s, c: ratings.record_fix(s, c, fix=body.fix, actor=g.actor, now=now()))


@operation("/rectifications/<int:case_id>/feedback", "POST", roles=MANAGERS,
           summary="Record the feedback given to the visitor", body=FeedbackIn, response=RectificationOut,
           tags=("ratings",))
def feedback_rectification(case_id: int, body: FeedbackIn):
    return _case_action(case_id, lambda s, c: ratings.record_feedback(s, c, feedback=body.feedback, actor=g.actor,
                                                                      now=now()))


@operation("/rectifications/<int:case_id>/close", "POST", roles=MANAGERS, summary="Close a rectification",
           response=RectificationOut, tags=("ratings",))
def close_rectification(case_id: int):
    return _case_action(case_id, lambda s, c: ratings.close_rectification(s, c, actor=g.actor, now=now()))

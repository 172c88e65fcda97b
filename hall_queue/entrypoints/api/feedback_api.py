"""API of the 好差评 loop (issue 18): rating settings, rating from the phone, the rater's answer (re-open),
appeals (申诉复核), the monthly loop figures, and call-backs (回访, 002 §11.2.3)."""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from flask import g, request
from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.bootstrap import runtime
from hall_queue.domain import calendar as halls
from hall_queue.domain.errors import InvalidRequest, NotFound
from hall_queue.domain.models import (
    Callback,
    Case,
    Rating,
    RatingAppeal,
    RatingSettings,
    Rectification,
    Ticket,
    Window,
)
from hall_queue.domain.vocabulary import (
    APPEAL_KINDS,
    APPEAL_STATUSES,
    RATING_LABELS_EN,
    CALLBACK_STATUSES,
    RECTIFY_WORKING_DAYS_RANGE,
    REGION_CODE_PATTERN,
)
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.api.base import (
    MANAGERS,
    STAFF,
    choice_arg,
    get_followed_ticket,
    get_hall,
    get_row,
    now,
    operation,
    write,
)
from hall_queue.feedback import appeals, callbacks, rating_report, ratings

ReasonCode = Literal[tuple(ratings.LOW_REASONS)]  # type: ignore[valid-type]
AppealKind = Literal[APPEAL_KINDS]  # type: ignore[valid-type]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Remarks = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


class RatingSettingsIn(S.In):
    rectify_working_days: Annotated[int, Field(ge=RECTIFY_WORKING_DAYS_RANGE[0], le=RECTIFY_WORKING_DAYS_RANGE[1])] | None = None
    callback_rate_pct: Annotated[int, Field(ge=0, le=100)] | None = None
    region_code: Annotated[str, StringConstraints(pattern=REGION_CODE_PATTERN)] | None = None
    province_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300,
                                                   pattern=r"^(https?://\S+)?$")] | None = None
    province_secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = None


class PhoneRatingIn(S.In):
    ticket_id: S.Id
    score: Annotated[int, Field(ge=1, le=5)]
    reasons: Annotated[list[ReasonCode], Field(max_length=len(ratings.LOW_REASONS))] = []
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class RaterAnswerIn(S.In):
    satisfied: bool


class PhoneAnswerIn(RaterAnswerIn):
    rectification_id: S.Id


class AppealIn(S.In):
    kind: AppealKind
    reason: Reason


class AppealDecisionIn(S.In):
    upheld: bool
    reason: Reason


class CallbackResultIn(S.In):
    reached: bool
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None
    remarks: Remarks = ""


# ---------------------------------------------------------------- settings

def _settings_view(row: RatingSettings) -> dict:
    return {"hall_id": row.hall_id, "rectify_working_days": row.rectify_working_days,
            "callback_rate_pct": row.callback_rate_pct, "region_code": row.region_code,
            "province_url": row.province_url, "province_secret_set": bool(row.province_secret_cipher)}


@operation("/halls/<int:hall_id>/rating-settings", "GET", roles=MANAGERS, summary="Read the hall's 好差评 settings",
           response=S.Out, tags=("ratings",))
def get_rating_settings(hall_id: int):
    with runtime().db.read() as s:
        return _settings_view(ratings.settings_of(s, get_hall(s, hall_id).id))


@operation("/halls/<int:hall_id>/rating-settings", "PUT", roles=MANAGERS,
           summary="Set the rectification term, call-back rate and the provincial platform", body=RatingSettingsIn,
           response=S.Out, tags=("ratings",))
def put_rating_settings(hall_id: int, body: RatingSettingsIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        row = s.get(RatingSettings, hall.id)
        if row is None:
            row = ratings.settings_of(s, hall.id)
            s.add(row)
        for name in ("rectify_working_days", "callback_rate_pct", "region_code", "province_url"):
            value = getattr(body, name)
            if value is not None:
                setattr(row, name, value)
        if body.province_secret is not None:
            row.province_secret_cipher = runtime().vault.encrypt(body.province_secret)
        if row.province_url and not (row.province_secret_cipher and row.region_code):
            raise InvalidRequest("uploading needs the platform's secret and the 12-digit region code",
                                 code="province_incomplete")
        s.flush()
        audit.record(s, actor=g.actor, action="rating.settings", at=now(), hall_id=hall.id,
                     **{k: v for k, v in _settings_view(row).items() if k != "hall_id"})
        return _settings_view(row), []
    return write(do)


# ---------------------------------------------------------------- the phone (slip's QR)

def phone_rating_view(s: Session, slip: Ticket) -> dict:
    """What the phone's rating page shows: legs to rate, and answers awaiting the rater's view."""
    windows = {w.id: w.number for w in s.scalars(select(Window).where(Window.hall_id == slip.hall_id))}
    legs = ratings.visit_legs(s, slip)
    ratable = ratings.phone_ratable(s, slip, now=now())
    rated = {r.ticket_id: r for r in s.scalars(select(Rating).where(Rating.ticket_id.in_([t.id for t in legs])))}
    cases = s.scalars(select(Rectification).where(Rectification.ticket_id.in_([t.id for t in legs]),
                                                  Rectification.feedback_at.is_not(None),
                                                  Rectification.rater_answer.is_(None),
                                                  Rectification.status != "excluded")).all()
    return {"number": slip.number,
            "finished": any(t.status == "done" for t in legs),
            "to_rate": [{"ticket_id": t.id, "window_number": windows.get(t.window_id),
                         "items": [i.name for i in t.items],
                         "items_en": [i.name_en or i.name for i in t.items]} for t in ratable],
            "rated": [{"ticket_id": t.id, "window_number": windows.get(t.window_id),
                       "label": ratings.SCORE_LABELS[rated[t.id].score]} for t in legs if t.id in rated],
            "answers": [{"rectification_id": c.id, "feedback": c.feedback} for c in cases],
            "scores": ratings.SCORE_LABELS, "reasons": ratings.LOW_REASONS,
            # The page's English mode (the phone's language decides, as on the follow page).
            "scores_en": RATING_LABELS_EN, "reasons_en": ratings.LOW_REASONS_EN}


@operation("/follow/<code>/rating", "GET", roles=("public",),
           summary="Read what the slip's QR may rate now (finished legs not yet rated)", response=S.Out,
           tags=("ratings",))
def phone_rating(code: str):
    with runtime().db.read() as s:
        return phone_rating_view(s, get_followed_ticket(s, code))


@operation("/follow/<code>/rating", "POST", roles=("public",),
           summary="Rate a finished leg of the visit from the phone (once per ticket and window)", body=PhoneRatingIn,
           response=S.Out, status=201, tags=("ratings",))
def phone_rate(code: str, body: PhoneRatingIn):
    def do(s: Session):
        rating, events = ratings.rate_from_phone(s, get_followed_ticket(s, code), body.ticket_id, score=body.score,
                                                 reasons=list(body.reasons), comment=body.comment, now=now())
        return ({"id": rating.id, "ticket_id": rating.ticket_id, "score": rating.score}, 201), events
    return write(do)


@operation("/follow/<code>/rectification-answer", "POST", roles=("public",),
           summary="Say whether the answer to a bad rating satisfies you (not satisfied re-opens it)",
           body=PhoneAnswerIn, response=S.Out, tags=("ratings",))
def phone_rater_answer(code: str, body: PhoneAnswerIn):
    def do(s: Session):
        slip = get_followed_ticket(s, code)
        case = s.get(Rectification, body.rectification_id)
        if case is None or case.ticket_id not in {t.id for t in ratings.visit_legs(s, slip)}:
            raise NotFound(f"rectification {body.rectification_id} not found")
        visitor = audit.Actor(kind="visitor", hall_id=case.hall_id)
        events = ratings.record_rater_answer(s, case, satisfied=body.satisfied, actor=visitor, now=now())
        return {"id": case.id, "status": case.status, "rater_answer": case.rater_answer}, events
    return write(do)


@operation("/rectifications/<int:case_id>/rater-answer", "POST", roles=MANAGERS,
           summary="Record the rater's answer to the feedback (not satisfied re-opens the case)", body=RaterAnswerIn,
           response=S.Out, tags=("ratings",))
def rater_answer(case_id: int, body: RaterAnswerIn):
    def do(s: Session):
        case = get_row(s, Rectification, case_id, "rectification")
        events = ratings.record_rater_answer(s, case, satisfied=body.satisfied, actor=g.actor, now=now())
        return ratings.rectification_view(case, now=now()), events
    return write(do)


# ---------------------------------------------------------------- appeals (申诉复核)

@operation("/ratings/<int:rating_id>/appeal", "POST", roles=STAFF,
           summary="Appeal a bad rating as mistaken or malicious (the rated clerk or a manager)", body=AppealIn,
           response=S.Out, status=201, tags=("ratings",))
def appeal_rating(rating_id: int, body: AppealIn):
    def do(s: Session):
        rating = get_row(s, Rating, rating_id, "rating")
        appeal, events = appeals.file_appeal(s, rating, kind=body.kind, reason=body.reason, actor=g.actor, now=now())
        return (appeals.appeal_view(appeal), 201), events
    return write(do)


@operation("/halls/<int:hall_id>/appeals", "GET", roles=MANAGERS, summary="List appeals of ratings",
           response=S.ListOut, tags=("ratings",))
def list_appeals(hall_id: int):
    status = choice_arg("status", APPEAL_STATUSES)
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        q = select(RatingAppeal).where(RatingAppeal.hall_id == hall.id)
        if status:
            q = q.where(RatingAppeal.status == status)
        items = []
        for a in s.scalars(q.order_by(RatingAppeal.id.desc()).limit(500)):
            view = appeals.appeal_view(a)
            view["rating"] = ratings.rating_view(s.get(Rating, a.rating_id))
            items.append(view)
        return {"items": items}


@operation("/appeals/<int:appeal_id>/decide", "POST", roles=MANAGERS,
           summary="Decide an appeal with a reason (upheld takes the rating out of the indicators)", body=AppealDecisionIn,
           response=S.Out, tags=("ratings",))
def decide_appeal(appeal_id: int, body: AppealDecisionIn):
    def do(s: Session):
        appeal = get_row(s, RatingAppeal, appeal_id, "appeal")
        events = appeals.decide_appeal(s, appeal, upheld=body.upheld, reason=body.reason, actor=g.actor, now=now())
        return appeals.appeal_view(appeal), events
    return write(do)


def _month(hall) -> tuple[date, date]:
    month = request.args.get("month") or halls.service_day(hall, now()).strftime("%Y-%m")
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
        raise InvalidRequest("month is YYYY-MM", code="bad_month")
    return rating_report.month_bounds(month)


@operation("/halls/<int:hall_id>/rating-loop", "GET", roles=MANAGERS,
           summary="Real-name bad ratings of a month: called back, fixed and answered on time", response=S.Out,
           tags=("ratings",))
def rating_loop(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        first, last = _month(hall)
        return rating_report.loop_month(s, hall, first=first, last=last)


# ---------------------------------------------------------------- call-backs (回访)

@operation("/halls/<int:hall_id>/callbacks", "GET", roles=STAFF,
           summary="List the call-back list (cases sampled after completion)", response=S.ListOut, tags=("ratings",))
def list_callbacks(hall_id: int):
    status = request.args.get("status")
    if status is not None and status not in CALLBACK_STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(CALLBACK_STATUSES)}")
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        today = halls.service_day(hall, now())
        q = select(Callback).where(Callback.hall_id == hall.id)
        if status:
            q = q.where(Callback.status == status)
        if request.args.get("month"):
            first, last = _month(hall)
            q = q.where(Callback.completed_on >= first, Callback.completed_on <= last)
        rows = s.scalars(q.order_by((Callback.status != "pending"), Callback.due_on, Callback.id).limit(500))
        return {"items": [callbacks.callback_view(s, hall, r, today=today) for r in rows]}


@operation("/halls/<int:hall_id>/callbacks/sample", "POST", roles=MANAGERS,
           summary="Sample today's call-backs now (the duties do it every working day)", response=S.Out,
           tags=("ratings",))
def sample_callbacks(hall_id: int):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        return {"added": len(callbacks.sample_callbacks(s, hall, now=now(), any_day=True))}, []
    return write(do)


@operation("/callbacks/<int:callback_id>/result", "POST", roles=STAFF,
           summary="Record a call-back: reached or not, satisfaction, remarks", body=CallbackResultIn, response=S.Out,
           tags=("ratings",))
def callback_result(callback_id: int, body: CallbackResultIn):
    def do(s: Session):
        row = get_row(s, Callback, callback_id, "call-back")
        events = callbacks.record_result(s, row, reached=body.reached, satisfaction=body.satisfaction,
                                         remarks=body.remarks, actor=g.actor, now=now())
        hall = get_hall(s, row.hall_id)
        return callbacks.callback_view(s, hall, row, today=halls.service_day(hall, now())), events
    return write(do)


@operation("/callbacks/<int:callback_id>/reveal-phone", "POST", roles=STAFF,
           summary="Show the applicant's phone number to call back (audited)", response=S.Out, tags=("ratings",))
def callback_phone(callback_id: int):
    def do(s: Session):
        row = get_row(s, Callback, callback_id, "call-back")
        case = s.get(Case, row.case_id)
        audit.record(s, actor=g.actor, action="identity.reveal_phone", at=now(), hall_id=row.hall_id,
                     case_id=case.id, callback_id=row.id)
        return {"phone": runtime().vault.decrypt(case.phone_cipher)}, []
    return write(do)


@operation("/halls/<int:hall_id>/callback-stats", "GET", roles=MANAGERS,
           summary="Call-back results of the cases completed in a month", response=S.Out, tags=("ratings",))
def callback_stats(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        first, last = _month(hall)
        return {"month": first.strftime("%Y-%m"),
                **callbacks.statistics(s, hall, first=first, last=last, today=halls.service_day(hall, now()))}

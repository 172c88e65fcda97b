"""The 好差评 loop per month (国办发〔2019〕51号: 实名差评回访整改率 100 %): of the real-name bad ratings given
in the month and not taken out by an upheld appeal, how many were called back (the rater was answered),
fixed, and both by the rectification deadline; ratings taken out by appeals are counted apart.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.domain import calendar as halls
from hall_queue.domain.models import Hall, Rating, Rectification
from hall_queue.domain.vocabulary import BAD_RATING_MAX


def month_bounds(month: str) -> tuple[date, date]:
    """``"2026-03"`` → (first day, last day)."""
    first = date.fromisoformat(month + "-01")
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


def loop_month(session: Session, hall: Hall, *, first: date, last: date) -> dict[str, Any]:
    """Real-name bad ratings of the month: called back, fixed and answered on time, and the share of all three."""
    lo, hi = halls.service_days_span(hall, first, last)  # service days, as the statistics count them
    rows = session.execute(select(Rating, Rectification).join(Rectification, Rectification.rating_id == Rating.id)
                           .where(Rating.hall_id == hall.id, Rating.rated_at >= lo, Rating.rated_at < hi,
                                  Rating.score <= BAD_RATING_MAX, Rating.real_name.is_(True))).all()
    counted = [(r, c) for r, c in rows if not r.excluded]
    called = [c for _, c in counted if c.feedback_at is not None]
    fixed = [c for _, c in counted if c.fixed_at is not None]
    answered_on_time = [c for _, c in counted if c.feedback_at is not None and c.feedback_at <= c.deadline]
    complete = [c for _, c in counted if c.fixed_at is not None and c.feedback_at is not None
                and c.fixed_at <= c.deadline and c.feedback_at <= c.deadline and c.rater_answer != "not_satisfied"]
    n = len(counted)
    return {"month": first.strftime("%Y-%m"), "real_name_bad": n, "called_back": len(called), "fixed": len(fixed),
            "answered_on_time": len(answered_on_time), "complete_on_time": len(complete),
            "share": round(len(complete) / n, 4) if n else None,
            "reopened": sum(1 for _, c in counted if c.reopened),
            "excluded_by_appeal": len(rows) - n}

"""回访 (002 §11.2.3 "宜在事项办结后三日内，通过电话、短信等渠道进行抽样回访"): each working day a sample
of the cases completed in the last ``CALLBACK_WORKING_DAYS`` working days goes on the call-back list; staff
record reached / not reached, the applicant's satisfaction and remarks; the results are counted per month.

Sampling is per completion day (the service day the case was decided on, as the statistics count days): the share ``callback_rate_pct`` of that day's completed cases (rounded up)
is kept on the list, topped up each time the duty runs, so a day with no run (a holiday, a server off)
is sampled on the next working day while it is still within the three working days. The choice among a
day's cases is random but repeatable (seeded by hall and day). Only cases with a phone number can be called.

The cases sampled are the matters (事项) decided: a case of its own, or each item (child case) of a life-event
bundle (一件事, 003 §3.8), since each item is decided by its own department and the results are counted per
department; a bundle's parent, which only follows its items, is not sampled itself.
"""
from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain import calendar as halls
from hall_queue.domain.clock import iso
from hall_queue.domain.errors import Forbidden, InvalidRequest, WrongState
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Callback, Case, Department, Hall, ServiceItem
from hall_queue.domain.vocabulary import (
    CALLBACK_WORKING_DAYS,
    RATING_LABELS,
    RATING_SCORES,
    SATISFIED_MIN,
)
from hall_queue.feedback.ratings import settings_of
from hall_queue.infrastructure import hall_store

# The longest run of non-working days (春节 with its weekends) a three-working-day window can span.
LOOKBACK_DAYS = 21
STATUS_LABELS = {"pending": "待回访", "reached": "已回访", "not_reached": "未联系上"}
NO_DEPARTMENT = "窗口即办"  # a matter decided at the window, with no department behind it


def sample_callbacks(session: Session, hall: Hall, *, now: datetime, any_day: bool = False) -> list[Callback]:
    """Put today's share of recently completed cases on the call-back list; return the rows added.

    The duty samples on working days only; a manager asking for it (``any_day``) samples on any day.
    """
    lookup = hall_store.calendar_lookup(session, hall.id)
    today = halls.service_day(hall, now)
    if not any_day and not halls.is_working_day(today, lookup):
        return []
    rate = settings_of(session, hall.id).callback_rate_pct
    since = halls.service_days_span(hall, today - timedelta(days=LOOKBACK_DAYS), today)[0]
    matter = Case.parent_id.is_not(None) | Case.bundle_id.is_(None)  # a bundle's items, not the bundle itself
    cases = session.scalars(select(Case).where(Case.hall_id == hall.id, matter,
                                               Case.decided_at.is_not(None), Case.decided_at >= since,
                                               Case.decided_at <= now, Case.phone_cipher.is_not(None))
                            .order_by(Case.id)).all()
    sampled = set(session.scalars(select(Callback.case_id).where(Callback.hall_id == hall.id,
                                                                 Callback.case_id.in_([c.id for c in cases]))))
    by_day: dict[date, list[Case]] = {}
    for c in cases:
        # The statistics count service days (a case decided at 01:00 belongs to the day before the hall's day
        # boundary), so the call-backs of a day range are those of the tickets counted in it.
        by_day.setdefault(halls.service_day(hall, c.decided_at), []).append(c)
    added = []
    for day, day_cases in sorted(by_day.items()):
        due = hall_store.add_working_days(session, hall.id, day, CALLBACK_WORKING_DAYS)
        if due < today:  # more than three working days ago: too late for a call-back
            continue
        want = math.ceil(len(day_cases) * rate / 100)
        have = sum(1 for c in day_cases if c.id in sampled)
        pool = [c for c in day_cases if c.id not in sampled]
        random.Random(f"{hall.id}:{day.isoformat()}").shuffle(pool)
        for c in pool[:max(0, want - have)]:
            row = Callback(hall_id=hall.id, case_id=c.id, completed_on=day, sampled_on=today, due_on=due,
                           status="pending", remarks="")
            session.add(row)
            added.append(row)
    if added:
        session.flush()
        audit.record(session, actor=audit.SYSTEM, action="callback.sample", at=now, hall_id=hall.id,
                     cases=[r.case_id for r in added])
    return added


def record_result(session: Session, row: Callback, *, reached: bool, satisfaction: int | None, remarks: str,
                  actor: Actor, now: datetime) -> list[DomainEvent]:
    """Record one call-back: reached or not, the applicant's satisfaction (when reached) and remarks."""
    if actor.kind != "staff":
        raise Forbidden("only staff record call-backs")
    if row.status == "reached":
        raise WrongState(f"call-back {row.id} was already recorded", code="already_recorded")
    if reached and satisfaction not in RATING_SCORES:
        raise InvalidRequest("a reached applicant's satisfaction is 1 to 5", code="satisfaction_required")
    row.status = "reached" if reached else "not_reached"
    row.satisfaction = satisfaction if reached else None
    row.remarks = remarks.strip()[:1000]
    row.recorded_by_id, row.recorded_at = actor.id, now
    audit.record(session, actor=actor, action="callback.record", at=now, hall_id=row.hall_id, case_id=row.case_id,
                 callback_id=row.id, reached=reached, satisfaction=row.satisfaction)
    return []


def callback_view(session: Session, hall: Hall, row: Callback, *, today: date) -> dict[str, Any]:
    case = row.case
    item = session.get(ServiceItem, case.item_id) if case.item_id else None
    parent = session.get(Case, case.parent_id) if case.parent_id else None
    return {"id": row.id, "case_id": case.id, "acceptance_no": case.acceptance_no, "title": case.title,
            "item_name": item.name if item else case.title, "masked_name": case.masked_name,
            "bundle": parent.title if parent else None,
            "department": case.department.name if case.department else None,
            "completed_on": row.completed_on.isoformat(), "sampled_on": row.sampled_on.isoformat(),
            "due_on": row.due_on.isoformat(), "status": row.status, "status_label": STATUS_LABELS[row.status],
            "overdue": row.status == "pending" and today > row.due_on,
            "satisfaction": row.satisfaction,
            "satisfaction_label": RATING_LABELS.get(row.satisfaction) if row.satisfaction else None,
            "remarks": row.remarks, "recorded_at": iso(row.recorded_at)}


def _summary(hall: Hall, rows: list[Callback], today: date) -> dict[str, Any]:
    reached = [r for r in rows if r.status == "reached"]
    recorded = [r for r in rows if r.recorded_at is not None]
    on_time = [r for r in recorded if halls.service_day(hall, r.recorded_at) <= r.due_on]
    scores = [r.satisfaction for r in reached if r.satisfaction]
    satisfied = [s for s in scores if s >= SATISFIED_MIN]
    return {"sampled": len(rows), "reached": len(reached),
            "not_reached": sum(1 for r in rows if r.status == "not_reached"),
            "pending": sum(1 for r in rows if r.status == "pending"),
            "overdue": sum(1 for r in rows if r.status == "pending" and today > r.due_on),
            "recorded_on_time": len(on_time),
            "reach_rate": round(len(reached) / len(rows), 4) if rows else None,
            "satisfaction_avg": round(sum(scores) / len(scores), 2) if scores else None,
            "satisfied_rate": round(len(satisfied) / len(scores), 4) if scores else None}


def _rows(session: Session, hall: Hall, first: date, last: date) -> list[Callback]:
    return list(session.scalars(select(Callback).where(Callback.hall_id == hall.id, Callback.completed_on >= first,
                                                       Callback.completed_on <= last).order_by(Callback.id)))


def statistics(session: Session, hall: Hall, *, first: date, last: date, today: date) -> dict[str, Any]:
    """Call-backs of cases completed from ``first`` to ``last``: how many, reached, on time, satisfaction."""
    return _summary(hall, _rows(session, hall, first, last), today)


def breakdown(session: Session, hall: Hall, *, first: date, last: date, today: date) -> dict[str, Any]:
    """Call-back results of the cases completed from ``first`` to ``last``, per month and per department.

    Counted by the month the case was completed in (the sample is of completed cases, 002 §11.2.3), and by the
    department that decided it (a bundle's item by its own department; none for a window's 即办 matter).
    """
    rows = _rows(session, hall, first, last)
    months: dict[str, list[Callback]] = {}
    for r in rows:
        months.setdefault(r.completed_on.strftime("%Y-%m"), []).append(r)
    depts: dict[int | None, list[Callback]] = {}
    for r in rows:
        depts.setdefault(r.case.department_id, []).append(r)
    names = dict(session.execute(select(Department.id, Department.name)
                                 .where(Department.id.in_([k for k in depts if k is not None]))).all())
    order = sorted(depts, key=lambda k: (k is None, names.get(k, "")))
    return {"from": first.isoformat(), "to": last.isoformat(), "totals": _summary(hall, rows, today),
            "months": [{"month": m, **_summary(hall, months[m], today)} for m in sorted(months)],
            "departments": [{"department_id": k, "department": names.get(k, NO_DEPARTMENT),
                             **_summary(hall, depts[k], today)} for k in order]}


CSV_METRICS = ("sampled", "reached", "not_reached", "pending", "overdue", "recorded_on_time", "reach_rate",
               "satisfaction_avg", "satisfied_rate")


def to_csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    """Flatten ``breakdown`` to rows: one per month, one per department, then the total."""
    def line(kind: str, key: Any, label: str, m: dict[str, Any]) -> list[Any]:
        return [kind, "" if key is None else key, label] + ["" if m[c] is None else m[c] for c in CSV_METRICS]
    rows: list[list[Any]] = [["callbacks_by", "key", "label"] + list(CSV_METRICS)]
    rows += [line("month", m["month"], m["month"], m) for m in result["months"]]
    rows += [line("department", d["department_id"], d["department"], d) for d in result["departments"]]
    rows.append(line("total", None, "all", result["totals"]))
    return rows

"""The cases' periodic duty: due-soon and overdue alerts on the floor, 容缺 reminders and overdue alerts.

* A case whose clock runs (accepted, dispatched, in review) and whose due date is within the hall's
  ``due_soon_working_days`` gets one ``case_due_soon`` alert; past the due date, one ``case_overdue``
  alert instead. The alert clears when the case is decided, its clock stops, or it is done.
* A 容缺 material (000 §9.3.6) gets one SMS reminder ``DEFERRED_REMINDER_WORKING_DAYS`` working days before
  its deadline (the notifier's dedup key makes it once), and a ``deferred_overdue`` alert after it,
  cleared when it is supplied.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.cases import clock
from hall_queue.cases.records import settings_of
from hall_queue.domain.clock import iso
from hall_queue.domain.events import AlertCleared, AlertRaised, DomainEvent
from hall_queue.domain.models import Alert, Case, DeferredMaterial, Department, Hall
from hall_queue.domain.vocabulary import (
    CASE_ALERT_KINDS,
    CLOCK_RUNNING_STATES,
    DEFERRED_REMINDER_WORKING_DAYS,
)
from hall_queue.infrastructure import hall_store

DUE_SOON, OVERDUE, DEFERRED_OVERDUE = CASE_ALERT_KINDS


def raise_alert(session: Session, hall: Hall, kind: str, subject: str, message: str, now: datetime,
                **extra: Any) -> tuple[Alert, DomainEvent]:
    """Raise one floor alert (audited); return it with the event for the dashboard."""
    alert = Alert(hall_id=hall.id, kind=kind, subject=subject, message=message, raised_at=now)
    session.add(alert)
    session.flush()
    audit.record(session, actor=audit.SYSTEM, action=f"alert.{kind}", at=now, hall_id=hall.id, subject=subject)
    return alert, AlertRaised(hall.id, {"id": alert.id, "kind": kind, "window_id": None, "message": message,
                                        "raised_at": iso(now), **extra})


def _clear(alert: Alert, now: datetime) -> DomainEvent:
    alert.cleared_at = now
    return AlertCleared(alert.hall_id, {"id": alert.id, "kind": alert.kind})


def due_state(session: Session, case: Case, today: date, soon_days: int) -> str | None:
    """``case_overdue``, ``case_due_soon`` or None for a case whose clock runs."""
    if case.state not in CLOCK_RUNNING_STATES or case.children:
        return None
    if today > case.due_on:
        return OVERDUE
    if clock.working_days_left(session, case, today) <= soon_days:
        return DUE_SOON
    return None


def check_cases(session: Session, hall: Hall, *, now: datetime, notifier: Any = None) -> list[DomainEvent]:
    """Raise, move or clear the case alerts of one hall; queue due 容缺 reminders. Return the events."""
    today = clock.local_day(hall, now)
    soon = settings_of(session, hall.id).due_soon_working_days
    events: list[DomainEvent] = []
    open_alerts = {a.subject: a for a in session.scalars(select(Alert).where(
        Alert.hall_id == hall.id, Alert.kind.in_(CASE_ALERT_KINDS), Alert.cleared_at.is_(None)))}
    depts = dict(session.execute(select(Department.id, Department.name).where(Department.hall_id == hall.id)).all())
    watched = session.scalars(select(Case).where(Case.hall_id == hall.id, Case.parent_id.is_not(None) |
                                                 Case.bundle_id.is_(None))
                              .where((Case.state.in_(CLOCK_RUNNING_STATES)) | (Case.due_alert_id.is_not(None)))).all()
    for case in watched:
        want = due_state(session, case, today, soon)
        subject = f"case {case.id}"
        alert = open_alerts.pop(subject, None)
        if alert is not None and alert.kind == want:
            continue
        if alert is not None:
            events.append(_clear(alert, now))
            case.due_alert_id, case.due_alert_kind = None, None
        if want is not None:
            where = depts.get(case.department_id, "待分办")
            msg = (f"{where}：办件{case.acceptance_no}（{case.title}）" +
                   (f"已超过承诺办结日期{case.due_on.isoformat()}" if want == OVERDUE
                    else f"将于{case.due_on.isoformat()}到期"))
            alert, ev = raise_alert(session, hall, want, subject, msg, now, case_id=case.id,
                               department_id=case.department_id)
            case.due_alert_id, case.due_alert_kind = alert.id, want
            events.append(ev)
    for m in session.scalars(select(DeferredMaterial).where(DeferredMaterial.hall_id == hall.id)
                             .where((DeferredMaterial.state == "owed") | DeferredMaterial.alert_id.is_not(None))):
        events += _check_material(session, hall, m, today=today, now=now, notifier=notifier,
                                  alert=open_alerts.pop(f"deferred {m.id}", None))
    for stale in open_alerts.values():  # a case or material no longer watched (e.g. deleted): clear
        if stale.subject.startswith(("case ", "deferred ")):
            events.append(_clear(stale, now))
    return events


def _check_material(session: Session, hall: Hall, m: DeferredMaterial, *, today: date, now: datetime,
                    notifier: Any, alert: Alert | None) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    case = session.get(Case, m.case_id)
    if m.state == "owed" and case.state not in ("closed", "refused", "terminated"):
        remind_on = _working_days_before(session, hall.id, m.due_on, DEFERRED_REMINDER_WORKING_DAYS)
        if m.reminded_at is None and today >= remind_on and today <= m.due_on and notifier is not None \
                and case.phone_cipher:
            notifier.send(session, hall_id=hall.id, phone_cipher_or_phone=case.phone_cipher, kind="deferred_due",
                          text=(f"【{hall.name}】提醒：您办理的“{case.title}”（受理号{case.acceptance_no}）容缺材料"
                                f"“{m.name}”请于{m.due_on.isoformat()}前补交，逾期将按承诺终止办理。"),
                          dedup_key=f"deferred-due:{m.id}", now=now)
            m.reminded_at = now
        if today > m.due_on and alert is None:
            a, ev = raise_alert(session, hall, DEFERRED_OVERDUE, f"deferred {m.id}",
                           f"办件{case.acceptance_no}的容缺材料“{m.name}”已过补正期限{m.due_on.isoformat()}", now,
                           case_id=case.id)
            m.alert_id = a.id
            events.append(ev)
            return events
    if alert is not None and (m.state != "owed" or case.state in ("closed", "refused", "terminated")):
        events.append(_clear(alert, now))
        m.alert_id = None
    return events


def _working_days_before(session: Session, hall_id: int, day: date, n: int) -> date:
    """The working day ``n`` working days before ``day`` (the reminder's day)."""
    from datetime import timedelta

    d = day
    while n > 0:
        d -= timedelta(days=1)
        if hall_store.add_working_days(session, hall_id, d, 0) == d:
            n -= 1
    return d


def overdue_by_department(session: Session, hall: Hall, *, now: datetime) -> list[dict[str, Any]]:
    """The per-department list of running cases past their due date (the floor's and indicators' view)."""
    today = clock.local_day(hall, now)
    rows = session.scalars(select(Case).where(Case.hall_id == hall.id, Case.state.in_(CLOCK_RUNNING_STATES),
                                              Case.due_on < today).order_by(Case.due_on)).all()
    depts = dict(session.execute(select(Department.id, Department.name).where(Department.hall_id == hall.id)).all())
    out: dict[Any, dict[str, Any]] = {}
    for c in rows:
        if c.children:
            continue
        entry = out.setdefault(c.department_id, {"department_id": c.department_id,
                                                 "department": depts.get(c.department_id, "待分办"), "cases": []})
        entry["cases"].append({"id": c.id, "acceptance_no": c.acceptance_no, "title": c.title,
                               "due_on": c.due_on.isoformat(), "state": c.state})
    return list(out.values())

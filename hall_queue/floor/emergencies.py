"""The clerk's emergency button (issue 17): an alarm on the floor dashboard until a manager acknowledges it.

A clerk signed in at a window presses the button (or its hotkey) when a visitor turns violent, falls ill
or the clerk needs help at once. The alarm names the window and the time; it stays until a manager
acknowledges it. Both steps are audited (004 §8.4 全过程电子监察). It is an ``Alert`` of kind
``EMERGENCY_ALERT_KIND``, so it travels to the dashboards like every other alert.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain import calendar as halls
from hall_queue.domain.errors import Forbidden, NotFound, WrongState
from hall_queue.domain.events import AlertCleared, AlertRaised, DomainEvent
from hall_queue.domain.models import Alert, Hall, Window
from hall_queue.domain.vocabulary import EMERGENCY_ALERT_KIND
from hall_queue.queueing.presenters import iso


def alarm_view(alert: Alert) -> dict:
    return {"id": alert.id, "kind": alert.kind, "window_id": alert.window_id, "message": alert.message,
            "raised_at": iso(alert.raised_at), "acknowledged_at": iso(alert.cleared_at),
            "acknowledged_by_id": alert.acknowledged_by_id}


def raise_emergency(session: Session, window: Window, *, now: datetime,
                    actor: Actor) -> tuple[Alert, list[DomainEvent]]:
    """Raise a window's emergency alarm (its signed-in clerk, or a manager on the floor); a repeat changes nothing."""
    if actor.kind != "staff" or not (actor.is_manager or window.clerk_id == actor.id):
        raise Forbidden("只有在本窗口签到的工作人员可以发出紧急求助", code="not_signed_in")
    open_alarm = session.scalar(select(Alert).where(Alert.window_id == window.id, Alert.kind == EMERGENCY_ALERT_KIND,
                                                    Alert.cleared_at.is_(None)))
    if open_alarm is not None:
        return open_alarm, []
    hall = session.get(Hall, window.hall_id)
    local = halls.local_time(hall, now)
    message = f"{window.number}号窗口（{window.name}）{local:%H:%M}紧急求助，请立即前往"
    alert = Alert(hall_id=window.hall_id, kind=EMERGENCY_ALERT_KIND, window_id=window.id,
                  subject=f"window {window.id}", message=message, raised_at=now)
    session.add(alert)
    session.flush()
    audit.record(session, actor=actor, action="alarm.emergency", at=now, hall_id=window.hall_id, window_id=window.id,
                 alert_id=alert.id)
    return alert, [AlertRaised(window.hall_id, {"id": alert.id, "kind": EMERGENCY_ALERT_KIND, "window_id": window.id,
                                                "window_number": window.number, "message": message,
                                                "raised_at": iso(now)})]


def acknowledge(session: Session, alert: Alert, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """A manager acknowledges an emergency alarm: it leaves the dashboards; who and when are kept."""
    if alert.kind != EMERGENCY_ALERT_KIND:
        raise NotFound(f"alert {alert.id} is not an emergency alarm", code="not_found")
    if alert.cleared_at is not None:
        raise WrongState("该紧急求助已有人确认", code="already_acknowledged")
    alert.cleared_at = now
    alert.acknowledged_by_id = actor.id
    waited = int((now - alert.raised_at).total_seconds())
    audit.record(session, actor=actor, action="alarm.acknowledge", at=now, hall_id=alert.hall_id,
                 window_id=alert.window_id, alert_id=alert.id, after_s=waited)
    # Only the hall room (managers' dashboards): the window's room also reaches its public window screen.
    return [AlertCleared(alert.hall_id, {"id": alert.id, "kind": alert.kind, "window_id": alert.window_id})]

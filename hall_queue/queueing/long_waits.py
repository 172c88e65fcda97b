"""Long-wait alerts: a queue whose oldest waiting visitor has waited past the hall's ``wait_alert_s``.

Run by the periodic duties (``duties.run_post_checks``). One open ``long_wait`` alert per queue; it is
cleared as soon as that queue's longest wait is back under the threshold.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.domain import calendar as halls
from hall_queue.domain.events import AlertCleared, AlertRaised, DomainEvent
from hall_queue.domain.models import Alert, Hall, Queue, Ticket
from hall_queue.queueing.presenters import iso


def _subject(queue: Queue) -> str:
    return f"queue {queue.id}"


def check_long_waits(session: Session, hall: Hall, *, now: datetime) -> list[DomainEvent]:
    """Raise or clear each queue's long-wait alert; return the events to publish."""
    if hall.wait_alert_s <= 0:
        return []
    threshold = timedelta(seconds=hall.wait_alert_s)
    day = halls.service_day(hall, now)
    oldest = dict(session.execute(
        select(Ticket.queue_id, func.min(Ticket.issued_at))
        .where(Ticket.hall_id == hall.id, Ticket.status == "waiting", Ticket.service_day == day)
        .group_by(Ticket.queue_id)).all())
    open_alerts = {a.subject: a for a in session.scalars(
        select(Alert).where(Alert.hall_id == hall.id, Alert.kind == "long_wait", Alert.cleared_at.is_(None)))}
    events: list[DomainEvent] = []
    for queue in session.scalars(select(Queue).where(Queue.hall_id == hall.id).order_by(Queue.prefix)):
        since = oldest.get(queue.id)
        too_long = since is not None and now - since > threshold
        alert = open_alerts.get(_subject(queue))
        if too_long and alert is None:
            minutes = int((now - since).total_seconds() // 60)
            msg = f"{queue.name}（{queue.prefix}）最长等候已达{minutes}分钟，超过{hall.wait_alert_s // 60}分钟阈值"
            alert = Alert(hall_id=hall.id, kind="long_wait", subject=_subject(queue), message=msg, raised_at=now)
            session.add(alert)
            session.flush()
            audit.record(session, actor=audit.SYSTEM, action="alert.long_wait", at=now, hall_id=hall.id,
                         queue_id=queue.id, minutes=minutes)
            events.append(AlertRaised(hall.id, {"id": alert.id, "kind": "long_wait", "window_id": None,
                                                "queue_id": queue.id, "message": msg, "raised_at": iso(now)}))
        elif not too_long and alert is not None:
            alert.cleared_at = now
            events.append(AlertCleared(hall.id, {"id": alert.id, "kind": "long_wait", "queue_id": queue.id}))
    return events

"""The hall calendar's entries: public holidays and make-up working days (调休), kept by managers."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.domain import calendar as halls
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import InvalidRequest, NotFound
from hall_queue.domain.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, Hall, Holiday

# ---------------------------------------------------------------- holidays

def add_holiday(session: Session, hall: Hall, *, day: date, kind: str, name: str, hours: list[Any] | None,
                now: datetime, actor: Actor) -> tuple[Holiday, int]:
    """Mark a closed day or a make-up working day; return it with the number of active bookings that day.

    Bookings already made for a day that becomes a holiday stay valid (they are honoured) and are
    listed for the manager to call; nothing is cancelled behind the visitor's back.
    """
    if kind not in ("holiday", "workday"):
        raise InvalidRequest("kind must be holiday or workday")
    norm: list[Any] = []
    if hours:
        try:
            norm = halls.validate_opening_hours({"mon": hours})["mon"]
        except ValueError as e:
            raise InvalidRequest(str(e).replace("mon: ", "hours: ")) from e
    row = session.scalar(select(Holiday).where(Holiday.hall_id == hall.id, Holiday.day == day))
    if row is None:
        row = Holiday(hall_id=hall.id, day=day)
        session.add(row)
    row.kind, row.name, row.hours = kind, name.strip()[:100], norm if kind == "workday" else []
    session.flush()
    affected = session.scalar(select(func.count(Appointment.id)).where(
        Appointment.hall_id == hall.id, Appointment.local_day == day,
        Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES))) or 0
    audit.record(session, actor=actor, action="appointments.holiday", at=now, hall_id=hall.id, day=day.isoformat(),
                 kind=kind)
    return row, affected


def remove_holiday(session: Session, hall: Hall, holiday_id: int, *, now: datetime, actor: Actor) -> None:
    row = session.get(Holiday, holiday_id)
    if row is None or row.hall_id != hall.id:
        raise NotFound(f"holiday {holiday_id} not found")
    session.delete(row)
    audit.record(session, actor=actor, action="appointments.holiday_removed", at=now, hall_id=hall.id,
                 day=row.day.isoformat())


def holiday_view(h: Holiday) -> dict[str, Any]:
    return {"id": h.id, "day": h.day.isoformat(), "kind": h.kind, "name": h.name, "hours": h.hours or []}


def holidays_of(session: Session, hall: Hall, since: date | None = None) -> list[Holiday]:
    q = select(Holiday).where(Holiday.hall_id == hall.id)
    if since is not None:
        q = q.where(Holiday.day >= since)
    return list(session.scalars(q.order_by(Holiday.day)))

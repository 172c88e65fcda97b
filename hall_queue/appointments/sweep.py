"""The appointments duty: settle finished bookings, mark no-shows, send reminders (000 §8.2.4)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Appointment, Hall, Notification
from hall_queue.infrastructure.sms import Notifier
from hall_queue.appointments.booking import settle
from hall_queue.appointments.settings import matter_of, settings_for
from hall_queue.appointments.views import slot_text

# ---------------------------------------------------------------- the sweep: settle, no-shows, reminders

@dataclass
class SweepResult:
    reminders: int = 0
    no_shows: int = 0
    settled: int = 0
    events: list[DomainEvent] = field(default_factory=list)


def sweep(session: Session, hall: Hall, *, now: datetime, notifier: Notifier | None) -> SweepResult:
    """One round for a hall: end served bookings, mark no-shows, queue due reminders (000 §8.2.4)."""
    st = settings_for(session, hall)
    result = SweepResult()
    checked = session.scalars(select(Appointment).where(Appointment.hall_id == hall.id,
                                                        Appointment.status == "checked_in")).all()
    for a in checked:
        settle(session, hall, a, now=now)
        result.settled += a.status != "checked_in"
    overdue = session.scalars(select(Appointment).where(Appointment.hall_id == hall.id, Appointment.status == "booked",
                                                        Appointment.slot_end <= now)).all()
    for a in overdue:
        result.events += settle(session, hall, a, now=now)
        result.no_shows += 1
    leads = sorted(st.reminder_minutes or [])
    if leads and notifier is not None:
        horizon = now + timedelta(minutes=leads[-1])
        upcoming = session.scalars(select(Appointment).where(
            Appointment.hall_id == hall.id, Appointment.status == "booked", Appointment.slot_start > now,
            Appointment.slot_start <= horizon)).all()
        for a in upcoming:
            # Only the closest due reminder: after downtime the visitor gets one message, not two.
            due = [lead for lead in leads if a.slot_start - timedelta(minutes=lead) <= now
                   and a.created_at < a.slot_start - timedelta(minutes=lead)]
            if not due:
                continue
            lead = min(due)
            key = f"appointment:{a.id}:reminder:{lead}"
            if session.scalar(select(Notification.id).where(Notification.dedup_key == key)) is not None:
                continue  # sent by an earlier sweep, maybe by another process or before a restart
            notifier.send(session, hall_id=hall.id, phone_cipher_or_phone=a.phone_cipher,
                                 kind="appointment_reminder", dedup_key=key, now=now,
                                 text=f"【{hall.name}】预约提醒：您预约的“{matter_of(a).name}”在{slot_text(hall, a)}，"
                                      f"请携带有效证件按时到大厅自助取号机签到（可提前{st.checkin_early_minutes}分钟）。"
                                      f"确认码 {a.code}。如不能前来，请在预约页面取消。")
            result.reminders += 1
    return result

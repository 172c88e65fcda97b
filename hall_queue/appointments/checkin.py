"""Check-in at the kiosk: from a little before the slot until the grace period after its start (000 §8.2)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.infrastructure import hall_store
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import InvalidRequest, NotFound, QueueClosed
from hall_queue.queueing.estimates import estimated_wait_s, people_ahead
from hall_queue.domain.events import DomainEvent
from hall_queue.access.identity import IdentityVault
from hall_queue.domain.models import Appointment, AppointmentSettings, Hall, Ticket
from hall_queue.queueing.presenters import iso
from hall_queue.queueing.ticketing import IssuedTicket, IssueRequest, issue_ticket
from hall_queue.appointments.booking import find_by_code, settle
from hall_queue.appointments.settings import AppointmentCheckedIn, TooEarly, matter_of, settings_for
from hall_queue.appointments.slots import local_today
from hall_queue.appointments.views import _local_hm, appointment_view, slot_text

# ---------------------------------------------------------------- check-in at the kiosk

@dataclass
class CheckinWindow:
    opens: datetime
    grace_ends: datetime
    state: str  # too_early | on_time | late | missed | checked_in | ended

    def view(self) -> dict[str, Any]:
        return {"state": self.state, "opens_at": iso(self.opens), "grace_until": iso(self.grace_ends)}


def checkin_window(st: AppointmentSettings, appt: Appointment, now: datetime) -> CheckinWindow:
    """Place ``now`` against a booking: [slot − early, slot + grace) on time; then late until the slot ends."""
    opens = appt.slot_start - timedelta(minutes=st.checkin_early_minutes)
    grace_ends = min(appt.slot_start + timedelta(minutes=st.checkin_grace_minutes), appt.slot_end)
    if appt.ticket_id is not None:
        state = "checked_in"
    elif appt.status not in ("booked", "no_show"):
        state = "ended"
    elif now < opens:
        state = "too_early"
    elif now < min(grace_ends, appt.slot_end):  # the grace never outlasts the slot: then it is a no-show
        state = "on_time"
    elif now < appt.slot_end and appt.status == "booked":
        state = "late"
    else:
        state = "missed"
    return CheckinWindow(opens, grace_ends, state)


def todays_bookings(session: Session, hall: Hall, id_hash: str, *, now: datetime) -> list[Appointment]:
    """Return the person's bookings for the hall's local today, earliest slot first."""
    return list(session.scalars(select(Appointment).where(
        Appointment.hall_id == hall.id, Appointment.id_hash == id_hash,
        Appointment.local_day == local_today(hall, now)).order_by(Appointment.slot_start, Appointment.id)))


@dataclass
class CheckIn:
    issued: IssuedTicket
    appointment: Appointment
    late: bool
    message: str
    message_en: str

    def view(self, hall: Hall) -> dict[str, Any]:
        return {**self.issued.view(), "booking": appointment_view(self.appointment, hall, with_code=True),
                "late": self.late, "message": self.message, "message_en": self.message_en}


_PREFERENCE = {"on_time": 0, "late": 1, "checked_in": 2, "too_early": 3, "missed": 4}


def check_in(session: Session, hall: Hall, *, now: datetime, vault: IdentityVault, actor: Actor,
             id_number: str | None = None, code: str | None = None,
             appointment_id: int | None = None) -> tuple[CheckIn, list[DomainEvent]]:
    """Check a visitor in by ID card or confirmation code and give them their ticket.

    On time: an appointment-priority ticket carrying the slot start (calling serves it first once
    the slot has begun). After the grace time: an ordinary ticket, and the answer says so. No
    booking today is not a refusal of service: the kiosk takes an ordinary ticket (004 §8.2).
    """
    st = settings_for(session, hall)
    if code:
        appt = find_by_code(session, hall, code)
        candidates = [appt] if appt is not None and (id_number is None or appt.id_hash == vault.id_hash(id_number)) \
            else []
        if candidates and candidates[0].local_day > local_today(hall, now):
            a = candidates[0]
            raise TooEarly(f"您的预约在{slot_text(hall, a)}，请当天再来签到", code="too_early")
        candidates = [a for a in candidates if a.local_day == local_today(hall, now)]
    elif id_number:
        candidates = todays_bookings(session, hall, vault.id_hash(id_number), now=now)
    else:
        raise InvalidRequest("请刷身份证或输入预约确认码", code="no_identity")
    if appointment_id is not None:
        candidates = [a for a in candidates if a.id == appointment_id]
    # Lock the chosen rows so two kiosks cannot check the same booking in twice (PostgreSQL).
    ids = [a.id for a in candidates]
    if ids:
        session.execute(select(Appointment.id).where(Appointment.id.in_(ids)).with_for_update())
        for a in candidates:
            session.refresh(a)
    events: list[DomainEvent] = []
    ranked = []
    for a in candidates:
        events += settle(session, hall, a, now=now) if a.status == "booked" and now >= a.slot_end else []
        w = checkin_window(st, a, now)
        if w.state in _PREFERENCE:
            ranked.append((_PREFERENCE[w.state], a.slot_start, a.id, a, w))
    if not ranked:
        raise NotFound("未找到您今天的有效预约。线下办理无需预约，可直接取普通号。", code="no_appointment")
    ranked.sort(key=lambda r: r[:3])
    _, _, _, appt, window = ranked[0]
    if window.state == "too_early":
        raise TooEarly(f"签到时间未到：您的预约在{slot_text(hall, appt)}，请于{_local_hm(hall, window.opens)}后签到；"
                       "也可直接取普通号。", code="too_early")
    m = matter_of(appt)
    if window.state == "checked_in":
        t = appt.ticket
        assert t is not None
        ahead = people_ahead(session, t)
        issued = IssuedTicket.of(t, ahead, estimated_wait_s(session, t.queue, ahead, hall.default_service_s),
                                 "already checked in", replayed=True)
        return CheckIn(issued, appt, appt.late, f"您已签到，排队号 {t.number}。", "Already checked in."), events
    if not hall_store.is_open_now(session, hall, now):
        raise QueueClosed("大厅尚未开始办公，请在办公时间内签到", code="hall_closed")
    on_time = window.state == "on_time"
    req = IssueRequest(
        item_ids=[m.item.id] if m.item is not None else [], bundle_id=m.bundle.id if m.bundle is not None else None,
        priority_class="appointment" if on_time else "ordinary", source="appointment" if on_time else "walk_in",
        slot_start=appt.slot_start if on_time else None, name=vault.decrypt(appt.name_cipher),
        id_number=vault.decrypt(appt.id_cipher), phone=vault.decrypt(appt.phone_cipher),
        idempotency_key=f"appointment-{appt.id}")
    issued, issue_events = issue_ticket(session, hall, req, now=now, vault=vault, actor=actor)
    events += issue_events
    appt.ticket_id = issued.id
    appt.ticket = session.get(Ticket, issued.id)
    slot = slot_text(hall, appt)
    if on_time:
        appt.status, appt.checked_in_at, appt.late = "checked_in", now, False
        msg = f"签到成功：预约号 {issued.number}（预约时段 {slot}），时段开始后优先叫号。"
        msg_en = f"Checked in: appointment ticket {issued.number}, called first once the slot begins."
    elif window.state == "late":
        appt.status, appt.checked_in_at, appt.late = "checked_in", now, True
        msg = (f"您已超过预约时段签到时间（{slot}，开始后{st.checkin_grace_minutes}分钟内签到），"
               f"已为您取普通号 {issued.number}，请按顺序等候。")
        msg_en = f"Past the check-in grace time: ordinary ticket {issued.number}, served in turn."
    else:
        appt.late = True  # stays a no-show: the slot ended before the visitor came
        msg = f"您的预约时段（{slot}）已结束，已为您取普通号 {issued.number}，请按顺序等候。"
        msg_en = f"Your slot has ended: ordinary ticket {issued.number}, served in turn."
    audit.record(session, actor=actor, action="appointment.check_in", at=now, hall_id=hall.id,
                 ticket_id=issued.id, appointment_id=appt.id, late=not on_time)
    events.append(AppointmentCheckedIn(hall.id, {"appointment": appointment_view(appt, hall)}))
    return CheckIn(issued, appt, not on_time, msg, msg_en), events

"""Booking, cancelling and settling a booking (000 §8.2.1–§8.2.5)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.domain import calendar as halls
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import InvalidRequest, NotFound, WrongState
from hall_queue.domain.events import DomainEvent
from hall_queue.access.identity import IdentityVault, mask_id_number, mask_name, mask_phone
from hall_queue.domain.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    OPEN_STATUSES,
    Appointment,
    AppointmentClaim,
    Hall,
    Ticket,
)
from hall_queue.infrastructure.sms import Notifier
from hall_queue.queueing.presenters import iso
from hall_queue.appointments.capacity import _rules, booking_capacity, booking_opens, slot_capacity
from hall_queue.appointments.no_shows import blocked_until
from hall_queue.appointments.settings import (
    AlreadyBooked,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentNoShow,
    BookingBlocked,
    CODE_ALPHABET,
    CODE_LENGTH,
    PUBLIC,
    SlotFull,
    SlotUnavailable,
    _ID_NUMBER,
    _PHONE,
    matter_key,
    matter_of,
    resolve_matter,
    settings_for,
)
from hall_queue.appointments.slots import find_slot, local_today
from hall_queue.appointments.views import appointment_view, slot_text
from hall_queue.appointments.walk_in_seats import _return_seat, _slot_row, _take_seat

# ---------------------------------------------------------------- ending a booking (000 §8.2.3)

def _release_claims(session: Session, appt: Appointment) -> None:
    session.execute(delete(AppointmentClaim).where(AppointmentClaim.appointment_id == appt.id))


def ticket_chain_states(session: Session, ticket_ids: list[int]) -> dict[int, str]:
    """Return each ticket's state in one query: ``open`` while any leg waits or is in hand, else ``done`` or ``closed``."""
    legs: dict[int, set[str]] = {t: set() for t in ticket_ids}
    if not legs:
        return {}
    for tid, origin, status in session.execute(select(Ticket.id, Ticket.origin_ticket_id, Ticket.status).where(
            or_(Ticket.id.in_(legs), Ticket.origin_ticket_id.in_(legs)))):
        for key in (tid, origin):
            if key in legs:
                legs[key].add(status)
    return {t: "open" if s & set(OPEN_STATUSES) else "done" if "done" in s else "closed" for t, s in legs.items()}


def _ticket_chain_state(session: Session, ticket_id: int) -> str:
    return ticket_chain_states(session, [ticket_id])[ticket_id]


def settle(session: Session, hall: Hall, appt: Appointment, *, now: datetime) -> list[DomainEvent]:
    """Bring a booking up to date: served/closed once its ticket is finished, no-show after its slot."""
    events: list[DomainEvent] = []
    if appt.status == "checked_in" and appt.ticket_id is not None:
        state = _ticket_chain_state(session, appt.ticket_id)
        if state != "open":
            appt.status = "served" if state == "done" else "closed"
            appt.ended_at = now
            _release_claims(session, appt)
    elif appt.status == "booked" and now >= appt.slot_end:
        # Not checked in by the end of its slot: a no-show. The claim ends too, so the person may
        # book again (unless the no-show rule blocks them).
        appt.status = "no_show"
        appt.ended_at = now
        _release_claims(session, appt)
        audit.record(session, actor=audit.SYSTEM, action="appointment.no_show", at=now, hall_id=hall.id,
                     appointment_id=appt.id)
        events.append(AppointmentNoShow(hall.id, {"appointment": appointment_view(appt, hall)}))
    return events


# ---------------------------------------------------------------- booking (000 §8.2.1–8.2.3)

class SlotOnHold(SlotFull):
    code = "slot_on_hold"


def _held_seats(session: Session, hall: Hall, slot_id: int, now: datetime) -> int:
    """Seats of this slot given back by cancellations within the hall's hold time (issue 17)."""
    hold = hall.cancelled_slot_hold_min
    if hold <= 0:
        return 0
    return session.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.slot_id == slot_id, Appointment.status == "cancelled",
        Appointment.ended_at > now - timedelta(minutes=hold))) or 0

@dataclass
class BookingRequest:
    slot: datetime  # the slot's local start, naive
    name: str
    id_number: str
    phone: str
    item_id: int | None = None
    bundle_id: int | None = None


_PERSON_ERRORS = {"name": ("请填写姓名（50字以内）", "invalid_name"),
                  "id_number": ("证件号码格式不正确", "invalid_id_number"),
                  "phone": ("请填写11位手机号码", "invalid_phone")}


def person_errors(name: str | None, id_number: str | None, phone: str | None) -> dict[str, str]:
    """Return every problem with who is booking, field → message, so a form can say them all at once."""
    bad = {"name": not name or not name.strip() or len(name.strip()) > 50,
           "id_number": not _ID_NUMBER.match((id_number or "").strip()),
           "phone": not _PHONE.match((phone or "").strip())}
    return {field: _PERSON_ERRORS[field][0] for field, wrong in bad.items() if wrong}


def _validate_person(req: BookingRequest) -> None:
    errors = person_errors(req.name, req.id_number, req.phone)
    if errors:
        field = next(iter(errors))
        raise InvalidRequest(errors[field], code=_PERSON_ERRORS[field][1])


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _notify(notifier: Notifier | None, session: Session, hall: Hall, appt: Appointment, kind: str, text: str,
            now: datetime, key_suffix: str) -> None:
    if notifier is None:
        return
    notifier.send(session, hall_id=hall.id, phone_cipher_or_phone=appt.phone_cipher, kind=kind, text=text,
                  dedup_key=f"appointment:{appt.id}:{key_suffix}", now=now)


def book(session: Session, hall: Hall, req: BookingRequest, *, now: datetime, vault: IdentityVault,
         notifier: Notifier | None, actor: Actor = PUBLIC) -> tuple[Appointment, list[DomainEvent]]:
    """Book a slot for a person; exactly one of two simultaneous bookings of the last seat wins."""
    _validate_person(req)
    st = settings_for(session, hall)
    matter = resolve_matter(session, hall, matter_key(item_id=req.item_id, bundle_id=req.bundle_id))
    # A matter no queue serves could never be called: refuse it now, not at check-in.
    served = (matter.bundle.queue is not None and matter.bundle.queue.active) if matter.bundle is not None \
        else all(any(q.active for q in i.queues) for i in matter.items)
    if not served:
        raise InvalidRequest("该事项暂不提供预约", code="item_not_served")
    slot = find_slot(session, hall, st, req.slot.replace(second=0, microsecond=0))
    if slot is None or req.slot.second or req.slot.microsecond:
        raise SlotUnavailable("所选时段不是大厅的预约时段（可能是休息日或非办公时间）", code="no_such_slot")
    ok, why = booking_opens(st, slot, now, local_today(hall, now))
    if not ok:
        raise SlotUnavailable("该时段已停止预约，请选择其他时段" if why == "closed" else
                              f"只能预约{st.book_days_ahead}天内的时段", code="booking_closed" if why == "closed"
                              else "too_far_ahead")
    id_number = req.id_number.strip().upper()
    id_hash = vault.id_hash(id_number)
    until = blocked_until(session, hall, st, id_hash, now)
    if until is not None:
        until_local = halls.local_time(hall, until)
        raise BookingBlocked(f"您近{st.no_show_window_days}天内预约未到{st.no_show_limit}次，"
                             f"{until_local:%Y-%m-%d}前暂停网上预约；现场取号办理不受影响")
    # 000 §8.2.3: one active booking per ID number per item; earlier bookings may have just ended.
    item_ids = [i.id for i in matter.items]
    held = session.scalars(select(Appointment).join(AppointmentClaim, AppointmentClaim.appointment_id == Appointment.id)
                           .where(AppointmentClaim.hall_id == hall.id, AppointmentClaim.id_hash == id_hash,
                                  AppointmentClaim.item_id.in_(item_ids))).unique().all()
    events: list[DomainEvent] = []
    for other in held:
        events += settle(session, hall, other, now=now)
        if other.status in ACTIVE_APPOINTMENT_STATUSES:
            # Which booking, so a visitor whose first answer was lost knows it stands; never its code (with the
            # ID number it cancels), only the phone masked as the booking's SMS went to it, and that the card
            # checks in without the code.
            raise AlreadyBooked(f"您已预约“{matter_of(other).name}”（{slot_text(hall, other)}，登记手机"
                                f"{other.masked_phone}），到大厅刷身份证即可签到；办理完成或取消后才能再次预约同一事项")
    cap = slot_capacity(_rules(session, hall, matter.key), slot, st.default_capacity)
    bcap = booking_capacity(cap, st, matter)
    row = _slot_row(session, hall, matter.key, slot.start)
    # Issue 17 (slot trading): a seat given back by a cancellation stays closed to bookings for the
    # hall's ``cancelled_slot_hold_min``, so a booking cancelled for a buyer cannot be rebooked at once.
    held = _held_seats(session, hall, row.id, now)
    if held and not _take_seat(session, row, booking_cap=bcap - held, capacity=cap - held):
        raise SlotOnHold(f"该时段有刚被取消的预约名额，{hall.cancelled_slot_hold_min}分钟内暂不开放预约，"
                         "请选择其他时段或稍后再试")
    if not held and not _take_seat(session, row, booking_cap=bcap, capacity=cap):
        raise SlotFull("该时段预约已满，请选择其他时段")
    appt = Appointment(
        hall_id=hall.id, matter=matter.key, item_id=matter.item.id if matter.item else None,
        bundle_id=matter.bundle.id if matter.bundle else None, slot_id=row.id, slot_start=slot.start,
        slot_end=slot.end, local_day=slot.day, status="booked", masked_name=mask_name(req.name),
        masked_id=mask_id_number(id_number), masked_phone=mask_phone(req.phone), id_hash=id_hash,
        name_cipher=vault.encrypt(req.name.strip()), id_cipher=vault.encrypt(id_number),
        phone_cipher=vault.encrypt(req.phone.strip()), created_at=now, late=False)
    appt.code = _new_code()
    while session.scalar(select(Appointment.id).where(Appointment.hall_id == hall.id, Appointment.code == appt.code)):
        appt.code = _new_code()  # 32**8 codes: a repeat is rare, and the unique key still guards it
    session.add(appt)
    session.flush()
    try:
        with session.begin_nested():
            session.add_all([AppointmentClaim(hall_id=hall.id, item_id=i, id_hash=id_hash, appointment_id=appt.id)
                             for i in item_ids])
    except IntegrityError as e:
        # The same person booked the same item in a transaction that committed a moment ago.
        raise AlreadyBooked("您已预约过该事项，办理完成或取消后才能再次预约同一事项") from e
    appt.item, appt.bundle = matter.item, matter.bundle
    _notify(notifier, session, hall, appt, "appointment_booked",
            f"【{hall.name}】预约成功：“{matter.name}”，{slot_text(hall, appt)}，确认码 {appt.code}。"
            f"请按时到大厅自助取号机刷身份证签到。", now, "booked")
    audit.record(session, actor=actor, action="appointment.book", at=now, hall_id=hall.id, appointment_id=appt.id,
                 matter=matter.key, slot_start=iso(slot.start))
    events.append(AppointmentBooked(hall.id, {"appointment": appointment_view(appt, hall)}))
    return appt, events


def find_by_code(session: Session, hall: Hall, code: str) -> Appointment | None:
    code = (code or "").strip().upper()
    if not code or len(code) > 12:
        return None
    return session.scalar(select(Appointment).where(Appointment.hall_id == hall.id, Appointment.code == code))


def cancel(session: Session, hall: Hall, *, code: str, id_number: str, now: datetime, vault: IdentityVault,
           notifier: Notifier | None, actor: Actor = PUBLIC) -> tuple[Appointment, list[DomainEvent]]:
    """Cancel a booking before or during its slot (000 §8.2.5); its seat goes back to the slot."""
    appt = find_by_code(session, hall, code)
    if appt is None or not id_number or appt.id_hash != vault.id_hash(id_number):
        raise NotFound("确认码与证件号码不匹配，未找到预约", code="appointment_not_found")
    events = settle(session, hall, appt, now=now)
    if appt.status == "cancelled":
        return appt, events  # a repeated cancel (double tap) is not an error
    if appt.status == "no_show" or now >= appt.slot_end:
        raise WrongState("预约时段已结束，不能再取消", code="slot_over")
    if appt.status != "booked":
        raise WrongState("您已签到取号，如不再办理请告知工作人员", code="already_checked_in")
    return appt, events + _cancel(session, hall, appt, now=now, notifier=notifier, actor=actor)


def cancel_by_staff(session: Session, hall: Hall, appt: Appointment, *, now: datetime, notifier: Notifier | None,
                    actor: Actor) -> list[DomainEvent]:
    """Cancel a booking for the visitor (e.g. the day became a holiday); they get a message."""
    events = settle(session, hall, appt, now=now)
    if appt.status != "booked":
        raise WrongState(f"appointment {appt.id} is {appt.status}; only a booked one can be cancelled")
    return events + _cancel(session, hall, appt, now=now, notifier=notifier, actor=actor)


def _cancel(session: Session, hall: Hall, appt: Appointment, *, now: datetime, notifier: Notifier | None,
            actor: Actor) -> list[DomainEvent]:
    appt.status = "cancelled"
    appt.ended_at = now
    _return_seat(session, appt.slot_id)
    _release_claims(session, appt)
    _notify(notifier, session, hall, appt, "appointment_cancelled",
            f"【{hall.name}】您预约的“{matter_of(appt).name}”（{slot_text(hall, appt)}）已取消。", now, "cancelled")
    audit.record(session, actor=actor, action="appointment.cancel", at=now, hall_id=hall.id, appointment_id=appt.id)
    return [AppointmentCancelled(hall.id, {"appointment": appointment_view(appt, hall)})]

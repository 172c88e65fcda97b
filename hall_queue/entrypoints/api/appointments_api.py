"""Appointments API: public booking and cancelling, kiosk check-in, managers' calendar (000 §8.2)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from flask import current_app, g, request
from pydantic import Field, StringConstraints
from sqlalchemy.orm import Session

from hall_queue.domain import vocabulary as V
from hall_queue import appointments as A
from hall_queue.domain.errors import InvalidRequest, NotFound
from hall_queue.domain.models import Appointment, Bundle, Queue, ServiceItem, Ticket
from hall_queue.infrastructure.sms import notifier_for
from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.api import replays
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.api.base import MANAGERS, STAFF, get_hall, get_row, now, operation, write
from hall_queue.entrypoints.api.registry import OPERATIONS

Code = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9]{4,12}$")]
MatterKey = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[ib][0-9]{1,10}$")]
Minutes = Annotated[int, Field(ge=-240, le=10080)]


class BookIn(S.In):
    """Book a slot for an item or a bundle (一件事); ``slot`` is the slot's local start, e.g. 2026-03-03T10:00."""

    item_id: S.Id | None = None
    bundle_id: S.Id | None = None
    slot: datetime
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    id_number: S.IdNumber
    phone: S.Phone


class CancelIn(S.In):
    code: Code
    id_number: S.IdNumber


class CheckInIn(S.In):
    """Check in by ID card (``id_number``) or by the confirmation ``code``."""

    id_number: S.IdNumber | None = None
    code: Code | None = None
    appointment_id: S.Id | None = None


class WalkInIn(S.In):
    ticket_id: S.Id


class SettingsIn(S.In):
    slot_minutes: Annotated[int, Field(ge=5, le=240)] | None = None
    default_capacity: Annotated[int, Field(ge=0, le=999)] | None = None
    booking_share_pct: Annotated[int, Field(ge=0, le=100)] | None = None
    book_days_ahead: Annotated[int, Field(ge=0, le=90)] | None = None
    book_close_minutes: Minutes | None = None
    checkin_early_minutes: Annotated[int, Field(ge=0, le=240)] | None = None
    checkin_grace_minutes: Annotated[int, Field(ge=0, le=240)] | None = None
    reminder_minutes: Annotated[list[Annotated[int, Field(ge=1, le=10080)]], Field(max_length=5)] | None = None
    no_show_limit: Annotated[int, Field(ge=0, le=100)] | None = None
    no_show_window_days: Annotated[int, Field(ge=1, le=365)] | None = None
    no_show_block_days: Annotated[int, Field(ge=0, le=365)] | None = None


class CapacityIn(S.In):
    """Seats per slot (最大预约数): ``day`` is *, mon..sun or a date; ``time`` is * or a slot's HH:MM; null removes."""

    matter: MatterKey
    day: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)] = "*"
    time: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5)] = "*"
    capacity: Annotated[int, Field(ge=0, le=999)] | None


class HolidayIn(S.In):
    day: date
    kind: V.CalendarKind = V.HOLIDAY
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    hours: Annotated[list[Annotated[list[str], Field(min_length=2, max_length=2)]], Field(max_length=6)] = Field(
        default_factory=list)


class BookingOut(S.Out):
    id: int
    matter: str
    matter_name: str
    date: str
    start: str
    end: str
    slot_start: str
    slot_end: str
    status: str
    masked_name: str
    masked_id: str


class CheckInOut(S.IssuedOut):
    booking: dict[str, Any]
    late: bool
    message: str


class DayOut(S.Out):
    date: str
    slots: list[dict[str, Any]]


class WalkInOut(S.Out):
    allowed: bool
    remaining: int


def _query(endpoint: str, **params: dict[str, Any]) -> None:
    """Describe an operation's query parameters in the OpenAPI document."""
    for op in OPERATIONS:
        if op.endpoint == endpoint:
            op.query.update(params)


def _day_arg(name: str = "date") -> date | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError as e:
        raise InvalidRequest(f"{name} must be YYYY-MM-DD") from e


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= V.MAX_ID:
        raise InvalidRequest(f"{name} must be a positive whole number")
    return int(raw)


# ---------------------------------------------------------------- public: booking (000 §8.2.1, §8.2.5)

@operation("/halls/<int:hall_id>/appointments/options", "GET", roles=("public",),
           summary="List what can be booked and on which days", response=S.Out, tags=("appointments",))
def appointment_options(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        st = A.settings_for(s, hall)
        days = []
        for d in A.bookable_days(hall, st, now()):
            _, hol = A.day_plan(s, hall, d)
            days.append({"date": d.isoformat(), "weekday": A.WEEKDAYS[d.weekday()],
                         "open": bool(A.slots_of_day(s, hall, st, d)),
                         "holiday": {"kind": hol.kind, "name": hol.name} if hol is not None else None})
        return {"hall": {"id": hall.id, "name": hall.name, "timezone": hall.timezone},
                "slot_minutes": st.slot_minutes, "book_days_ahead": st.book_days_ahead,
                "checkin_early_minutes": st.checkin_early_minutes, "checkin_grace_minutes": st.checkin_grace_minutes,
                "days": days, **A.bookable_matters(s, hall)}


@operation("/halls/<int:hall_id>/appointments/slots", "GET", roles=("public",),
           summary="List a day's slots of a matter with seats left", response=DayOut, tags=("appointments",))
def appointment_slots(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        matter = A.resolve_matter(s, hall, request.args.get("matter", ""))
        day = _day_arg() or A.local_today(hall, now())
        return A.day_calendar(s, hall, matter, day, now=now())


_query("appointment_slots", matter={"type": "string", "pattern": "^[ib][0-9]+$"},
       date={"type": "string", "format": "date"})


@operation("/halls/<int:hall_id>/appointments", "POST", roles=("public",), summary="Book an appointment",
           body=BookIn, response=BookingOut, status=201, tags=("appointments",), errors=(403,),
           headers=replays.IDEMPOTENCY)
def appointment_book(hall_id: int, body: BookIn):
    rt = runtime()
    key = replays.header_key()
    notifier = notifier_for(_app())

    def do(s: Session):
        hall = get_hall(s, hall_id)
        req = A.BookingRequest(slot=body.slot.replace(tzinfo=None), name=body.name, id_number=body.id_number,
                               phone=body.phone, item_id=body.item_id, bundle_id=body.bundle_id)
        appt, events = A.book(s, hall, req, now=now(), vault=rt.vault, notifier=notifier)
        return A.appointment_view(appt, hall, with_code=True), events
    # A retry whose first answer was lost gets the booking (and its code) again, not 409 already_booked.
    answer, replayed = replays.once(do, kept=replays.visitor(f"booking:{hall_id}"), key=key,
                                    payload=body.model_dump_json())
    return answer, 200 if replayed else 201


@operation("/halls/<int:hall_id>/appointments/cancel", "POST", roles=("public",),
           summary="Cancel an appointment with its code and ID number", body=CancelIn, response=BookingOut,
           tags=("appointments",))
def appointment_cancel(hall_id: int, body: CancelIn):
    rt = runtime()
    notifier = notifier_for(_app())

    def do(s: Session):
        hall = get_hall(s, hall_id)
        appt, events = A.cancel(s, hall, code=body.code, id_number=body.id_number, now=now(), vault=rt.vault,
                                notifier=notifier)
        return A.appointment_view(appt, hall), events
    return write(do)


# ---------------------------------------------------------------- kiosk: today's bookings, check-in, walk-ins

@operation("/halls/<int:hall_id>/appointments/today", "GET", roles=("kiosk",) + MANAGERS,
           summary="List today's bookings of one person", response=S.ListOut, tags=("appointments",))
def appointment_today(hall_id: int):
    rt = runtime()
    id_number = (request.args.get("id_number") or "").strip()
    code = (request.args.get("code") or "").strip()
    if not id_number and not code:
        raise InvalidRequest("give id_number or code", code="no_identity")
    with rt.db.read() as s:
        hall = get_hall(s, hall_id)
        st = A.settings_for(s, hall)
        if code:
            a = A.find_by_code(s, hall, code)
            rows = [a] if a is not None and a.local_day == A.local_today(hall, now()) else []
        else:
            rows = A.todays_bookings(s, hall, rt.vault.id_hash(id_number), now=now())
        return {"items": [{**A.appointment_view(a, hall), "checkin": A.checkin_window(st, a, now()).view()}
                          for a in rows]}


_query("appointment_today", id_number={"type": "string"}, code={"type": "string"})


@operation("/halls/<int:hall_id>/appointments/check-in", "POST", roles=("kiosk",) + MANAGERS,
           summary="Check in for an appointment and take its ticket", body=CheckInIn, response=CheckInOut,
           status=201, tags=("appointments",))
def appointment_check_in(hall_id: int, body: CheckInIn):
    rt = runtime()
    if not body.id_number and not body.code:
        raise InvalidRequest("请刷身份证或输入预约确认码", code="no_identity")

    def do(s: Session):
        hall = get_hall(s, hall_id)
        result, events = A.check_in(s, hall, now=now(), vault=rt.vault, actor=g.actor, id_number=body.id_number,
                                    code=body.code, appointment_id=body.appointment_id)
        return (result.view(hall), 200 if result.issued.replayed else 201), events
    return write(do)


@operation("/halls/<int:hall_id>/appointments/walk-in", "GET", roles=("kiosk",) + STAFF,
           summary="Tell whether the current slot has walk-in seats", response=WalkInOut, tags=("appointments",))
def appointment_walk_in_status(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        given = [(ServiceItem, _int_arg("item_id"), "service item"), (Bundle, _int_arg("bundle_id"), "bundle"),
                 (Queue, _int_arg("queue_id"), "queue")]
        chosen = [(m, i, w) for m, i, w in given if i is not None]
        if len(chosen) != 1:
            raise InvalidRequest("give exactly one of item_id, bundle_id, queue_id")
        model, ident, what = chosen[0]
        target = get_row(s, model, ident, what)
        if target.hall_id != hall.id:
            raise NotFound(f"{what} {ident} not found in this hall")
        return A.walk_in_allowed(s, hall, target, now()).view()


_query("appointment_walk_in_status", item_id={"type": "integer"}, bundle_id={"type": "integer"},
       queue_id={"type": "integer"})


@operation("/halls/<int:hall_id>/appointments/walk-in", "POST", roles=("kiosk",) + MANAGERS,
           summary="Count a walk-in ticket on its slot's shared seats", body=WalkInIn, response=WalkInOut,
           tags=("appointments",))
def appointment_walk_in_consume(hall_id: int, body: WalkInIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        ticket = get_row(s, Ticket, body.ticket_id, "ticket")
        return A.consume_walk_in(s, hall, ticket, now()).view(), []
    return write(do)


# ---------------------------------------------------------------- managers

@operation("/halls/<int:hall_id>/appointments", "GET", roles=MANAGERS, summary="List a day's bookings",
           response=S.ListOut, tags=("appointments",))
def appointment_list(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        day = _day_arg() or A.local_today(hall, now())
        rows = A.day_bookings(s, hall, day, now=now())
        return {"date": day.isoformat(), "summary": A.day_summary(rows), "items": rows}


_query("appointment_list", date={"type": "string", "format": "date"})


@operation("/halls/<int:hall_id>/appointments/<int:appointment_id>/cancel", "POST", roles=MANAGERS,
           summary="Cancel a booking for the visitor", response=BookingOut, tags=("appointments",))
def appointment_staff_cancel(hall_id: int, appointment_id: int):
    notifier = notifier_for(_app())

    def do(s: Session):
        hall = get_hall(s, hall_id)
        appt = get_row(s, Appointment, appointment_id, "appointment")
        if appt.hall_id != hall.id:
            raise NotFound(f"appointment {appointment_id} not found")
        events = A.cancel_by_staff(s, hall, appt, now=now(), notifier=notifier, actor=g.actor)
        return A.appointment_view(appt, hall), events
    return write(do)


@operation("/halls/<int:hall_id>/appointments/no-shows", "GET", roles=MANAGERS,
           summary="List recent no-shows and blocked bookers", response=S.ListOut, tags=("appointments",))
def appointment_no_shows(hall_id: int):
    with runtime().db.read() as s:
        return A.no_show_report(s, get_hall(s, hall_id), now=now())


@operation("/halls/<int:hall_id>/appointments/settings", "GET", roles=MANAGERS,
           summary="Read the booking settings", response=S.Out, tags=("appointments",))
def appointment_settings(hall_id: int):
    with runtime().db.read() as s:
        return A.settings_view(A.settings_for(s, get_hall(s, hall_id)))


@operation("/halls/<int:hall_id>/appointments/settings", "PUT", roles=MANAGERS,
           summary="Change the booking settings", body=SettingsIn, response=S.Out, tags=("appointments",))
def appointment_settings_update(hall_id: int, body: SettingsIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        st = A.update_settings(s, hall, body.model_dump(exclude_none=True), now=now(), actor=g.actor)
        return A.settings_view(st), []
    return write(do)


@operation("/halls/<int:hall_id>/appointments/capacity", "GET", roles=MANAGERS,
           summary="Read the capacity calendar of a matter", response=S.Out, tags=("appointments",))
def appointment_capacity(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        start = _day_arg("from") or A.local_today(hall, now())
        days = min(_int_arg("days") or 7, 31)
        out: dict[str, Any] = {"rules": A.capacity_rules(s, hall)}
        if request.args.get("matter"):
            matter = A.resolve_matter(s, hall, request.args["matter"])
            out["matter"] = matter.key
            out["matter_name"] = matter.name
            out["days"] = [A.day_calendar(s, hall, matter, start + timedelta(days=n), now=now()) for n in range(days)]
        return out


_query("appointment_capacity", matter={"type": "string"}, **{"from": {"type": "string", "format": "date"}},
       days={"type": "integer", "maximum": 31})


@operation("/halls/<int:hall_id>/appointments/capacity", "PUT", roles=MANAGERS,
           summary="Set the seats of a matter per slot", body=CapacityIn, response=S.Out, tags=("appointments",))
def appointment_capacity_set(hall_id: int, body: CapacityIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        A.set_capacity(s, hall, matter=body.matter, day=body.day, time_=body.time, capacity=body.capacity,
                       now=now(), actor=g.actor)
        return {"rules": A.capacity_rules(s, hall)}, []
    return write(do)


@operation("/halls/<int:hall_id>/appointments/holidays", "GET", roles=MANAGERS, summary="List holidays",
           response=S.ListOut, tags=("appointments",))
def appointment_holidays(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        return {"items": [A.holiday_view(h) for h in A.holidays_of(s, hall)]}


@operation("/halls/<int:hall_id>/appointments/holidays", "POST", roles=MANAGERS,
           summary="Add a holiday or a make-up working day", body=HolidayIn, response=S.Out, status=201,
           tags=("appointments",))
def appointment_holiday_add(hall_id: int, body: HolidayIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        row, affected = A.add_holiday(s, hall, day=body.day, kind=body.kind, name=body.name, hours=body.hours,
                                      now=now(), actor=g.actor)
        return {**A.holiday_view(row), "affected_bookings": affected}, []
    return write(do)


@operation("/halls/<int:hall_id>/appointments/holidays/<int:holiday_id>", "DELETE", roles=MANAGERS,
           summary="Remove a holiday", response=S.OkOut, tags=("appointments",))
def appointment_holiday_remove(hall_id: int, holiday_id: int):
    def do(s: Session):
        A.remove_holiday(s, get_hall(s, hall_id), holiday_id, now=now(), actor=g.actor)
        return {"ok": True}, []
    return write(do)


def _app():
    return current_app._get_current_object()  # the notifier is built once and cached on the app

"""Plain-dict views of bookings for the API and pages (identity masked)."""
from __future__ import annotations

from datetime import datetime
from typing import Any


from hall_queue.domain import calendar as halls
from hall_queue.domain.models import Appointment, Hall
from hall_queue.queueing.presenters import iso
from hall_queue.appointments.settings import matter_of

# ---------------------------------------------------------------- views

def _local_hm(hall: Hall, dt: datetime) -> str:
    return halls.local_time(hall, dt).strftime("%H:%M")


def slot_text(hall: Hall, a: Appointment) -> str:
    start = halls.local_time(hall, a.slot_start)
    return f"{start.month}月{start.day}日 {start:%H:%M}-{_local_hm(hall, a.slot_end)}"


def appointment_view(a: Appointment, hall: Hall, *, with_code: bool = False) -> dict[str, Any]:
    """Return what pages and devices may see of a booking: identity masked, the code only to its owner."""
    m = matter_of(a)
    view = {
        "id": a.id, "matter": a.matter, "item_id": a.item_id, "bundle_id": a.bundle_id, "matter_name": m.name,
        "item_name": m.name, "slot_label": slot_text(hall, a),
        "date": a.local_day.isoformat(), "start": _local_hm(hall, a.slot_start), "end": _local_hm(hall, a.slot_end),
        "slot_start": iso(a.slot_start), "slot_end": iso(a.slot_end), "status": a.status, "late": a.late,
        "masked_name": a.masked_name, "masked_id": a.masked_id, "masked_phone": a.masked_phone,
        "created_at": iso(a.created_at), "checked_in_at": iso(a.checked_in_at), "ticket_id": a.ticket_id,
        "ticket_number": a.ticket.number if a.ticket is not None else None,
        "ticket_status": a.ticket.status if a.ticket is not None else None,
    }
    if with_code:
        view["code"] = a.code
    return view

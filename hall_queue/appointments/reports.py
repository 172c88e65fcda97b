"""Managers' lists: a day's bookings, the no-show report and the bookable matters."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hall_queue.domain import calendar as halls
from hall_queue.domain.models import Appointment, Bundle, Hall
from hall_queue.queueing.presenters import iso
from hall_queue.appointments.booking import ticket_chain_states
from hall_queue.appointments.checkin import checkin_window
from hall_queue.appointments.no_shows import block_until
from hall_queue.appointments.settings import settings_for
from hall_queue.appointments.views import appointment_view

# ---------------------------------------------------------------- manager lists

def day_bookings(session: Session, hall: Hall, day: date, *, now: datetime) -> list[dict[str, Any]]:
    """Return a day's bookings with their check-in state, earliest slot first (manager page)."""
    st = settings_for(session, hall)
    rows = session.scalars(select(Appointment).options(selectinload(Appointment.ticket))
                           .where(Appointment.hall_id == hall.id, Appointment.local_day == day)
                           .order_by(Appointment.slot_start, Appointment.id)).all()
    # A checked-in booking whose ticket is finished reads as served (or closed) at once, as the duty sweep will
    # record it a few seconds later: one query for all of them.
    states = ticket_chain_states(session, [a.ticket_id for a in rows if a.status == "checked_in" and a.ticket_id])
    out = []
    for a in rows:
        view = {**appointment_view(a, hall, with_code=True), "checkin": checkin_window(st, a, now).view()}
        state = states.get(a.ticket_id, "open") if a.status == "checked_in" else "open"
        if state != "open":
            view["status"] = "served" if state == "done" else "closed"
        out.append(view)
    return out


def day_summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    out = {"total": len(rows), "booked": 0, "checked_in": 0, "served": 0, "cancelled": 0, "no_show": 0,
           "closed": 0, "late": 0}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
        out["late"] += bool(r["late"])
    return out


def no_show_report(session: Session, hall: Hall, *, now: datetime) -> dict[str, Any]:
    """List recent no-shows and the people whose online booking is blocked (masked)."""
    st = settings_for(session, hall)
    since = now - timedelta(days=st.no_show_window_days + st.no_show_block_days)
    rows = session.scalars(select(Appointment).where(Appointment.hall_id == hall.id, Appointment.status == "no_show",
                                                     Appointment.slot_end >= since)
                           .order_by(Appointment.slot_start.desc(), Appointment.id.desc())).all()
    recent = [appointment_view(a, hall) for a in rows if a.slot_end >= now - timedelta(days=st.no_show_window_days)]
    people: dict[str, dict[str, Any]] = {}
    for a in rows:
        p = people.setdefault(a.id_hash, {"masked_name": a.masked_name, "masked_id": a.masked_id, "times": []})
        p["times"].append(a.slot_end)
    blocked = []
    for p in people.values():
        until = block_until(p["times"], limit=st.no_show_limit, window_days=st.no_show_window_days,
                            block_days=st.no_show_block_days)
        if until is not None and until > now:
            recent_count = sum(1 for t in p["times"] if t >= now - timedelta(days=st.no_show_window_days))
            blocked.append({"masked_name": p["masked_name"], "masked_id": p["masked_id"], "no_shows": recent_count,
                            "blocked_until": iso(until),
                            "blocked_until_local": halls.local_time(hall, until).strftime("%Y-%m-%d %H:%M")})
    blocked.sort(key=lambda b: b["blocked_until"], reverse=True)
    return {"items": recent, "blocked": blocked, "rule": {"limit": st.no_show_limit,
                                                          "window_days": st.no_show_window_days,
                                                          "block_days": st.no_show_block_days}}


def bookable_matters(session: Session, hall: Hall) -> dict[str, Any]:
    """List what can be booked: active items some queue serves, by field (领域), and active bundles (一件事)."""
    from hall_queue.domain.models import ServiceCategory

    cats = session.scalars(select(ServiceCategory).where(ServiceCategory.hall_id == hall.id)
                           .order_by(ServiceCategory.sort, ServiceCategory.id)).all()
    out = []
    for c in cats:
        items = [{"matter": f"i{i.id}", "id": i.id, "code": i.code, "name": i.name, "name_en": i.name_en,
                  "pinyin_initials": i.pinyin_initials}
                 for i in c.items if i.active and any(q.active for q in i.queues)]
        if items:
            out.append({"id": c.id, "name": c.name, "items": items})
    bundles = session.scalars(select(Bundle).where(Bundle.hall_id == hall.id, Bundle.active.is_(True))
                              .order_by(Bundle.id)).all()
    return {"categories": out, "bundles": [{"matter": f"b{b.id}", "id": b.id, "code": b.code, "name": b.name,
                                            "name_en": b.name_en, "description": b.description} for b in bundles]}

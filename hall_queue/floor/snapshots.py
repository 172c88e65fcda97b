"""Full snapshots a screen or console receives on (re)connect, before any event."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.domain import calendar as halls
from hall_queue.infrastructure import hall_store
from hall_queue.queueing.calling import ticket_in_hand
from hall_queue.domain.models import Alert, Hall, Queue, Ticket, Window
from hall_queue.floor.notices import snapshot_notices
from hall_queue.queueing.presenters import iso, ticket_view, window_view
from hall_queue.queueing.ticketing import queue_stats


def _recent_calls(session: Session, hall: Hall, day, limit: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Ticket, Window).join(Window, Window.id == Ticket.window_id)
        .where(Ticket.hall_id == hall.id, Ticket.service_day == day, Ticket.called_at.is_not(None))
        .order_by(Ticket.called_at.desc(), Ticket.id.desc()).limit(limit)
    ).all()
    return [{"ticket_id": t.id, "number": t.number, "window_id": w.id, "window_number": w.number,
             "window_name": w.name, "called_at": iso(t.called_at), "status": t.status} for t, w in rows]


def _missed(session: Session, hall: Hall, day, limit: int = 12) -> list[dict[str, Any]]:
    """Today's passed numbers (过号), newest first: the hall screen lists them so a visitor who missed the
    call knows to ask at the window (过号重排 puts the ticket back in line, and off this list)."""
    rows = session.execute(
        select(Ticket, Window).join(Window, Window.id == Ticket.window_id)
        .where(Ticket.hall_id == hall.id, Ticket.service_day == day, Ticket.status == "no_show")
        .order_by(Ticket.finished_at.desc(), Ticket.id.desc()).limit(limit)
    ).all()
    return [{"ticket_id": t.id, "number": t.number, "window_number": w.number} for t, w in rows]


def window_full_view(session: Session, w: Window, by_id: dict[int, Window] | None = None) -> dict[str, Any]:
    by_id = by_id if by_id is not None else {}
    covering = [x for x in by_id.values() if x.covered_by_id == w.id] if by_id else list(
        session.scalars(select(Window).where(Window.covered_by_id == w.id)))
    covered_by = (by_id.get(w.covered_by_id) if by_id else session.get(Window, w.covered_by_id)) \
        if w.covered_by_id else None
    return window_view(w, in_hand=ticket_in_hand(session, w), covering=covering, covered_by=covered_by)


def hall_snapshot(session: Session, hall: Hall, *, now: datetime, recent: int = 10) -> dict[str, Any]:
    """Return everything a hall screen or the floor dashboard shows."""
    day = halls.service_day(hall, now)
    windows = list(session.scalars(select(Window).where(Window.hall_id == hall.id).order_by(Window.number)))
    by_id = {w.id: w for w in windows}
    queues = list(session.scalars(select(Queue).where(Queue.hall_id == hall.id, Queue.active.is_(True))
                                  .order_by(Queue.prefix)))
    alerts = session.scalars(select(Alert).where(Alert.hall_id == hall.id, Alert.cleared_at.is_(None))
                             .order_by(Alert.raised_at.desc())).all()
    return {
        "hall": {"id": hall.id, "name": hall.name, "timezone": hall.timezone, "service_day": day.isoformat(),
                 **hall_store.opening_status(session, hall, now)},
        "server_time": iso(now),
        "windows": [window_full_view(session, w, by_id) for w in windows],
        "queues": [queue_stats(session, hall, q) for q in queues],
        "recent_calls": _recent_calls(session, hall, day, recent),
        "missed": _missed(session, hall, day),
        "alerts": [{"id": a.id, "kind": a.kind, "window_id": a.window_id, "message": a.message,
                    "raised_at": iso(a.raised_at)} for a in alerts],
        "notices": snapshot_notices(session, hall.id, now=now),
    }


def window_snapshot(session: Session, window: Window, *, now: datetime) -> dict[str, Any]:
    """Return what a window screen or clerk console shows."""
    hall = session.get(Hall, window.hall_id)
    view = window_full_view(session, window)
    return {"hall": {"id": hall.id, "name": hall.name}, "server_time": iso(now), "window": view}


def newest_leg(session: Session, ticket: Ticket) -> Ticket:
    """Return the newest leg of a visitor's ticket (a transfer keeps the number, adds a leg)."""
    origin = ticket.origin_ticket_id or ticket.id
    return session.scalar(select(Ticket).where((Ticket.id == origin) | (Ticket.origin_ticket_id == origin))
                          .order_by(Ticket.leg.desc()).limit(1)) or ticket


def follow_view(session: Session, ticket: Ticket, *, now: datetime) -> dict[str, Any]:
    """The newest leg of a visitor's ticket (transfers keep the number) for the follow page."""
    from hall_queue.queueing.estimates import estimated_wait_s, people_ahead, serving_windows
    from hall_queue.queueing.wait_places import wait_places
    from hall_queue.queueing.wait_range import ticket_wait_range

    newest = newest_leg(session, ticket)
    hall = session.get(Hall, newest.hall_id)
    ahead = people_ahead(session, newest)
    window = session.get(Window, newest.window_id) if newest.window_id else None
    # The number called last in this queue today, and where: what the visitor hears in the hall.
    last = session.execute(
        select(Ticket.number, Window.number).join(Window, Window.id == Ticket.window_id)
        .where(Ticket.queue_id == newest.queue_id, Ticket.service_day == newest.service_day,
               Ticket.called_at.is_not(None)).order_by(Ticket.called_at.desc(), Ticket.id.desc()).limit(1)).first()
    local_day = halls.local_time(hall, newest.issued_at).date()
    hours, _ = hall_store.day_plan(session, hall, local_day)
    rng = ticket_wait_range(session, newest, now=now, default_s=hall.default_service_s, ahead=ahead)
    return {"ticket": ticket_view(newest), "people_ahead": ahead, **rng.view(),
            "estimated_wait_s": estimated_wait_s(session, newest.queue, ahead, hall.default_service_s)
            if newest.status == "waiting" else 0,
            "serving_windows": serving_windows(session, newest.queue_id),
            "window_number": window.number if window else None, "hall_name": hall.name,
            "now_calling": {"number": last[0], "window_number": last[1]} if last else None,
            "hours_today": [list(h) for h in hours], "hall_address": hall.address,
            "hall_timezone": hall.timezone, "wait_place": wait_places(session, hall.id).get(newest.queue_id, [])}

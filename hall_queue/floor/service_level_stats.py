"""Service-level statistics (issue 17): per queue, service day and hour, and idle minutes per window and clerk.

For each queue, service day and local hour of issue: visitors called (first legs, as ``statistics``'s
``wait_*``), the share called within the queue's wait target; services ended at a window (by local hour
of start) and the share over the queue's service-time target. For each window and clerk, per day: the
minutes the window stood idle while its queues had visitors waiting (``IdleInterval``; an open stretch
ends now). A share with no denominator is ``None``, never 0.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access.identity import mask_name
from hall_queue.domain import calendar as halls
from hall_queue.domain.models import Hall, IdleInterval, Queue, Staff, Ticket, Window
from hall_queue.floor.service_levels import targets


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def compute(session: Session, hall: Hall, date_from: date, date_to: date, *, now: datetime) -> dict[str, Any]:
    """Return the service-level figures of the hall's service days ``date_from``..``date_to``."""
    queues = {q.id: q for q in session.scalars(select(Queue).where(Queue.hall_id == hall.id))}
    cells: dict[tuple[int, date, int], dict[str, int]] = defaultdict(
        lambda: {"called": 0, "called_within": 0, "services": 0, "over_target": 0})
    rows = session.execute(select(Ticket.queue_id, Ticket.service_day, Ticket.leg, Ticket.issued_at, Ticket.called_at,
                                  Ticket.started_at, Ticket.finished_at, Ticket.status)
                           .where(Ticket.hall_id == hall.id, Ticket.service_day >= date_from,
                                  Ticket.service_day <= date_to))
    for qid, day, leg, issued, called, started, finished, status in rows:
        queue = queues.get(qid)
        t = targets(hall, queue)
        if leg == 0 and called is not None:
            cell = cells[(qid, day, halls.local_time(hall, issued).hour)]
            cell["called"] += 1
            wait_ok = t["sl_max_wait_s"] <= 0 or (called - issued).total_seconds() <= t["sl_max_wait_s"]
            cell["called_within"] += int(wait_ok)
        if started is not None and finished is not None and status in ("done", "transferred"):
            cell = cells[(qid, day, halls.local_time(hall, started).hour)]
            cell["services"] += 1
            over = t["sl_max_service_s"] > 0 and (finished - started).total_seconds() > t["sl_max_service_s"]
            cell["over_target"] += int(over)
    by_queue = [{"queue_id": qid, "queue": f"{queues[qid].prefix} {queues[qid].name}" if qid in queues else str(qid),
                 "day": day.isoformat(), "hour": hour, **c,
                 "within_wait_share": _share(c["called_within"], c["called"]),
                 "over_service_share": _share(c["over_target"], c["services"])}
                for (qid, day, hour), c in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2]))]
    return {"from": date_from.isoformat(), "to": date_to.isoformat(), "targets": targets(hall),
            "queues": by_queue, "idle": _idle(session, hall, date_from, date_to, now)}


def _idle(session: Session, hall: Hall, date_from: date, date_to: date, now: datetime) -> list[dict[str, Any]]:
    """Idle-while-waiting minutes per service day, window and clerk (by the day each stretch began)."""
    minutes: dict[tuple[date, int, int | None], float] = defaultdict(float)
    for i in session.scalars(select(IdleInterval).where(IdleInterval.hall_id == hall.id)):
        day = halls.service_day(hall, i.started_at)
        if date_from <= day <= date_to:
            minutes[(day, i.window_id, i.clerk_id)] += ((i.ended_at or now) - i.started_at).total_seconds() / 60
    windows = {w.id: w.number for w in session.scalars(select(Window).where(Window.hall_id == hall.id))}
    clerk_ids = {k[2] for k in minutes if k[2] is not None}
    clerks = {s.id: f"{s.employee_no or s.id} {mask_name(s.display_name)}".strip()
              for s in session.scalars(select(Staff).where(Staff.id.in_(clerk_ids)))} if clerk_ids else {}
    return [{"day": day.isoformat(), "window_id": wid, "window_number": windows.get(wid), "clerk_id": cid,
             "clerk": clerks.get(cid), "idle_waiting_minutes": round(m, 1)}
            for (day, wid, cid), m in sorted(minutes.items(), key=lambda kv: (kv[0][0], windows.get(kv[0][1], 0)))]

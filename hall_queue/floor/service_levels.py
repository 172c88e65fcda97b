"""Service levels on the floor (issue 17): every queue and window green / amber / red, breach alerts.

A hall sets four targets (``Hall.sl_*``; a queue may override three of them, ``Queue.sl_*``): the longest
wait to be called, the longest service, the longest a staffed window stands idle while its queues have
visitors waiting, and the most visitors one queue holds — the levels Apertum QSystem keeps per hall.
A figure is green below ``SERVICE_LEVEL_AMBER_SHARE`` of its target, amber up to it and red past it.
The periodic duties call ``check_service_levels``: it records idle-while-waiting stretches
(``IdleInterval``, for statistics) and raises one alert per broken level, cleared once the figure is
back within its target. Supervision of the floor is 004 §8.4 (全过程电子监察).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.domain import calendar as halls
from hall_queue.domain.events import AlertCleared, AlertRaised, DomainEvent
from hall_queue.domain.models import Alert, Hall, IdleInterval, Queue, Ticket, Window, WindowQueue
from hall_queue.domain.vocabulary import (IN_HAND_STATUSES, QUEUE_SERVICE_LEVEL_TARGETS, SERVICE_LEVEL_ALERT_KINDS,
                                          SERVICE_LEVEL_AMBER_SHARE, SERVICE_LEVEL_STATES)
from hall_queue.queueing.presenters import iso


def targets(hall: Hall, queue: Queue | None = None) -> dict[str, int]:
    """Return the targets in force for a queue (its overrides, else the hall's); 0 = not watched."""
    # The hall's wait target is its long-wait alert threshold unless set apart (0 = the same).
    out = {"sl_max_wait_s": hall.sl_max_wait_s or hall.wait_alert_s, "sl_max_service_s": hall.sl_max_service_s,
           "sl_max_idle_s": hall.sl_max_idle_s, "sl_max_queue_len": hall.sl_max_queue_len}
    if queue is not None:
        for key in QUEUE_SERVICE_LEVEL_TARGETS:
            own = getattr(queue, key)
            if own is not None:
                out[key] = own
    return out


def level(value: float | None, target: int) -> str:
    """Return green / amber / red for a figure against its target (green when unwatched or unknown)."""
    green, amber, red = SERVICE_LEVEL_STATES
    if value is None or target <= 0:
        return green
    if value > target:
        return red
    return amber if value > target * SERVICE_LEVEL_AMBER_SHARE else green


def worst(*states: str) -> str:
    return max(states, key=SERVICE_LEVEL_STATES.index) if states else SERVICE_LEVEL_STATES[0]


@dataclass
class _Floor:
    """What the levels are computed from, read once per evaluation."""

    queues: list[Queue]
    waiting: dict[int, tuple[int, datetime]]  # queue id → (visitors waiting, oldest issue time)
    windows: list[Window]
    served: dict[int, list[int]]  # window id → queue ids it serves (any role)
    in_hand: dict[int, Ticket]  # window id → ticket in hand
    last_activity: dict[int, datetime]  # window id → last call / finish / close of a ticket there today
    open_idle: dict[int, IdleInterval]  # window id → running idle-while-waiting interval


def _read(session: Session, hall: Hall, now: datetime) -> _Floor:
    day = halls.service_day(hall, now)
    queues = list(session.scalars(select(Queue).where(Queue.hall_id == hall.id, Queue.active.is_(True))
                                  .order_by(Queue.prefix)))
    waiting = {qid: (n, oldest) for qid, n, oldest in session.execute(
        select(Ticket.queue_id, func.count(), func.min(Ticket.issued_at))
        .where(Ticket.hall_id == hall.id, Ticket.status == "waiting", Ticket.service_day == day)
        .group_by(Ticket.queue_id))}
    windows = list(session.scalars(select(Window).where(Window.hall_id == hall.id).order_by(Window.number)))
    served: dict[int, list[int]] = {}
    for wid, qid in session.execute(select(WindowQueue.window_id, WindowQueue.queue_id)
                                    .join(Window, Window.id == WindowQueue.window_id)
                                    .where(Window.hall_id == hall.id)):
        served.setdefault(wid, []).append(qid)
    in_hand = {t.window_id: t for t in session.scalars(
        select(Ticket).where(Ticket.hall_id == hall.id, Ticket.status.in_(IN_HAND_STATUSES),
                             Ticket.window_id.is_not(None)))}
    last: dict[int, datetime] = {}
    for wid, called, finished, closed in session.execute(
            select(Ticket.window_id, func.max(Ticket.called_at), func.max(Ticket.finished_at),
                   func.max(Ticket.closed_at))
            .where(Ticket.hall_id == hall.id, Ticket.service_day == day, Ticket.window_id.is_not(None))
            .group_by(Ticket.window_id)):
        last[wid] = max(t for t in (called, finished, closed) if t is not None) if (called or finished or closed) \
            else None
    open_idle = {i.window_id: i for i in session.scalars(
        select(IdleInterval).where(IdleInterval.hall_id == hall.id, IdleInterval.ended_at.is_(None)))}
    return _Floor(queues, waiting, windows, served, in_hand, {k: v for k, v in last.items() if v}, open_idle)


def _staffed(w: Window) -> bool:
    """A window that should be calling: open, a clerk signed in, not paused, not covered by another."""
    return w.is_open and w.clerk_id is not None and w.paused_at is None and w.covered_by_id is None


def _idle_since(floor: _Floor, w: Window) -> datetime | None:
    """When this window began standing idle while its queues had visitors waiting (None: it is not)."""
    if not _staffed(w) or w.id in floor.in_hand:
        return None
    heads = [floor.waiting[q][1] for q in floor.served.get(w.id, []) if q in floor.waiting]
    if not heads:
        return None
    # Idle from the later of: the first visitor waiting, the clerk's last call or finish, signing in.
    marks = [min(heads)] + [t for t in (floor.last_activity.get(w.id), w.signed_in_at) if t is not None]
    return max(marks)


def evaluate(session: Session, hall: Hall, *, now: datetime) -> dict[str, Any]:
    """Return every queue's and window's figures against its targets, coloured green / amber / red."""
    floor = _read(session, hall, now)
    return _evaluate(floor, hall, now)


def _evaluate(floor: _Floor, hall: Hall, now: datetime) -> dict[str, Any]:
    qviews = []
    by_queue = {q.id: q for q in floor.queues}
    for q in floor.queues:
        t = targets(hall, q)
        n, oldest = floor.waiting.get(q.id, (0, None))
        wait_s = int((now - oldest).total_seconds()) if oldest is not None else 0
        wait_state, len_state = level(wait_s, t["sl_max_wait_s"]), level(n, t["sl_max_queue_len"])
        qviews.append({"queue_id": q.id, "prefix": q.prefix, "name": q.name, "waiting": n,
                       "longest_wait_s": wait_s, "max_wait_s": t["sl_max_wait_s"],
                       "max_queue_len": t["sl_max_queue_len"], "wait_state": wait_state,
                       "length_state": len_state, "state": worst(wait_state, len_state)})
    wviews = []
    for w in floor.windows:
        ticket = floor.in_hand.get(w.id)
        service_s = None
        service_target = hall.sl_max_service_s
        if ticket is not None:
            began = ticket.started_at or ticket.called_at
            service_s = int((now - began).total_seconds()) if began else None
            if ticket.queue_id in by_queue:
                service_target = targets(hall, by_queue[ticket.queue_id])["sl_max_service_s"]
        since = _idle_since(floor, w)
        idle_s = int((now - since).total_seconds()) if since is not None else None
        service_state, idle_state = level(service_s, service_target), level(idle_s, hall.sl_max_idle_s)
        wviews.append({"window_id": w.id, "number": w.number, "name": w.name, "clerk_id": w.clerk_id,
                       "ticket_number": ticket.number if ticket is not None else None,
                       "service_s": service_s, "max_service_s": service_target,
                       "idle_waiting_s": idle_s, "idle_since": iso(since), "max_idle_s": hall.sl_max_idle_s,
                       "service_state": service_state, "idle_state": idle_state,
                       "state": worst(service_state, idle_state)})
    states = [v["state"] for v in qviews + wviews]
    return {"server_time": iso(now), "hall_state": worst(*states), "targets": targets(hall),
            "amber_share": SERVICE_LEVEL_AMBER_SHARE, "queues": qviews, "windows": wviews}


def _minutes(seconds: int) -> int:
    return max(1, int(seconds // 60))


def _breaches(view: dict[str, Any], hall: Hall) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
    """Return the broken levels now: (kind, subject) → (the figure's view, the Chinese message)."""
    sl_wait, sl_len, sl_service, sl_idle = SERVICE_LEVEL_ALERT_KINDS
    red = SERVICE_LEVEL_STATES[2]
    out: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    for q in view["queues"]:
        subject, label = f"queue {q['queue_id']}", f"{q['name']}（{q['prefix']}）"
        # A wait target equal to the hall's ``wait_alert_s`` already has its alert: long_waits.py's ``long_wait``.
        if q["wait_state"] == red and q["max_wait_s"] != hall.wait_alert_s:
            out[(sl_wait, subject)] = (q, f"{label}最长等候{_minutes(q['longest_wait_s'])}分钟，"
                                          f"超过服务标准{_minutes(q['max_wait_s'])}分钟")
        if q["length_state"] == red:
            out[(sl_len, subject)] = (q, f"{label}有{q['waiting']}人等候，超过上限{q['max_queue_len']}人")
    for w in view["windows"]:
        subject = f"window {w['window_id']}"
        if w["service_state"] == red:
            out[(sl_service, subject)] = (w, f"{w['number']}号窗口办理{w['ticket_number']}已{_minutes(w['service_s'])}"
                                             f"分钟，超过服务标准{_minutes(w['max_service_s'])}分钟")
        if w["idle_state"] == red:
            out[(sl_idle, subject)] = (w, f"{w['number']}号窗口有人等候却空闲{_minutes(w['idle_waiting_s'])}分钟，"
                                          f"超过{_minutes(w['max_idle_s'])}分钟")
    return out


def check_service_levels(session: Session, hall: Hall, *, now: datetime) -> list[DomainEvent]:
    """Record idle-while-waiting stretches; raise or clear one alert per broken level; return the events."""
    floor = _read(session, hall, now)
    for w in floor.windows:
        since, running = _idle_since(floor, w), floor.open_idle.get(w.id)
        if since is not None and running is None:
            session.add(IdleInterval(hall_id=hall.id, window_id=w.id, clerk_id=w.clerk_id, started_at=since))
        elif since is None and running is not None:
            running.ended_at = now
    view = _evaluate(floor, hall, now)
    broken = _breaches(view, hall)
    open_alerts = {(a.kind, a.subject): a for a in session.scalars(
        select(Alert).where(Alert.hall_id == hall.id, Alert.kind.in_(SERVICE_LEVEL_ALERT_KINDS),
                            Alert.cleared_at.is_(None)))}
    events: list[DomainEvent] = []
    for (kind, subject), (fig, message) in broken.items():
        if (kind, subject) in open_alerts:
            continue
        window_id, queue_id = fig.get("window_id"), fig.get("queue_id")
        alert = Alert(hall_id=hall.id, kind=kind, subject=subject, window_id=window_id, message=message,
                      raised_at=now)
        session.add(alert)
        session.flush()
        audit.record(session, actor=audit.SYSTEM, action=f"alert.{kind}", at=now, hall_id=hall.id,
                     window_id=window_id, queue_id=queue_id)
        events.append(AlertRaised(hall.id, {"id": alert.id, "kind": kind, "window_id": window_id,
                                            "queue_id": queue_id, "message": message, "raised_at": iso(now)}))
    for key, alert in open_alerts.items():
        if key not in broken:
            alert.cleared_at = now
            events.append(AlertCleared(hall.id, {"id": alert.id, "kind": alert.kind, "subject": alert.subject}))
    return events

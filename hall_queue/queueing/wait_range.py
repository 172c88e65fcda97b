"""Wait estimates as a range (issue 17): low–high minutes with the visitor's position, and the one place
their text is written (kiosk, slip, phone page and API all show ``wait_text``).

Today's single figure (``estimates.QueueLoad.wait_for``: rolling mean × people ahead ÷ windows) is kept
for the screens; this one is what a visitor is told:

* **Pace**: the mean and spread of the queue's last ``ESTIMATE_SAMPLE`` services (the hall default
  with ``ESTIMATE_DEFAULT_CV`` while there are fewer than ``ESTIMATE_MIN_SAMPLE``).
* **Windows**: each open, staffed, unpaused window serving the queue counts as a *fraction*: a window
  whose primary queues have visitors in k of them gives 1/k to each; a helper window gives its share
  only while its own primary queues are empty (001 §6.4, the calling rules).
* **Position**: the people ahead in calling order, plus checked-in bookings behind in the list whose
  slot has begun or begins before the visitor's expected call (the ``appointment`` rule calls them first).
* **Range**: n = position − idle windows + 1 services must end before the call; their expected time is
  (n − ½)·m / c, spread √n·s / c; the range is that ± ``ESTIMATE_RANGE_Z`` spreads, widened by
  ``ESTIMATE_STAFFING_SLACK`` for breaks and covers, at least ``ESTIMATE_MIN_WIDTH_S`` wide.

``bench/estimates_bench.py`` replays simulated hall days and measures it against today's figure and the
ZMS rule (position × mean service ÷ open windows, printed as 0.8×–1.0×).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from hall_queue.domain.models import Ticket, Window, WindowQueue
from hall_queue.domain.vocabulary import (ESTIMATE_MIN_WIDTH_S, ESTIMATE_RANGE_Z, ESTIMATE_STAFFING_SLACK,
                                          IN_HAND_STATUSES)
from hall_queue.infrastructure.db import core
from hall_queue.queueing.estimates import queue_pace


@dataclass(frozen=True)
class WaitRange:
    """A visitor's expected wait: position in the queue and a low–high range in seconds."""

    position: int  # people called before this visitor (ahead in line, plus bookings placed at their slot)
    low_s: int
    high_s: int
    windows: float  # effective windows serving the queue now (fractions for shared windows)

    @property
    def text(self) -> str:
        return wait_range_text(self.low_s, self.high_s, windows=self.windows)

    def view(self) -> dict:
        return {"wait_low_s": self.low_s, "wait_high_s": self.high_s, "wait_position": self.position,
                "wait_text": self.text}


def wait_range_text(low_s: int, high_s: int, *, windows: float = 1.0) -> str:
    """Say a wait range in Chinese, the one wording for kiosk, slip and phone page."""
    if windows <= 0:
        return "暂无窗口办理，请留意叫号"
    low, high = math.floor(low_s / 60), math.ceil(high_s / 60)
    if high <= 1:
        return "即将叫号"
    if low < 1:  # "约 0–10 分钟" with people ahead reads as a slip; say the bound the visitor cares about
        return f"{high} 分钟以内" if high < 60 else f"{_hours(high)}以内"
    if high < 60:
        return f"约 {low}–{high} 分钟"
    return f"约 {_hours(low)}–{_hours(high)}"


def _hours(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} 分钟"
    h, m = divmod(minutes, 60)
    return f"{h} 小时 {m} 分钟" if m else f"{h} 小时"


# The windows that serve a queue now, each with every queue it serves, whether that queue has visitors
# waiting and whether the window holds a ticket: one statement (it was four) for ``_windows``.
_other = aliased(WindowQueue)
_SERVING_SHAPE = (
    select(WindowQueue.window_id, _other.queue_id, _other.role,
           exists().where(Ticket.window_id == WindowQueue.window_id, Ticket.status.in_(IN_HAND_STATUSES)),
           exists().where(Ticket.queue_id == _other.queue_id, Ticket.status == "waiting"))
    .select_from(WindowQueue)
    .join(Window, Window.id == WindowQueue.window_id)
    .join(_other, _other.window_id == WindowQueue.window_id)
    .where(WindowQueue.queue_id == bindparam("queue_id"), Window.is_open.is_(True), Window.clerk_id.is_not(None),
           Window.paused_at.is_(None), Window.covered_by_id.is_(None))
    .order_by(WindowQueue.window_id)
)


def _windows(session: Session, queue_id: int) -> tuple[float, int]:
    """Effective windows serving the queue (shared windows as fractions) and how many of them stand idle."""
    served: dict[int, dict[str, set[int]]] = {}
    busy: set[int] = set()
    waiting_queues: set[int] = set()
    for wid, qid, role, holding, waiting in core(session).execute(_SERVING_SHAPE, {"queue_id": queue_id}):
        served.setdefault(wid, {"primary": set(), "helper": set()})["primary" if role == "primary" else "helper"].add(qid)
        if holding:
            busy.add(wid)
        if waiting:
            waiting_queues.add(qid)
    total, idle = 0.0, 0
    here = waiting_queues | {queue_id}
    for wid, roles in served.items():
        primary, helpers = roles["primary"], roles["helper"]
        if queue_id in primary:
            total += 1 / max(1, len(primary & here))
        elif not (primary & waiting_queues):
            total += 1 / max(1, len(helpers & here))
        else:
            continue
        idle += wid not in busy
    return total, idle


def _range(position: int, idle: int, windows: float, mean: float, sd: float) -> tuple[float, float, float]:
    """Expected wait and its low/high ends for ``position`` people to be called first."""
    n = position + 1 - idle
    if n <= 0:
        return 0.0, 0.0, 0.0
    expected = max(0.0, (n - 0.5) * mean / windows)
    spread = math.sqrt(n) * sd / windows
    low = max(0.0, expected - ESTIMATE_RANGE_Z * spread) * (1 - ESTIMATE_STAFFING_SLACK)
    high = (expected + ESTIMATE_RANGE_Z * spread) * (1 + ESTIMATE_STAFFING_SLACK)
    if high - low < ESTIMATE_MIN_WIDTH_S:
        pad = (ESTIMATE_MIN_WIDTH_S - (high - low)) / 2
        low, high = max(0.0, low - pad), high + pad
        high = max(high, low + ESTIMATE_MIN_WIDTH_S)
    return expected, low, high


def ticket_wait_range(session: Session, ticket: Ticket, *, now: datetime, default_s: int,
                      ahead: int | None = None) -> WaitRange:
    """Return a ticket's position and wait range (zero for a ticket no longer waiting)."""
    if ticket.status != "waiting":
        return WaitRange(0, 0, 0, 1.0)
    return estimate_wait_range(session, hall_id=ticket.hall_id, queue_id=ticket.queue_id, key=ticket.queue_key,
                               ticket_id=ticket.id, priority_class=ticket.priority_class, now=now,
                               default_s=default_s, ahead=ahead)


def estimate_wait_range(session: Session, *, hall_id: int, queue_id: int, key: float, ticket_id: int,
                        priority_class: str, now: datetime, default_s: int, ahead: int | None = None,
                        last_in_line: bool = False) -> WaitRange:
    """Return the position and wait range of the waiting ticket ``ticket_id`` (calling key ``key``).

    ``last_in_line``: the ticket was just issued with the queue's highest key, so nobody waits behind
    it and no booking behind can be placed before it (the issue path's statement is saved).
    """
    before = or_(Ticket.queue_key < key, and_(Ticket.queue_key == key, Ticket.id < ticket_id))
    if ahead is None:
        ahead = session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.queue_id == queue_id, Ticket.status == "waiting", before)) or 0
    windows, idle = _windows(session, queue_id)
    if windows <= 0:
        return WaitRange(ahead, 0, 0, 0.0)
    pace = queue_pace(session, queue_id, default_s)
    mean, sd = pace.mean_s, pace.sd_s
    expected, _, _ = _range(ahead, idle, windows, mean, sd)
    position = ahead
    if priority_class != "appointment" and not last_in_line:
        # Bookings behind in the list are called first once their slot begins (the ``appointment`` rule).
        position += session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.queue_id == queue_id, Ticket.status == "waiting", Ticket.priority_class == "appointment",
            Ticket.slot_start.is_not(None), Ticket.slot_start <= now + timedelta(seconds=expected),
            Ticket.id != ticket_id, ~before)) or 0
    _, low, high = _range(position, idle, windows, mean, sd)
    return WaitRange(position, int(round(low)), int(round(high)), windows)

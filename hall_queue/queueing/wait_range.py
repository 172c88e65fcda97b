"""Wait estimates as a range (issue 17): low–high minutes with the visitor's position, and the one place
their text is written (kiosk, slip, phone page and API all show ``wait_text``).

Today's single figure (``estimates.QueueLoad.wait_for``: rolling mean × people ahead ÷ windows) is kept
for the screens; this one is what a visitor is told. Two halves, so that any caller (the issuing
transaction, a read after commit, the benchmark) gets the same answer:

* ``wait_inputs`` reads the database once: people ahead, the windows serving the queue (shared windows as
  fractions, 001 §6.4), the mean of its last ``ESTIMATE_SAMPLE`` services, checked-in bookings behind, and
  the queue's tickets of the last ``ESTIMATE_HISTORY_S`` (when each was issued and called);
* ``wait_estimate`` is pure arithmetic over those ``WaitInputs``: the pace is the queue's own call rate
  while visitors waited — which already holds helper windows, breaks, A/B covers and recalls — started
  from the windows now serving it; green and booked arrivals that will be called first slow an ordinary
  ticket; bookings behind whose slot begins before the expected call are placed ahead; the range is a
  log-spread around the expected wait (see its docstring).

``bench/estimates_bench.py`` replays simulated hall days and measures it against today's figure and the
ZMS rule (position × mean service ÷ open windows, printed as 0.8×–1.0×).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from hall_queue.domain.clock import epoch_seconds
from hall_queue.domain.models import Ticket, Window, WindowQueue
from hall_queue.domain.vocabulary import (
    ESTIMATE_DRIFT,
    ESTIMATE_HEAD_CALLS,
    ESTIMATE_HISTORY_S,
    ESTIMATE_LOOKBACK,
    ESTIMATE_MIN_WIDTH_S,
    ESTIMATE_MIN_WINDOWS,
    ESTIMATE_PRIOR_CALLS,
    ESTIMATE_RANGE_Z,
    IN_HAND_STATUSES,
    TICKET_STATUSES,
)
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


# ----------------------------------------------------------------------------------------------- the math
@dataclass(frozen=True)
class WaitInputs:
    """What the estimate needs, read from the database at one moment: plain numbers, no session.

    ``history`` holds the queue's recent tickets as ``(issued s ago, ended s ago or None while still waiting,
    called, priority)``; "ended" is the first call, or the cancellation of a ticket that never was called.
    """

    ahead: int  # waiting tickets before this one in calling order
    priority_class: str
    serving: int  # open, staffed, unpaused windows serving the queue in any role
    windows: float  # of those, the effective windows now (fractions for shared windows)
    idle: int  # of those, windows standing idle
    mean_s: float  # mean service time of the queue's recent services
    samples: int = 0  # how many services gave ``mean_s``
    bookings: tuple[float, ...] = ()  # slot starts (s from now) of checked-in bookings behind this ticket
    history: tuple[tuple[float, float | None, bool, bool], ...] = ()


@dataclass(frozen=True)
class EstimateParams:
    """The estimator's constants (``vocabulary.ESTIMATE_*``); the benchmark varies them, nothing else does."""

    history_s: float = ESTIMATE_HISTORY_S
    prior_calls: float = ESTIMATE_PRIOR_CALLS
    drift: float = ESTIMATE_DRIFT
    z: float = ESTIMATE_RANGE_Z
    min_width_s: float = ESTIMATE_MIN_WIDTH_S
    min_windows: float = ESTIMATE_MIN_WINDOWS
    head: float = ESTIMATE_HEAD_CALLS


@dataclass(frozen=True)
class WaitEstimate:
    """The estimator's answer: position, expected wait and its printed range (seconds)."""

    position: int
    expected_s: float
    low_s: float
    high_s: float
    windows: float
    rate_per_h: float = 0.0  # calls of this queue per hour the estimate assumes


def recent_pace(history, history_s: float) -> tuple[int, float]:
    """Calls made while someone waited and the time someone waited, in the last ``history_s`` seconds.

    A call made while the queue had visitors waiting shows what the windows serving it actually do — helpers
    and covers included, breaks and recalls included; time with nobody waiting says nothing about that pace.
    """
    spans, calls = [], 0
    for issued, ended, called, _priority in history:
        end = 0.0 if ended is None else ended
        if end >= history_s:
            continue
        if called and ended is not None and issued - ended > 1.0:
            calls += 1
        lo, hi = max(end, 0.0), min(issued, history_s)
        if hi > lo:
            spans.append((lo, hi))
    busy, reach = 0.0, None
    for lo, hi in sorted(spans):
        if reach is None or lo > reach:
            busy += hi - lo
            reach = hi
        elif hi > reach:
            busy += hi - reach
            reach = hi
    return calls, busy


def gamma_quantile(mean: float, cv2: float, z: float) -> float:
    """The quantile at normal score ``z`` of a Gamma spread with this mean and squared CV (Wilson–Hilferty).

    The time n calls take is Gamma-like: skewed for a short line (one call ahead: exponential), nearly
    normal for a long one — so the range reaches further above the expected wait than below it.
    """
    shape = 1 / cv2
    c = 1 / (9 * shape)
    return mean * max(0.0, 1 - c + z * math.sqrt(c)) ** 3


def wait_estimate(inp: WaitInputs, params: EstimateParams = EstimateParams()) -> WaitEstimate:
    """Estimate a waiting ticket's position and wait from ``inp`` (pure; the server and the benchmark share it).

    The pace is the queue's call rate while visitors waited in the last half hour, a Gamma-Poisson mean
    that starts from the windows now serving it (``prior_calls`` calls' worth) and moves to what the hall
    actually did as calls accumulate. (Taking green and booked arrivals, who are called first, off an
    ordinary ticket's pace over-estimated in the benchmark: the pace itself rises as the line grows and
    helper windows join, so it is not done.) n = position + 1 − idle windows calls must happen; the wait is
    (n − ``head``) ÷ rate (the first call comes sooner: the windows are part-way through a service). The
    range is the central band (± ``z``) of a Gamma spread around it whose squared coefficient of variation
    1/n + 1/calls + drift² adds the randomness of n calls, of the rate's estimate, and of staffing and mix
    changing while the visitor waits.
    """
    if inp.serving <= 0:
        return WaitEstimate(inp.ahead, 0.0, 0.0, 0.0, 0.0)
    structural = max(inp.windows, params.min_windows) / max(inp.mean_s, 1.0)
    calls, busy = recent_pace(inp.history, params.history_s)
    rate = (calls + params.prior_calls) / (busy + params.prior_calls / structural)
    n = inp.ahead + 1 - inp.idle
    if n <= 0:
        return WaitEstimate(inp.ahead, 0.0, 0.0, 0.0, inp.windows, rate * 3600)
    expected = (n - params.head) / rate
    # Bookings behind in the list are called first once their slot begins (the ``appointment`` rule).
    position = inp.ahead + sum(1 for at in inp.bookings if at <= expected)
    n = position + 1 - inp.idle
    expected = (n - params.head) / rate
    cv2 = 1 / n + 1 / (calls + params.prior_calls) + params.drift ** 2
    low, high = gamma_quantile(expected, cv2, -params.z), gamma_quantile(expected, cv2, params.z)
    if high - low < params.min_width_s:
        pad = (params.min_width_s - (high - low)) / 2
        low = max(0.0, low - pad)
        high = low + params.min_width_s
    return WaitEstimate(position, expected, low, high, inp.windows, rate * 3600)


# ----------------------------------------------------------------------------------------------- the reads
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


def _windows(session: Session, queue_id: int) -> tuple[float, int, int]:
    """Windows serving the queue: effective (shared windows as fractions), how many stand idle, how many in all."""
    served: dict[int, dict[str, set[int]]] = {}
    busy: set[int] = set()
    waiting_queues: set[int] = set()  # of the queues these windows serve: only those can share a window
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
    return total, idle, len(served)


def _history(session: Session, queue_id: int, ticket_id: int, now: datetime, history_s: float):
    """The queue's tickets that waited in the last ``history_s`` (issued within a few hours, for the index)."""
    since = now - timedelta(seconds=history_s)
    rows = session.execute(select(Ticket.issued_at, Ticket.called_at, Ticket.closed_at, Ticket.status,
                                  Ticket.priority_class)
                           .where(Ticket.queue_id == queue_id, Ticket.status.in_(TICKET_STATUSES),
                                  Ticket.queue_key >= epoch_seconds(since - ESTIMATE_LOOKBACK),
                                  Ticket.id != ticket_id,
                                  or_(Ticket.status == "waiting", Ticket.issued_at >= since,
                                      Ticket.called_at >= since, Ticket.closed_at >= since))).all()
    out = []
    for issued, called, closed, status, prio in rows:
        ended = None if status == "waiting" else (called or closed)
        if status != "waiting" and ended is None:
            continue
        out.append((max(0.0, (now - issued).total_seconds()),
                    None if ended is None else max(0.0, (now - ended).total_seconds()),
                    called is not None and status != "waiting", prio != "ordinary"))
    return tuple(out)


def wait_inputs(session: Session, *, hall_id: int, queue_id: int, key: float, ticket_id: int, priority_class: str,
                now: datetime, default_s: int, ahead: int | None = None, history_s: float = ESTIMATE_HISTORY_S,
                last_in_line: bool = False) -> WaitInputs:
    """Read what ``wait_estimate`` needs for the waiting ticket ``ticket_id`` (calling key ``key``).

    ``last_in_line``: the ticket was just issued with the queue's highest key, so no booking waits behind it
    (the issue path saves that read). The queue's service pace comes from the per-process cache.
    """
    before = or_(Ticket.queue_key < key, and_(Ticket.queue_key == key, Ticket.id < ticket_id))
    if ahead is None:
        ahead = session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.queue_id == queue_id, Ticket.status == "waiting", before)) or 0
    windows, idle, serving = _windows(session, queue_id)
    if serving == 0:
        return WaitInputs(ahead, priority_class, 0, 0.0, 0, float(default_s))
    pace = queue_pace(session, queue_id, default_s)
    bookings: tuple[float, ...] = ()
    if priority_class != "appointment" and not last_in_line:
        bookings = tuple((slot - now).total_seconds() for slot in session.scalars(select(Ticket.slot_start).where(
            Ticket.queue_id == queue_id, Ticket.status == "waiting", Ticket.priority_class == "appointment",
            Ticket.slot_start.is_not(None), Ticket.id != ticket_id, ~before)))
    return WaitInputs(ahead, priority_class, serving, windows, idle, pace.mean_s, pace.samples, bookings,
                      _history(session, queue_id, ticket_id, now, history_s))


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
    """Return the position and wait range of the waiting ticket ``ticket_id`` (calling key ``key``)."""
    est = wait_estimate(wait_inputs(session, hall_id=hall_id, queue_id=queue_id, key=key, ticket_id=ticket_id,
                                    priority_class=priority_class, now=now, default_s=default_s, ahead=ahead,
                                    last_in_line=last_in_line))
    return WaitRange(est.position, int(round(est.low_s)), int(round(est.high_s)), est.windows)

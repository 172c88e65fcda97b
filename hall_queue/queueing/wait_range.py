"""Wait estimates as a range (issue 17): low–high minutes with the visitor's position, and the one place
their text is written (kiosk, slip, phone page and API all show ``wait_text``).

Today's single figure (``estimates.QueueLoad.wait_for``: rolling mean × people ahead ÷ windows) is kept
for the screens; this one is what a visitor is told. Two halves, so that any caller (the issuing
transaction, a read after commit, the benchmark) gets the same answer:

* ``wait_inputs`` reads the database once: people ahead, the windows serving the queue (shared windows as
  fractions, 001 §6.4) with their break plans (``Window.break_plan``) and who is away since when, the mean
  of its last ``ESTIMATE_SAMPLE`` services, checked-in bookings behind (for a green or booked ticket: its own
  class ahead and its slot instead), and the queue's tickets of the last ``ESTIMATE_HISTORY_S``;
* ``wait_estimate`` is pure arithmetic over those ``WaitInputs``: the pace is the queue's own call rate
  while visitors waited — which already holds helper windows, breaks, A/B covers and recalls — started
  from the windows now serving it, and follows the staffing the break plans say lies ahead; bookings behind
  whose slot begins before the expected call are placed ahead; a booking whose slot has begun counts only
  the bookings before it, a green ticket the interleave's calls; the range is a Gamma spread around the
  expected wait (see its docstring); where helper windows take the queue's tickets that waited past their
  ``helper_overdue`` limit and can keep up, that limit bounds the wait (``overdue_bound``).

``bench/estimates_bench.py`` replays simulated hall days and measures it against today's figure and the
ZMS rule (position × mean service ÷ open windows, printed as 0.8×–1.0×).
"""
from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.orm import Session, aliased

from hall_queue.domain.calendar import local_wall
from hall_queue.domain.clock import epoch_seconds
from hall_queue.domain.models import Hall, PostInterval, Ticket, Window, WindowQueue
from hall_queue.domain.vocabulary import (
    BREAK_MATCH_S,
    BREAK_OVERRUN_S,
    DEFAULT_CALL_RULES,
    ESTIMATE_DRIFT,
    ESTIMATE_HEAD_CALLS,
    ESTIMATE_HISTORY_S,
    ESTIMATE_LOOKBACK,
    ESTIMATE_MIN_WIDTH_S,
    ESTIMATE_MIN_WINDOWS,
    ESTIMATE_PRIOR_CALLS,
    ESTIMATE_RANGE_Z,
    GREEN_INTERLEAVE_ORDINARY,
    IN_HAND_STATUSES,
    TICKET_STATUSES,
    WAIT_READS_KEPT_S,
)
from hall_queue.infrastructure.db import Prebuilt, compared_as_stored, core, one_of
from hall_queue.queueing.estimates import kept_pace, queue_pace

# The rule's own default wait (``vocabulary.DEFAULT_CALL_RULES``), for a rule stored without ``after_s``.
_DEFAULT_OVERDUE_S = next(r["after_s"] for r in DEFAULT_CALL_RULES if r["rule"] == "helper_overdue")


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
    The server gives the tickets still waiting as a sum instead (``waited_s`` and the ``waiting_*`` figures):
    all the pace and the ``helper_overdue`` bound take from them; a sum holds for the ``history_s`` it was
    read for (the benchmark, which replays other ones, reads them one by one).
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
    # The serving windows' staffing ahead, from their break plans (``Window.break_plan``): per window its
    # share of the queue and the stretches (s from now, ``None`` = for good) it will be away. A window away
    # now is listed as away from 0 until it is due back. Empty: no window has a plan (the pace holds).
    plan: tuple[tuple[float, tuple[tuple[float, float | None], ...]], ...] = ()
    # A green or booked ticket is called before the ordinary ones: ``class_ahead`` tickets of its own class
    # come first (bookings in slot order, 000 §8.2; green ones in key order), and a booking is called so once
    # its slot begins, ``slot_s`` seconds from now (≤ 0: it has begun). ``None``: an ordinary ticket.
    class_ahead: int | None = None
    slot_s: float | None = None
    # The ``helper_overdue`` rule (001 §6.4): windows serving this queue as a helper take its tickets that have
    # waited past the rule's ``after_s`` before their own. ``overdue_in_s``: seconds from now until this ticket
    # has waited that long (``None``: no window here now helps with the rule); ``overdue_helpers``: those windows.
    overdue_in_s: float | None = None
    overdue_after_s: float = 0.0
    overdue_helpers: int = 0
    # The tickets still waiting, when ``history`` does not list them (``waited_s`` not ``None``): the longest
    # wait among them (s), how many were issued within ``history_s``, and how many have waited past
    # ``overdue_after_s`` with their waits past it summed (s).
    waited_s: float | None = None
    waiting_recent: int = 0
    waiting_overdue: int = 0
    waiting_overdue_s: float = 0.0


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
    overdue_bound: bool = False  # the helper windows' ``helper_overdue`` rule shortened the range


def recent_pace(history, history_s: float, waited_s: float | None = None) -> tuple[int, float]:
    """Calls made while someone waited and the time someone waited, in the last ``history_s`` seconds.

    A call made while the queue had visitors waiting shows what the windows serving it actually do — helpers
    and covers included, breaks and recalls included; time with nobody waiting says nothing about that pace.
    ``waited_s``: the longest wait of the tickets still waiting, when ``history`` does not list them — each
    waited from now back to its issue, so together they cover just the longest one's span.
    """
    spans, calls = [], 0
    append = spans.append
    if waited_s is not None and history_s > 0.0 and waited_s > 0.0:
        append((0.0, waited_s if waited_s < history_s else history_s))
    for issued, ended, called, _priority in history:
        if ended is None:  # still waiting (most rows on a long line): waited from its issue until now
            if history_s > 0.0 and issued > 0.0:
                append((0.0, issued if issued < history_s else history_s))
            continue
        end = ended
        if end >= history_s:
            continue
        if called and issued - ended > 1.0:
            calls += 1
        lo, hi = max(end, 0.0), min(issued, history_s)
        if hi > lo:
            append((lo, hi))
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


def staffing_ahead(plan, horizon_s: float = 6 * 3600.0) -> list[tuple[float, float]]:
    """Effective windows serving the queue from each moment on: ``[(from s, windows), …]`` (from the plans).

    Each window counts its share except while one of its planned absences runs; the list starts at 0.
    """
    events = []  # (moment, +1 leaves / -1 comes back, window)
    for k, (_share, away) in enumerate(plan):
        for a, b in away:
            a = max(0.0, a)
            if a >= horizon_s or (b is not None and b <= a):
                continue
            events.append((a, 1, k))
            if b is not None and b < horizon_s:
                events.append((b, -1, k))
    events.sort()
    depth = [0] * len(plan)
    here = sum(share for share, _away in plan)
    out = [(0.0, here)]
    for t, step, k in events:
        depth[k] += step
        if depth[k] == 1 and step == 1:
            here -= plan[k][0]
        elif depth[k] == 0:
            here += plan[k][0]
        here = round(here, 9)
        if out[-1][0] == t:
            out[-1] = (t, here)
        else:
            out.append((t, here))
    return [(t, w) for i, (t, w) in enumerate(out) if i == 0 or w != out[i - 1][1]]


def time_for_calls(calls: float, rate: float, staffing: list[tuple[float, float]]) -> float:
    """Seconds until ``calls`` calls are made at ``rate`` now, the rate following the staffing ahead.

    The queue's pace is measured on the windows here now; when the plan says some leave or come back, the
    pace changes in proportion (a lunch relay halves it for its hour). With no staffing now the rate
    is taken as the first staffed stretch's.
    """
    if calls <= 0:
        return 0.0
    base = staffing[0][1] or next((w for _t, w in staffing if w > 0), 0.0)
    if base <= 0:
        return calls / rate
    done, t = 0.0, 0.0
    for k, (start, windows) in enumerate(staffing):
        end = staffing[k + 1][0] if k + 1 < len(staffing) else math.inf
        r = rate * windows / base
        if r > 0 and done + r * (end - start) >= calls:
            return start + (calls - done) / r
        done += r * (end - start) if r > 0 and end < math.inf else 0.0
        t = end
    return t if t < math.inf else calls / rate


def _jump_ahead(inp: WaitInputs, params: EstimateParams, rate: float, staffing, position: int, n: int,
                expected: float) -> tuple[int, int, float]:
    """Position, calls and wait of a booked or green ticket, which the calling rules take before ordinary ones.

    A booking whose slot has begun is called by the ``appointment`` rule first: only the bookings before it
    count; one whose slot is ahead waits in line until then. A green ticket is taken when a window's
    interleave wants green (one call in 1 + ``ordinary`` of each window's pattern): the green ones before it
    and about that many calls for each — never more than its place in line.
    """
    if inp.slot_s is not None:
        jump_n = inp.class_ahead + 1 - (inp.idle if inp.slot_s <= 0 else 0)
        start = max(inp.slot_s, 0.0)
        jump = start + time_for_calls(jump_n - params.head, rate, staffing)
        if inp.slot_s <= 0 or jump < expected:
            return inp.class_ahead, jump_n, jump
        return position, n, expected
    green_n = min(n, (inp.class_ahead + 1) * (1 + GREEN_INTERLEAVE_ORDINARY) - inp.idle)
    return green_n - 1 + inp.idle, green_n, time_for_calls(green_n - params.head, rate, staffing)


def wait_estimate(inp: WaitInputs, params: EstimateParams = EstimateParams()) -> WaitEstimate:
    """Estimate a waiting ticket's position and wait from ``inp`` (pure; the server and the benchmark share it).

    The pace is the queue's call rate while visitors waited in the last half hour, a Gamma-Poisson mean
    that starts from the windows now serving it (``prior_calls`` calls' worth) and moves to what the hall
    actually did as calls accumulate. (Taking green and booked arrivals, who are called first, off an
    ordinary ticket's pace over-estimated in the benchmark: the pace itself rises as the line grows and
    helper windows join, so it is not done.) n = position + 1 − idle windows calls must happen; the wait is
    the time (n − ``head``) calls take (the first call comes sooner: the windows are part-way through a
    service), the rate following the windows' break plans (``time_for_calls``); a green or booked ticket
    counts the calls the calling rules make before it (``_jump_ahead``). The
    range is the central band (± ``z``) of a Gamma spread around it whose squared coefficient of variation
    1/n + 1/calls + drift² adds the randomness of n calls, of the rate's estimate, and of staffing and mix
    changing while the visitor waits. The helper windows' ``helper_overdue`` rule may call the visitor sooner
    (``overdue_bound``): the sooner of the two is told.
    """
    if inp.serving <= 0:
        return WaitEstimate(inp.ahead, 0.0, 0.0, 0.0, 0.0)
    structural = max(inp.windows, params.min_windows) / max(inp.mean_s, 1.0)
    calls, busy = recent_pace(inp.history, params.history_s, inp.waited_s)
    rate = (calls + params.prior_calls) / (busy + params.prior_calls / structural)
    n = inp.ahead + 1 - inp.idle
    if n <= 0:
        return WaitEstimate(inp.ahead, 0.0, 0.0, 0.0, inp.windows, rate * 3600)
    staffing = staffing_ahead(inp.plan) if inp.plan else [(0.0, 1.0)]
    expected = time_for_calls(n - params.head, rate, staffing)
    # Bookings behind in the list are called first once their slot begins (the ``appointment`` rule).
    position = inp.ahead + sum(1 for at in inp.bookings if at <= expected)
    n = position + 1 - inp.idle
    expected = time_for_calls(n - params.head, rate, staffing)
    if inp.class_ahead is not None:
        position, n, expected = _jump_ahead(inp, params, rate, staffing, position, n, expected)
        if n <= 0:
            return WaitEstimate(position, 0.0, 0.0, 0.0, inp.windows, rate * 3600)
    cv2 = 1 / n + 1 / (calls + params.prior_calls) + params.drift ** 2
    low, high = gamma_quantile(expected, cv2, -params.z), gamma_quantile(expected, cv2, params.z)
    bound = overdue_bound(inp, params)
    overdue = bound is not None and bound[2] < high
    if bound is not None:  # the sooner of two ways to be called: its own line's pace, or the rule
        expected, low, high = min(expected, bound[0]), min(low, bound[1]), min(high, bound[2])
    if high - low < params.min_width_s:
        pad = (params.min_width_s - (high - low)) / 2
        low = max(0.0, low - pad)
        high = low + params.min_width_s
    return WaitEstimate(position, expected, low, high, inp.windows, rate * 3600, overdue)


def overdue_bound(inp: WaitInputs, params: EstimateParams) -> tuple[float, float, float] | None:
    """The wait the helper windows' ``helper_overdue`` rule allows: (expected, low, high) seconds, or ``None``.

    Helper windows take a ticket of this queue that has waited ``after_s`` before their own visitors (001 §6.4),
    so once it has waited that long it is called when the first of them is free — if they can keep up: only
    when the helpers could take every ticket the queue received in the last ``history_s`` (each at the queue's
    mean service) does the rule bound the wait; otherwise the overdue tickets form a line of their own and the
    pace decides, as before. The time past ``after_s`` is taken as exponential (the first of several busy windows
    to finish), its mean from the queue's own recent tickets past ``after_s``: those called (their time past it)
    and those still waiting (the time so far, a censored observation), with a prior of half a service among the
    helpers counted as one ticket.
    """
    if inp.overdue_in_s is None or inp.overdue_helpers <= 0:
        return None
    after, horizon = inp.overdue_after_s, params.history_s
    arrivals = sum(1 for issued, _ended, _called, _p in inp.history if issued < horizon) + inp.waiting_recent
    if inp.overdue_helpers * horizon / max(inp.mean_s, 1.0) <= arrivals:
        return None
    past, taken = (1 - params.head) * inp.mean_s / inp.overdue_helpers + inp.waiting_overdue_s, 1
    for issued, ended, called, _p in inp.history:
        if ended is None and issued > after:
            past += issued - after
        elif called and ended is not None and ended < horizon and issued - ended > after:
            past += issued - ended - after
            taken += 1
    mean = past / taken
    start = max(inp.overdue_in_s, 0.0)
    return start + mean, start + gamma_quantile(mean, 1.0, -params.z), start + gamma_quantile(mean, 1.0, params.z)


# ----------------------------------------------------------------------------------------------- the reads
# The windows that serve a queue, each with every queue it serves, whether that queue has visitors waiting,
# whether the window holds a ticket, whether it is staffed now, since when it is away (a pause, or its post
# covered or empty since the clerk left) and its break plan: one statement for ``_windows``.
_other = aliased(WindowQueue)
_away_since = (select(func.max(PostInterval.started_at))
               .where(PostInterval.window_id == WindowQueue.window_id, PostInterval.ended_at.is_(None))
               .scalar_subquery())
_SERVING_SHAPE = Prebuilt(
    select(WindowQueue.window_id, _other.queue_id, _other.role,
           exists().where(Ticket.window_id == WindowQueue.window_id, one_of(Ticket.status, IN_HAND_STATUSES)),
           exists().where(Ticket.queue_id == _other.queue_id, Ticket.status == "waiting"),
           Window.clerk_id, Window.paused_at, Window.covered_by_id, cast(Window.break_plan, String),
           cast(Window.call_rules, String),
           # only a window whose clerk is gone or whose post is covered asks when it left (CASE skips the rest)
           case((and_(Window.clerk_id.is_not(None), Window.covered_by_id.is_(None)), null()), else_=_away_since),
           Hall.timezone)
    .select_from(WindowQueue)
    .join(Window, Window.id == WindowQueue.window_id)
    .join(Hall, Hall.id == Window.hall_id)
    .join(_other, _other.window_id == WindowQueue.window_id)
    .where(WindowQueue.queue_id == bindparam("queue_id"), Window.is_open.is_(True))
    .order_by(WindowQueue.window_id)
)


@dataclass
class _Served:
    primary: set
    helper: set
    here: bool
    away_since: datetime | None
    plan: tuple[tuple[int, int], ...]
    timezone: str
    overdue_after: int | None  # the window's ``helper_overdue`` rule's ``after_s`` (``None``: it has none)


def _windows(session: Session, queue_id: int, now: datetime) -> tuple[float, int, int, tuple, int | None, int]:
    """Windows serving the queue: effective now (shared windows as fractions), how many stand idle, how many
    in all, the staffing plan ahead (``WaitInputs.plan``; empty when no serving window has a break plan), and
    the shortest ``helper_overdue`` wait of the helper windows here now with that rule and how many they are."""
    served: dict[int, _Served] = {}
    busy: set[int] = set()
    waiting_queues: set[int] = set()  # of the queues these windows serve: only those can share a window
    for (wid, qid, role, holding, waiting, clerk, paused, covered, plan, rules, away_since,
         tz) in _SERVING_SHAPE.run(core(session), {"queue_id": queue_id}):
        w = served.get(wid)
        if w is None:
            here = clerk is not None and paused is None and covered is None
            w = served[wid] = _Served(set(), set(), here, paused or away_since, _stretches(plan), tz,
                                      _overdue_after(rules))
        (w.primary if role == "primary" else w.helper).add(qid)
        if holding:
            busy.add(wid)
        if waiting:
            waiting_queues.add(qid)
    total, idle, serving = 0.0, 0, 0
    shares: list[tuple[_Served, float]] = []
    here_q = waiting_queues | {queue_id}
    for wid, w in served.items():
        if queue_id in w.primary:
            share = 1 / max(1, len(w.primary & here_q))
        elif not (w.primary & waiting_queues):
            share = 1 / max(1, len(w.helper & here_q))
        else:
            continue
        shares.append((w, share))
        if w.here:
            total += share
            idle += wid not in busy
    serving = sum(1 for w in served.values() if w.here)
    helpers = [w.overdue_after for w in served.values()
               if w.here and w.overdue_after is not None and queue_id in w.helper and queue_id not in w.primary]
    plan: tuple = ()
    if any(w.plan for w, _ in shares):
        local = local_wall(shares[0][0].timezone, now)
        day_s = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        plan = tuple(p for p in (_window_plan(w, share, now, day_s) for w, share in shares) if p is not None)
    return total, idle, serving, plan, min(helpers, default=None), len(helpers)


@lru_cache(maxsize=256)
def _overdue_after(rules_text: str | None) -> int | None:
    """A window's calling rules as stored (JSON text) → its ``helper_overdue`` ``after_s``, ``None`` without one.

    A window with no rules of its own calls by the default ones (``calling.call_next``)."""
    for rule in json.loads(rules_text or "[]") or DEFAULT_CALL_RULES:
        if rule.get("rule") == "helper_overdue":
            return int(rule.get("after_s", _DEFAULT_OVERDUE_S))
    return None


@lru_cache(maxsize=256)
def _stretches(plan_text: str | None) -> tuple[tuple[int, int], ...]:
    """A break plan as stored (JSON text) → ``((start, end) seconds after local midnight, …)``."""
    out = []
    for a, b in json.loads(plan_text or "[]") or []:
        start, end = int(a[:2]) * 3600 + int(a[3:5]) * 60, int(b[:2]) * 3600 + int(b[3:5]) * 60
        if end > start:
            out.append((start, end))
    return tuple(out)


def _window_plan(w: _Served, share: float, now: datetime, day_s: float):
    """One window's ``(share, away stretches in s from now)``; ``None`` for a window away with no plan for it.

    ``day_s``: the hall's local time now, in seconds after midnight. A window here now is away during each
    planned stretch still ahead (one whose start has passed while its clerk is still here — finishing a visitor
    — runs its full length from now). A window away now is due back its planned length after it actually left
    (the plan's stretch starting nearest that moment), or in ``BREAK_OVERRUN_S`` if that is past; away without
    a planned stretch near, it is not counted (as before plans: the pace holds).
    """
    stretches = [(a - day_s, b - a) for a, b in w.plan]
    away: list[tuple[float, float | None]] = []
    if w.here:
        for start, length in stretches:
            if start + length > 0:
                begin = max(start, 1.0)
                away.append((begin, begin + length))
        return share, tuple(away)
    if w.away_since is None:
        return None
    left = -(now - w.away_since).total_seconds()  # s from now (negative)
    near = [(abs(start - left), start, length) for start, length in stretches if abs(start - left) <= BREAK_MATCH_S]
    if not near:
        return None
    _gap, start, length = min(near)
    back = max(left + length, BREAK_OVERRUN_S)
    away.append((0.0, back))
    away += [(s, s + n) for s, n in stretches if s > start and s + n > back]
    return share, tuple(away)


def _history(session: Session, queue_id: int, ticket_id: int, now: datetime, history_s: float, *,
             overdue_after: float | None = None, each_waiting: bool = False) -> tuple[tuple, dict]:
    """The queue's tickets that waited in the last ``history_s`` (issued within a few hours, for the index), and
    the ``WaitInputs`` figures of those still waiting (``waited_s``, ``waiting_*``) unless each is listed.

    ``each_waiting``: list every waiting ticket as well (the benchmark replays other ``history_s``). Otherwise
    one aggregate stands for them — on a long line they were most of the rows, and fetching and converting
    them cost a third of an issue (issue 19): their earliest issue, how many were issued within ``history_s``,
    and of those waiting past ``overdue_after`` how many and their issue times summed exactly (in µs) — only
    where a window here has the rule (``None``: the sums are not made).
    """
    since = now - timedelta(seconds=history_s)
    recent = epoch_seconds(since - ESTIMATE_LOOKBACK)
    params = {"queue_id": queue_id, "ticket_id": ticket_id, "since": since, "recent": recent}
    out = []
    append = out.append
    if each_waiting:
        for issued, called, closed, status, prio in core(session).execute(_HISTORY, params).all():
            if status == "waiting":
                append((max(0.0, (now - issued).total_seconds()), None, False, prio != "ordinary"))
                continue
            _ended_row(append, now, issued, called, closed, prio)
        return tuple(out), {}
    base_us = int(recent) * 1_000_000
    overdue_since = _NO_TIME if overdue_after is None else now - timedelta(seconds=overdue_after)
    rows = _HISTORY_SUMMED.run(core(session), {**params, "base_us": base_us, "overdue_since": overdue_since})
    for _f, _r, _o, _s, issued, called, closed, prio in rows:
        if issued is not None:  # no ended ticket: the one row the aggregate makes, the rest None
            _ended_row(append, now, issued, called, closed, prio)
    first, recent_n, overdue_n, offsets_us = rows[0][:4]
    waited = 0.0 if first is None else max(0.0, (now - first).total_seconds())
    overdue_s = 0.0
    if overdue_n:  # their waits summed from the exact sum of issue times, less ``overdue_after`` each
        now_us = (now - _EPOCH) // timedelta(microseconds=1)
        overdue_s = (overdue_n * (now_us - base_us) - int(offsets_us)) / 1e6 - overdue_n * (overdue_after or 0.0)
    return tuple(out), {"waited_s": waited, "waiting_recent": recent_n or 0, "waiting_overdue": overdue_n or 0,
                        "waiting_overdue_s": overdue_s}


def _ended_row(append, now: datetime, issued, called, closed, prio) -> None:
    ended = called or closed
    if ended is not None:
        append((max(0.0, (now - issued).total_seconds()), max(0.0, (now - ended).total_seconds()),
                called is not None, prio != "ordinary"))


_EPOCH = datetime(1970, 1, 1)
_NO_TIME = datetime(1, 1, 1)  # issued before it: nobody (no ``helper_overdue`` rule here, so no sums to make)


class _epoch_us(FunctionElement):
    """A stored (naive UTC) time as whole microseconds since 1970: exact, so sums of them are too."""

    type = BigInteger()
    inherit_cache = True


@compiles(_epoch_us, "sqlite")
def _epoch_us_sqlite(element, compiler, **kw):  # stored as text 'YYYY-MM-DD HH:MM:SS.ffffff'
    x = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {x}) AS INTEGER) * 1000000 + CAST(substr({x}, 21, 6) AS INTEGER))"


@compiles(_epoch_us)
def _epoch_us_default(element, compiler, **kw):  # PostgreSQL: EXTRACT gives exact numeric seconds
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) * 1000000 AS BIGINT)"


_HISTORY_WHERE = (Ticket.queue_id == bindparam("queue_id"), Ticket.queue_key >= bindparam("recent"),
                  Ticket.id != bindparam("ticket_id"))
_ENDED_SINCE = or_(*(compared_as_stored(c) >= bindparam("since")
                     for c in (Ticket.issued_at, Ticket.called_at, Ticket.closed_at)))
_HISTORY = (select(Ticket.issued_at, Ticket.called_at, Ticket.closed_at, Ticket.status, Ticket.priority_class)
            .where(*_HISTORY_WHERE, one_of(Ticket.status, TICKET_STATUSES),
                   or_(Ticket.status == "waiting", _ENDED_SINCE)))
# The same tickets with those still waiting summed: one row of figures joined to each ended ticket (one statement).
_overdue = compared_as_stored(Ticket.issued_at) < bindparam("overdue_since")
_WAITING_SUM = (select(func.min(Ticket.issued_at), func.count(case((compared_as_stored(Ticket.issued_at) > bindparam("since"), 1))),
                       func.count(case((_overdue, 1))),
                       func.sum(case((_overdue, _epoch_us(Ticket.issued_at) - bindparam("base_us")))))
                .where(*_HISTORY_WHERE, Ticket.status == "waiting").subquery())
_ENDED = (select(Ticket.issued_at, Ticket.called_at, Ticket.closed_at, Ticket.priority_class)
          .where(*_HISTORY_WHERE, one_of(Ticket.status, (s for s in TICKET_STATUSES if s != "waiting")),
                 _ENDED_SINCE).subquery())
_HISTORY_SUMMED = Prebuilt(select(*_WAITING_SUM.c, *_ENDED.c).select_from(_WAITING_SUM.outerjoin(_ENDED, true())))


# A green or booked ticket's own class waiting before it, in the order the calling rules take them (bookings by
# slot, then key; green tickets by key), with the ticket's slot: one statement, in place of the bookings read.
_me = aliased(Ticket)
_CLASS_AHEAD = {
    cls: select(select(_me.slot_start).where(_me.id == bindparam("id")).scalar_subquery(),
                select(func.count()).select_from(Ticket).join(_me, _me.id == bindparam("id")).where(
                    Ticket.queue_id == bindparam("queue_id"), Ticket.status == "waiting",
                    Ticket.priority_class == cls, Ticket.id != _me.id, *extra,
                    or_(*before, and_(*same, or_(Ticket.queue_key < _me.queue_key,
                                                 and_(Ticket.queue_key == _me.queue_key, Ticket.id < _me.id)))))
                .scalar_subquery())
    for cls, extra, before, same in (
        ("appointment", (Ticket.slot_start.is_not(None),), (Ticket.slot_start < _me.slot_start,),
         (Ticket.slot_start == _me.slot_start,)),
        ("green", (), (), ()))
}


@dataclass(frozen=True)
class QueueReads:
    """What ``wait_inputs`` reads of the queue rather than of one ticket, as it stood at ``now``: its windows
    (``_windows``) and its recent tickets (``_history``, the reading ticket left out)."""

    now: datetime
    windows: float
    idle: int
    serving: int
    plan: tuple
    overdue_after: int | None
    helpers: int
    history: tuple
    waiting: dict

    def aged(self, now: datetime) -> QueueReads:
        """The same reads told from ``now`` (later): every "s ago" grows, every "s from now" shrinks by the gap."""
        dt = (now - self.now).total_seconds()
        if dt == 0:
            return self
        history = tuple((issued + dt, None if ended is None else ended + dt, called, prio)
                        for issued, ended, called, prio in self.history)
        plan = tuple((share, tuple((a - dt, None if b is None else b - dt) for a, b in away))
                     for share, away in self.plan)
        waiting = dict(self.waiting)
        if waiting.get("waited_s") or waiting.get("waiting_recent"):  # someone waits: the longest wait grows
            waiting["waited_s"] += dt
        if waiting.get("waiting_overdue"):
            waiting["waiting_overdue_s"] += waiting["waiting_overdue"] * dt
        return QueueReads(now, self.windows, self.idle, self.serving, plan, self.overdue_after, self.helpers,
                          history, waiting)

    def joined(self) -> QueueReads:
        """The same reads with one more ticket waiting, issued at ``now``: the one whose range was just told."""
        if not self.waiting:  # nobody serves the queue: its tickets were not read
            return self
        waiting = dict(self.waiting)
        waiting["waiting_recent"] += 1  # its wait so far (none) changes neither the longest wait nor the overdue
        return QueueReads(self.now, self.windows, self.idle, self.serving, self.plan, self.overdue_after,
                          self.helpers, self.history, waiting)


def _queue_reads(session: Session, queue_id: int, ticket_id: int, now: datetime, history_s: float,
                 each_waiting: bool) -> QueueReads:
    windows, idle, serving, plan, overdue_after, helpers = _windows(session, queue_id, now)
    history, waiting = ((), {}) if serving == 0 else _history(
        session, queue_id, ticket_id, now, history_s, each_waiting=each_waiting,
        overdue_after=None if overdue_after is None else float(overdue_after))
    return QueueReads(now, windows, idle, serving, plan, overdue_after, helpers, history, waiting)


# Kept queue reads (issue 19). Issuing a ticket reads the queue's windows and recent tickets for its wait range
# (two statements and a read transaction: a third of an issue). Those reads change when a ticket is called,
# finished or cancelled, or a window opens, pauses or changes hands — not when a ticket joins the end of the
# line: the issue's own ``ahead`` counts it exactly, and each ticket told its range here is added to the kept
# reads for the next (``QueueReads.joined``). So the reads are kept per queue for ``WAIT_READS_KEPT_S`` from the
# read and used, aged to the moment, by the next issues of the queue, until any other write of this process ends
# (``Database.changes``): at once. A change made by another process, or a ticket it issued, shows within that time.
_kept: dict[tuple[str, int], tuple[QueueReads, int, float]] = {}
_kept_lock = threading.Lock()
_KEPT_MAX = 4096


def _kept_reads(keep: tuple[str, int], queue_id: int, now: datetime) -> QueueReads | None:
    """The queue's kept reads told from ``now``, if they still hold; ``None`` otherwise."""
    hit = _kept.get((keep[0], queue_id))
    if hit is None:
        return None
    reads, changes, until = hit
    if changes != keep[1] or time.monotonic() > until or not (
            0.0 <= (now - reads.now).total_seconds() <= WAIT_READS_KEPT_S):
        return None
    return reads.aged(now)


def _join(keep: tuple[str, int], queue_id: int) -> None:
    """The ticket just told its range from the kept reads joins them, for the next tickets."""
    with _kept_lock:  # on the entry as it is now: joins of tickets told at once all count
        hit = _kept.get((keep[0], queue_id))
        if hit is not None:
            _kept[(keep[0], queue_id)] = (hit[0].joined(), hit[1], hit[2])


def _keep(keep: tuple[str, int], queue_id: int, reads: QueueReads) -> None:
    """Keep a just-issued ticket's queue reads (it joins them) for the next tickets of the queue."""
    with _kept_lock:
        if len(_kept) >= _KEPT_MAX:
            _kept.clear()
        _kept[(keep[0], queue_id)] = (reads.joined(), keep[1], time.monotonic() + WAIT_READS_KEPT_S)


def _inputs(reads: QueueReads, *, ahead: int, priority_class: str, key: float, now: datetime, mean_s: float,
            samples: int, bookings: tuple[float, ...] = (), class_ahead: int | None = None,
            slot_s: float | None = None) -> WaitInputs:
    # The ticket's calling key is its issue time in seconds (``ticketing``), which the rule's limit compares.
    overdue_in = None if reads.overdue_after is None else key + reads.overdue_after - epoch_seconds(now)
    return WaitInputs(ahead, priority_class, reads.serving, reads.windows, reads.idle, mean_s, samples, bookings,
                      reads.history, reads.plan, class_ahead, slot_s, overdue_in, float(reads.overdue_after or 0),
                      reads.helpers, **reads.waiting)


def wait_inputs(session: Session, *, hall_id: int, queue_id: int, key: float, ticket_id: int, priority_class: str,
                now: datetime, default_s: int, ahead: int | None = None, history_s: float = ESTIMATE_HISTORY_S,
                last_in_line: bool = False, each_waiting: bool = False,
                keep: tuple[str, int] | None = None) -> WaitInputs:
    """Read what ``wait_estimate`` needs for the waiting ticket ``ticket_id`` (calling key ``key``).

    ``last_in_line``: the ticket was just issued with the queue's highest key, so no booking waits behind it
    (the issue path saves that read). The queue's service pace comes from the per-process cache.
    ``each_waiting``: list the waiting tickets in ``history`` one by one, not summed (``_history``).
    ``keep``: ``(database URL, Database.changes taken before this read began)`` — use the queue's kept reads
    if they still hold, and keep these otherwise (a just-issued ticket: ``kept_wait_range``).
    """
    # Built only when a read needs it: the issue path knows ``ahead`` and is last in line, and building this
    # expression cost more than the arithmetic of the estimate (issue 19).
    def before():
        return or_(Ticket.queue_key < key, and_(Ticket.queue_key == key, Ticket.id < ticket_id))
    if ahead is None:
        ahead = session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.queue_id == queue_id, Ticket.status == "waiting", before())) or 0
    keep = keep if history_s == ESTIMATE_HISTORY_S and not each_waiting else None
    reads = None if keep is None else _kept_reads(keep, queue_id, now)
    if reads is not None:
        _join(keep, queue_id)
    else:
        reads = _queue_reads(session, queue_id, ticket_id, now, history_s, each_waiting)
        if keep is not None:
            _keep(keep, queue_id, reads)
    if reads.serving == 0:
        return WaitInputs(ahead, priority_class, 0, 0.0, 0, float(default_s))
    pace = queue_pace(session, queue_id, default_s)
    bookings: tuple[float, ...] = ()
    class_ahead = slot_s = None
    if priority_class in ("appointment", "green"):
        # In place of the bookings behind (one read either way): its own class ahead, and a booking's slot.
        slot, class_ahead = core(session).execute(_CLASS_AHEAD[priority_class], {
            "id": ticket_id, "queue_id": queue_id}).one()
        slot_s = None if slot is None else (slot - now).total_seconds()
        if priority_class == "green":
            slot_s = None
    elif not last_in_line:
        bookings = tuple((slot - now).total_seconds() for slot in session.scalars(select(Ticket.slot_start).where(
            Ticket.queue_id == queue_id, Ticket.status == "waiting", Ticket.priority_class == "appointment",
            Ticket.slot_start.is_not(None), Ticket.id != ticket_id, ~before())))
    return _inputs(reads, ahead=ahead, priority_class=priority_class, key=key, now=now, mean_s=pace.mean_s,
                   samples=pace.samples, bookings=bookings, class_ahead=class_ahead, slot_s=slot_s)


def kept_wait_range(keep: tuple[str, int], bind, *, hall_id: int, queue_id: int, key: float, ticket_id: int,
                    priority_class: str, now: datetime, default_s: int, ahead: int | None = None,
                    last_in_line: bool = False) -> WaitRange | None:
    """A just-issued ticket's wait range from its queue's kept reads and cached pace, without a session; ``None``
    when they are not kept (or the ticket needs a read of its own: a booking or green ticket's class ahead).

    ``keep`` as for ``wait_inputs``; ``bind``: the engine a read would use (where the pace is cached)."""
    if ahead is None or not last_in_line or priority_class in ("appointment", "green"):
        return None
    reads = _kept_reads(keep, queue_id, now)
    if reads is None:
        return None
    if reads.serving == 0:
        inputs = WaitInputs(ahead, priority_class, 0, 0.0, 0, float(default_s))
    else:
        pace = kept_pace(bind, queue_id, default_s)
        if pace is None:
            return None
        inputs = _inputs(reads, ahead=ahead, priority_class=priority_class, key=key, now=now, mean_s=pace.mean_s,
                         samples=pace.samples)
    _join(keep, queue_id)
    return _range(wait_estimate(inputs))


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
                        last_in_line: bool = False, keep: tuple[str, int] | None = None) -> WaitRange:
    """Return the position and wait range of the waiting ticket ``ticket_id`` (calling key ``key``).

    ``keep``: a just-issued ticket's (``wait_inputs``)."""
    return _range(wait_estimate(wait_inputs(session, hall_id=hall_id, queue_id=queue_id, key=key,
                                            ticket_id=ticket_id, priority_class=priority_class, now=now,
                                            default_s=default_s, ahead=ahead, last_in_line=last_in_line, keep=keep)))


def _range(est: WaitEstimate) -> WaitRange:
    return WaitRange(est.position, int(round(est.low_s)), int(round(est.high_s)), est.windows)

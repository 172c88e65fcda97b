"""A hall's day, simulated on the real domain services with an injected clock (routing quality).

A discrete-event simulation drives ``issue_ticket``, ``call_next``, ``start``, ``finish``,
``recall``, ``mark_no_show``, ``transfer``, ``sign_in``/``sign_out``, ``pause``/``resume`` and
``check_posts`` of ``hall_queue`` on a real SQLite file, with a ``ManualClock``:

* arrivals follow an hourly curve with a morning peak (Poisson within each hour);
* an item mix across six fields, immediate items (mean 6 min) and promised-term items (mean 16 min,
  log-normal service times);
* 20 windows: 11 general, 4 on-the-spot, 2 cross-region, 1 fallback, 1 handover, 1 general spare;
  every window has an A and a B clerk; clerks take two 15-minute breaks and the lunch hour is
  relayed (half of the A clerks sign out at 11:45, the other half at 12:45; their B clerks cover) —
  the ``standard`` break pattern; ``relay3`` (``BREAK_PATTERNS``) is another. The hall records each
  window's planned breaks (``Window.break_plan``); the clerks keep to them as well as a visitor in hand allows;
* appointments (15 % of visitors) with 10 % no-shows, recalls (4 % come only on the second call,
  2 % never), transfers (4 % of general tickets go on to a cross-region window).

The same arrivals are then replayed on (a) a *department silo* hall — each field's queue only at
its own windows, no general windows, the hall before 一窗受理 — with the same number of windows,
and compared with (b) the Erlang-C mean wait of the fully pooled M/M/c system for the same load
(hour by hour, c = staffed windows), a lower bound for any routing.

Prints one JSON object as its last line: ``mean_wait_s``, ``p90_wait_s``, ``max_wait_s``,
``served_within_30min``, ``window_utilisation``, ``empty_post_minutes``, ``silo``/``erlang_c``
figures, ``wait_vs_erlang_c``, ``wait_vs_silo``; saves a PNG of the mean wait by hour.
Usage: ``python -m bench.hall_day [--quick] [--seed N] [--visitors N] [--png PATH]``.
"""
from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from hall_queue.queueing import calling
from hall_queue.queueing import posts
from hall_queue.access.audit import SYSTEM, Actor
from hall_queue.access.auth import hash_password
from hall_queue.domain.clock import ManualClock
from hall_queue.infrastructure.db import Database
from hall_queue.domain.errors import DomainError
from hall_queue.access.identity import IdentityVault
from hall_queue.domain.models import (Base, Hall, PostInterval, Queue, ServiceCategory, ServiceItem, Staff, Ticket, Window,
                               WindowQueue)
from hall_queue.queueing.ticketing import IssueRequest, issue_ticket

FIELDS = ["商事登记", "不动产登记", "社保医保", "公安户政", "税务", "公积金"]
FIELD_SHARE = [0.18, 0.16, 0.22, 0.14, 0.18, 0.12]
# Share of visitors arriving in each hour from 08:30 (index 0 = 08:30-09:30) to 17:30.
HOURLY = [0.10, 0.17, 0.16, 0.13, 0.06, 0.08, 0.11, 0.11, 0.08]
OPEN_AT = (8, 30)
DAY = datetime(2026, 3, 2)  # a Monday
TZ_OFFSET = timedelta(hours=8)  # Asia/Shanghai, no DST
TICK_S = 60


# The clerks' planned breaks: window index → [(kind, local "HH:MM", minutes)], kind "pause" (a short break, the
# post covered by its B clerk) or "sign_out" (lunch: the A clerk signs out and the B clerk covers). Each
# hall writes its plan on its windows (``Window.break_plan``, read by the wait estimate); the clerks go when the
# visitor in hand is done and come back the planned length after actually leaving (± the pattern's jitter).
def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def standard_breaks(i: int) -> list[tuple[str, str, int]]:
    """Two 15-minute breaks staggered so partners do not leave together; lunch relayed at 11:45 / 12:45."""
    return [("pause", _hm(600 + 7 * (i % 6)), 15), ("pause", _hm(900 + 7 * (i % 6)), 15),
            ("sign_out", "11:45" if i % 2 == 0 else "12:45", 60)]


def relay3_breaks(i: int) -> list[tuple[str, str, int]]:
    """Three lunch groups of 40 minutes (11:30, 12:10, 12:50); 20-minute breaks from 09:40 and 14:30."""
    return [("pause", _hm(580 + 6 * (i % 5)), 20), ("pause", _hm(870 + 6 * (i % 5)), 20),
            ("sign_out", ("11:30", "12:10", "12:50")[i % 3], 40)]


# pattern → (plan per window, minutes a clerk may come back early / late against the plan)
BREAK_PATTERNS = {"standard": (standard_breaks, (0, 0)), "relay3": (relay3_breaks, (-3, 8))}


def break_plan(pattern: str, i: int) -> list[list[str]]:
    """Window ``i``'s planned breaks as the hall records them (``Window.break_plan``)."""
    out = []
    for _kind, at, minutes in BREAK_PATTERNS[pattern][0](i):
        h, m = map(int, at.split(":"))
        out.append([at, _hm(h * 60 + m + minutes)])
    return out


@dataclass(order=True)
class Ev:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


@dataclass
class Visitor:
    at: datetime
    field_idx: int
    immediate: bool
    service_s: float
    appointment: bool
    no_show_booking: bool
    answers_call: int  # 0 = at first call, 1 = only after one recall, 2 = never (no-show)
    transfer: bool
    ticket_id: int | None = None


def local(hh: int, mm: int = 0) -> datetime:
    """Return naive UTC for a local time of the simulated day."""
    return DAY + timedelta(hours=hh, minutes=mm) - TZ_OFFSET


def make_visitors(n: int, rng: random.Random, *, hourly: list[float] | None = None,
                  field_share: list[float] | None = None) -> list[Visitor]:
    """Draw a day's visitors: ``hourly`` shares of arrivals from 08:30, ``field_share`` of the six fields."""
    out = []
    start = local(*OPEN_AT)
    shares = field_share or FIELD_SHARE
    for hour, share in enumerate(hourly or HOURLY):
        rate = n * share / 3600.0
        t = 0.0
        while True:
            t += rng.expovariate(rate) if rate > 0 else 3600
            if t >= 3600:
                break
            fi = rng.choices(range(len(FIELDS)), shares)[0]
            immediate = rng.random() < 0.65
            mean = 360.0 if immediate else 960.0
            sigma = 0.5
            service = rng.lognormvariate(math.log(mean) - sigma ** 2 / 2, sigma)
            out.append(Visitor(at=start + timedelta(hours=hour, seconds=t), field_idx=fi, immediate=immediate,
                               service_s=min(service, 3600), appointment=rng.random() < 0.15,
                               no_show_booking=rng.random() < 0.10,
                               answers_call=0 if rng.random() < 0.94 else (1 if rng.random() < 0.67 else 2),
                               transfer=rng.random() < 0.04))
    out.sort(key=lambda v: v.at)
    return out


def build_hall(s, *, silo: bool, breaks: str = "standard") -> dict:
    """Create the simulated hall; return ids of windows, items and queues."""
    hall = Hall(name="模拟政务服务中心", code="sim", timezone="Asia/Shanghai",
                opening_hours={d: [["08:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                day_boundary="03:00", max_recalls=2, late_requeue_places=3, pause_cover_after_s=120,
                default_service_s=600)
    s.add(hall)
    s.flush()
    pw = hash_password("simulation")
    staff = []
    for i in range(20):
        st = Staff(hall_id=hall.id, username=f"sim{'s' if silo else 'g'}{i:02d}", display_name=f"办事员{i:02d}",
                   role="clerk", password_hash=pw)
        s.add(st)
        staff.append(st)
    s.flush()
    items_imm, items_prom, queues = [], [], {}
    for fi, name in enumerate(FIELDS):
        cat = ServiceCategory(hall_id=hall.id, code=f"F{fi}", name=name)
        s.add(cat)
        s.flush()
        imm = ServiceItem(hall_id=hall.id, category_id=cat.id, code=f"F{fi}I", name=f"{name}即办事项", kind="immediate",
                          on_the_spot=not silo and fi in (2, 4, 5), materials=[], guide={})
        prom = ServiceItem(hall_id=hall.id, category_id=cat.id, code=f"F{fi}P", name=f"{name}承诺事项", kind="promised",
                           promised_days=5, materials=[], guide={})
        s.add_all([imm, prom])
        items_imm.append(imm)
        items_prom.append(prom)
    s.flush()
    letters = "ABCDEFGH"
    if silo:
        # One queue per field, served only at that field's windows (windows in proportion to load).
        counts = [4, 3, 4, 3, 3, 3]  # 20 windows
        wins = []
        n = 0
        for fi, c in enumerate(counts):
            q = Queue(hall_id=hall.id, prefix=letters[fi], name=FIELDS[fi])
            q.items = [items_imm[fi], items_prom[fi]]
            s.add(q)
            s.flush()
            queues[fi] = q
            for _ in range(c):
                wins.append(_window(s, hall, n, "general", [(q, "primary")], staff))
                n += 1
        xq = queues[3]  # cross-region matters land at the 户政 windows in a silo hall
    else:
        general = Queue(hall_id=hall.id, prefix="A", name="综合受理")
        general.items = items_imm + items_prom
        ots = {}
        for fi, letter in ((2, "B"), (4, "C"), (5, "D")):
            q = Queue(hall_id=hall.id, prefix=letter, name=f"{FIELDS[fi]}即办")
            q.items = [items_imm[fi]]
            ots[fi] = q
        xq = Queue(hall_id=hall.id, prefix="E", name="跨省通办")
        xq.items = items_prom
        fb = Queue(hall_id=hall.id, prefix="F", name="办不成事")
        ho = Queue(hall_id=hall.id, prefix="G", name="出件")
        s.add_all([general, *ots.values(), xq, fb, ho])
        s.flush()
        wins = []
        n = 0
        for _ in range(12):
            wins.append(_window(s, hall, n, "general", [(general, "primary")], staff))
            n += 1
        for fi in (2, 2, 4, 5):
            wins.append(_window(s, hall, n, "on_the_spot", [(ots[fi], "primary"), (general, "helper")], staff))
            n += 1
        # General windows accept everything (无差别受理, 001 §5): the on-the-spot queues are their helpers.
        for w in wins[:12]:
            w.served += [WindowQueue(queue_id=q.id, rank=1 + r, role="helper") for r, q in enumerate(ots.values())]
        for _ in range(2):
            wins.append(_window(s, hall, n, "cross_region", [(xq, "primary"), (general, "helper")], staff))
            n += 1
        wins.append(_window(s, hall, n, "fallback", [(fb, "primary"), (general, "helper")], staff))
        n += 1
        wins.append(_window(s, hall, n, "handover", [(ho, "primary"), (general, "helper")], staff))
        queues = {"general": general, **ots}
    s.flush()
    # A and B: window i's B clerk is the A clerk of its neighbour in the same group.
    for i, w in enumerate(wins):
        w.break_plan = break_plan(breaks, i)
        w.a_clerk_id = staff[i].id
        partner = i + 1 if i % 2 == 0 else i - 1
        w.b_clerk_id = staff[partner if partner < len(wins) else i - 1].id
    s.flush()
    return {"hall_id": hall.id, "windows": [w.id for w in wins], "staff": [st.id for st in staff],
            "imm": [i.id for i in items_imm], "prom": [i.id for i in items_prom], "cross_queue": xq.id}


def _window(s, hall, n, kind, served, staff) -> Window:
    w = Window(hall_id=hall.id, number=n + 1, name=f"{n + 1}号窗口", kind=kind, is_open=True,
               call_rules=list(calling.DEFAULT_RULES))
    w.served = [WindowQueue(queue_id=q.id, rank=r, role=role) for r, (q, role) in enumerate(served)]
    s.add(w)
    return w


class Simulation:
    def __init__(self, visitors: list[Visitor], *, silo: bool, seed: int, workdir: Path,
                 breaks: str = "standard") -> None:
        self.visitors = [Visitor(**{k: getattr(v, k) for k in v.__dataclass_fields__ if k != "ticket_id"})
                         for v in visitors]
        self.silo = silo
        self.rng = random.Random(seed + (1 if silo else 0))
        self.db = Database(f"sqlite:///{workdir / ('silo.db' if silo else 'hall.db')}")
        Base.metadata.create_all(self.db.writer)
        self.clock = ManualClock(local(8, 0))
        self.vault = IdentityVault("simulation")
        self.breaks = breaks
        self.jitter_rng = random.Random(seed * 7 + 3)  # apart from ``rng``: the standard days stay as they were
        self.ids = self.db.run_write(lambda s: build_hall(s, silo=silo, breaks=breaks))
        self.heap: list[Ev] = []
        self.seq = 0
        self.busy_s = 0.0
        self.staffed_s = 0.0
        self.by_ticket: dict[int, Visitor] = {}
        self.idle: set[int] = set()
        self.closed_at: datetime | None = None
        self.staffed_by_hour: dict[int, list[int]] = {}
        # A break or lunch due while the clerk has a visitor in hand: taken when that visitor is done,
        # instead of calling the next one (window id → the deferred event's kind and data).
        self.deferred: dict[int, tuple[str, dict]] = {}

    def at(self, when: datetime, kind: str, **data) -> None:
        self.seq += 1
        heapq.heappush(self.heap, Ev(when, self.seq, kind, data))

    def clerk(self, staff_id: int) -> Actor:
        return Actor("staff", staff_id, "clerk", self.ids["hall_id"])

    def tx(self, fn):
        try:
            return self.db.run_write(fn)
        except DomainError:
            return None

    # -------------------------------------------------------------- the day's schedule
    def plan(self) -> None:
        wins, staff = self.ids["windows"], self.ids["staff"]
        plans, (early, late) = BREAK_PATTERNS[self.breaks]
        for i, wid in enumerate(wins):
            self.at(local(8, 25), "sign_in", window=wid, staff=staff[i])
            # The planned breaks and the lunch relay; each lasts its length from when the clerk actually
            # leaves (a clerk with a visitor in hand finishes first), give or take the pattern's jitter.
            for kind, at, minutes in plans(i):
                length = minutes + (self.jitter_rng.uniform(early, late) if late > early else 0)
                h, m = map(int, at.split(":"))
                if kind == "pause":
                    self.at(local(h, m), "pause", window=wid, minutes=length)
                else:
                    self.at(local(h, m), "sign_out", window=wid, back_staff=staff[i], minutes=length)
        for v in self.visitors:
            if v.appointment and v.no_show_booking:
                continue
            self.at(v.at, "arrive", visitor=v)
        self.at(local(8, 30), "tick")

    def run(self) -> dict:
        self.plan()
        while self.heap:
            ev = heapq.heappop(self.heap)
            self.clock.set(ev.at)
            getattr(self, "on_" + ev.kind)(**ev.data)
        return self.report()

    # -------------------------------------------------------------- event handlers
    def on_arrive(self, visitor: Visitor) -> None:
        items = self.ids["imm" if visitor.immediate else "prom"]
        req = IssueRequest(item_ids=[items[visitor.field_idx]])
        if visitor.appointment:
            slot = self.clock.now().replace(minute=(self.clock.now().minute // 30) * 30, second=0, microsecond=0)
            req.priority_class, req.source, req.slot_start = "appointment", "appointment", slot
        elif self.rng.random() < 0.06:
            req.priority_class, req.green_reason = "green", "elderly"

        def do(s):
            issued, _ = issue_ticket(s, s.get(Hall, self.ids["hall_id"]), req, now=self.clock.now(),
                                     vault=self.vault, actor=SYSTEM)
            return issued.id
        tid = self.tx(do)
        if tid is not None:
            visitor.ticket_id = tid
            self.by_ticket[tid] = visitor
        self.wake_all(until_called=True)

    def wake_all(self, until_called: bool = False) -> None:
        """Let idle windows call; after one arrival, the first window that gets a ticket is enough."""
        for wid in sorted(self.idle):
            if self.try_call(wid) and until_called:
                return

    def try_call(self, wid: int) -> bool:
        now = self.clock.now()
        if wid in self.deferred:  # the clerk's break or lunch is due: go now instead of calling
            kind, data = self.deferred.pop(wid)
            getattr(self, "on_" + kind)(**data)
            return False

        def do(s):
            w = s.get(Window, wid)
            if w.clerk_id is None or w.paused_at is not None or w.covered_by_id is not None or not w.is_open:
                return "unstaffed"
            t, _ = calling.call_next(s, w, now=now, actor=self.clerk(w.clerk_id))
            return (t.id, w.clerk_id) if t is not None else None
        got = self.tx(do)
        if got in (None, "unstaffed"):
            self.idle.add(wid) if got is None else self.idle.discard(wid)
            return False
        self.idle.discard(wid)
        tid, clerk_id = got
        v = self.by_ticket.get(tid)
        attempt = 0
        if v is not None and v.answers_call >= 1:
            attempt = 1
        # The visitor walks up within 30-90 s, or is recalled after 60 s, or never comes.
        if v is not None and v.answers_call == 2:
            self.at(now + timedelta(seconds=60), "recall", window=wid, ticket=tid, clerk=clerk_id, final=False)
        elif attempt:
            self.at(now + timedelta(seconds=60), "recall", window=wid, ticket=tid, clerk=clerk_id, final=True)
        else:
            self.at(now + timedelta(seconds=self.rng.uniform(30, 90)), "start", window=wid, ticket=tid, clerk=clerk_id)
        return True

    def on_recall(self, window: int, ticket: int, clerk: int, final: bool) -> None:
        now = self.clock.now()
        self.tx(lambda s: calling.recall(s, s.get(Ticket, ticket), now=now, actor=SYSTEM))
        if final:
            self.at(now + timedelta(seconds=self.rng.uniform(30, 90)), "start", window=window, ticket=ticket,
                    clerk=clerk)
        else:
            self.at(now + timedelta(seconds=60), "no_show", window=window, ticket=ticket)

    def on_no_show(self, window: int, ticket: int) -> None:
        now = self.clock.now()
        self.tx(lambda s: calling.mark_no_show(s, s.get(Ticket, ticket), now=now, actor=SYSTEM))
        self.try_call(window)

    def on_start(self, window: int, ticket: int, clerk: int) -> None:
        now = self.clock.now()
        self.tx(lambda s: calling.start(s, s.get(Ticket, ticket), now=now, actor=SYSTEM))
        v = self.by_ticket.get(ticket)
        service = v.service_s if v is not None else 600
        self.busy_s += service
        self.at(now + timedelta(seconds=service), "finish", window=window, ticket=ticket)

    def on_finish(self, window: int, ticket: int) -> None:
        now = self.clock.now()
        v = self.by_ticket.get(ticket)
        if v is not None and v.transfer and not self.silo:
            def do(s):
                t = s.get(Ticket, ticket)
                if t.leg > 0:
                    calling.finish(s, t, outcome="accepted", now=now, actor=SYSTEM)
                    return None
                nxt, _ = calling.transfer(s, t, to_queue=s.get(Queue, self.ids["cross_queue"]), now=now, actor=SYSTEM)
                return nxt.id
            new_id = self.tx(do)
            if new_id is not None:
                v.transfer = False
                v.service_s = v.service_s * 0.5
                self.by_ticket[new_id] = v
                self.wake_all()
        else:
            self.tx(lambda s: calling.finish(s, s.get(Ticket, ticket), outcome="accepted", now=now, actor=SYSTEM))
        self.try_call(window)

    def on_sign_in(self, window: int, staff: int) -> None:
        now = self.clock.now()
        self.tx(lambda s: posts.sign_in(s, s.get(Window, window), s.get(Staff, staff), now=now,
                                        actor=self.clerk(staff)))
        self.try_call(window)

    def on_sign_out(self, window: int, back_staff: int | None = None, minutes: float = 60) -> None:
        now = self.clock.now()

        def do(s):
            w = s.get(Window, window)
            if w.clerk_id is None:
                return "skip"
            if calling.ticket_in_hand(s, w) is not None:
                return "busy"
            posts.sign_out(s, w, now=now, actor=SYSTEM)
            return "ok"
        outcome = self.tx(do)
        if outcome == "busy":  # finish the visitor in hand first, then go (``try_call`` does)
            self.deferred[window] = ("sign_out", {"window": window, "back_staff": back_staff, "minutes": minutes})
        elif outcome == "ok" and back_staff is not None:
            self.at(now + timedelta(minutes=minutes), "sign_in", window=window, staff=back_staff)
        self.idle.discard(window)
        self.wake_all()

    def on_pause(self, window: int, minutes: float) -> None:
        now = self.clock.now()

        def do(s):
            w = s.get(Window, window)
            if w.clerk_id is None or w.paused_at is not None:
                return "skip"  # nobody at the window (lunch relay) or already on a break: no break to take
            if calling.ticket_in_hand(s, w) is not None:
                return "busy"
            posts.pause(s, w, reason="短暂休息", now=now, actor=SYSTEM)
            return "ok"
        outcome = self.tx(do)
        if outcome == "busy" and now < local(18, 0):  # finish the visitor in hand first, then take the break
            self.deferred[window] = ("pause", {"window": window, "minutes": minutes})
        if outcome != "ok":
            return
        self.idle.discard(window)
        self.at(now + timedelta(minutes=minutes), "resume", window=window)

    def on_resume(self, window: int) -> None:
        now = self.clock.now()
        self.tx(lambda s: posts.resume(s, s.get(Window, window), now=now, actor=SYSTEM))
        self.try_call(window)

    def on_tick(self) -> None:
        """What the server's duty loop does every few seconds: cover long pauses, retry empty posts."""
        now = self.clock.now()
        events = self.tx(lambda s: posts.check_posts(s, s.get(Hall, self.ids["hall_id"]), now=now))
        with self.db.read() as s:
            staffed = s.scalar(select(func.count()).select_from(Window).where(
                Window.hall_id == self.ids["hall_id"], Window.clerk_id.is_not(None), Window.paused_at.is_(None)))
            open_tickets = s.scalar(select(func.count()).select_from(Ticket).where(
                Ticket.status.in_(("waiting", "called", "serving"))))
        self.staffed_s += TICK_S * staffed
        hour = int(((now + TZ_OFFSET) - DAY).total_seconds() // 3600)
        self.staffed_by_hour.setdefault(hour, []).append(staffed)
        if events:  # a window took over a post: it may have tickets to call now
            self.wake_all()
        # The hall closes to newcomers at 17:30 but serves everyone who took a ticket.
        if now < local(18, 30) or open_tickets:
            self.at(now + timedelta(seconds=TICK_S), "tick")
        else:
            self.closed_at = now

    # -------------------------------------------------------------- figures
    def report(self) -> dict:
        with self.db.read() as s:
            rows = s.execute(select(Ticket.issued_at, Ticket.called_at).where(
                Ticket.leg == 0, Ticket.called_at.is_not(None))).all()
            waiting_left = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.status == "waiting"))
            empty = s.scalars(select(PostInterval).where(PostInterval.kind == "empty")).all()
            covers = s.scalar(select(func.count()).select_from(PostInterval).where(PostInterval.kind == "cover"))
        waits = [(c - i).total_seconds() for i, c in rows]
        by_hour: dict[int, list[float]] = {}
        for (i, c), w in zip(rows, waits):
            by_hour.setdefault(int(((i + TZ_OFFSET) - DAY).total_seconds() // 3600), []).append(w)
        end = max(self.closed_at or local(18, 30), local(18, 30))
        empty_min = sum(max(0.0, (min(iv.ended_at or end, end) - iv.started_at).total_seconds()) for iv in empty) / 60
        return {
            "tickets": len(waits), "left_waiting": waiting_left,
            "mean_wait_s": round(statistics.fmean(waits), 1) if waits else 0.0,
            "p90_wait_s": round(_pct(waits, 0.9), 1), "max_wait_s": round(max(waits, default=0), 1),
            "served_within_30min": round(sum(w <= 1800 for w in waits) / len(waits), 4) if waits else 0.0,
            "window_utilisation": round(self.busy_s / self.staffed_s, 3) if self.staffed_s else 0.0,
            "empty_post_minutes": round(empty_min, 1), "covers": covers,
            "mean_wait_by_hour": {h: round(statistics.fmean(v), 1) for h, v in sorted(by_hour.items())},
            "staffed_by_hour": {h: statistics.fmean(v) for h, v in sorted(self.staffed_by_hour.items())},
        }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(math.ceil(q * len(s))) - 1)]


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean queueing delay of M/M/c (seconds): C(c, a) / (c·mu − lam); inf when overloaded."""
    if lam <= 0:
        return 0.0
    a = lam / mu
    if a >= c:
        return math.inf
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c / (1 - a / c)
    p_wait = last / (total + last)
    return p_wait / (c * mu - lam)


def erlang_c_bound(visitors: list[Visitor], staffed_by_hour: dict[int, float]) -> dict:
    """Hour-by-hour Erlang-C mean wait of the fully pooled hall, weighted by arrivals.

    Each hour is taken as a stationary M/M/c with that hour's arrivals and c = the windows the
    simulated hall actually had staffed in that hour (breaks and the lunch relay included). An
    overloaded hour gets the fluid backlog (half the hour's excess work over c windows). This is
    the lower bound for stationary hours; across the morning peak a queue takes time to build, so
    the simulated hall can come in under it there.
    """
    served = [v for v in visitors if not (v.appointment and v.no_show_booking)]
    mean_service = statistics.fmean(v.service_s for v in served)
    by_hour: dict[int, int] = {}
    for v in served:
        h = int(((v.at + TZ_OFFSET) - DAY).total_seconds() // 3600)
        by_hour[h] = by_hour.get(h, 0) + 1
    out, weighted, n = {}, 0.0, 0
    for h, count in sorted(by_hour.items()):
        c = max(int(round(staffed_by_hour.get(h, 18))), 1)
        w = erlang_c_wait(count / 3600.0, 1 / mean_service, c)
        if math.isinf(w):  # overloaded hour: a fluid backlog of half the excess hour
            w = max(0.0, (count - c * 3600 / mean_service) / (c / mean_service)) / 2
        out[h] = round(w, 1)
        weighted += w * count
        n += count
    return {"mean_wait_s": round(weighted / n, 1) if n else 0.0, "mean_wait_by_hour": out,
            "mean_service_s": round(mean_service, 1)}


def plot(path: Path, series: dict[str, dict]) -> None:
    """Draw mean wait by hour for each series with Pillow (no plotting library needed)."""
    from PIL import Image, ImageDraw, ImageFont

    w, h, pad = 900, 480, 60
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    hours = sorted({int(k) for s in series.values() for k in s})
    ymax = max((v for s in series.values() for v in s.values()), default=1) or 1
    x0, x1, y0, y1 = pad, w - 20, h - pad, 30
    d.line([(x0, y0), (x1, y0)], fill="black")
    d.line([(x0, y0), (x0, y1)], fill="black")
    def x(hh):
        return x0 + (x1 - x0) * (hh - hours[0]) / max(hours[-1] - hours[0], 1)
    def y(v):
        return y0 - (y0 - y1) * v / ymax
    for hh in hours:
        d.text((x(hh) - 8, y0 + 8), f"{hh}:00", fill="black", font=font)
    for k in range(5):
        v = ymax * k / 4
        d.text((5, y(v) - 6), f"{v / 60:.0f} min", fill="black", font=font)
    colours = {"one-window hall": (200, 30, 30), "department silo": (30, 90, 200), "Erlang-C bound": (40, 150, 40)}
    for i, (name, s) in enumerate(series.items()):
        pts = [(x(int(k)), y(v)) for k, v in sorted(s.items(), key=lambda kv: int(kv[0]))]
        col = colours.get(name, (0, 0, 0))
        if len(pts) > 1:
            d.line(pts, fill=col, width=3)
        d.text((x1 - 220, y1 + 16 * i), name, fill=col, font=font)
    d.text((x0, 8), "mean wait by hour of arrival", fill="black", font=font)
    img.save(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a lighter day (fewer visitors) for smoke runs")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--visitors", type=int, default=None)
    p.add_argument("--png", default="bench/out/hall_day.png")
    args = p.parse_args(argv)
    # ≈ 700 visitors keep 20 windows about 80 % busy over the day, over-full in the 09:30 peak.
    n = args.visitors or (300 if args.quick else 700)
    rng = random.Random(args.seed)
    visitors = make_visitors(n, rng)
    work = Path(tempfile.mkdtemp(prefix="ov-hallday-"))
    ours = Simulation(visitors, silo=False, seed=args.seed, workdir=work).run()
    silo = Simulation(visitors, silo=True, seed=args.seed, workdir=work).run()
    bound = erlang_c_bound(visitors, ours["staffed_by_hour"])
    png = Path(args.png)
    png.parent.mkdir(parents=True, exist_ok=True)
    plot(png, {"one-window hall": ours["mean_wait_by_hour"], "department silo": silo["mean_wait_by_hour"],
               "Erlang-C bound": bound["mean_wait_by_hour"]})
    out = {
        "visitors": len(visitors), "seed": args.seed, "windows": 20,
        **{k: ours[k] for k in ("mean_wait_s", "p90_wait_s", "max_wait_s", "served_within_30min",
                                "window_utilisation", "empty_post_minutes", "covers", "tickets", "left_waiting")},
        "silo": {k: silo[k] for k in ("mean_wait_s", "p90_wait_s", "max_wait_s", "served_within_30min",
                                      "window_utilisation")},
        "erlang_c": {"mean_wait_s": bound["mean_wait_s"], "mean_service_s": bound["mean_service_s"]},
        "wait_vs_erlang_c": round(ours["mean_wait_s"] / bound["mean_wait_s"], 2) if bound["mean_wait_s"] else None,
        "wait_vs_silo": round(ours["mean_wait_s"] / silo["mean_wait_s"], 3) if silo["mean_wait_s"] else None,
        "png": str(png),
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Hall statistics: pure functions over a session, for a range of service days in the hall's timezone.

The indicators follow the efficiency clauses 000 §12.3.4 (办事效率: 受理集中率, 按时办结率, 网上办结率,
即办件比率) and 002 §11.3.4 (集中受理率, 当场受理率, 按时办结率, 网上办结率, 即办件比率, "最多跑一次"事项
比率, 咨询回复率) as far as a queue system sees them, plus the queue's own figures. How each is
computed (``docs/manage.md`` repeats this):

- A *ticket* is a visitor's number; a transfer (按责转办) closes one *leg* and opens the next under the same
  number. Everything is dated by the ticket's service day (``Ticket.service_day``: the hall's local date,
  shifted by its day boundary), so a range ``from..to`` covers the local span
  ``from + day_boundary`` … ``to + 1 day + day_boundary``.
- ``issued``: first legs (leg 0) issued in the period, whatever became of them (cancelled ones too).
- ``called``: legs ever called (``called_at`` set); ``no_show``: called legs whose final state is no-show;
  ``no_show_rate`` = no_show / called.
- ``served``: legs finished at a window with an outcome (status ``done``); a transferred ticket is served
  once, by the leg that finished it.
- ``wait_mean_s`` / ``wait_p90_s``: ``issued_at → called_at`` of the first leg (time in the hall before the
  first call; a re-queued late visitor's wait runs to the last call). P90 is the nearest-rank percentile:
  the value at position ⌈0.9·n⌉ of the sorted waits.
- ``service_mean_s``: ``started_at → finished_at`` of every leg that ended at a window (done or transferred).
- ``finished_matters``: served legs whose outcome is a decision on a matter (all outcomes but ``consultation``);
  ``on_the_spot_rate`` (当场办结率) = legs finished ``completed`` / finished_matters;
  ``deferred`` (容缺受理, 000 §9.3.6) = legs finished ``deferred``; ``notices`` (一次性告知) likewise.
- ``immediate_handled_share`` (即办件比率 of the work done): among (finished matter, item) pairs, the share whose
  item is an immediate item (即办件); the catalogue's share of active immediate items is ``catalog``.
- ``covers`` / ``cover_minutes`` / ``empty_posts`` / ``empty_minutes`` (AB岗, 002 §6.9; 000 §6.5): post intervals of
  the window(s), counted in the period they started in; minutes are clipped to each period (an interval still
  open ends at ``now``). Only by hall or window.
- ``ratings`` / ``satisfaction`` (好差评): ratings of the period's tickets; satisfaction = share of scores ≥ 4
  (满意, 非常满意); ``rating_mean`` the mean score. Null when there are none.
- ``one_visit_rate`` (只跑一次率, 002 §11.3.4 f): per person (``Ticket.id_hash``, so only identified visitors) and
  matter (the ticket's set of items), visits finished at a window form an *episode*: a visit ending in a one-time
  notice (``notice``: materials missing) that is followed within ``REVISIT_DAYS`` by another visit for the same
  matter joins that visit to the episode. An episode *concludes* with a decision (accepted, completed, deferred,
  refused); ``matters`` counts episodes concluded in the period (by the concluding visit's day),
  ``one_visit`` those concluded in a single visit; ``one_visit_rate`` = one_visit / matters.

Figures with an empty denominator are null, never 0.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.domain.vocabulary import CONCLUDING_OUTCOMES, MATTER_OUTCOMES
from hall_queue.domain.calendar import local_time, service_days_span
from hall_queue.access.identity import mask_name
from hall_queue.domain.models import Hall, PostInterval, Queue, Rating, ServiceItem, Staff, Ticket, TicketItem, Window

GROUPS = ("day", "week", "month")
DIMENSIONS = ("hall", "queue", "window", "clerk")
MAX_RANGE_DAYS = 400
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
REVISIT_DAYS = 30
SATISFIED_SCORE = 4  # 4 满意, 5 非常满意
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class StatsError(ValueError):
    """The question cannot be answered as asked (bad range, group or dimension)."""


@dataclass(frozen=True)
class StatsQuery:
    date_from: date
    date_to: date
    group: str = "day"
    by: str = "hall"

    def check(self) -> None:
        if self.group not in GROUPS:
            raise StatsError(f"group must be one of {', '.join(GROUPS)}")
        if self.by not in DIMENSIONS:
            raise StatsError(f"by must be one of {', '.join(DIMENSIONS)}")
        if self.date_to < self.date_from:
            raise StatsError("'to' is before 'from'")
        if self.date_from < EARLIEST or self.date_to > LATEST:
            raise StatsError(f"dates must lie between {EARLIEST} and {LATEST}")
        if (self.date_to - self.date_from).days + 1 > MAX_RANGE_DAYS:
            raise StatsError(f"a range covers at most {MAX_RANGE_DAYS} days")


def p90(values: list[float]) -> float | None:
    """Return the nearest-rank 90th percentile (the value at position ⌈0.9·n⌉ of the sorted list)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


@dataclass
class _Acc:
    """Running sums for one (period, group) cell."""

    issued: int = 0
    called: int = 0
    no_show: int = 0
    served: int = 0
    waits: list[float] = field(default_factory=list)
    services: list[float] = field(default_factory=list)
    finished_matters: int = 0
    completed: int = 0
    deferred: int = 0
    notices: int = 0
    item_pairs: int = 0
    immediate_pairs: int = 0
    covers: int = 0
    cover_s: float = 0.0
    empty_posts: int = 0
    empty_s: float = 0.0
    scores: list[int] = field(default_factory=list)
    matters: int = 0
    one_visit: int = 0

    def result(self, *, issued_applies: bool, posts_apply: bool) -> dict[str, Any]:
        return {
            "issued": self.issued if issued_applies else None,
            "called": self.called,
            "served": self.served,
            "no_show": self.no_show,
            "no_show_rate": _ratio(self.no_show, self.called),
            "wait_mean_s": _mean(self.waits),
            "wait_p90_s": p90(self.waits),
            "service_mean_s": _mean(self.services),
            "finished_matters": self.finished_matters,
            "completed": self.completed,
            "on_the_spot_rate": _ratio(self.completed, self.finished_matters),
            "deferred": self.deferred,
            "notices": self.notices,
            "immediate_handled_share": _ratio(self.immediate_pairs, self.item_pairs),
            "covers": self.covers if posts_apply else None,
            "cover_minutes": round(self.cover_s / 60, 1) if posts_apply else None,
            "empty_posts": self.empty_posts if posts_apply else None,
            "empty_minutes": round(self.empty_s / 60, 1) if posts_apply else None,
            "ratings": len(self.scores),
            "rating_mean": round(sum(self.scores) / len(self.scores), 2) if self.scores else None,
            "satisfaction": _ratio(sum(1 for s in self.scores if s >= SATISFIED_SCORE), len(self.scores)),
            "matters": self.matters,
            "one_visit": self.one_visit,
            "one_visit_rate": _ratio(self.one_visit, self.matters),
        }


# ---------------------------------------------------------------- periods

def period_start(day: date, group: str) -> date:
    if group == "week":
        return day - timedelta(days=day.weekday())
    if group == "month":
        return day.replace(day=1)
    return day


def _next_period(start: date, group: str) -> date:
    if group == "day":
        return start + timedelta(days=1)
    if group == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def period_label(start: date, group: str) -> str:
    if group == "week":
        y, w, _ = start.isocalendar()
        return f"{y}-W{w:02d}"
    if group == "month":
        return f"{start.year}-{start.month:02d}"
    return start.isoformat()


def periods(q: StatsQuery) -> list[tuple[date, date, date]]:
    """Return (period start, first day in range, last day in range) for every period the range touches."""
    out = []
    start = period_start(q.date_from, q.group)
    while start <= q.date_to:
        nxt = _next_period(start, q.group)
        out.append((start, max(start, q.date_from), min(nxt - timedelta(days=1), q.date_to)))
        start = nxt
    return out


# ---------------------------------------------------------------- the computation

@dataclass
class _Leg:
    id: int
    leg: int
    origin: int
    queue_id: int
    service_day: date
    status: str
    issued_at: datetime
    called_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    window_id: int | None
    clerk_id: int | None
    outcome: str | None
    id_hash: str | None


def _load_legs(session: Session, hall: Hall, lo: date, hi: date) -> list[_Leg]:
    rows = session.execute(
        select(Ticket.id, Ticket.leg, Ticket.origin_ticket_id, Ticket.queue_id, Ticket.service_day, Ticket.status,
               Ticket.issued_at, Ticket.called_at, Ticket.started_at, Ticket.finished_at, Ticket.window_id,
               Ticket.clerk_id, Ticket.outcome, Ticket.id_hash)
        .where(Ticket.hall_id == hall.id, Ticket.service_day >= lo, Ticket.service_day <= hi)
        .order_by(Ticket.id)).all()
    return [_Leg(r.id, r.leg, r.origin_ticket_id or r.id, r.queue_id, r.service_day, r.status, r.issued_at,
                 r.called_at, r.started_at, r.finished_at, r.window_id, r.clerk_id, r.outcome, r.id_hash)
            for r in rows]


def _items_of(session: Session, hall: Hall, lo: date, hi: date) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(select(TicketItem.ticket_id, TicketItem.item_id).join(Ticket, Ticket.id == TicketItem.ticket_id)
                           .where(Ticket.hall_id == hall.id, Ticket.service_day >= lo, Ticket.service_day <= hi))
    for ticket_id, item_id in rows:
        out[ticket_id].append(item_id)
    return out


def _key(by: str, *, queue_id: int | None, window_id: int | None, clerk_id: int | None) -> Any:
    return {"hall": "hall", "queue": queue_id, "window": window_id, "clerk": clerk_id}[by]


def _labels(session: Session, hall: Hall, by: str, keys: Iterable[Any]) -> dict[Any, str]:
    keys = [k for k in keys if k is not None]
    if by == "hall":
        return {"hall": hall.name}
    if not keys:
        return {}
    if by == "queue":
        return {q.id: f"{q.prefix} {q.name}" for q in session.scalars(select(Queue).where(Queue.id.in_(keys)))}
    if by == "window":
        return {w.id: f"{w.number}号窗口" for w in session.scalars(select(Window).where(Window.id.in_(keys)))}
    # Staff are shown by employee number and masked name only.
    return {s.id: f"{s.employee_no or s.id} {mask_name(s.display_name)}".strip()
            for s in session.scalars(select(Staff).where(Staff.id.in_(keys)))}


def _sort_key(by: str, session: Session, keys: list[Any]) -> list[Any]:
    if by == "window":
        numbers = dict(session.execute(select(Window.id, Window.number).where(Window.id.in_(keys))).all()) if keys else {}
        return sorted(keys, key=lambda k: (numbers.get(k, 10**6), k))
    if by == "queue":
        prefixes = dict(session.execute(select(Queue.id, Queue.prefix).where(Queue.id.in_(keys))).all()) if keys else {}
        return sorted(keys, key=lambda k: (prefixes.get(k, "~"), k))
    return sorted(keys, key=lambda k: (str(type(k)), k))


def _episodes(legs: list[_Leg], items: dict[int, list[int]]) -> list[tuple[_Leg, int]]:
    """Return (concluding leg, number of visits) for every concluded matter of an identified visitor."""
    chains: dict[int, list[_Leg]] = defaultdict(list)
    for leg in legs:
        chains[leg.origin].append(leg)
    visits: dict[tuple[str, frozenset[int]], list[tuple[datetime, _Leg]]] = defaultdict(list)
    for origin, chain in chains.items():
        first = min(chain, key=lambda x: x.leg)
        last = max(chain, key=lambda x: x.leg)
        if first.leg != 0 or first.id_hash is None or last.status != "done" or last.outcome not in MATTER_OUTCOMES:
            continue
        matter = frozenset(items.get(first.id, ()))
        visits[(first.id_hash, matter)].append((first.issued_at, last))
    out: list[tuple[_Leg, int]] = []
    window = timedelta(days=REVISIT_DAYS)
    for seq in visits.values():
        seq.sort(key=lambda v: (v[0], v[1].id))
        count, last_at, open_ = 0, None, False
        for at, leg in seq:
            if open_ and last_at is not None and at - last_at <= window:
                count += 1
            else:
                count = 1
            last_at = at
            # A one-time notice (一次性告知) leaves the matter open: the next visit belongs to it.
            open_ = leg.outcome == "notice"
            if leg.outcome in CONCLUDING_OUTCOMES:
                out.append((leg, count))
                open_ = False
    return out


def compute(session: Session, hall: Hall, q: StatsQuery, *, now: datetime) -> dict[str, Any]:
    """Compute every indicator for ``hall`` over ``q``'s service days, by period and by ``q.by``."""
    q.check()
    by = q.by
    plist = periods(q)
    period_of = {}
    d = q.date_from
    while d <= q.date_to:
        period_of[d] = period_start(d, q.group)
        d += timedelta(days=1)
    cells: dict[tuple[date | None, Any], _Acc] = defaultdict(_Acc)

    def accs(day: date, key: Any) -> list[_Acc]:
        # Every fact lands in its (period, group) cell, the group's total, the period's total and the grand total.
        p = period_of[day]
        return [cells[(p, key)], cells[(None, key)], cells[(p, "__all__")], cells[(None, "__all__")]]

    lookback = q.date_from - timedelta(days=REVISIT_DAYS)
    all_legs = _load_legs(session, hall, lookback, q.date_to)
    items = _items_of(session, hall, lookback, q.date_to)
    kinds = dict(session.execute(select(ServiceItem.id, ServiceItem.kind).where(ServiceItem.hall_id == hall.id)).all())
    legs = [leg for leg in all_legs if q.date_from <= leg.service_day <= q.date_to]
    first_item_of = {leg.id: items.get(leg.id, []) for leg in legs}
    heat = [[0] * 24 for _ in range(7)]
    for leg in legs:
        key = _key(by, queue_id=leg.queue_id, window_id=leg.window_id, clerk_id=leg.clerk_id)
        targets = accs(leg.service_day, key) if key is not None else accs(leg.service_day, "__all__")[2:]
        for acc in targets:
            if leg.leg == 0:
                acc.issued += 1
                if leg.called_at is not None:
                    acc.waits.append((leg.called_at - leg.issued_at).total_seconds())
            if leg.called_at is not None:
                acc.called += 1
                if leg.status == "no_show":
                    acc.no_show += 1
            if leg.status in ("done", "transferred") and leg.started_at and leg.finished_at:
                acc.services.append((leg.finished_at - leg.started_at).total_seconds())
            if leg.status == "done":
                acc.served += 1
                if leg.outcome in MATTER_OUTCOMES:
                    acc.finished_matters += 1
                    acc.completed += leg.outcome == "completed"
                    acc.deferred += leg.outcome == "deferred"
                    acc.notices += leg.outcome == "notice"
                    for item_id in first_item_of.get(leg.id, []):
                        acc.item_pairs += 1
                        acc.immediate_pairs += kinds.get(item_id) == "immediate"
        if leg.leg == 0:
            local = local_time(hall, leg.issued_at)
            heat[local.weekday()][local.hour] += 1

    for leg, count in _episodes(all_legs, items):
        if not (q.date_from <= leg.service_day <= q.date_to):
            continue
        key = _key(by, queue_id=leg.queue_id, window_id=leg.window_id, clerk_id=leg.clerk_id)
        targets = accs(leg.service_day, key) if key is not None else accs(leg.service_day, "__all__")[2:]
        for acc in targets:
            acc.matters += 1
            acc.one_visit += count == 1

    span_lo, span_hi = service_days_span(hall, q.date_from, q.date_to)
    posts_apply = by in ("hall", "window")
    bounds = {p: service_days_span(hall, first, last) for p, first, last in plist}
    for iv in session.scalars(select(PostInterval).where(PostInterval.hall_id == hall.id,
                                                         PostInterval.started_at < span_hi)):
        end = iv.ended_at or now
        if end <= span_lo:
            continue
        key = "hall" if by == "hall" else iv.window_id
        for p, (lo, hi) in bounds.items():
            seconds = (min(end, hi) - max(iv.started_at, lo)).total_seconds()
            started_here = lo <= iv.started_at < hi
            if seconds <= 0 and not started_here:
                continue
            targets = [cells[(p, key)], cells[(None, key)], cells[(p, "__all__")], cells[(None, "__all__")]] \
                if posts_apply else [cells[(p, "__all__")], cells[(None, "__all__")]]
            for acc in targets:
                if iv.kind == "cover":
                    acc.covers += started_here
                    acc.cover_s += max(seconds, 0)
                else:
                    acc.empty_posts += started_here
                    acc.empty_s += max(seconds, 0)

    rating_rows = session.execute(
        select(Rating.score, Rating.window_id, Rating.clerk_id, Ticket.queue_id, Ticket.service_day)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(Rating.hall_id == hall.id, Rating.excluded.is_(False),  # upheld appeals (申诉复核) do not count
               Ticket.service_day >= q.date_from, Ticket.service_day <= q.date_to))
    for score, window_id, clerk_id, queue_id, day in rating_rows:
        key = _key(by, queue_id=queue_id, window_id=window_id, clerk_id=clerk_id)
        targets = accs(day, key) if key is not None else accs(day, "__all__")[2:]
        for acc in targets:
            acc.scores.append(int(score))

    keys = _sort_key(by, session, list({k for (_, k) in cells if k != "__all__"}))
    labels = _labels(session, hall, by, keys)
    issued_applies = by in ("hall", "queue")

    def result(acc: _Acc, *, whole: bool) -> dict[str, Any]:
        return acc.result(issued_applies=issued_applies or whole, posts_apply=posts_apply or whole)

    active_items = list(session.execute(select(ServiceItem.kind).where(ServiceItem.hall_id == hall.id,
                                                                        ServiceItem.active.is_(True))).scalars())
    immediate = sum(1 for k in active_items if k == "immediate")
    return {
        "hall": {"id": hall.id, "name": hall.name, "timezone": hall.timezone, "day_boundary": hall.day_boundary},
        "from": q.date_from.isoformat(), "to": q.date_to.isoformat(), "group": q.group, "by": by,
        "totals": result(cells[(None, "__all__")], whole=True),
        "periods": [{"period": period_label(p, q.group), "start": first.isoformat(), "end": last.isoformat(),
                     **result(cells[(p, "__all__")], whole=True)} for p, first, last in plist],
        "groups": [{"key": k, "label": labels.get(k, str(k)), **result(cells[(None, k)], whole=False)}
                   for k in keys],
        "series": [{"period": period_label(p, q.group), "key": k, "label": labels.get(k, str(k)),
                    **result(cells[(p, k)], whole=False)}
                   for p, _, _ in plist for k in keys if (p, k) in cells],
        "heatmap": {"weekdays": list(WEEKDAYS_ZH), "hours": list(range(24)), "counts": heat},
        "catalog": {"active_items": len(active_items), "immediate_items": immediate,
                    "immediate_item_share": _ratio(immediate, len(active_items))},
    }


CSV_METRICS = ("issued", "called", "served", "no_show", "no_show_rate", "wait_mean_s", "wait_p90_s",
               "service_mean_s", "finished_matters", "completed", "on_the_spot_rate", "deferred", "notices",
               "immediate_handled_share", "covers", "cover_minutes", "empty_posts", "empty_minutes", "ratings",
               "rating_mean", "satisfaction", "matters", "one_visit", "one_visit_rate")


def to_csv_rows(stats: dict[str, Any]) -> list[list[Any]]:
    """Flatten a ``compute`` result to rows: one per (period, group), then the per-group and grand totals."""
    rows: list[list[Any]] = [["period", "group_key", "group"] + list(CSV_METRICS)]

    def line(period: str, key: Any, label: str, m: dict[str, Any]) -> list[Any]:
        return [period, "" if key is None else key, label] + ["" if m[c] is None else m[c] for c in CSV_METRICS]

    for s in stats["series"]:
        rows.append(line(s["period"], s["key"], s["label"], s))
    for g in stats["groups"]:
        rows.append(line("total", g["key"], g["label"], g))
    rows.append(line("total", None, "all", stats["totals"]))
    return rows

"""Thirty service days of past work for the demo hall, so the statistics page and the floor view's figures
show something on the first run.

Deterministic (a seeded generator: the same ``now`` gives the same rows) and fast: tickets, their matters,
ratings and the numbering counters go in as four executemany INSERTs, no per-row ORM flush (some 3,800
tickets). Working days only, 08:30–12:00 and 13:00–17:30 in the hall's time zone, more visitors on
Monday mornings; each ticket is served at a window of its queue by that window's A clerk. No 容缺 outcome
and no bad rating, so the history opens no rectification and no overdue promise on anyone's desk.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hall_queue.domain import calendar
from hall_queue.domain.clock import epoch_seconds
from hall_queue.domain.models import Hall, Queue, Rating, Ticket, TicketCounter, TicketItem, Window, WindowQueue
from hall_queue.infrastructure.db import core
from hall_queue.queueing.ticketing import format_number

HISTORY_DAYS = 30
SEED = 20261206
# (local start, local end, tickets per hour on an ordinary weekday)
SESSIONS = ((time(8, 30), time(12, 0), 26), (time(13, 0), time(17, 30), 18))
WEEKDAY_LOAD = (1.35, 1.1, 1.0, 0.95, 1.15)  # Monday … Friday
QUEUE_SHARE = {"A": 0.55, "B": 0.14, "C": 0.1, "D": 0.08, "E": 0.07, "F": 0.02, "G": 0.04}
OUTCOME_SHARE = (("completed", 0.52), ("accepted", 0.27), ("notice", 0.1), ("consultation", 0.08), ("refused", 0.03))
SCORE_SHARE = ((5, 0.66), (4, 0.27), (3, 0.07))


def _pick(rng: random.Random, shares) -> str | int:
    x, acc = rng.random(), 0.0
    for value, share in shares:
        acc += share
        if x < acc:
            return value
    return shares[-1][0]


def load_demo_history(session: Session, hall: Hall, *, now: datetime, days: int = HISTORY_DAYS) -> int:
    """Add ``days`` working days of served tickets before today; return how many (0 when history exists)."""
    today = calendar.service_day(hall, now)
    if session.scalar(select(Ticket.id).where(Ticket.hall_id == hall.id, Ticket.service_day < today).limit(1)):
        return 0
    rng = random.Random(SEED)
    queues = {q.prefix: q for q in session.scalars(select(Queue).where(Queue.hall_id == hall.id))}
    # Plain tuples and lists from here on: the loop below runs thousands of times.
    windows = {w.id: (w.number, w.id, w.a_clerk_id) for w in session.scalars(select(Window).where(Window.hall_id == hall.id))}
    serving: dict[int, list[tuple[int, int, int | None]]] = {}
    for wq in session.scalars(select(WindowQueue).where(WindowQueue.role == "primary",
                                                        WindowQueue.window_id.in_(list(windows)))):
        serving.setdefault(wq.queue_id, []).append(windows[wq.window_id])
    queue_items = {q.id: [i.id for i in q.items] for q in queues.values()}
    shares = [(p, s) for p, s in QUEUE_SHARE.items() if p in queues and serving.get(queues[p].id)]
    tickets: list[dict] = []
    matters: list[list[int]] = []
    counters: list[dict] = []
    for back in range(days, 0, -1):
        day: date = today - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        seqs: dict[str, int] = {}
        free_at: dict[int, datetime] = {}  # each window serves one visitor at a time
        for start, end, per_hour in SESSIONS:
            t = calendar.to_utc(hall, datetime.combine(day, start))
            stop = calendar.to_utc(hall, datetime.combine(day, end))
            rate = per_hour * WEEKDAY_LOAD[day.weekday()] / 3600
            while True:
                t += timedelta(seconds=rng.expovariate(rate))
                if t >= stop:
                    break
                prefix = _pick(rng, shares)
                queue_id = queues[prefix].id
                seqs[prefix] = seqs.get(prefix, 0) + 1
                _, window_id, clerk_id = min(serving[queue_id], key=lambda w: (free_at.get(w[1], t), w[0]))
                called = max(t + timedelta(seconds=rng.randint(60, 240)), free_at.get(window_id, t))
                fate = rng.random()
                row = {"hall_id": hall.id, "queue_id": queue_id, "number_queue_id": queue_id, "service_day": day,
                       "seq": seqs[prefix], "leg": 0, "number": format_number(prefix, seqs[prefix]),
                       "priority_class": "green" if rng.random() < 0.06 else "ordinary", "source": "walk_in",
                       "issued_at": t, "queue_key": epoch_seconds(t), "window_id": window_id,
                       "clerk_id": clerk_id, "called_at": called, "recall_count": 0, "requeue_count": 0,
                       "call_reason": "本窗口队列中等候最久", "outcome_detail": {}, "outcome": None,
                       "started_at": None, "finished_at": None,
                       "follow_code": f"h{rng.getrandbits(96):024x}"}
                if fate < 0.05:  # did not come to the window
                    row.update(status="no_show", recall_count=1, closed_at=called + timedelta(minutes=3))
                    free_at[window_id] = called + timedelta(minutes=3)
                else:
                    started = called + timedelta(seconds=rng.randint(20, 90))
                    finished = started + timedelta(seconds=int(rng.lognormvariate(6.1, 0.45)))
                    row.update(status="done", started_at=started, finished_at=finished, closed_at=finished,
                               outcome=_pick(rng, OUTCOME_SHARE))
                    free_at[window_id] = finished
                tickets.append(row)
                items = queue_items[queue_id]
                matters.append([rng.choice(items)] if items else [])
        counters += [{"queue_id": queues[p].id, "service_day": day, "hall_id": hall.id, "last_seq": n,
                      "last_key": 0.0} for p, n in seqs.items()]
    if not tickets:
        return 0
    # Core executemany (no RETURNING: the ORM's ordered RETURNING splices rows quadratically), then the
    # new ids by their unique follow codes.
    conn = core(session)
    conn.execute(insert(Ticket.__table__), tickets)
    by_code = dict(conn.execute(select(Ticket.follow_code, Ticket.id).where(Ticket.hall_id == hall.id,
                                                                             Ticket.service_day < today)).all())
    ids = [by_code[row["follow_code"]] for row in tickets]
    conn.execute(insert(TicketItem.__table__), [{"ticket_id": tid, "item_id": item}
                                                for tid, items in zip(ids, matters) for item in items])
    ratings = [{"hall_id": hall.id, "ticket_id": tid, "window_id": row["window_id"], "clerk_id": row["clerk_id"],
                "score": _pick(rng, SCORE_SHARE), "reasons": [], "comment": "",
                "rated_at": row["finished_at"] + timedelta(seconds=20)}
               for tid, row in zip(ids, tickets) if row["status"] == "done" and rng.random() < 0.6]
    if ratings:
        conn.execute(insert(Rating.__table__), ratings)
    conn.execute(insert(TicketCounter.__table__), counters)
    return len(tickets)

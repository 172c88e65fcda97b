"""Where does the hall-day's gap to the Erlang-C bound come from? (issue 17, part 4)

``bench.hall_day`` compares the simulated one-window hall's mean wait with an hour-by-hour stationary
Erlang-C M/M/c figure, with the visitors' *service* time only. Two things in that comparison are not
routing:

* **occupancy**: a window is busy longer than the service — the called visitor walks up (30–90 s),
  some are recalled (60 s each), some never come (the window waits through the recall and the no-show).
  No routing can call the next visitor while the window waits for the one it called;
* **time**: arrivals peak for two hours and breaks and the lunch relay move the staffing minute by
  minute; a stationary hour-by-hour formula is not a bound for that (it can be under or over).

So this replays one hall day (the same arrivals, staffing, breaks and lunch relay as ``hall_day``),
records the staffed windows minute by minute, and simulates the *ideal pooled hall* on the same
arrivals: one FCFS line served by as many windows as the real hall had staffed at each minute, each
visitor taking exactly their service time — ``pooled_service`` — and their service plus the mean
occupancy overhead measured in the run — ``pooled_occupancy``. The routing's own share of the wait is
the hall's mean wait over ``pooled_occupancy``; the rest of the gap to ``pooled_service`` is structure.

Prints one JSON object as its last line. Usage: ``python -m bench.routing_gap [--seed N] [--visitors N]``.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select

from bench.hall_day import DAY, TZ_OFFSET, Simulation, erlang_c_wait, make_visitors
from hall_queue.domain.models import Ticket


def hourly_bound(arrivals_by_hour: dict[int, int], staffed_by_hour: dict[int, float], mean_s: float) -> float:
    """Arrival-weighted hour-by-hour M/M/c mean wait (as ``hall_day.erlang_c_bound``) for a given mean."""
    weighted = n = 0.0
    for h, count in arrivals_by_hour.items():
        c = max(int(round(staffed_by_hour.get(h, 18))), 1)
        w = erlang_c_wait(count / 3600.0, 1 / mean_s, c)
        if math.isinf(w):
            w = max(0.0, (count - c * 3600 / mean_s) / (c / mean_s)) / 2
        weighted += w * count
        n += count
    return weighted / n if n else 0.0


def pooled_wait(arrivals: list[tuple[float, float]], staffed: list[int], step_s: int = 60) -> float:
    """Mean wait of one FCFS line on ``staffed[k]`` windows during minute k; ``arrivals`` = (time s, work s)."""
    import heapq

    busy: list[float] = []  # end times of services in progress
    line = sorted(arrivals)
    waits, i, t = [], 0, 0.0
    queue: list[float] = []
    horizon = len(staffed) * step_s
    while i < len(line) or queue:
        nxt = [x for x in (line[i][0] if i < len(line) else None, busy[0] if busy else None,
                           (math.floor(t / step_s) + 1) * step_s) if x is not None]
        t = min(nxt)
        while busy and busy[0] <= t:
            heapq.heappop(busy)
        while i < len(line) and line[i][0] <= t:
            queue.append(i)
            i += 1
        c = staffed[min(int(t // step_s), len(staffed) - 1)] if t < horizon else max(staffed[-1], 1)
        while queue and len(busy) < c:
            j = queue.pop(0)
            waits.append(t - line[j][0])
            heapq.heappush(busy, t + line[j][1])
    return statistics.fmean(waits) if waits else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--visitors", type=int, default=700)
    args = p.parse_args(argv)
    visitors = make_visitors(args.visitors, random.Random(args.seed))
    with tempfile.TemporaryDirectory(prefix="ov-gap-") as work:
        sim = Simulation(visitors, silo=False, seed=args.seed, workdir=Path(work))
        report = sim.run()
        with sim.db.read() as s:
            rows = s.execute(select(Ticket.called_at, Ticket.finished_at, Ticket.closed_at, Ticket.started_at)
                             .where(Ticket.called_at.is_not(None))).all()
    occupancy = [((fin or closed) - called).total_seconds() for called, fin, closed, _ in rows if (fin or closed)]
    walk_up = [(started - called).total_seconds() for called, _, _, started in rows if started]
    served = [v for v in visitors if not (v.appointment and v.no_show_booking)]
    mean_service = statistics.fmean(v.service_s for v in served)
    # Occupancy per *visit* (a transfer's second leg is another occupancy of a window).
    overhead = sum(occupancy) / len(served) - mean_service
    # The staffed windows minute by minute from 08:30 (the simulation's duty tick is one minute).
    staffed = [n for h in sorted(sim.staffed_by_hour) for n in sim.staffed_by_hour[h]]
    t0 = local_open()
    arrivals = [((v.at - t0).total_seconds(), v.service_s) for v in served]
    p_service = pooled_wait(arrivals, staffed)
    p_occupancy = pooled_wait([(a, w + overhead) for a, w in arrivals], staffed)
    by_hour: dict[int, int] = {}
    for v in served:
        h = int(((v.at + TZ_OFFSET) - DAY).total_seconds() // 3600)
        by_hour[h] = by_hour.get(h, 0) + 1
    b_service = hourly_bound(by_hour, report["staffed_by_hour"], mean_service)
    wait = report["mean_wait_s"]
    out = {
        "visitors": len(visitors), "seed": args.seed, "mean_wait_s": wait,
        "window_utilisation": report["window_utilisation"],
        "mean_service_s": round(mean_service, 1), "occupancy_overhead_per_visit_s": round(overhead, 1),
        "mean_walk_up_s": round(statistics.fmean(walk_up), 1) if walk_up else None,
        "erlang_c_hourly_s": round(b_service, 1),
        "pooled_service_s": round(p_service, 1), "pooled_occupancy_s": round(p_occupancy, 1),
        "wait_vs_erlang_c_hourly": round(wait / b_service, 2) if b_service else None,
        "wait_vs_pooled_service": round(wait / p_service, 2) if p_service else None,
        "wait_vs_pooled_occupancy": round(wait / p_occupancy, 2) if p_occupancy else None,
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


def local_open():
    from bench.hall_day import OPEN_AT, local

    return local(*OPEN_AT)


if __name__ == "__main__":
    sys.exit(main())

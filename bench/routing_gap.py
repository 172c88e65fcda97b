"""Where does the hall-day's gap to the Erlang-C bound come from? (issue 17, part 4)

``bench.hall_day`` compares the simulated one-window hall's mean wait with an hour-by-hour Erlang-C
M/M/c bound whose service time is the visitors' *service* only. A window is busy longer than that:
the called visitor walks up (30–90 s), some are recalled (60 s each) and some never come (the window
waits through the recall and the no-show, 120 s). That occupancy is part of the hall, not of routing:
no routing can call the next visitor while the window waits for the one it called.

This replays one hall day (the same arrivals, staffing, breaks and lunch relay as ``hall_day``) and
reports the mean wait against three bounds on the same staffed windows per hour:

* ``bound_service``: ``hall_day``'s bound (mean service time);
* ``bound_occupancy``: the same with the mean *window occupancy* per ticket measured in the run
  (call → finish, or call → no-show), i.e. walk-up, recalls and no-shows included;
* and the share of the gap the occupancy explains: (bound_occupancy − bound_service) ÷ (wait − bound_service).

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
    by_hour: dict[int, int] = {}
    for v in served:
        h = int(((v.at + TZ_OFFSET) - DAY).total_seconds() // 3600)
        by_hour[h] = by_hour.get(h, 0) + 1
    mean_service = statistics.fmean(v.service_s for v in served)
    # Occupancy per *visit* (a transfer's second leg is another occupancy of a window).
    mean_occupancy = sum(occupancy) / len(served)
    staffed = report["staffed_by_hour"]
    b_service = hourly_bound(by_hour, staffed, mean_service)
    b_occupancy = hourly_bound(by_hour, staffed, mean_occupancy)
    wait = report["mean_wait_s"]
    out = {
        "visitors": len(visitors), "seed": args.seed, "mean_wait_s": wait,
        "window_utilisation": report["window_utilisation"],
        "mean_service_s": round(mean_service, 1), "mean_occupancy_per_visit_s": round(mean_occupancy, 1),
        "mean_walk_up_s": round(statistics.fmean(walk_up), 1) if walk_up else None,
        "bound_service_s": round(b_service, 1), "bound_occupancy_s": round(b_occupancy, 1),
        "wait_vs_bound_service": round(wait / b_service, 2) if b_service else None,
        "wait_vs_bound_occupancy": round(wait / b_occupancy, 2) if b_occupancy else None,
        "gap_share_explained_by_occupancy": round((b_occupancy - b_service) / (wait - b_service), 2)
        if wait > b_service else None,
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

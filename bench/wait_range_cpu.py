"""CPU per wait estimate (issue 17): ``estimate_wait_range`` on a hall-day database stopped at a busy moment.

Runs the hall-day simulation (``bench.hall_day``, the standard set at 65 %) up to ``--at`` (local time), then
times the server's ``estimate_wait_range`` for a queue's last waiting ticket with ``time.process_time``,
interleaved with another version of ``wait_range.py`` given by ``--other`` (e.g. main's checkout), so both run
on the same database, caches and machine load. Prints one JSON object: ms of CPU per estimate, each round.
Usage: ``python -m bench.wait_range_cpu [--other /work/main/hall_queue/queueing/wait_range.py] [--at 11:50]``.
"""
from __future__ import annotations

import argparse
import heapq
import importlib.util
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.estimates_bench import VISITORS_FOR_LOAD
from bench.hall_day import Simulation, local, make_visitors
from hall_queue.domain.models import Hall, Queue, Ticket
from hall_queue.queueing import wait_range


def stopped_at(work: Path, hh: int, mm: int, seed: int) -> Simulation:
    """A standard hall day at 65 %, run up to local ``hh:mm``."""
    sim = Simulation(make_visitors(VISITORS_FOR_LOAD[65], random.Random(seed)), silo=False, seed=seed, workdir=work)
    sim.plan()
    while sim.heap and sim.heap[0].at < local(hh, mm):
        ev = heapq.heappop(sim.heap)
        sim.clock.set(ev.at)
        getattr(sim, "on_" + ev.kind)(**ev.data)
    sim.clock.set(local(hh, mm))
    return sim


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--other", default=None, help="another wait_range.py to time against this one")
    p.add_argument("--at", default="11:50")
    p.add_argument("--queue", default="A", help="the queue's prefix (A general, B–D on-the-spot)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--repeat", type=int, default=300)
    args = p.parse_args(argv)
    versions = {"this": wait_range}
    if args.other:
        spec = importlib.util.spec_from_file_location("other_wait_range", args.other)
        other = sys.modules["other_wait_range"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(other)
        versions["other"] = other
    hh, mm = map(int, args.at.split(":"))
    with tempfile.TemporaryDirectory(prefix="ov-wrcpu-") as work:
        sim = stopped_at(Path(work), hh, mm, args.seed)
        now = sim.clock.now()
        with sim.db.read() as s:
            hall = s.get(Hall, sim.ids["hall_id"])
            queue = s.scalar(select(Queue.id).where(Queue.hall_id == hall.id, Queue.prefix == args.queue))
            t = s.scalars(select(Ticket).where(Ticket.queue_id == queue, Ticket.status == "waiting")
                          .order_by(Ticket.queue_key.desc())).first()
            kw = {"hall_id": t.hall_id, "queue_id": t.queue_id, "key": t.queue_key, "ticket_id": t.id,
                  "priority_class": t.priority_class, "now": now, "default_s": hall.default_service_s}
            told = {name: m.estimate_wait_range(s, **kw) for name, m in versions.items()}  # warm caches
            ms: dict[str, list[float]] = {name: [] for name in versions}
            for _ in range(args.rounds):
                for name, m in versions.items():
                    start = time.process_time()
                    for _ in range(args.repeat):
                        m.estimate_wait_range(s, **kw)
                    ms[name].append((time.process_time() - start) / args.repeat * 1000)
    print(json.dumps({"at": args.at, "queue": args.queue, "ticket_position": told["this"].position,
                      "told": {k: [v.low_s, v.high_s] for k, v in told.items()},
                      "ms_per_estimate": {k: round(statistics.median(v), 3) for k, v in ms.items()},
                      "rounds": {k: [round(x, 3) for x in v] for k, v in ms.items()}}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

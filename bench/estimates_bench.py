"""How honest is the wait a visitor is told? Three estimators replayed on simulated hall days (issue 17).

Each visitor's ticket is issued in the hall-day simulation (``bench.hall_day``: the real domain services
on SQLite with a manual clock, breaks and the A/B lunch relay, appointments, recalls, transfers). At the
moment of issue three estimates are taken from the database as it then stands:

* ``range`` — the new estimator (``hall_queue.queueing.wait_range``): low–high seconds;
* ``today`` — the single figure the kiosk printed before (``estimates.estimated_wait_s``: rolling mean ×
  people ahead ÷ open windows); its "range" is the point itself;
* ``zms`` — Munich ZMS's rule: people ahead × mean service time ÷ open windows, printed as 0.8×–1.0×.

When the day is over each is compared with the visitor's actual wait (issue → first call): mean absolute
error of the point (the range's midpoint), share of actual waits inside the printed range, median range
width. Loads are set by the number of visitors and reported as the measured window utilisation.

Prints one JSON object as its last line. Usage:
``python -m bench.estimates_bench [--quick] [--seeds 1 2] [--loads 50 65 85] [--out bench/out/estimates.json]``.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select

from bench.hall_day import Simulation, make_visitors
from hall_queue.domain.models import Hall, Ticket
from hall_queue.queueing.estimates import estimated_wait_s, people_ahead, rolling_service_s, serving_windows
from hall_queue.queueing.wait_range import ticket_wait_range

# Visitors per day giving about this utilisation of the simulated hall's 20 windows (546 measured 47 %).
VISITORS_FOR_LOAD = {50: 580, 65: 760, 85: 990}
TARGETS = {"mae_min": 5.0, "inside": 0.80, "median_width_min": 15.0}


class EstimatingSimulation(Simulation):
    """The hall day, with the three estimates taken at every ticket's issue."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.estimates: dict[int, dict[str, tuple[float, float]]] = {}
        self.called_at_once: set[int] = set()

    def on_arrive(self, visitor) -> None:
        super().on_arrive(visitor)
        tid = visitor.ticket_id
        if tid is None or tid in self.estimates:
            return
        now = self.clock.now()
        with self.db.read() as s:
            t = s.get(Ticket, tid)
            if t.status != "waiting":  # called at once by an idle window: every estimator says "now"
                self.estimates[tid] = {k: (0.0, 0.0) for k in ("range", "today", "zms")}
                self.called_at_once.add(tid)
                return
            hall = s.get(Hall, t.hall_id)
            ahead = people_ahead(s, t)
            rng = ticket_wait_range(s, t, now=now, default_s=hall.default_service_s, ahead=ahead)
            today = float(estimated_wait_s(s, t.queue_id, ahead, hall.default_service_s))
            zms = ahead * rolling_service_s(s, t.queue_id, hall.default_service_s) / max(serving_windows(s, t.queue_id), 1)
        self.estimates[tid] = {"range": (float(rng.low_s), float(rng.high_s)), "today": (today, today),
                               "zms": (0.8 * zms, zms)}

    def actual_waits(self) -> dict[int, float]:
        with self.db.read() as s:
            rows = s.execute(select(Ticket.id, Ticket.issued_at, Ticket.called_at)
                             .where(Ticket.id.in_(list(self.estimates)), Ticket.called_at.is_not(None))).all()
        return {tid: (called - issued).total_seconds() for tid, issued, called in rows}


def score(pairs: list[tuple[tuple[float, float], float]]) -> dict:
    """MAE of the midpoint (minutes), share inside [low, high], median width (minutes), bias (minutes)."""
    if not pairs:
        return {"mae_min": None, "inside": None, "median_width_min": None, "mean_bias_min": None, "n": 0}
    errors = [abs((lo + hi) / 2 - actual) for (lo, hi), actual in pairs]
    inside = [lo <= actual <= hi for (lo, hi), actual in pairs]
    widths = [hi - lo for (lo, hi), _ in pairs]
    bias = [(lo + hi) / 2 - actual for (lo, hi), actual in pairs]
    return {"mae_min": round(statistics.fmean(errors) / 60, 2), "inside": round(sum(inside) / len(inside), 3),
            "median_width_min": round(statistics.median(widths) / 60, 2),
            "mean_bias_min": round(statistics.fmean(bias) / 60, 2), "n": len(pairs)}


def run_day(seed: int, visitors: int, work: Path) -> dict:
    people = make_visitors(visitors, random.Random(seed))
    sim = EstimatingSimulation(people, silo=False, seed=seed, workdir=work)
    report = sim.run()
    actual = sim.actual_waits()
    out = {"seed": seed, "visitors": len(people), "utilisation": report["window_utilisation"],
           "mean_wait_min": round(report["mean_wait_s"] / 60, 2)}
    for name in ("range", "today", "zms"):
        out[name] = score([(sim.estimates[t][name], a) for t, a in actual.items()])
        # The same over the visitors who had to wait (an idle window called the others at once).
        out[name + "_waited"] = score([(sim.estimates[t][name], a) for t, a in actual.items()
                                       if t not in sim.called_at_once])
    return out


def pooled(days: list[dict], name: str) -> dict:
    """Figures over all tickets of several days, weighted by tickets."""
    n = sum(d[name]["n"] for d in days)
    keys = ("mae_min", "inside", "median_width_min", "mean_bias_min")
    if not n:
        return {k: None for k in keys} | {"n": 0}
    return {k: round(sum(d[name][k] * d[name]["n"] for d in days if d[name]["n"]) / n, 3) for k in keys} | {"n": n}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one seed, the 65 % load only")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--loads", type=int, nargs="+", default=[50, 65, 85])
    p.add_argument("--out", default="bench/out/estimates.json")
    p.add_argument("--visitors", type=int, default=None, help="visitors per day instead of the load's (smoke runs)")
    args = p.parse_args(argv)
    seeds, loads = ([args.seeds[0]], [65]) if args.quick else (args.seeds, args.loads)
    result: dict = {"estimators": {"range": "issue 17 range (wait_range.py)", "today": "rolling mean × ahead ÷ windows",
                                   "zms": "ahead × mean service ÷ open windows, 0.8×–1.0×"},
                    "targets_at_65": TARGETS, "loads": {}}
    for load in loads:
        days = []
        for seed in seeds:
            with tempfile.TemporaryDirectory(prefix="ov-estimates-") as work:
                days.append(run_day(seed, args.visitors or VISITORS_FOR_LOAD[load], Path(work)))
            print(json.dumps({"load": load, **days[-1]}, ensure_ascii=False), file=sys.stderr)
        result["loads"][str(load)] = {
            "utilisation": round(statistics.fmean(d["utilisation"] for d in days), 3),
            "mean_wait_min": round(statistics.fmean(d["mean_wait_min"] for d in days), 2),
            **{name: pooled(days, name) for name in ("range", "today", "zms", "range_waited", "today_waited",
                                                     "zms_waited")}, "days": days}
    at65 = result["loads"].get("65", {}).get("range")
    if at65 and at65["n"]:
        result["meets_targets_at_65"] = {"mae": at65["mae_min"] <= TARGETS["mae_min"],
                                         "inside": at65["inside"] >= TARGETS["inside"],
                                         "width": at65["median_width_min"] <= TARGETS["median_width_min"]}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "loads"} |
                     {"loads": {k: {n: v[n] for n in ("utilisation", "mean_wait_min", "range", "today", "zms",
                                                      "range_waited", "today_waited", "zms_waited")}
                                for k, v in result["loads"].items()}}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

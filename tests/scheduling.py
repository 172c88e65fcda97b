"""Longest work first across the pytest-xdist workers, from the suite's own measured times.

`make test` runs `--dist loadfile`: a test file is a unit of work, so module-scoped fixtures (one demo
server, one chromium) are built once per file. xdist's own order sends the files with the *most tests*
first; the longest files (a drill of thousands of calls, the OpenAPI fuzz) are single tests and so ran
last, alone, while the other workers sat idle: the run ended in a three-minute tail. Here the files are
sent longest first (the classic LPT rule), from `tests/timings.json`, which a run rewrites on request:

    ONEVISIT_RECORD_TIMINGS=1 make test       # then commit tests/timings.json

A test parametrised with `shard` (ids like `[shard-2]`) is a unit of its own, so one long test can be
spread over the workers (the OpenAPI fuzz is). Files the record does not know yet count as average.
"""
from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path

TIMINGS = Path(__file__).with_name("timings.json")
_SHARD = re.compile(r"\[shard-\d+\]$")


def work_unit(nodeid: str) -> str:
    """The unit xdist sends to one worker: the file, or the test itself when it is a shard."""
    return nodeid if _SHARD.search(nodeid) else nodeid.split("::", 1)[0]


def recorded() -> dict[str, float]:
    try:
        return {k: float(v) for k, v in json.loads(TIMINGS.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError):
        return {}


def order_longest_first(items: list) -> None:
    """Sort collected items in place: units by recorded seconds, descending; items of a unit keep their order."""
    seconds = recorded()
    default = sum(seconds.values()) / len(seconds) if seconds else 0.0
    first_seen: dict[str, int] = {}
    for n, item in enumerate(items):
        first_seen.setdefault(work_unit(item.nodeid), n)
    position = {item.nodeid: n for n, item in enumerate(items)}

    def key(item):
        unit = work_unit(item.nodeid)
        return (-seconds.get(unit, default), first_seen[unit], position[item.nodeid])

    items.sort(key=key)


def make_scheduler(config, log):
    """A LoadFileScheduling that keeps our order and knows shards (xdist hook `pytest_xdist_make_scheduler`)."""
    from xdist.scheduler import LoadFileScheduling

    class LongestFirst(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # xdist would re-sort by number of tests
    return LongestFirst(config, log)


def write_record(reports) -> Path:
    """Sum setup + call + teardown per unit from the run's reports and write tests/timings.json."""
    totals: dict[str, float] = defaultdict(float)
    for report in reports:
        totals[work_unit(report.nodeid)] += getattr(report, "duration", 0.0) or 0.0
    merged = {**recorded(), **{k: round(v, 1) for k, v in totals.items()}}
    # Files that no longer exist drop out of the record.
    root = TIMINGS.parent.parent
    merged = {k: v for k, v in merged.items() if (root / k.split("::", 1)[0]).exists()}
    TIMINGS.write_text(json.dumps(dict(sorted(merged.items(), key=lambda kv: -kv[1])), indent=1,
                                  ensure_ascii=False) + "\n", encoding="utf-8")
    return TIMINGS


def recording() -> bool:
    return os.environ.get("ONEVISIT_RECORD_TIMINGS") == "1"

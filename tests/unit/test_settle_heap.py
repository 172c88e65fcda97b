"""A serving process freezes its start-up heap out of the cyclic GC (issue 19: a full collection was the p99)."""
from __future__ import annotations

import gc

from hall_queue.entrypoints.cli import GC_GEN0_THRESHOLD, settle_heap


def test_the_start_up_heap_is_frozen_and_the_young_generation_collected_less_often():
    threshold = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 10_000  # this process's modules, classes and caches
        assert gc.get_threshold() == (GC_GEN0_THRESHOLD, *threshold[1:])
        assert gc.get_count()[2] == 0  # nothing left in the old generation for a full collection to walk
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)

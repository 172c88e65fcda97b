"""The publisher's batch keeps one figures read per queue, and with it a dropped call's near-turn look."""
from __future__ import annotations

from hall_queue.domain.events import QueueStatsChanged, TicketCalled
from hall_queue.infrastructure.runtime import superseded_figures_dropped
from hall_queue.queueing.estimates import queue_stats_due


def test_a_later_read_of_the_same_queue_takes_over_a_calls_near_turn_look():
    call = TicketCalled(1, {"ticket": {"queue_id": 5}})
    from_call = queue_stats_due(1, 5, near_turn=True)
    from_sign_in = queue_stats_due(1, 5)
    other_queue = queue_stats_due(1, 6)
    kept = superseded_figures_dropped([call, from_call, other_queue, from_sign_in])
    assert kept == [call, other_queue, from_sign_in]
    assert from_sign_in.payload == {"queue_ids": [5], "near_turn": True}
    assert other_queue.payload == {"queue_ids": [6]}


def test_figures_already_read_are_left_alone():
    read = QueueStatsChanged(1, {"queues": []})
    due = queue_stats_due(1, 5)
    assert superseded_figures_dropped([read, due]) == [read, due]

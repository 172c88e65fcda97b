"""``cache.SharedRead``: callers that want the same rows at the same moment share one read, and each still sees
its own writes (issue 19: the clerks' 下一位 answered by one group commit each read their queue's figures)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from hall_queue.infrastructure.cache import SharedRead


def _joined(shared: SharedRead, n: int) -> bool:
    """Wait until ``n`` callers wait on the read in flight (CPython's Condition keeps its waiters in ``_waiters``)."""
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        flying = list(shared._flying.values())
        if flying and len(flying[0][1]._condition._waiters) >= n:
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_callers_arriving_during_a_read_that_began_after_their_commit_share_it(session):
    shared, started, release = SharedRead(), threading.Event(), threading.Event()
    reads, answers = [], []

    def slow_read():
        reads.append(1)
        started.set()
        release.wait(5)
        return ("figures", len(reads))

    def caller(floor):
        answers.append(shared.get(session, "queue-1", floor, slow_read))
    first = threading.Thread(target=caller, args=(7,))
    first.start()
    assert started.wait(5)
    others = [threading.Thread(target=caller, args=(floor,)) for floor in (5, 7, 7)]  # committed before it began
    for t in others:
        t.start()
    assert _joined(shared, 3)
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert reads == [1] and answers == [("figures", 1)] * 4


def test_a_caller_whose_commit_came_after_the_read_began_reads_itself(session):
    shared, started, release = SharedRead(), threading.Event(), threading.Event()
    seen = []

    def slow_read():
        started.set()
        release.wait(5)
        return "before"
    t = threading.Thread(target=lambda: seen.append(shared.get(session, "q", 3, slow_read)))
    t.start()
    assert started.wait(5)
    # Committed after that read began (changes 4 > 3): its own read, even while the older one is in flight.
    assert shared.get(session, "q", 4, lambda: "after") == "after"
    assert shared.get(session, "other queue", 3, lambda: "other") == "other"  # another key never joins
    release.set()
    t.join(5)
    assert seen == ["before"]
    assert shared.get(session, "q", 0, lambda: "fresh") == "fresh"  # nothing kept once reads end


def test_a_failed_read_fails_every_caller_that_joined_it_and_is_not_kept(session):
    shared, started, release = SharedRead(), threading.Event(), threading.Event()
    errors = []

    def failing():
        started.set()
        release.wait(5)
        raise RuntimeError("database gone")

    def caller():
        try:
            shared.get(session, "q", 1, failing)
        except RuntimeError as e:
            errors.append(str(e))
    threads = [threading.Thread(target=caller)]
    threads[0].start()
    assert started.wait(5)
    threads.append(threading.Thread(target=caller))
    threads[1].start()
    assert _joined(shared, 1)
    release.set()
    for t in threads:
        t.join(5)
    assert errors == ["database gone", "database gone"]
    assert shared.get(session, "q", 1, lambda: "ok") == "ok"

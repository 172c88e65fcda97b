"""The SQLite writer lock of one process hands itself to its waiters in the order they came (issue 19)."""
from __future__ import annotations

import signal
import threading
import time

import pytest

from hall_queue.infrastructure.db import FairLock


def _wait_for(condition) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the waiters did not queue"
        time.sleep(0.001)


def test_waiters_get_the_lock_in_their_order_and_a_newcomer_waits_its_turn():
    lock = FairLock()
    order: list[int] = []
    lock.acquire()

    def writer(i: int) -> None:
        with lock:
            order.append(i)

    threads = []
    for i in range(6):  # each queues before the next starts
        t = threading.Thread(target=writer, args=(i,))
        t.start()
        threads.append(t)
        _wait_for(lambda: len(lock._waiters) == i + 1)
    lock.release()  # handed to writer 0, not free for whoever runs first
    late = threading.Thread(target=writer, args=(6,))
    late.start()
    for t in [*threads, late]:
        t.join(10)
    assert order == [0, 1, 2, 3, 4, 5, 6]
    assert not lock._held and not lock._waiters


def test_a_waiter_interrupted_in_the_queue_leaves_it():
    """Ctrl-C (here a timer's signal) while the main thread waits: it leaves the queue, the lock stays usable."""
    lock = FairLock()
    lock.acquire()

    class Interrupted(Exception):
        pass

    def interrupt(_sig, _frame):
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Interrupted):
            lock.acquire()  # queued behind the hold above, until the signal
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not lock._waiters
    lock.release()
    assert lock._held is False
    other = threading.Thread(target=lambda: lock.__enter__() or lock.__exit__())
    other.start()
    other.join(10)
    assert not other.is_alive() and lock._held is False

"""A lapsed ``TtlCache`` entry is read again by one caller while the others keep its value (issue 19): when an
entry lapsed, every request in flight used to miss it together and read the same rows at once."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from hall_queue.infrastructure import cache
from hall_queue.infrastructure.cache import MISSING, TtlCache


def _session():
    bind = SimpleNamespace()
    return SimpleNamespace(info={}, get_bind=lambda: bind)


@pytest.fixture
def kept(monkeypatch):
    """A cache holding "v1" under "hall", its clock in the test's hands."""
    c, s, clock = TtlCache(5.0, set()), _session(), [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    c.put(s, "hall", "v1")
    return c, s, clock


def test_one_caller_reloads_a_lapsed_entry_the_others_keep_its_value_meanwhile(kept):
    c, s, clock = kept
    assert c.get(s, "hall") == "v1"
    clock[0] += 5.1  # lapsed
    assert c.get(s, "hall") is MISSING  # the first caller reads it again …
    assert c.get(s, "hall") == "v1" and c.get(s, "hall") == "v1"  # … the others answer from the kept value
    c.put(s, "hall", "v2")  # the reload lands
    assert c.get(s, "hall") == "v2"


def test_a_reload_that_never_lands_leaves_the_entry_to_the_next_caller_after_the_grace(kept):
    c, s, clock = kept
    clock[0] += 5.1
    assert c.get(s, "hall") is MISSING  # this caller's read fails: nothing is put
    clock[0] += cache.RELOAD_GRACE_S - 0.1
    assert c.get(s, "hall") == "v1"
    clock[0] += 0.2
    assert c.get(s, "hall") is MISSING  # the grace is over: the next caller reads it
    assert c.get(s, "hall") == "v1"


def test_a_change_committed_here_still_drops_the_entry_at_once():
    c = TtlCache(5.0, {"halls_for_this_test"})
    s = _session()
    c.put(s, "hall", "v1")
    cache.forget("halls_for_this_test")
    assert c.get(s, "hall") is MISSING

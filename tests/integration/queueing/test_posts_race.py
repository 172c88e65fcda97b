"""A/B posts under real concurrency: the duty round against sign-ins, sign-outs and a second duty round.

Issue 19: the benchmark's ``call-next`` was refused with ``window_covered`` at a window whose clerk was signed
in. The duty round (``check_posts``) read the empty posts, a clerk signed in at one of them and committed,
and the round then covered that window: under PostgreSQL's READ COMMITTED nothing stopped it. Each test
here pauses a duty round in a real thread between its read and its write, lets another transaction go in
another thread (a connection of its own, as another process would have), then checks that the hall's
posts still make sense. SQLite (``BEGIN IMMEDIATE``) always; PostgreSQL when reachable
(``ONEVISIT_REQUIRE_SERVICES=1`` makes it required), in a temporary database.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select, text

from hall_queue.domain.models import Alert, Hall, PostInterval, Staff, Window
from hall_queue.queueing import posts
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)

WAIT_S = 60  # only so that a broken run ends; nothing is timed


def assert_posts_consistent(db, hall_id: int) -> None:
    """Every window's post state agrees with its clerk, its coverer and its open intervals and alerts."""
    with db.read() as s:
        windows = {w.id: w for w in s.scalars(select(Window).where(Window.hall_id == hall_id))}
        intervals = Counter((iv.window_id, iv.kind, iv.covering_window_id) for iv in s.scalars(
            select(PostInterval).where(PostInterval.hall_id == hall_id, PostInterval.ended_at.is_(None))))
        alerts = Counter(a.window_id for a in s.scalars(
            select(Alert).where(Alert.hall_id == hall_id, Alert.kind == "empty_post", Alert.cleared_at.is_(None))))
    open_per_window = Counter(w for (w, _, _) in intervals.elements())
    assert all(n == 1 for n in open_per_window.values()), f"a window has two open post intervals: {intervals}"
    assert all(n == 1 for n in alerts.values()), f"a window has two open empty-post alerts: {alerts}"
    coverers = Counter(w.covered_by_id for w in windows.values() if w.covered_by_id is not None)
    assert all(n == 1 for n in coverers.values()), f"a window covers two posts: {coverers}"
    for w in windows.values():
        serving = w.is_open and w.clerk_id is not None and w.paused_at is None
        empty = (w.id, "empty", None) in intervals
        if w.covered_by_id is not None:
            by = windows[w.covered_by_id]
            assert not serving, f"window {w.number} is signed in and serving, yet covered by window {by.number}"
            assert by.is_open and by.clerk_id is not None and by.paused_at is None and by.covered_by_id is None, \
                f"window {w.number} is covered by window {by.number}, which is not serving"
            assert intervals[(w.id, "cover", by.id)] == 1, f"window {w.number}'s cover has no open interval"
        if serving:
            assert open_per_window[w.id] == 0 and alerts[w.id] == 0, \
                f"window {w.number} is signed in and serving, yet its post is recorded empty or covered"
        assert empty == (alerts[w.id] == 1), f"window {w.number}: empty interval and alert disagree"


class Paused:
    """Run a write transaction in a thread that stops at its first call of ``posts.<at>``, until released."""

    def __init__(self, monkeypatch, db, fn, *, at: str) -> None:
        self.db, self.fn = db, fn
        self.paused, self.go = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="paused")
        original = getattr(posts, at)

        def hooked(*args, **kwargs):
            if threading.current_thread() is self.thread and not self.paused.is_set():
                self.paused.set()
                assert self.go.wait(WAIT_S), "the paused transaction was never released"
            return original(*args, **kwargs)

        monkeypatch.setattr(posts, at, hooked)

    def _run(self) -> None:
        try:
            self.db.run_write(self.fn)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def start(self) -> "Paused":
        self.thread.start()
        assert self.paused.wait(WAIT_S), "the transaction never reached the point where it pauses"
        return self

    def finish(self) -> None:
        self.go.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def paused_duty(monkeypatch, db, hall_id: int, clock, *, at: str) -> Paused:
    """A duty round (``check_posts``) paused between what it read and what it writes."""
    return Paused(monkeypatch, db, lambda s: posts.check_posts(s, s.get(Hall, hall_id), now=clock.now()),
                  at=at).start()


def sign_in(clerks, clerk: int, window: int):
    """The service call of a clerk's sign-in, to run in a transaction of its own."""
    hall = clerks.hall
    return lambda s: posts.sign_in(s, s.get(Window, hall.window_ids[window]), s.get(Staff, hall.clerk_ids[clerk]),
                                   now=clerks.clock.now(), actor=clerks.actor(clerk))


class Other:
    """Another transaction, in a thread of its own, started while the duty round is paused."""

    def __init__(self, db, fn) -> None:
        self.db, self.fn = db, fn
        self.started = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="other")

    def _run(self) -> None:
        self.started.set()
        try:
            self.db.run_write(self.fn)
        except BaseException as e:  # noqa: BLE001
            self.error = e

    def start_and_wait(self) -> "Other":
        """Start, then return once it has committed or is held up waiting for the paused duty round."""
        self.thread.start()
        assert self.started.wait(WAIT_S)
        if self.db.is_sqlite:
            return self  # the paused round holds SQLite's writer lock: this transaction can only come after it
        with self.db.writer.connect() as conn:
            deadline = time.monotonic() + WAIT_S
            while self.thread.is_alive() and time.monotonic() < deadline:
                waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                            " AND wait_event_type = 'Lock'")).scalar_one()
                conn.rollback()
                if waiting:
                    break
                time.sleep(0.01)
        return self

    def join(self) -> None:
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def _window_1_empty_and_its_b_clerk_free(clerks) -> None:
    """Window 1 (A c1, B c2) is an empty post: c1 left while c2 was paused at window 2; c2 is now back."""
    clerks.sign_in(2, 2)
    clerks.db.run_write(lambda s: posts.pause(s, s.get(Window, clerks.hall.window_ids[2]), reason="会议",
                                              now=clerks.clock.now(), actor=clerks.actor(2)))
    clerks.sign_in(1, 1)
    clerks.sign_out(1, 1)
    clerks.db.run_write(lambda s: posts.resume(s, s.get(Window, clerks.hall.window_ids[2]),
                                               now=clerks.clock.now(), actor=clerks.actor(2)))
    assert clerks.window(1).covered_by_id is None  # left for the duty round, which covers it by window 2


def test_a_clerk_signing_in_while_the_duty_covers_their_window_ends_signed_in_and_uncovered(
        db, clock, clerks, small_hall, monkeypatch):
    _window_1_empty_and_its_b_clerk_free(clerks)
    duty = paused_duty(monkeypatch, db, small_hall.id, clock, at="cover_post")
    back = Other(db, sign_in(clerks, 1, 1)).start_and_wait()
    duty.finish()
    back.join()
    w1 = clerks.window(1)
    assert w1.clerk_id == small_hall.clerk_ids[1] and w1.covered_by_id is None
    assert_posts_consistent(db, small_hall.id)
    # The benchmark's symptom: the clerk back at window 1 calls.
    assert clerks.call(1, 1) is None  # no ticket waiting, and no window_covered refusal


def test_the_covering_clerk_signing_out_while_the_duty_covers_leaves_no_cover_by_an_empty_window(
        db, clock, clerks, small_hall, monkeypatch):
    _window_1_empty_and_its_b_clerk_free(clerks)
    duty = paused_duty(monkeypatch, db, small_hall.id, clock, at="cover_post")
    leaving = Other(db, lambda s: posts.sign_out(s, s.get(Window, small_hall.window_ids[2]), now=clock.now(),
                                                 actor=clerks.actor(2))).start_and_wait()
    duty.finish()
    leaving.join()
    assert clerks.window(2).clerk_id is None
    assert clerks.window(1).covered_by_id is None
    assert_posts_consistent(db, small_hall.id)


def test_the_covering_window_pausing_while_the_duty_covers_leaves_no_cover_by_a_covered_window(
        db, clock, clerks, small_hall, monkeypatch):
    # Window 2 (A c2, B c3) pauses with the hall covering pauses at once: window 3 (c3) covers it. Meanwhile the
    # duty round covers window 1 by window 2: a chain (1 by 2, 2 by 3) unless one waits for the other.
    _window_1_empty_and_its_b_clerk_free(clerks)
    clerks.sign_in(3, 3)
    db.run_write(lambda s: setattr(s.get(Hall, small_hall.id), "pause_cover_after_s", 0))
    duty = paused_duty(monkeypatch, db, small_hall.id, clock, at="cover_post")
    pausing = Other(db, lambda s: posts.pause(s, s.get(Window, small_hall.window_ids[2]), reason="会议",
                                              now=clock.now(), actor=clerks.actor(2))).start_and_wait()
    duty.finish()
    pausing.join()
    assert clerks.window(2).covered_by_id == small_hall.window_ids[3]
    assert clerks.window(1).covered_by_id is None
    assert_posts_consistent(db, small_hall.id)


def test_a_clerk_signing_in_while_the_duty_finds_the_window_never_staffed_leaves_no_empty_post(
        db, clock, clerks, small_hall, monkeypatch):
    # Window 3 has been open since the hall opened and nobody signed in: the round raises it as an empty post.
    duty = paused_duty(monkeypatch, db, small_hall.id, clock, at="_raise_empty")
    arriving = Other(db, sign_in(clerks, 3, 3)).start_and_wait()
    duty.finish()
    arriving.join()
    assert_posts_consistent(db, small_hall.id)
    # Nor does the next round turn a stale empty post into a cover of the signed-in window.
    clerks.sign_in(2, 2)
    clock.advance(seconds=5)
    clerks.check_posts()
    assert clerks.window(3).covered_by_id is None
    assert_posts_consistent(db, small_hall.id)


def test_two_duty_rounds_at_once_record_each_empty_post_once(db, clock, clerks, small_hall, monkeypatch):
    # Two server processes each running the duties (a misconfigured scale-out): one round at a time per hall.
    _window_1_empty_and_its_b_clerk_free(clerks)
    first = paused_duty(monkeypatch, db, small_hall.id, clock, at="_raise_empty")
    second = Other(db, lambda s: posts.check_posts(s, s.get(Hall, small_hall.id), now=clock.now())).start_and_wait()
    first.finish()
    second.join()
    assert clerks.window(1).covered_by_id == small_hall.window_ids[2]
    assert_posts_consistent(db, small_hall.id)


def test_the_a_and_b_clerk_signing_in_at_one_window_at_once_one_is_refused(db, clock, clerks, small_hall,
                                                                           monkeypatch):
    first = Paused(monkeypatch, db, sign_in(clerks, 1, 1), at="_restore").start()  # past its "window taken?" check
    second = Other(db, sign_in(clerks, 2, 1)).start_and_wait()
    first.finish()
    with pytest.raises(posts.WrongState) as refused:
        second.join()
    assert refused.value.code == "window_taken"
    assert clerks.window(1).clerk_id == small_hall.clerk_ids[1]
    assert_posts_consistent(db, small_hall.id)

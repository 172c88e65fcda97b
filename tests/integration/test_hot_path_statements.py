"""The hot paths' statements (issue 19), counted on both engines: a regression shows as a number.

Issuing tells the wait range from one read after commit and the queue's cached pace; the clerk's 下一位
writes the 即办 case, its step and its handover on prebuilt statements and answers without reading
them back — and what it answers, and what it caches, is what the database holds.
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from hall_queue.cases.views import cases_of_ticket
from hall_queue.domain.models import AuditEvent, Case, Hall, Ticket, Window
from hall_queue.domain.vocabulary import WAIT_READS_KEPT_S
from hall_queue.infrastructure.db import Database
from hall_queue.queueing import estimates
from hall_queue.queueing.wait_range import ticket_wait_range
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


# Rows the server keeps a few seconds per process (tokens, hall and case settings, catalogue, names): on a
# loaded machine a keep can lapse between two requests, so their re-reads are not counted (no timing in tests).
KEPT = ("access_tokens", "staff", "halls", "case_settings", "holidays", "queues", "bundles", "service_items",
        "queue_items", "appointment_settings", "appointment_capacities")
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


@contextmanager
def counted(db):
    """Count the statements sent to the database (``BEGIN`` and kept rows' re-reads not counted)."""
    seen: list[str] = []

    def on_execute(_conn, _cursor, statement, *_a):
        m = _FROM.search(statement) if statement.startswith("SELECT") else None
        if not statement.startswith("BEGIN") and not (m and m.group(1) in KEPT):
            seen.append(statement)
    engines_ = db.engines
    for e in engines_:
        event.listen(e, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        for e in engines_:
            event.remove(e, "before_cursor_execute", on_execute)


def test_an_issue_takes_ten_statements_and_still_tells_the_wait_range(api, db):
    api.sign_in("clerk01", 1)
    api.issue("SS001")  # warm: the slot's row, cached routes and settings
    with counted(db) as seen:
        t = api.issue("SS001")
    # nine, and the wait range's read of the queue's last half hour (issue 17's estimator), after commit
    assert len(seen) <= 10, seen
    assert t["wait_position"] == 1 and "分钟" in t["wait_text"] and t["wait_low_s"] < t["wait_high_s"]


def test_a_kiosk_issue_with_its_idempotency_key_looks_for_the_replay_in_one_plain_statement(api, db):
    api.sign_in("clerk01", 1)
    api.issue("SS001")
    body = {"item_ids": [api.items["SS001"]]}
    url = f"/api/v1/halls/{api.hall_id}/tickets"
    with counted(db) as seen:
        r = api.post(url, body, token=api.tokens["kiosk"], headers={"Idempotency-Key": "visitor-42"})
    assert r.status_code == 201, r.get_json()
    assert len(seen) <= 9, seen  # the issue's, and the look for a replay: its id only, not the whole ticket
    look = [s for s in seen if "idempotency_key =" in s]
    assert len(look) == 1 and look[0].startswith("SELECT tickets.id \nFROM tickets"), look
    again = api.post(url, body, token=api.tokens["kiosk"], headers={"Idempotency-Key": "visitor-42"})
    assert again.status_code == 200 and again.get_json()["id"] == r.get_json()["id"]
    assert again.get_json()["number"] == r.get_json()["number"]


def test_next_with_a_case_writes_it_in_few_statements_and_answers_what_was_written(api, db):
    api.sign_in("clerk01", 1)
    for _ in range(4):
        api.issue("SS001")
    url = f"/api/v1/windows/{api.windows[1]}/finish-and-call-next"
    first = api.call("clerk01", 1)["ticket"]  # warm: the year's counter row, cached settings
    r = api.post(url, {"outcome": "completed", "ticket_id": first["id"]}, token=api.token("clerk01"))
    held = r.get_json()["ticket"]
    with counted(db) as seen:
        r = api.post(url, {"outcome": "completed", "ticket_id": held["id"]}, token=api.token("clerk01"))
    assert r.status_code == 200, r.get_json()
    # In the write transaction: the ticket (PostgreSQL: locked by this read), its finish, the number, the case,
    # its step, the handover; the window, the claim; the three audit rows in one statement. After commit: the
    # queue figures with the near-turn look.
    assert len(seen) <= 10, seen
    assert sum(s.startswith("INSERT INTO audit_events") for s in seen) == 1, seen
    receipt = r.get_json()["finished"]["cases"]
    with db.read() as s:
        assert receipt == cases_of_ticket(s, held["id"])  # read back from the database: the same
        case = s.scalar(select(Case).where(Case.ticket_id == held["id"]))
        assert (case.state, case.decision, case.acceptance_no) == ("closed", "approved", receipt[0]["acceptance_no"])
        assert s.get(Ticket, held["id"]).status == "done"
        # The audit rows written together are those written one by one before, in the same order.
        trail = s.execute(select(AuditEvent.action, AuditEvent.ticket_id, AuditEvent.window_id)
                          .order_by(AuditEvent.id.desc()).limit(3)).all()[::-1]
        assert [tuple(t) for t in trail] == [("ticket.finish", held["id"], api.windows[1]),
                                             ("case.complete", held["id"], None),
                                             ("ticket.call", r.get_json()["ticket"]["id"], api.windows[1])]


def test_the_cached_pace_a_finish_updates_equals_a_fresh_read(api, db, clock):
    api.sign_in("clerk01", 1)
    for _ in range(8):
        api.issue("SS001")
    queue_id = api.issue("SS001")["queue_id"]  # the pace is now cached
    for minutes in (3, 7, 4, 12, 5, 6):
        t = api.call("clerk01", 1)["ticket"]
        clock.advance(minutes=minutes)
        api.act("clerk01", t["id"], "finish", {"outcome": "consultation"})
    with db.read() as s:
        default_s = s.get(Hall, api.hall_id).default_service_s
        cached = estimates.queue_pace(s, queue_id, default_s)
        estimates._paces.clear()
        fresh = estimates.queue_pace(s, queue_id, default_s)
    assert cached == fresh and len(fresh.durations) == 6 and fresh.durations[0] == 6 * 60


def _fresh_range(db, clock, ticket_id):
    with db.read() as s:
        t = s.get(Ticket, ticket_id)
        return ticket_wait_range(s, t, now=clock.now(), default_s=s.get(Hall, t.hall_id).default_service_s).view()


def _reads_windows(seen):  # the wait range's read of the windows serving the queue (``wait_range._SERVING_SHAPE``)
    return any(s.startswith("SELECT window_queues.window_id") for s in seen)


def _told(t):
    return {k: t[k] for k in ("wait_low_s", "wait_high_s", "wait_position", "wait_text")}


def _still_time(monkeypatch):
    """The kept reads last WAIT_READS_KEPT_S of real time too (``time.monotonic``): on a loaded machine two requests
    of a test may lie further apart. Here the test's clock alone ages them (real time stands still for them)."""
    from types import SimpleNamespace

    from hall_queue.queueing import routing, wait_range
    for module in (routing, wait_range):
        monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=lambda: 0.0))


def test_issues_in_a_row_tell_the_wait_from_the_queue_reads_the_first_kept(api, db, clock, monkeypatch):
    _still_time(monkeypatch)
    api.sign_in("clerk01", 1)
    api.issue("SS001")  # warm
    api.issue("SS001")  # reads the queue's windows and recent tickets for its range, and keeps them
    clock.advance(seconds=0.5)
    with counted(db) as seen:
        t = api.issue("SS001")
    # No read after commit: the range comes from the kept reads, aged by the half second, and the cached pace.
    assert not _reads_windows(seen), seen
    assert len(seen) <= 8, seen
    assert _told(t) == _fresh_range(db, clock, t["id"]) and t["wait_position"] == 2
    # Any other write of the process (here a call, which changes who is idle and the queue's pace) ends them.
    api.call("clerk01", 1)
    with counted(db) as seen:
        t = api.issue("SS001")
    assert _reads_windows(seen), seen
    assert _told(t) == _fresh_range(db, clock, t["id"]) and t["wait_position"] == 2
    clock.advance(seconds=0.3)  # aged: the called ticket's wait and the waiting ones' grow alike
    with counted(db) as seen:
        t = api.issue("SS001")
    assert not _reads_windows(seen), seen
    assert _told(t) == _fresh_range(db, clock, t["id"]) and t["wait_position"] == 3
    # And they last WAIT_READS_KEPT_S at most.
    clock.advance(seconds=WAIT_READS_KEPT_S + 0.5)
    with counted(db) as seen:
        t = api.issue("SS001")
    assert _reads_windows(seen), seen
    assert _told(t) == _fresh_range(db, clock, t["id"])


def test_a_write_through_another_database_object_of_the_same_file_ends_the_kept_reads(api, db, clock, monkeypatch):
    _still_time(monkeypatch)
    api.sign_in("clerk01", 1)
    api.issue("SS001")
    api.issue("SS001")  # keeps the reads
    other = Database(db.url)  # a tool or a second app in the same process
    try:
        with other.write() as s:  # the window pauses: nobody serves the queue now
            w = s.get(Window, api.windows[1])
            w.paused_at = clock.now()
            s.commit()
    finally:
        other.dispose()
    t = api.issue("SS001")
    assert _told(t) == _fresh_range(db, clock, t["id"])
    assert t["wait_text"] == "暂无窗口办理，请留意叫号"


def _reads_serving(seen):  # routing's read of the windows serving a queue (``routing._SERVING``)
    return any(s.startswith("SELECT window_queues.queue_id") for s in seen)


def test_issues_in_a_row_route_by_the_serving_windows_the_first_read_and_a_window_change_ends_that(api, db,
                                                                                                   monkeypatch):
    from hall_queue.queueing import routing
    api.sign_in("clerk01", 1)  # a write other than an issue: what was kept before it is not used
    with counted(db) as seen:
        first = api.issue("SS001")  # reads which windows serve the queue, and keeps that
    with counted(db) as again:
        second = api.issue("SS001")
    assert _reads_serving(seen) and not _reads_serving(again), again
    assert second["route_reason"] == first["route_reason"] and second["number"][0] == first["number"][0]
    # Another write of the process (the clerk leaves the window) ends it: the next issue routes on the fresh read.
    r = api.post(f"/api/v1/windows/{api.windows[1]}/sign-out", token=api.token("clerk01"))
    assert r.status_code == 200, r.get_json()
    with counted(db) as seen:
        t = api.issue("SS001")
    assert _reads_serving(seen), seen
    assert t.get("serving_windows") == 0 and t["wait_text"] == "暂无窗口办理，请留意叫号", t
    # A write that does more than issue never uses it (it may have changed the windows itself) …
    with db.write() as s:
        from hall_queue.infrastructure.db import issuing_only
        assert issuing_only(s) is None
    # … and it lasts WAIT_READS_KEPT_S at most.
    monkeypatch.setattr(routing, "WAIT_READS_KEPT_S", 0.0)
    api.issue("SS001")
    with counted(db) as seen:
        api.issue("SS001")
    assert _reads_serving(seen), seen

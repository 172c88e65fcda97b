"""A/B posts (002 §6.9, 000 §6.5): cover when a clerk leaves or pauses long, empty-post alerts."""
from __future__ import annotations

import pytest

from tests.conftest import engines

from datetime import timedelta

from sqlalchemy import select

from hall_queue.domain.models import PostInterval
from hall_queue.queueing.posts import check_posts
from hall_queue.domain.models import Hall

# The same rules on both engines (issue 8): SQLite file and PostgreSQL.
pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def _window(api, number, token=None):
    return api.get(f"/api/v1/windows/{api.windows[number]}", token=token or api.token("manager")).get_json()


def test_a_signs_out_and_b_at_another_window_covers_both_posts(api, db):
    # Window 1: A = clerk01, B = clerk02. clerk02 works at window 2.
    api.sign_in("clerk01", 1)
    api.sign_in("clerk02", 2)
    mine = api.issue("SS001")["id"]
    api.call("clerk01", 1)
    api.act("clerk01", mine, "start")
    moved = api.act("clerk01", mine, "transfer", {"window_id": api.windows[3]})  # aimed at an unstaffed window
    r = api.post(f"/api/v1/windows/{api.windows[1]}/sign-out", token=api.token("clerk01"))
    assert r.status_code == 200
    w1 = _window(api, 1)
    assert w1["status"] == "covered" and w1["covered_by_number"] == 2
    w2 = _window(api, 2)
    assert [c["number"] for c in w2["covering"]] == [1]
    # Tickets aimed at window 1 follow to window 2.
    t = api.issue("SS001")["id"]
    again = api.post(f"/api/v1/tickets/{t}/cancel", token=api.tokens["kiosk"])
    assert again.status_code == 200
    api.sign_in("clerk03", 3)
    assert api.call("clerk03", 3)["ticket"]["id"] == moved["id"]
    with db.read() as s:
        iv = s.scalars(select(PostInterval).where(PostInterval.kind == "cover")).all()
    assert len(iv) == 1 and iv[0].ended_at is None
    # A comes back: the cover ends and its minutes are recorded.
    api.clock.advance(minutes=7)
    api.sign_in("clerk01", 1)
    assert _window(api, 1)["status"] == "idle"
    with db.read() as s:
        iv = s.scalars(select(PostInterval).where(PostInterval.kind == "cover")).one()
    assert (iv.ended_at - iv.started_at) == timedelta(minutes=7)


def test_tickets_aimed_at_a_covered_window_are_called_by_the_coverer(api):
    api.sign_in("clerk01", 1)
    api.sign_in("clerk02", 2)
    api.sign_in("clerk03", 3)
    t = api.issue("SS001")["id"]
    api.call("clerk03", 3)
    moved = api.act("clerk03", t, "transfer", {"window_id": api.windows[1], "note": "回原窗口补材料"})
    api.post(f"/api/v1/windows/{api.windows[1]}/sign-out", token=api.token("clerk01"))
    c = api.call("clerk02", 2)
    assert c["ticket"]["id"] == moved["id"] and "顶岗" in c["reason"]


def test_both_a_and_b_gone_raises_an_empty_post_alert(api, db, app):
    events = []
    app.extensions["onevisit"].listeners.append(events.append)
    api.sign_in("clerk01", 1)
    api.post(f"/api/v1/windows/{api.windows[1]}/sign-out", token=api.token("clerk01"))  # clerk02 not in: empty
    names = [e.name for e in events]
    assert "post_uncovered" in names and "alert" in names
    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    assert [a["kind"] for a in alerts] == ["empty_post"] and "1号窗口" in alerts[0]["message"]
    assert _window(api, 1)["status"] == "empty"
    # B arrives at its own window: it takes over the empty post, the alert clears.
    api.clock.advance(minutes=4)
    api.sign_in("clerk02", 2)
    assert _window(api, 1)["status"] == "covered"
    assert api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"] == []
    with db.read() as s:
        empty = s.scalars(select(PostInterval).where(PostInterval.kind == "empty")).one()
    assert empty.ended_at - empty.started_at == timedelta(minutes=4)


def test_a_hall_open_round_the_clock_keeps_its_empty_posts_over_midnight(api, db, clock):
    """The demo hall is open 00:00–24:00 every day: midnight is neither a closing (which would end the empty
    posts) nor an opening (which would give the clerks a new sign-in grace); posts count from the service day's
    start at the 03:00 boundary, not from days ago (002 §6.9)."""
    hall = lambda s: s.get(Hall, api.hall_id)  # noqa: E731
    clock.advance(hours=13, minutes=50)  # Monday 23:50
    db.run_write(lambda s: check_posts(s, hall(s), now=clock.now()))
    with db.read() as s:
        before = {iv.window_id: (iv.id, iv.started_at) for iv in s.scalars(select(PostInterval).where(
            PostInterval.kind == "empty", PostInterval.ended_at.is_(None)))}
    assert api.windows[5] in before
    assert before[api.windows[5]][1] == clock.now().replace(hour=19, minute=0) - timedelta(days=1)  # Mon 03:00
    clock.advance(minutes=20)  # Tuesday 00:10
    db.run_write(lambda s: check_posts(s, hall(s), now=clock.now()))
    with db.read() as s:
        after = {iv.window_id: (iv.id, iv.started_at) for iv in s.scalars(select(PostInterval).where(
            PostInterval.kind == "empty", PostInterval.ended_at.is_(None)))}
    assert after == before
    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    assert "5号窗口空岗" in " ".join(a["message"] for a in alerts if a["kind"] == "empty_post")


def test_an_empty_post_first_seen_after_midnight_says_the_day_it_began(api, db, clock):
    clock.advance(hours=14, minutes=10)  # Tuesday 3 March, 00:10: still Monday's service day
    db.run_write(lambda s: check_posts(s, s.get(Hall, api.hall_id), now=clock.now()))
    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    assert "5号窗口空岗：开放办理但无人签到（3月2日 03:00起）" in [a["message"] for a in alerts]


def test_a_long_pause_is_covered_and_resume_restores_the_post(api, db, clock, hall_id, app):
    api.sign_in("clerk01", 1)
    api.sign_in("clerk02", 2)
    r = api.post(f"/api/v1/windows/{api.windows[1]}/pause", {"reason": "调取档案"}, token=api.token("clerk01"))
    assert r.status_code == 200 and r.get_json()["status"] == "paused"
    clock.advance(seconds=299)
    early = db.run_write(lambda s: check_posts(s, s.get(Hall, hall_id), now=clock.now()))
    assert not [e for e in early if e.name == "post_covered"]  # (windows nobody signed into are empty posts)
    clock.advance(seconds=2)
    events = db.run_write(lambda s: check_posts(s, s.get(Hall, hall_id), now=clock.now()))
    covered = [e for e in events if e.name == "post_covered"]
    assert covered and covered[0].payload["message"] == "1号窗口由2号窗口顶岗"
    assert _window(api, 1)["status"] == "covered"
    t = api.issue("SS001")["id"]
    assert api.call("clerk02", 2)["ticket"]["id"] == t
    r = api.post(f"/api/v1/windows/{api.windows[1]}/resume", token=api.token("clerk01"))
    assert r.status_code == 200 and r.get_json()["status"] == "idle"


def test_pause_needs_a_reason_and_a_free_hand(api):
    api.sign_in("clerk01", 1)
    r = api.post(f"/api/v1/windows/{api.windows[1]}/pause", {"reason": "  "}, token=api.token("clerk01"))
    assert r.status_code == 422
    api.issue("SS001")
    api.call("clerk01", 1)
    r = api.post(f"/api/v1/windows/{api.windows[1]}/pause", {"reason": "午休"}, token=api.token("clerk01"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "ticket_in_hand"
    r = api.post(f"/api/v1/windows/{api.windows[1]}/sign-out", token=api.token("clerk01"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "ticket_in_hand"


def test_manager_forces_a_cover_and_closing_releases_it(api):
    api.sign_in("clerk05", 5)
    m = api.token("manager")
    r = api.post(f"/api/v1/windows/{api.windows[3]}/cover", {"by_window_id": api.windows[5]}, token=m)
    assert r.status_code == 200 and r.get_json()["status"] == "covered"
    r = api.post(f"/api/v1/windows/{api.windows[4]}/cover", {"by_window_id": api.windows[5]}, token=m)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "cannot_cover"  # one cover at a time
    assert api.post(f"/api/v1/windows/{api.windows[3]}/cover", {"by_window_id": api.windows[5]},
                    token=api.token("clerk05")).status_code == 403
    r = api.post(f"/api/v1/windows/{api.windows[3]}/close", token=m)
    assert r.get_json()["status"] == "closed"
    assert _window(api, 5)["covering"] == []


def test_one_clerk_one_window(api):
    api.sign_in("clerk01", 1)
    r = api.post(f"/api/v1/windows/{api.windows[2]}/sign-in", token=api.token("clerk01"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "signed_in_elsewhere"
    r = api.post(f"/api/v1/windows/{api.windows[1]}/sign-in", token=api.token("clerk02"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "window_taken"


def test_sign_in_and_out_send_the_queue_figures_to_the_screens(api, app):
    # Issue 21: right after a clerk signed in, the kiosk and hall screen tiles kept "暂无窗口办理"
    # because signing in published no queue figures; only the next call or ticket did.
    waiting = api.issue("SS001")
    events = []
    app.extensions["onevisit"].listeners.append(events.append)

    def figures() -> dict:
        stats = [q for e in events if e.name == "queue_stats" for q in e.payload["queues"]]
        mine = [q for q in stats if q["queue_id"] == waiting["queue_id"]]
        assert mine, [e.name for e in events]
        return mine[-1]

    api.sign_in("clerk01", 1)
    assert figures()["serving_windows"] == 1 and figures()["waiting"] == 1
    events.clear()
    api.post(f"/api/v1/windows/{api.windows[1]}/sign-out", token=api.token("clerk01"))  # clerk02 not in: empty
    assert figures()["serving_windows"] == 0

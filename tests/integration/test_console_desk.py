"""The clerk console's lists and calls (issue 21): 指定呼叫 of a chosen waiting ticket, the no-show list with
过号重排, no-show only after a recall or the hall's minimum time, today's served count at the window."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hall_queue.domain.models import AuditEvent
from hall_queue.domain.vocabulary import CALL_SPECIFIC_REASON, NO_SHOW_MIN_S
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def _lists(api, clerk, window, expect=200):
    r = api.get(f"/api/v1/windows/{api.windows[window]}/desk-lists", token=api.token(clerk))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def _call(api, clerk, window, ticket_id, expect=200):
    r = api.post(f"/api/v1/windows/{api.windows[window]}/call/{ticket_id}", token=api.token(clerk))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def test_call_a_chosen_waiting_ticket_out_of_turn(api, db):
    api.sign_in("clerk01", 1)
    first, second, third = (api.issue("SS001") for _ in range(3))
    other_queue = api.issue("ZH001")  # 办不成事反映: window 11's queue only
    lists = _lists(api, "clerk01", 1)
    assert [t["id"] for t in lists["waiting"]] == [first["id"], second["id"], third["id"]]
    assert lists["waiting"][0]["queue_name"] == "综合受理" and "wait_s" in lists["waiting"][0]
    c = _call(api, "clerk01", 1, third["id"])
    assert c["ticket"]["id"] == third["id"] and c["ticket"]["status"] == "called"
    assert c["reason"] == CALL_SPECIFIC_REASON and c["window"]["number"] == 1
    # Nothing else is called while the ticket is in hand; the next call-next takes the head again.
    assert _call(api, "clerk01", 1, second["id"], expect=409)["error"]["code"] == "ticket_in_hand"
    api.act("clerk01", third["id"], "finish", {"outcome": "completed"})
    assert _call(api, "clerk01", 1, other_queue["id"], expect=409)["error"]["code"] == "not_your_queue"
    assert _call(api, "clerk01", 1, third["id"], expect=409)["error"]["code"] == "not_waiting"
    assert api.call("clerk01", 1)["ticket"]["id"] == first["id"]
    # Another clerk's window is not theirs to call from; the call is audited with its own action.
    assert _call(api, "clerk01", 2, second["id"], expect=403)["error"]["code"] == "forbidden"
    with db.read() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.ticket_id == third["id"])))
    assert "ticket.call_specific" in actions


def test_covering_window_may_call_the_covered_posts_tickets(api):
    # Window 11 (F queue) unstaffed, covered by window 1 (manager's forced cover): window 1 calls F's tickets.
    api.sign_in("clerk01", 1)
    f = api.issue("ZH001")
    r = api.post(f"/api/v1/windows/{api.windows[11]}/cover", {"by_window_id": api.windows[1]},
                 token=api.token("manager"))
    assert r.status_code == 200, r.get_json()
    assert f["id"] in [t["id"] for t in _lists(api, "clerk01", 1)["waiting"]]
    assert _call(api, "clerk01", 1, f["id"])["ticket"]["id"] == f["id"]


def test_no_show_needs_a_recall_or_the_minimum_time(api, db):
    api.sign_in("clerk01", 1)
    a, b = api.issue("SS001"), api.issue("SS001")
    api.call("clerk01", 1)
    err = api.act("clerk01", a["id"], "no-show", expect=409)
    assert err["error"]["code"] == "no_show_too_soon"
    api.act("clerk01", a["id"], "recall")
    api.act("clerk01", a["id"], "no-show")            # one recall is enough
    api.call("clerk01", 1)
    api.clock.advance(seconds=NO_SHOW_MIN_S - 1)
    api.act("clerk01", b["id"], "no-show", expect=409)
    api.clock.advance(seconds=1)
    api.act("clerk01", b["id"], "no-show")            # or the hall's minimum time since the call
    lists = _lists(api, "clerk01", 1)
    assert [t["id"] for t in lists["no_shows"]] == [b["id"], a["id"]]
    assert all(t["can_requeue"] for t in lists["no_shows"])
    api.act("clerk01", a["id"], "requeue")
    lists = _lists(api, "clerk01", 1)
    assert [t["id"] for t in lists["no_shows"]] == [b["id"]]
    assert [t["id"] for t in lists["waiting"]] == [a["id"]]
    # The minimum is a hall setting: 0 lets a clerk mark no-show at once.
    m = api.token("manager")
    r = api.client.patch(f"/api/v1/halls/{api.hall_id}/settings", json={"no_show_min_s": 0},
                         headers={"Authorization": f"Bearer {m}"})
    assert r.status_code == 200 and r.get_json()["no_show_min_s"] == 0, r.get_json()
    api.call("clerk01", 1)
    api.act("clerk01", a["id"], "no-show")


def test_today_served_count_and_average_service_time(api):
    api.sign_in("clerk01", 1)
    assert _lists(api, "clerk01", 1)["today"] == {**_lists(api, "clerk01", 1)["today"], "served": 0,
                                                  "avg_service_s": None}
    for minutes in (4, 6):
        t = api.issue("SS001")
        api.call("clerk01", 1)
        api.act("clerk01", t["id"], "start")
        api.clock.advance(minutes=minutes)
        api.act("clerk01", t["id"], "finish", {"outcome": "completed"})
    today = _lists(api, "clerk01", 1)["today"]
    assert today["served"] == 2 and today["avg_service_s"] == 300
    # A manager may look at any window's lists; a clerk only at their own.
    assert _lists(api, "manager", 1)["today"]["served"] == 2
    _lists(api, "clerk01", 2, expect=403)

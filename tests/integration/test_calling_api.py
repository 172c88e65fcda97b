"""The calling rules through the API, on a real SQLite file with an injected clock."""
from __future__ import annotations

import pytest

from tests.conftest import engines

from datetime import timedelta

from sqlalchemy import update

from hall_queue.domain.models import Ticket

# The same rules on both engines (issue 8): SQLite file and PostgreSQL.
pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def _serve(api, clerk, window, outcome="completed"):
    c = api.call(clerk, window)
    t = c["ticket"]
    if t is not None:
        api.act(clerk, t["id"], "finish", {"outcome": outcome})
    return c


def test_longest_wait_first_across_the_windows_primary_queues_never_newest_first(api, db):
    # Window 5 serves queue A (primary) and E (helper); make E primary too for this test.
    r = api.client.put(f"/api/v1/windows/{api.windows[5]}/config", headers={"Authorization": f"Bearer {api.token('manager')}"},
                       json={"queues": [{"queue_id": api.queues["A"]}, {"queue_id": api.queues["E"]}]})
    assert r.status_code == 200, r.get_json()
    a1 = api.issue("SS001"); api.clock.advance(seconds=10)
    e1 = api.issue("HZ001"); api.clock.advance(seconds=10)
    a2 = api.issue("SS001")
    api.sign_in("clerk05", 5)
    order = [_serve(api, "clerk05", 5)["ticket"]["id"] for _ in range(3)]
    assert order == [a1["id"], e1["id"], a2["id"]]


def test_same_second_tickets_keep_issue_order(api):
    ids = [api.issue("SS001")["id"] for _ in range(5)]  # the clock does not move: equal issue times
    api.sign_in("clerk01", 1)
    assert [_serve(api, "clerk01", 1)["ticket"]["id"] for _ in range(5)] == ids


def test_green_and_ordinary_interleave_one_to_two_without_starving_anyone(api):
    ordinary = [api.issue("SS001")["id"] for _ in range(6)]
    api.clock.advance(seconds=30)
    green = [api.issue("SS001", priority_class="green", green_reason="elderly")["id"] for _ in range(3)]
    api.sign_in("clerk01", 1)
    served = [_serve(api, "clerk01", 1)["ticket"]["id"] for _ in range(9)]
    pattern = ["G" if t in green else "O" for t in served]
    assert pattern == list("GOOGOOGOO")
    assert [t for t in served if t in ordinary] == ordinary       # oldest first within a class
    assert _serve(api, "clerk01", 1)["ticket"] is None


def test_ageing_rule_counts_green_tickets_earlier_by_a_bonus(api):
    manager = {"Authorization": f"Bearer {api.token('manager')}"}
    r = api.client.put(f"/api/v1/windows/{api.windows[1]}/config", headers=manager,
                       json={"call_rules": [{"rule": "transferred"}, {"rule": "ageing", "green_bonus_s": 600}]})
    assert r.status_code == 200, r.get_json()
    o1 = api.issue("SS001")["id"]
    api.clock.advance(minutes=15)
    g1 = api.issue("SS001", priority_class="green", green_reason="pregnant")["id"]  # 15 min later: bonus 10 too small
    api.clock.advance(minutes=1)
    o2 = api.issue("SS001")["id"]
    api.sign_in("clerk01", 1)
    assert [_serve(api, "clerk01", 1)["ticket"]["id"] for _ in range(3)] == [o1, g1, o2]


def test_bad_rule_lists_are_refused(api):
    manager = {"Authorization": f"Bearer {api.token('manager')}"}
    for rules in ([{"rule": "ageing"}, {"rule": "interleave"}], [{"rule": "helper"}, {"rule": "helper"}], [],
                  [{"rule": "strict_priority"}], [{"rule": "interleave", "green": 0}]):
        r = api.client.put(f"/api/v1/windows/{api.windows[1]}/config", headers=manager, json={"call_rules": rules})
        assert r.status_code == 422, (rules, r.get_json())
        assert set(r.get_json()["error"]) == {"code", "message"}


def test_helper_queue_only_when_primary_empty_or_overdue(api):
    # Window 7 (社保医保即办): primary B, helper A.
    api.sign_in("clerk07", 7)
    a = api.issue("SS001")["id"]           # queue A (general)
    b = api.issue("SB002")["id"]           # queue B (on-the-spot, window 7 is staffed)
    assert _serve(api, "clerk07", 7)["ticket"]["id"] == b
    c = _serve(api, "clerk07", 7)
    assert c["ticket"]["id"] == a and "协办" in c["reason"]
    a2 = api.issue("SS001")["id"]
    api.clock.advance(minutes=16)          # helper ticket now waited past 15 min
    b2 = api.issue("SB002")["id"]
    c = _serve(api, "clerk07", 7)
    assert c["ticket"]["id"] == a2 and "已等候超过" in c["reason"]
    assert _serve(api, "clerk07", 7)["ticket"]["id"] == b2


def test_transferred_ticket_is_called_first_at_its_target_and_keeps_its_issue_time(api):
    api.sign_in("clerk01", 1)
    api.sign_in("clerk03", 3)
    t = api.issue("SS001")
    api.clock.advance(minutes=5)
    others = [api.issue("SS001")["id"] for _ in range(2)]
    called = api.call("clerk01", 1)["ticket"]
    assert called["id"] == t["id"]
    api.act("clerk01", t["id"], "start")
    moved = api.act("clerk01", t["id"], "transfer", {"window_id": api.windows[3], "note": "需要不动产专窗"})
    assert moved["number"] == t["number"] and moved["issued_at"] == t["issued_at"] and moved["source"] == "transfer"
    assert moved["transferred_from_id"] == t["id"]
    # Window 1 does not get it back; window 3 calls it first, before older ordinary tickets.
    c3 = api.call("clerk03", 3)
    assert c3["ticket"]["id"] == moved["id"] and c3["reason"] == "转办至本窗口"
    assert api.get(f"/api/v1/tickets/{t['id']}", token=api.token("manager")).get_json()["status"] == "transferred"
    c1 = api.call("clerk01", 1)
    assert c1["ticket"]["id"] == others[0]


def test_transfer_to_a_queue_keeps_place_by_original_time(api):
    api.sign_in("clerk01", 1)
    api.sign_in("clerk10", 10)
    later = None
    t = api.issue("SS001")
    api.clock.advance(minutes=3)
    later = api.issue("HZ001")  # cross-region item: only queue E serves it alone? it is in A and E; goes to A
    api.call("clerk01", 1)
    moved = api.act("clerk01", t["id"], "transfer", {"queue_id": api.queues["E"]})
    assert moved["queue_id"] == api.queues["E"]
    assert api.call("clerk10", 10)["ticket"]["id"] == moved["id"]
    assert later["queue_id"] == api.queues["A"]


def test_checked_in_appointment_whose_slot_began_goes_first(api, db, clock):
    walk_in = api.issue("SS001")["id"]
    booked = api.issue("SS001")["id"]
    slot = clock.now() + timedelta(minutes=10)
    db.run_write(lambda s: s.execute(update(Ticket).where(Ticket.id == booked)
                                     .values(priority_class="appointment", source="appointment", slot_start=slot)))
    api.sign_in("clerk01", 1)
    assert _serve(api, "clerk01", 1)["ticket"]["id"] == walk_in      # slot not begun yet: ordinary order
    booked2 = api.issue("SS001")["id"]
    db.run_write(lambda s: s.execute(update(Ticket).where(Ticket.id == booked2)
                                     .values(priority_class="appointment", source="appointment", slot_start=slot)))
    walk2 = api.issue("SS001")["id"]
    api.clock.advance(minutes=10)
    c = _serve(api, "clerk01", 1)
    assert c["ticket"]["id"] == booked and "预约" in c["reason"]
    assert _serve(api, "clerk01", 1)["ticket"]["id"] == booked2
    assert _serve(api, "clerk01", 1)["ticket"]["id"] == walk2


def test_recall_is_bounded_and_no_show_can_be_requeued_places_back(api):
    api.sign_in("clerk01", 1)
    late = api.issue("SS001")["id"]
    rest = [api.issue("SS001")["id"] for _ in range(5)]
    api.call("clerk01", 1)
    for n in range(1, 4):
        assert api.act("clerk01", late, "recall")["recall_count"] == n
    err = api.act("clerk01", late, "recall", expect=409)
    assert err["error"]["code"] == "recall_limit"
    api.act("clerk01", late, "no-show")
    api.act("clerk01", late, "requeue")
    order = [_serve(api, "clerk01", 1)["ticket"]["id"] for _ in range(6)]
    assert order == rest[:3] + [late] + rest[3:]     # three places back (hall setting)
    err = api.act("clerk01", late, "requeue", expect=409)
    assert err["error"]["code"] == "wrong_state"


def test_wrong_transitions_are_409_with_codes(api):
    t = api.issue("SS001")["id"]
    api.sign_in("clerk01", 1)
    for action, body in (("finish", {"outcome": "accepted"}), ("start", None), ("recall", None), ("no-show", None),
                         ("transfer", {"window_id": api.windows[2]}), ("requeue", None)):
        r = api.act("clerk01", t, action, body, expect=409)
        assert r["error"]["code"] == "wrong_state", action
    api.call("clerk01", 1)
    api.act("clerk01", t, "finish", {"outcome": "completed"})
    r = api.act("clerk01", t, "finish", {"outcome": "completed"}, expect=409)
    assert "done" in r["error"]["message"]


def test_outcomes_need_their_details(api):
    api.sign_in("clerk01", 1)
    t = api.issue("SS001")["id"]
    api.call("clerk01", 1)
    assert api.act("clerk01", t, "finish", {"outcome": "refused"}, expect=422)["error"]["code"] == "reason_required"
    assert api.act("clerk01", t, "finish", {"outcome": "notice"}, expect=422)["error"]["code"] == "materials_required"
    assert api.act("clerk01", t, "finish", {"outcome": "deferred"}, expect=422)["error"]["code"] == "materials_required"
    assert api.act("clerk01", t, "finish", {"outcome": "maybe"}, expect=422)["error"]["code"] == "validation_error"
    done = api.act("clerk01", t, "finish", {"outcome": "deferred", "deferred_materials": [
        {"name": "住所使用证明", "due_date": "2026-03-09", "promise": "申请人承诺5个工作日内补交"}]})
    assert done["outcome"] == "deferred"


def test_clerk_acts_only_at_their_own_window(api):
    api.sign_in("clerk01", 1)
    api.sign_in("clerk02", 2)
    t = api.issue("SS001")["id"]
    r = api.post(f"/api/v1/windows/{api.windows[1]}/call-next", token=api.token("clerk02"))
    assert r.status_code == 403
    api.call("clerk01", 1)
    assert api.act("clerk02", t, "finish", {"outcome": "completed"}, expect=403)["error"]["code"] == "forbidden"
    r = api.post(f"/api/v1/windows/{api.windows[4]}/sign-in", token=api.token("clerk01"))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_assigned"


def test_audit_log_records_each_action(api):
    api.sign_in("clerk01", 1)
    t = api.issue("SS001")["id"]
    api.call("clerk01", 1)
    api.act("clerk01", t, "finish", {"outcome": "completed"})
    items = api.get(f"/api/v1/halls/{api.hall_id}/audit", token=api.token("manager")).get_json()["items"]
    actions = [a["action"] for a in reversed(items) if a["action"] != "staff.login"]
    # The finish opened the 即办 case (issue 15): accepted, decided and handed over on the spot, one step.
    case_actions = [a for a in actions if a.startswith("case.")]
    assert case_actions == ["case.complete"]
    assert [a for a in actions if not a.startswith("case.")][-4:] == ["window.sign_in", "ticket.issue", "ticket.call",
                                                                      "ticket.finish"]
    assert api.get(f"/api/v1/halls/{api.hall_id}/audit", token=api.token("clerk01")).status_code == 403


def test_finish_and_call_next_is_one_step_and_a_repeated_press_never_finishes_the_next_visitor(api):
    api.sign_in("clerk01", 1)
    first, second = api.issue("SS001")["id"], api.issue("SS001")["id"]
    assert api.call("clerk01", 1)["ticket"]["id"] == first
    url = f"/api/v1/windows/{api.windows[1]}/finish-and-call-next"
    r = api.post(url, token=api.token("clerk01"), json={"outcome": "completed", "ticket_id": first})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["finished"]["id"] == first and body["finished"]["status"] == "done"
    assert body["ticket"]["id"] == second and body["ticket"]["status"] == "called"
    assert body["ticket"]["call_reason"] == body["reason"] and body["window"]["id"] == api.windows[1]
    # The answer is what GET /tickets/<id> says of the called ticket (built from the claimed row, not loaded).
    assert api.get(f"/api/v1/tickets/{second}", token=api.token("clerk01")).get_json() == body["ticket"]
    # A double click repeats the first ticket: refused, and the visitor just called stays in hand.
    again = api.post(url, token=api.token("clerk01"), json={"outcome": "completed", "ticket_id": first})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_in_hand"
    assert api.get(f"/api/v1/tickets/{second}", token=api.token("clerk01")).get_json()["status"] == "called"
    # Details are checked as by finish; nothing waits any more: the ticket is finished, none is called.
    bad = api.post(url, token=api.token("clerk01"), json={"outcome": "notice", "ticket_id": second})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "materials_required"
    last = api.post(url, token=api.token("clerk01"), json={"outcome": "accepted", "ticket_id": second}).get_json()
    assert last["ticket"] is None and last["finished"]["outcome"] == "accepted"
    # Another clerk cannot finish and call at this window.
    third = api.issue("SS001")["id"]
    api.call("clerk01", 1)
    r = api.post(url, token=api.token("clerk02"), json={"outcome": "completed", "ticket_id": third})
    assert r.status_code == 403
    actions = [a["action"] for a in reversed(api.get(f"/api/v1/halls/{api.hall_id}/audit",
                                                       token=api.token("manager")).get_json()["items"])]
    assert actions.count("ticket.finish") == 2 and actions.count("ticket.call") == 3


def test_when_the_call_part_is_refused_finish_and_call_next_finishes_nothing(api):
    api.sign_in("clerk01", 1)
    t = api.issue("SS001")["id"]
    api.issue("SS001")
    api.call("clerk01", 1)
    # A manager closes the window while the clerk holds a ticket: the call part is refused...
    assert api.post(f"/api/v1/windows/{api.windows[1]}/close", token=api.token("manager")).status_code == 200
    fc = api.post(f"/api/v1/windows/{api.windows[1]}/finish-and-call-next", token=api.token("clerk01"),
                  json={"outcome": "completed", "ticket_id": t})
    assert fc.status_code == 409 and fc.get_json()["error"]["code"] == "window_closed"
    # ...and the one transaction rolled back: the ticket is still in hand, unfinished.
    assert api.get(f"/api/v1/tickets/{t}", token=api.token("clerk01")).get_json()["status"] == "called"
    assert api.act("clerk01", t, "finish", {"outcome": "completed"})["status"] == "done"


_PERSON = {"name": "张三丰", "id_number": "220102199003071234", "phone": "13912345678"}


def _without_ids(cases: list) -> list:
    """A receipt's cases as the visitor reads them, without what differs between two tickets (ids, numbers)."""
    def one(c):
        return {k: v for k, v in c.items() if k not in ("id", "acceptance_no", "parent_id", "documents", "children")} | \
            {"documents": sorted(d["kind"] for d in c.get("documents", [])),
             "children": [one(k) for k in c.get("children", [])]}
    return [one(c) for c in cases]


@pytest.mark.parametrize("codes, bundle, body", [
    (("SS001",), None, {"outcome": "accepted"}),
    (("SS001",), None, {"outcome": "refused", "note": "名称不符合规定"}),
    (("SS001",), None, {"outcome": "notice", "missing_materials": ["营业执照副本"]}),
    ((), "B01", {"outcome": "accepted"}),
    ((), "B01", {"outcome": "completed"}),
], ids=["accepted", "refused", "notice", "bundle", "bundle-completed"])
def test_next_opens_the_same_cases_as_a_finish(api, db, codes, bundle, body):
    """The 下一位 reads its ticket as a plain record (``HeldTicket``): its cases are those a finish opens."""
    api.sign_in("clerk01", 1)
    kw = {**_PERSON, **({"bundle": bundle} if bundle else {})}
    first, second = api.issue(*codes, **kw)["id"], api.issue(*codes, **kw)["id"]
    assert api.call("clerk01", 1)["ticket"]["id"] == first
    by_finish = api.act("clerk01", first, "finish", body)
    assert api.call("clerk01", 1)["ticket"]["id"] == second
    r = api.post(f"/api/v1/windows/{api.windows[1]}/finish-and-call-next", {**body, "ticket_id": second},
                 token=api.token("clerk01"))
    assert r.status_code == 200, r.get_json()
    by_next = r.get_json()["finished"]
    assert _without_ids(by_next["cases"]) == _without_ids(by_finish["cases"])
    assert {k: v for k, v in by_next.items() if k not in ("id", "number", "cases", "called_at", "finished_at",
                                                          "started_at", "issued_at")} == \
        {k: v for k, v in by_finish.items() if k not in ("id", "number", "cases", "called_at", "finished_at",
                                                         "started_at", "issued_at")}
    # What the answer says is what the database holds.
    assert api.get(f"/api/v1/tickets/{second}", token=api.token("clerk01")).get_json() == \
        {k: v for k, v in by_next.items() if k != "cases"}

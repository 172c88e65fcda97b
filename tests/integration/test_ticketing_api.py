"""Taking tickets through the API on a real SQLite file: numbering, routing, caps, idempotency."""
from __future__ import annotations

import pytest

from tests.conftest import engines


from sqlalchemy import select, update

from hall_queue.domain.models import Hall, Holiday, Queue, Ticket, TicketCounter

# The same rules on both engines (issue 8): SQLite file and PostgreSQL.
pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def test_numbers_count_per_queue_and_restart_each_service_day(api):
    assert [api.issue("SS001")["number"] for _ in range(3)] == ["A001", "A002", "A003"]
    api.sign_in("clerk09", 9)  # BDC003 goes to queue D once its on-the-spot window is staffed
    assert api.issue("BDC003")["number"] == "D001"
    api.clock.advance(days=1)
    assert api.issue("SS001")["number"] == "A001"


def test_display_number_widens_past_999(api, db):
    api.issue("SS001")
    db.run_write(lambda s: s.execute(update(TicketCounter).values(last_seq=999)))
    assert api.issue("SS001")["number"] == "A1000"


def test_on_the_spot_item_goes_to_its_window_only_while_it_is_open_and_staffed(api):
    # SB002 (社会保障卡申领) is on-the-spot eligible and served by queue B at window 7.
    assert api.issue("SB002")["queue_id"] == api.queues["A"]          # nobody at window 7 yet
    api.sign_in("clerk07", 7)
    t = api.issue("SB002")
    assert t["queue_id"] == api.queues["B"] and "on-the-spot" in t["route_reason"]
    r = api.post(f"/api/v1/windows/{api.windows[7]}/close", token=api.token("manager"))
    assert r.status_code == 200
    assert api.issue("SB002")["queue_id"] == api.queues["A"]          # closed → general windows (001 §5)


def test_on_the_spot_item_overflows_to_general_windows_when_its_queue_is_longer(api):
    # One on-the-spot window (7, queue B) and one general window (1, queue A), both staffed.
    api.sign_in("clerk07", 7)
    api.sign_in("clerk01", 1)
    first, second = api.issue("SB002"), api.issue("SB002")
    assert first["queue_id"] == second["queue_id"] == api.queues["B"]
    # Two waiting at B's one window against none at A's: more than one visitor per window longer.
    third = api.issue("SB002")
    assert third["queue_id"] == api.queues["A"] and "longer" in third["route_reason"]
    api.issue("SS001")
    api.issue("SS001")
    api.issue("SS001")                                          # A now has 4 waiting for its one window
    assert api.issue("SB002")["queue_id"] == api.queues["B"]


def test_bundles_and_multi_item_tickets_go_to_general_windows(api):
    api.sign_in("clerk07", 7)
    b = api.issue(bundle="B02")
    assert b["queue_id"] == api.queues["A"] and b["bundle"] == "新生儿出生一件事"
    multi = api.issue("SB002", "SB001")
    assert multi["queue_id"] == api.queues["A"] and len(multi["items"]) == 2


def test_items_no_queue_shares_are_refused(api):
    r = api.post(f"/api/v1/halls/{api.hall_id}/tickets", {"item_ids": [api.items["ZH001"], api.items["ZH002"]]},
                 token=api.tokens["kiosk"])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "items_not_combinable"


def test_true_or_false_is_no_item_id(api):
    # pydantic would read JSON's true as 1 (some hall's first item): an id must be a number.
    for wrong in ([True], [False], {"bundle_id": True}):
        body = wrong if isinstance(wrong, dict) else {"item_ids": wrong}
        r = api.post(f"/api/v1/halls/{api.hall_id}/tickets", body, token=api.tokens["kiosk"])
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "validation_error", (wrong, r.get_json())


def test_daily_cap_refuses_with_a_clear_error(api, db):
    db.run_write(lambda s: s.execute(update(Queue).where(Queue.prefix == "A").values(daily_cap=2)))
    api.issue("SS001")
    api.issue("SS001")
    r = api.post(f"/api/v1/halls/{api.hall_id}/tickets", {"item_ids": [api.items["SS001"]]}, token=api.tokens["kiosk"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "daily_cap_reached"


def test_closed_hall_issues_no_ticket(api, db):
    db.run_write(lambda s: s.execute(update(Hall).values(opening_hours={"mon": [["08:30", "09:00"]]})))
    r = api.post(f"/api/v1/halls/{api.hall_id}/tickets", {"item_ids": [api.items["SS001"]]}, token=api.tokens["kiosk"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "hall_closed"


def test_public_holidays_close_the_hall_and_make_up_days_open_it(api, db):
    # Weekdays 08:30-17:30. Monday 2026-03-02 is a public holiday (法定节假日); Saturday 2026-03-07 becomes
    # a make-up working day (调休上班) with Monday's hours.
    from datetime import date

    week = {d: [["08:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    db.run_write(lambda s: s.execute(update(Hall).values(opening_hours=week)))
    db.run_write(lambda s: s.add(Holiday(hall_id=api.hall_id, day=date(2026, 3, 2), kind="holiday", name="假日")))

    def refused() -> bool:
        r = api.post(f"/api/v1/halls/{api.hall_id}/tickets", {"item_ids": [api.items["SS001"]]},
                     token=api.tokens["kiosk"])
        return r.status_code == 409 and r.get_json()["error"]["code"] == "hall_closed"

    assert refused()                                            # Monday 10:00, but a public holiday
    api.clock.advance(days=1)
    assert api.issue("SS001")["number"] == "A001"               # Tuesday: the weekly hours
    api.clock.advance(days=4)
    assert refused()                                            # Saturday 10:00: closed by the weekly hours
    db.run_write(lambda s: s.add(Holiday(hall_id=api.hall_id, day=date(2026, 3, 7), kind="workday", name="调休")))
    assert api.issue("SS001")["number"] == "A001"               # ... unless it is a make-up working day


def test_idempotency_key_returns_the_same_ticket(api):
    body = {"item_ids": [api.items["SS001"]]}
    h = {"Idempotency-Key": "kiosk1-req-42"}
    r1 = api.post(f"/api/v1/halls/{api.hall_id}/tickets", body, token=api.tokens["kiosk"], headers=h)
    r2 = api.post(f"/api/v1/halls/{api.hall_id}/tickets", body, token=api.tokens["kiosk"], headers=h)
    assert r1.status_code == 201 and r2.status_code == 200
    assert r1.get_json()["id"] == r2.get_json()["id"] and r2.get_json()["replayed"] is True
    assert api.issue("SS001")["number"] == "A002"


def test_an_idempotency_key_reused_for_another_request_is_refused(api):
    url, kiosk = f"/api/v1/halls/{api.hall_id}/tickets", api.tokens["kiosk"]
    h = {"Idempotency-Key": "kiosk1-req-43"}
    first = {"item_ids": [api.items["SS001"]], "name": "张三丰", "id_number": "220102199003071234"}
    assert api.post(url, first, token=kiosk, headers=h).status_code == 201
    for other in ({**first, "item_ids": [api.items["SS002"]]},                  # another matter
                  {**first, "id_number": "220102199107081235"},               # another visitor
                  {"item_ids": [api.items["SS001"]]},                         # no card this time
                  {**first, "priority_class": "green", "green_reason": "elderly"}):
        r = api.post(url, other, token=kiosk, headers=h)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "idempotency_key_reused", r.get_json()
        assert "张*丰" not in r.get_data(as_text=True)                        # nobody else's slip
    again = api.post(url, first, token=kiosk, headers=h)                       # the real retry still replays
    assert again.status_code == 200 and again.get_json()["replayed"] is True and again.get_json()["number"] == "A001"
    assert api.issue("SS001")["number"] == "A002"                              # the refusals took no number


def test_identity_is_masked_hashed_and_encrypted(api, db):
    t = api.issue("SS001", name="张三丰", id_number="220102199003071234", phone="13800138000")
    assert t["masked_name"] == "张*丰" and t["masked_id"] == "220102********1234"
    row = db.run_write(lambda s: s.get(Ticket, t["id"]))
    assert row.id_hash and "220102199003071234" not in (row.id_cipher or "")
    assert "13800138000" not in (row.phone_cipher or "")
    with db.read() as s:
        raw = [str(v) for v in s.execute(select(Ticket.__table__)).first()]
    assert not any("220102199003071234" in v or "张三丰" in v for v in raw)


def test_green_channel_needs_a_reason(api):
    r = api.post(f"/api/v1/halls/{api.hall_id}/tickets", {"item_ids": [api.items["SS001"]], "priority_class": "green"},
                 token=api.tokens["kiosk"])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "green_reason_required"
    assert api.issue("SS001", priority_class="green", green_reason="elderly")["priority_class"] == "green"


def test_people_ahead_and_estimated_wait(api, db):
    for clerk, window in (("clerk01", 1), ("clerk02", 2)):
        api.sign_in(clerk, window)
    # Two finished tickets of 4 and 6 minutes → rolling mean 5 min.
    for minutes in (4, 6):
        t = api.issue("SS001")
        c = api.call("clerk01", 1)
        api.act("clerk01", c["ticket"]["id"], "start")
        api.clock.advance(minutes=minutes)
        api.act("clerk01", t["id"], "finish", {"outcome": "completed"})
    for _ in range(4):
        api.issue("SS001")
    t = api.issue("SS001")
    assert t["people_ahead"] == 4
    assert t["estimated_wait_s"] == 5 * 60 * 4 // 2  # mean × ahead ÷ two windows serving A


def test_follow_code_shows_position_and_follows_transfers(api):
    first = api.issue("SS001")
    mine = api.issue("SS001")
    r = api.client.get(f"/api/v1/follow/{mine['follow_code']}")
    assert r.status_code == 200 and r.get_json()["people_ahead"] == 1
    assert "masked_id" in r.get_json()["ticket"]
    api.sign_in("clerk01", 1)
    api.sign_in("clerk07", 7)
    api.call("clerk01", 1)
    c = api.call("clerk01", 1, expect=409)  # first still in hand
    assert c["error"]["code"] == "ticket_in_hand"
    api.act("clerk01", first["id"], "finish", {"outcome": "consultation"})
    called = api.call("clerk01", 1)["ticket"]
    assert called["id"] == mine["id"]
    api.act("clerk01", mine["id"], "transfer", {"window_id": api.windows[7], "note": "社保卡部分"})
    f = api.client.get(f"/api/v1/follow/{mine['follow_code']}").get_json()
    assert f["ticket"]["number"] == mine["number"] and f["ticket"]["status"] == "waiting"
    assert f["ticket"]["target_window_id"] == api.windows[7]
    assert api.client.get("/api/v1/follow/nope").status_code == 404

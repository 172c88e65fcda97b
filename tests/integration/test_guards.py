"""Guards against abuse (issue 17) over HTTP: ID cap per item per day (also two kiosks at once), cancelled-slot
hold, recall limit and gap, and that each is a hall setting managers change."""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.conftest import engines
from tests.integration.test_appointments_booking import ID_A, ID_B, book, manager_put, slots

ID_X = "220102199003071234"


def set_hall(api, **changes):
    r = api.client.patch(f"/api/v1/halls/{api.hall_id}/settings", json=changes,
                         headers={"Authorization": f"Bearer {api.token('manager')}"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_guards_are_hall_settings_off_until_set(api):
    r = api.get(f"/api/v1/halls/{api.hall_id}/settings", token=api.token("manager")).get_json()
    assert (r["id_daily_ticket_cap"], r["cancelled_slot_hold_min"], r["recall_min_gap_s"]) == (0, 0, 0)
    r = set_hall(api, id_daily_ticket_cap=2, cancelled_slot_hold_min=30, recall_min_gap_s=20, max_recalls=2)
    assert (r["id_daily_ticket_cap"], r["cancelled_slot_hold_min"], r["recall_min_gap_s"], r["max_recalls"]) == \
        (2, 30, 20, 2)
    bad = api.client.patch(f"/api/v1/halls/{api.hall_id}/settings", json={"id_daily_ticket_cap": -1},
                           headers={"Authorization": f"Bearer {api.token('manager')}"})
    assert bad.status_code == 422
    clerk = api.client.patch(f"/api/v1/halls/{api.hall_id}/settings", json={"id_daily_ticket_cap": 9},
                             headers={"Authorization": f"Bearer {api.token('clerk01')}"})
    assert clerk.status_code == 403


def test_id_cap_per_item_per_day(api):
    for _ in range(3):
        api.issue("SS001", id_number=ID_X)  # no cap yet
    set_hall(api, id_daily_ticket_cap=4)
    api.issue("SS001", id_number=ID_X)
    refused = api.issue("SS001", id_number=ID_X, expect=409)["error"]
    assert refused["code"] == "id_daily_cap"
    assert "同一证件今天已取过4次" in refused["message"] and "号" in refused["message"]
    api.issue("SS001", id_number=ID_A)                       # another person
    other_item = next(c for c in api.items if c != "SS001")
    api.issue(other_item, id_number=ID_X, expect=201)        # another item
    api.issue("SS001")                                       # no ID given: no count to hold it to
    api.clock.advance(days=1)                                # the next service day starts afresh
    api.issue("SS001", id_number=ID_X)


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_two_kiosks_at_once_never_beat_the_id_cap(api, app):
    set_hall(api, id_daily_ticket_cap=2)
    kiosks = 8
    barrier, lock, outcomes = threading.Barrier(kiosks), threading.Lock(), Counter()
    body = {"item_ids": [api.items["SS001"]], "id_number": ID_X}

    def kiosk() -> None:
        client = app.test_client()
        barrier.wait()
        r = client.post(f"/api/v1/halls/{api.hall_id}/tickets", json=body,
                        headers={"Authorization": f"Bearer {api.tokens['kiosk']}"})
        with lock:
            outcomes[r.status_code if r.status_code == 201 else r.get_json()["error"]["code"]] += 1

    threads = [threading.Thread(target=kiosk) for _ in range(kiosks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes == Counter({201: 2, "id_daily_cap": kiosks - 2})


def test_recall_limit_and_minimum_gap(api):
    set_hall(api, recall_min_gap_s=20, max_recalls=2)
    api.sign_in("clerk01", 1)
    t = api.issue("SS001")["id"]
    api.call("clerk01", 1)
    too_soon = api.act("clerk01", t, "recall", expect=409)["error"]
    assert too_soon["code"] == "recall_too_soon" and "秒后再重呼" in too_soon["message"]
    api.clock.advance(seconds=20)
    assert api.act("clerk01", t, "recall")["recall_count"] == 1
    api.clock.advance(seconds=19)
    assert api.act("clerk01", t, "recall", expect=409)["error"]["code"] == "recall_too_soon"
    api.clock.advance(seconds=1)
    assert api.act("clerk01", t, "recall")["recall_count"] == 2
    api.clock.advance(seconds=60)
    assert api.act("clerk01", t, "recall", expect=409)["error"]["code"] == "recall_limit"


def test_cancelled_slot_is_not_bookable_again_for_the_hold_time(api):
    matter = f"i{api.items['SS001']}"
    manager_put(api, "capacity", {"matter": matter, "day": "*", "time": "*", "capacity": 2})  # 1 booking seat
    set_hall(api, cancelled_slot_hold_min=30)
    a = book(api, "2026-03-03T10:00", id_number=ID_A)
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments/cancel", {"code": a["code"], "id_number": ID_A})
    assert r.status_code == 200
    held = book(api, "2026-03-03T10:00", id_number=ID_B, expect=409)["error"]
    assert held["code"] == "slot_on_hold" and "30分钟内暂不开放预约" in held["message"]
    api.clock.advance(minutes=29)
    assert book(api, "2026-03-03T10:00", id_number=ID_B, expect=409)["error"]["code"] == "slot_on_hold"
    api.clock.advance(minutes=1, seconds=1)
    book(api, "2026-03-03T10:00", id_number=ID_B)
    assert slots(api, matter, "2026-03-03")["10:00"]["left"] == 0


def test_no_show_block_still_applies(api):
    # The booking no-show block exists since issue 7 (appointments.no_shows); it stays a hall setting.
    st = api.get(f"/api/v1/halls/{api.hall_id}/appointments/settings", token=api.token("manager")).get_json()
    assert {"no_show_limit", "no_show_window_days", "no_show_block_days"} <= set(st)

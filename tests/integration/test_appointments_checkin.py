"""Kiosk check-in at the window boundaries (injected clock), late tickets, walk-ins and calling order."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hall_queue.domain.models import Appointment, Ticket
from tests.conftest import MONDAY_10AM
from tests.integration.test_appointments_booking import (
    ID_A,
    ID_B,
    ID_C,
    book,
    manager_put,
)

SLOT = "2026-03-02T11:00"          # Monday 11:00 local = 03:00 UTC
SLOT_UTC = MONDAY_10AM + timedelta(hours=1)


def check_in(api, expect: int = 201, **body):
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments/check-in", body, token=api.tokens["kiosk"])
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def at(api, **delta):
    api.clock.set(SLOT_UTC + timedelta(**delta))


def test_check_in_opens_early_minutes_before_the_slot(api):
    book(api, SLOT)
    at(api, minutes=-30, seconds=-1)
    r = check_in(api, expect=409, id_number=ID_A)
    assert r["error"]["code"] == "too_early" and "10:30" in r["error"]["message"]
    at(api, minutes=-30)
    t = check_in(api, id_number=ID_A)
    assert t["priority_class"] == "appointment" and t["source"] == "appointment" and t["late"] is False
    assert t["slot_start"] == "2026-03-02T03:00:00Z" and t["booking"]["status"] == "checked_in"
    assert t["number"].startswith("A") and t["follow_code"] and "people_ahead" in t   # IssuedOut shape
    assert t["booking"]["code"] and t["masked_id"] == "110101********1234"
    again = api.post(f"/api/v1/halls/{api.hall_id}/appointments/check-in", {"id_number": ID_A},
                     token=api.tokens["kiosk"])
    assert again.status_code == 200 and again.get_json()["id"] == t["id"]    # a second swipe: same ticket


def test_grace_time_boundary_gives_priority_then_an_ordinary_ticket(api):
    book(api, SLOT, id_number=ID_A)
    book(api, SLOT, id_number=ID_B)
    at(api, minutes=15, seconds=-1)
    on_time = check_in(api, id_number=ID_A)
    assert on_time["priority_class"] == "appointment" and on_time["late"] is False
    at(api, minutes=15)
    late = check_in(api, id_number=ID_B)
    assert late["priority_class"] == "ordinary" and late["late"] is True and late["slot_start"] is None
    assert "您已超过预约时段" in late["message"] and "普通号" in late["message"]
    assert late["booking"]["status"] == "checked_in" and late["booking"]["late"] is True


def test_after_the_slot_ends_the_booking_is_a_no_show_but_the_visitor_is_served(api, db):
    a = book(api, SLOT)
    at(api, minutes=30)
    t = check_in(api, id_number=ID_A)
    assert t["priority_class"] == "ordinary" and t["late"] is True and "已结束" in t["message"]
    with db.read() as s:
        assert s.get(Appointment, a["id"]).status == "no_show"


def test_check_in_by_confirmation_code_and_by_choice(api):
    b1 = book(api, SLOT, id_number=ID_C)
    book(api, "2026-03-02T11:30", id_number=ID_C, item="SS002")
    at(api, minutes=1)                                                       # 11:01: both windows open
    today = api.get(f"/api/v1/halls/{api.hall_id}/appointments/today?id_number={ID_C.lower()}",
                    token=api.tokens["kiosk"]).get_json()["items"]
    assert [x["start"] for x in today] == ["11:00", "11:30"]
    assert [x["checkin"]["state"] for x in today] == ["on_time", "on_time"]
    assert all("code" not in x and ID_C not in str(x) for x in today)
    second = check_in(api, id_number=ID_C, appointment_id=today[1]["id"])
    assert second["booking"]["id"] == today[1]["id"]
    first = check_in(api, code=b1["code"].lower())
    assert first["booking"]["id"] == b1["id"] and first["priority_class"] == "appointment"
    assert check_in(api, expect=409, code=book(api, "2026-03-03T10:00", id_number=ID_A)["code"])[
        "error"]["code"] == "too_early"
    assert check_in(api, expect=422)["error"]["code"] in ("no_identity", "validation_error")


def test_no_booking_is_not_a_refusal_of_service(api):
    # 004 §8.2: walk-ins never need a booking first.
    r = check_in(api, expect=404, id_number=ID_B)
    assert r["error"]["code"] == "no_appointment" and "普通号" in r["error"]["message"]
    assert api.issue("SS001", id_number=ID_B)["priority_class"] == "ordinary"
    assert api.get(f"/api/v1/halls/{api.hall_id}/appointments/today?id_number={ID_B}",
                   token=api.tokens["kiosk"]).get_json() == {"items": []}


def test_appointment_ticket_is_called_before_walk_ins_once_its_slot_begins(api):
    book(api, SLOT)
    at(api, minutes=-20)
    walk1 = api.issue("SS001")
    appt = check_in(api, id_number=ID_A)
    walk2 = api.issue("SS001")
    api.sign_in("clerk01", 1)
    at(api, minutes=-10)
    assert api.call("clerk01", 1)["ticket"]["id"] == walk1["id"]            # slot not begun: plain order
    api.act("clerk01", walk1["id"], "finish", {"outcome": "completed"})
    at(api, minutes=1)
    called = api.call("clerk01", 1)
    assert called["ticket"]["id"] == appt["id"] and "预约" in called["reason"]
    api.act("clerk01", appt["id"], "finish", {"outcome": "completed"})
    assert api.call("clerk01", 1)["ticket"]["id"] == walk2["id"]


def test_shared_capacity_counts_walk_ins_but_never_refuses_them(api, db):
    # 号源: capacity 4, half bookable; walk-ins take the rest and any unbooked seat, then overflow.
    matter = f"i{api.items['SS001']}"
    manager_put(api, "capacity", {"matter": matter, "day": "*", "time": "10:30", "capacity": 4})
    book(api, "2026-03-02T10:30", id_number=ID_A)
    api.clock.set(MONDAY_10AM + timedelta(minutes=35))
    base = f"/api/v1/halls/{api.hall_id}/appointments/walk-in"
    st = api.get(f"{base}?item_id={api.items['SS001']}", token=api.tokens["kiosk"]).get_json()
    assert (st["capacity"], st["booked"], st["walk_ins"], st["remaining"], st["allowed"]) == (4, 1, 0, 3, True)
    # Issuing a walk-in ticket counts it on the running slot (in the same transaction as the ticket).
    tickets, states = [], []
    for _ in range(4):
        tickets.append(api.issue("SS001"))
        states.append(api.get(f"{base}?item_id={api.items['SS001']}", token=api.tokens["kiosk"]).get_json())
    assert [s["remaining"] for s in states] == [2, 1, 0, 0] and states[-1]["allowed"] is False
    again = api.post(base, {"ticket_id": tickets[0]["id"]}, token=api.tokens["kiosk"]).get_json()
    assert again["walk_ins"] == 4                                            # counted once per ticket
    st = api.get(f"{base}?queue_id={api.queues['A']}", token=api.tokens["kiosk"]).get_json()
    assert st["walk_ins"] == 4 and st["booked"] == 1
    with db.read() as s:
        assert s.scalar(select(Ticket).where(Ticket.id == tickets[-1]["id"])).status == "waiting"

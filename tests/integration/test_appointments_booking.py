"""Booking over the API on a real SQLite file: slots, capacity (号源), one per ID per item, cancel, roles."""
from __future__ import annotations

from sqlalchemy import select, update

from hall_queue.domain.models import Appointment, AppointmentClaim, AppointmentSlot, Hall

ID_A = "110101199003071234"
ID_B = "110101199104082345"
ID_C = "11010119920509345X"


def book(api, slot: str, *, item: str | None = "SS001", bundle: str | None = None, id_number: str = ID_A,
         name: str = "张三丰", phone: str = "13800138000", expect: int = 201):
    body = {"slot": slot, "name": name, "id_number": id_number, "phone": phone}
    if bundle:
        body["bundle_id"] = api.bundles[bundle]
    else:
        body["item_id"] = api.items[item]
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments", body)
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def manager_put(api, path: str, body: dict, expect: int = 200):
    r = api.client.put(f"/api/v1/halls/{api.hall_id}/appointments/{path}", json=body,
                       headers={"Authorization": f"Bearer {api.token('manager')}"})
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def slots(api, matter: str, day: str):
    r = api.get(f"/api/v1/halls/{api.hall_id}/appointments/slots?matter={matter}&date={day}")
    assert r.status_code == 200, r.get_json()
    return {s["start"]: s for s in r.get_json()["slots"]}


def test_booking_succeeds_with_a_confirmation_code_and_masked_identity(api, db):
    # 000 §8.2.1: choose item, date and slot; a success prompt with a confirmation code.
    b = book(api, "2026-03-03T10:00")
    assert b["status"] == "booked" and len(b["code"]) == 8
    assert (b["date"], b["start"], b["end"]) == ("2026-03-03", "10:00", "10:30")
    assert b["slot_start"] == "2026-03-03T02:00:00Z"                      # stored as UTC
    assert b["masked_id"] == "110101********1234" and b["masked_name"] == "张*丰"
    assert b["masked_phone"] == "138****8000"
    with db.read() as s:
        row = s.scalars(select(Appointment)).one()
        # Privacy: nothing in clear at rest; the ID is found again only by its keyed hash.
        assert ID_A not in (row.id_cipher + row.phone_cipher + row.name_cipher + row.id_hash)
        assert "13800138000" not in row.phone_cipher


def test_slots_follow_opening_hours_and_the_configured_length(api, db):
    def set_hours(s):
        s.execute(update(Hall).where(Hall.id == api.hall_id).values(opening_hours={
            "mon": [["08:30", "12:00"], ["13:00", "17:30"]], "tue": [["08:30", "12:00"], ["13:00", "17:30"]],
            "sat": [], "sun": []}))
    db.run_write(set_hours)
    day = slots(api, f"i{api.items['SS001']}", "2026-03-03")
    assert list(day)[:2] == ["08:30", "09:00"] and "11:30" in day and "12:00" not in day and "13:00" in day
    assert list(day)[-1] == "17:00" and len(day) == 7 + 9
    manager_put(api, "settings", {"slot_minutes": 60})
    day = slots(api, f"i{api.items['SS001']}", "2026-03-03")
    # A tail shorter than a slot is no slot: 08:30-11:30 (three), 13:00-17:00 (four).
    assert list(day) == ["08:30", "09:30", "10:30", "13:00", "14:00", "15:00", "16:00"]
    assert slots(api, f"i{api.items['SS001']}", "2026-03-07") == {}     # Saturday: closed
    book(api, "2026-03-03T12:00", expect=409)


def test_holidays_close_a_day_and_make_up_working_days_open_one(api, db):
    db.run_write(lambda s: s.execute(update(Hall).where(Hall.id == api.hall_id).values(opening_hours={
        "mon": [["09:00", "12:00"]], "tue": [["09:00", "12:00"]], "wed": [["09:00", "12:00"]], "sat": []})))
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments/holidays",
                 {"day": "2026-03-04", "kind": "holiday", "name": "清明节"}, token=api.token("manager"))
    assert r.status_code == 201 and r.get_json()["affected_bookings"] == 0
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments/holidays",
                 {"day": "2026-03-07", "kind": "workday", "name": "调休上班", "hours": [["09:00", "11:00"]]},
                 token=api.token("manager"))
    assert r.status_code == 201
    matter = f"i{api.items['SS001']}"
    assert slots(api, matter, "2026-03-04") == {}
    r = book(api, "2026-03-04T09:00", expect=409)
    assert r["error"]["code"] == "no_such_slot"
    assert list(slots(api, matter, "2026-03-07")) == ["09:00", "09:30", "10:00", "10:30"]
    book(api, "2026-03-07T10:30")
    options = api.get(f"/api/v1/halls/{api.hall_id}/appointments/options").get_json()
    by_day = {d["date"]: d for d in options["days"]}
    assert by_day["2026-03-04"]["open"] is False and by_day["2026-03-04"]["holiday"]["name"] == "清明节"
    assert by_day["2026-03-07"]["open"] is True
    # A day that becomes a holiday after bookings were made reports them for the manager.
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments/holidays", {"day": "2026-03-07", "kind": "holiday"},
                 token=api.token("manager"))
    assert r.get_json()["affected_bookings"] == 1
    hid = r.get_json()["id"]
    r = api.client.delete(f"/api/v1/halls/{api.hall_id}/appointments/holidays/{hid}",
                          headers={"Authorization": f"Bearer {api.token('manager')}"})
    assert r.status_code == 200


def test_capacity_and_the_booking_share(api, db):
    # 000 §8.2.2 最大预约数 per slot; 004 §8.2 the rest of the slot's seats stay for walk-ins.
    matter = f"i{api.items['SS001']}"
    manager_put(api, "capacity", {"matter": matter, "day": "tue", "time": "10:00", "capacity": 4})
    manager_put(api, "settings", {"booking_share_pct": 50})
    s = slots(api, matter, "2026-03-03")["10:00"]
    assert (s["capacity"], s["booking_capacity"], s["left"]) == (4, 2, 2)
    book(api, "2026-03-03T10:00", id_number=ID_A)
    book(api, "2026-03-03T10:00", id_number=ID_B)
    r = book(api, "2026-03-03T10:00", id_number=ID_C, expect=409)
    assert r["error"]["code"] == "slot_full"
    assert slots(api, matter, "2026-03-03")["10:00"]["bookable"] is False
    assert slots(api, matter, "2026-03-03")["10:30"]["capacity"] == 4   # default 4 elsewhere
    manager_put(api, "capacity", {"matter": matter, "day": "2026-03-03", "time": "10:30", "capacity": 0})
    assert book(api, "2026-03-03T10:30", id_number=ID_C, expect=409)["error"]["code"] == "slot_full"
    cal = api.get(f"/api/v1/halls/{api.hall_id}/appointments/capacity?matter={matter}&from=2026-03-03&days=2",
                  token=api.token("manager")).get_json()
    assert len(cal["days"]) == 2 and {r["day"] for r in cal["rules"]} == {"tue", "2026-03-03"}
    tue = {s["start"]: s for s in cal["days"][0]["slots"]}
    assert tue["10:00"]["booked"] == 2 and tue["10:30"]["capacity"] == 0


def test_appointment_only_items_book_every_seat(api, db):
    from hall_queue.domain.models import ServiceItem

    db.run_write(lambda s: s.execute(update(ServiceItem).where(ServiceItem.id == api.items["SS002"])
                                     .values(appointment_only_slots=True)))
    s = slots(api, f"i{api.items['SS002']}", "2026-03-03")["10:00"]
    assert s["booking_capacity"] == s["capacity"] == 4


def test_booking_window_days_ahead_and_closing_time(api):
    book(api, "2026-03-09T10:00")                                           # 7 days ahead: allowed
    assert book(api, "2026-03-10T10:00", id_number=ID_B, expect=409)["error"]["code"] == "too_far_ahead"
    assert book(api, "2026-03-02T09:30", id_number=ID_B, expect=409)["error"]["code"] == "booking_closed"
    assert book(api, "2026-03-02T10:00", id_number=ID_B, expect=409)["error"]["code"] == "booking_closed"
    manager_put(api, "settings", {"book_close_minutes": -20})              # into the running slot
    book(api, "2026-03-02T10:00", id_number=ID_B)
    assert book(api, "2026-03-03T10:07", id_number=ID_C, expect=409)["error"]["code"] == "no_such_slot"


def test_one_active_booking_per_id_per_item_until_cancelled_or_served(api, db):
    # 000 §8.2.3
    first = book(api, "2026-03-03T10:00")
    r = book(api, "2026-03-04T10:00", expect=409)
    assert r["error"]["code"] == "already_booked"
    book(api, "2026-03-04T10:00", item="SS002")                             # another item: fine
    book(api, "2026-03-04T10:00", id_number=ID_B)                           # another person: fine
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments/cancel", {"code": first["code"], "id_number": ID_A})
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    book(api, "2026-03-04T10:30")                                           # after cancelling: again


def test_a_bundle_claims_each_of_its_items(api):
    book(api, "2026-03-03T10:00", bundle="B01")                             # includes SS001
    assert book(api, "2026-03-04T10:00", item="SS001", expect=409)["error"]["code"] == "already_booked"
    assert book(api, "2026-03-04T10:00", bundle="B01", expect=409)["error"]["code"] == "already_booked"
    book(api, "2026-03-04T10:00", item="SS002")


def test_served_booking_frees_the_item_for_a_new_booking(api, db):
    api.clock.advance(minutes=10)                                           # 10:10; slot 10:30 opens at 10:00
    b = book(api, "2026-03-02T10:30")
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments/check-in", {"id_number": ID_A},
                 token=api.tokens["kiosk"])
    assert r.status_code == 201, r.get_json()
    api.clock.advance(minutes=25)                                           # 10:35: the slot has begun
    api.sign_in("clerk01", 1)
    called = api.call("clerk01", 1)["ticket"]
    assert called["id"] == r.get_json()["id"]
    assert book(api, "2026-03-05T10:00", expect=409)["error"]["code"] == "already_booked"
    api.act("clerk01", called["id"], "finish", {"outcome": "completed"})
    book(api, "2026-03-05T10:00")
    with db.read() as s:
        assert s.get(Appointment, b["id"]).status == "served"
        assert s.scalar(select(AppointmentClaim).where(AppointmentClaim.appointment_id == b["id"])) is None


def test_cancel_needs_code_and_id_and_returns_the_seat(api, db):
    # 000 §8.2.5: before or during the slot; the seat goes back.
    matter = f"i{api.items['SS001']}"
    manager_put(api, "capacity", {"matter": matter, "day": "*", "time": "*", "capacity": 2})
    a = book(api, "2026-03-02T11:00", id_number=ID_A)
    assert slots(api, matter, "2026-03-02")["11:00"]["left"] == 0
    url = f"/api/v1/halls/{api.hall_id}/appointments/cancel"
    assert api.post(url, {"code": a["code"], "id_number": ID_B}).status_code == 404   # someone else's ID
    assert api.post(url, {"code": "ZZZZ2222", "id_number": ID_A}).status_code == 404
    assert book(api, "2026-03-02T11:00", id_number=ID_B, expect=409)["error"]["code"] == "slot_full"
    api.clock.advance(minutes=65)                                           # 11:05: during the slot
    r = api.post(url, {"code": a["code"].lower(), "id_number": ID_A.lower()})
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert api.post(url, {"code": a["code"], "id_number": ID_A}).status_code == 200   # a repeat is harmless
    with db.read() as s:
        assert s.scalar(select(AppointmentSlot.booked).where(AppointmentSlot.matter == matter)) == 0
    b = book(api, "2026-03-03T11:00", id_number=ID_B)
    api.clock.advance(days=1, minutes=30)                                   # Tue 11:35: slot over
    r = api.post(url, {"code": b["code"], "id_number": ID_B})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "slot_over"


def test_validation_and_roles(api):
    url = f"/api/v1/halls/{api.hall_id}/appointments"
    bad = {"item_id": api.items["SS001"], "slot": "2026-03-03T10:00", "name": "张三", "id_number": "123",
           "phone": "13800138000"}
    assert api.post(url, bad).status_code == 422
    assert api.post(url, {**bad, "id_number": ID_A, "phone": "12345"}).status_code == 422
    assert api.post(url, {**bad, "id_number": ID_A, "bundle_id": api.bundles["B01"]}).status_code == 422
    assert api.get(url).status_code == 401                                  # managers only
    assert api.get(url, token=api.tokens["kiosk"]).status_code == 403
    assert api.get(url, token=api.token("clerk01")).status_code == 403
    assert api.get(url, token=api.token("manager")).status_code == 200
    r = api.client.put(f"{url}/settings", json={"booking_share_pct": 150},
                       headers={"Authorization": f"Bearer {api.token('manager')}"})
    assert r.status_code == 422
    r = api.client.put(f"{url}/settings", json={"slot_minutes": 30, "book_close_minutes": -45},
                       headers={"Authorization": f"Bearer {api.token('manager')}"})
    assert r.status_code == 422
    assert api.get(f"{url}/today?id_number={ID_A}").status_code == 401
    ops = api.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/halls/{hall_id}/appointments/check-in" in ops
    assert ops["/api/v1/halls/{hall_id}/appointments"]["post"]["x-roles"] == ["public"]


def test_manager_day_list_shows_bookings_masked_with_summary(api):
    book(api, "2026-03-02T11:00", id_number=ID_A)
    book(api, "2026-03-02T11:00", id_number=ID_B, item="SS002")
    r = api.get(f"/api/v1/halls/{api.hall_id}/appointments?date=2026-03-02", token=api.token("manager")).get_json()
    assert r["summary"]["total"] == 2 and r["summary"]["booked"] == 2
    assert all(ID_A not in str(x) and ID_B not in str(x) for x in r["items"])
    assert r["items"][0]["checkin"]["state"] == "too_early"

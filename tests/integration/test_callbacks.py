"""Call-backs within 3 working days of completion (002 §11.2.3), sampled on a manual clock across a holiday,
recorded over HTTP and counted in the month's statistics."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from hall_queue.domain.models import Callback, Case, Holiday
from hall_queue.entrypoints.duties import run_feedback_duties
from tests.integration.test_rating_loop import serve_visit


def at(clock, y, m, d, hh=10):
    """Set the manual clock to local (Shanghai) wall time."""
    clock._now = datetime(y, m, d, hh - 8)


def sampled(db) -> list[tuple[int, date, date]]:
    with db.read() as s:
        return [(c.case_id, c.completed_on, c.due_on) for c in s.scalars(select(Callback).order_by(Callback.id))]


def cases_done_on(db, day: date) -> list[int]:
    with db.read() as s:
        return [c.id for c in s.scalars(select(Case).order_by(Case.id)) if c.accepted_at.date() == day]


def test_cases_completed_before_a_holiday_are_sampled_on_the_next_working_day_within_three_working_days(
        api, app, db, clock):
    mgr = api.token("manager")
    r = api.client.put(f"/api/v1/halls/{api.hall_id}/rating-settings", json={"callback_rate_pct": 50},
                       headers={"Authorization": f"Bearer {mgr}"})
    assert r.status_code == 200
    # Fri 6 March and Mon 9 – Tue 10 March are holidays (with the weekend between: five days closed).
    db.run_write(lambda s: s.add_all([Holiday(hall_id=api.hall_id, day=date(2026, 3, d), kind="holiday", name="假日")
                                      for d in (6, 9, 10)]))
    api.sign_in("clerk01", 1)
    # Mon 2 March: two cases with a phone, one without (it cannot be called back).
    serve_visit(api)
    serve_visit(api, phone="13900000002")
    serve_visit(api, phone=None)
    at(clock, 2026, 3, 2, 16)
    assert run_feedback_duties(app) == 1  # 50 % of 2, rounded up
    assert run_feedback_duties(app) == 0  # once a day
    monday = sampled(db)
    assert [(d, due) for _, d, due in monday] == [(date(2026, 3, 2), date(2026, 3, 5))]
    # Thu 5 March: four cases; the server is off that evening and over the holiday.
    at(clock, 2026, 3, 5, 10)
    api._staff_tokens.clear()
    api.sign_in("clerk01", 1)
    for n in range(4):
        serve_visit(api, phone=f"1390000001{n}")
    thursday = set(cases_done_on(db, date(2026, 3, 5)))
    assert len(thursday) == 4
    # Mon 9 March is a holiday: no sampling.
    at(clock, 2026, 3, 9, 10)
    assert run_feedback_duties(app) == 0
    # Wed 11 March, the first working day after the holiday, is within 3 working days of Thursday
    # (Wed 11, Thu 12, Fri 13): two of Thursday's four are sampled; Monday's second case is past its window.
    at(clock, 2026, 3, 11, 9)
    assert run_feedback_duties(app) == 2
    rows = sampled(db)[1:]
    assert {c for c, _, _ in rows} <= thursday
    assert {(d, due) for _, d, due in rows} == {(date(2026, 3, 5), date(2026, 3, 13))}
    # Mon 16 March: Thursday's window has closed; nothing more.
    at(clock, 2026, 3, 16, 9)
    assert run_feedback_duties(app) == 0
    assert len(sampled(db)) == 3

    # Staff record the results; the month's statistics count them.
    at(clock, 2026, 3, 12, 10)
    api._staff_tokens.clear()
    clerk, mgr = api.token("clerk02"), api.token("manager")
    items = api.get(f"/api/v1/halls/{api.hall_id}/callbacks?status=pending", token=clerk).get_json()["items"]
    assert len(items) == 3 and all(i["masked_name"] and "三丰" not in i["masked_name"] for i in items)
    first, second, third = (i["id"] for i in sorted(items, key=lambda i: i["id"]))
    phone = api.post(f"/api/v1/callbacks/{second}/reveal-phone", token=clerk).get_json()["phone"]
    assert phone.startswith("139")
    r = api.post(f"/api/v1/callbacks/{second}/result", {"reached": True}, token=clerk)
    assert r.status_code == 422  # a reached applicant's satisfaction is asked
    r = api.post(f"/api/v1/callbacks/{second}/result", {"reached": True, "satisfaction": 5, "remarks": "很满意"},
                 token=clerk)
    assert r.status_code == 200 and r.get_json()["status"] == "reached"
    assert api.post(f"/api/v1/callbacks/{second}/result", {"reached": False}, token=clerk).status_code == 409
    r = api.post(f"/api/v1/callbacks/{third}/result", {"reached": False, "remarks": "无人接听"}, token=clerk)
    assert r.get_json()["status"] == "not_reached"
    stats = api.get(f"/api/v1/halls/{api.hall_id}/callback-stats?month=2026-03", token=mgr).get_json()
    assert stats == {"month": "2026-03", "sampled": 3, "reached": 1, "not_reached": 1, "pending": 1, "overdue": 1,
                     "recorded_on_time": 2, "reach_rate": 0.3333, "satisfaction_avg": 5.0, "satisfied_rate": 1.0}
    pending = api.get(f"/api/v1/halls/{api.hall_id}/callbacks?status=pending", token=clerk).get_json()["items"]
    assert [(i["id"], i["overdue"]) for i in pending] == [(first, True)]


def test_items_of_a_bundle_are_sampled_and_counted_per_department_on_the_statistics_page(api, db):
    from tests.integration.test_cases_api import accept, step

    mgr = api.token("manager")
    r = api.client.put(f"/api/v1/halls/{api.hall_id}/rating-settings", json={"callback_rate_pct": 100},
                       headers={"Authorization": f"Bearer {mgr}"})
    assert r.status_code == 200
    [parent] = accept(api, bundle="B01")["cases"]          # 企业开办一件事: five items, each its own department
    kids = parent["children"]
    for k in kids:
        step(api, "manager", k["id"], "take")
        step(api, "manager", k["id"], "decide", {"decision": "approved"})
    serve_visit(api)                                         # and a 即办 matter decided at the window
    r = api.post(f"/api/v1/halls/{api.hall_id}/callbacks/sample", token=mgr)
    assert r.status_code == 200 and r.get_json()["added"] == len(kids) + 1
    with db.read() as s:
        on_list = set(s.scalars(select(Callback.case_id)))
    assert {k["id"] for k in kids} <= on_list and parent["id"] not in on_list  # the items, not the bundle
    items = api.get(f"/api/v1/halls/{api.hall_id}/callbacks", token=mgr).get_json()["items"]
    child_rows = [i for i in items if i["case_id"] != max(on_list)]
    assert {i["bundle"] for i in child_rows} == {parent["title"]}
    assert all(i["department"] for i in child_rows)
    # Results: the first item's applicant is satisfied (5), the second only fair (3), the third not reached.
    rows_by_dept = {}
    for i in child_rows:
        rows_by_dept.setdefault(i["department"], i)
    assert len(rows_by_dept) >= 3  # the bundle's items go to three departments or more
    first, second, third = list(rows_by_dept.values())[:3]
    for row, body in ((first, {"reached": True, "satisfaction": 5}), (second, {"reached": True, "satisfaction": 3}),
                      (third, {"reached": False, "remarks": "无人接听"})):
        assert api.post(f"/api/v1/callbacks/{row['id']}/result", body, token=mgr).status_code == 200

    stats = api.get(f"/api/v1/halls/{api.hall_id}/statistics?from=2026-03-01&to=2026-03-31",
                    token=mgr).get_json()["callbacks"]
    assert stats["totals"]["sampled"] == len(kids) + 1 and stats["totals"]["reached"] == 2
    assert stats["totals"]["satisfied_rate"] == 0.5
    assert [(m["month"], m["sampled"], m["reached"]) for m in stats["months"]] == [("2026-03", len(kids) + 1, 2)]
    by_dept = {d["department"]: d for d in stats["departments"]}
    assert by_dept[first["department"]]["satisfied_rate"] == 1.0
    assert by_dept[second["department"]]["satisfied_rate"] == 0.0
    assert by_dept[third["department"]]["reached"] == 0 and by_dept[third["department"]]["reach_rate"] == 0.0
    assert sum(d["sampled"] for d in stats["departments"]) == len(kids) + 1
    # The statistics CSV carries the same figures in its second table.
    r = api.client.get(f"/api/v1/halls/{api.hall_id}/statistics.csv?from=2026-03-01&to=2026-03-31",
                       headers={"Authorization": f"Bearer {mgr}"})
    import csv
    import io
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    table = rows[rows.index([]) + 1:]
    head = table[0]
    assert head[:3] == ["callbacks_by", "key", "label"]
    month = dict(zip(head, table[1]))
    assert (month["callbacks_by"], month["label"], month["sampled"], month["reached"], month["satisfied_rate"]) == \
        ("month", "2026-03", str(len(kids) + 1), "2", "0.5")
    dept = next(dict(zip(head, t)) for t in table if t[2] == first["department"])
    assert (dept["callbacks_by"], dept["sampled"], dept["satisfied_rate"]) == \
        ("department", str(by_dept[first["department"]]["sampled"]), "1.0")
    assert table[-1][:4] == ["total", "", "all", str(len(kids) + 1)]


def test_after_midnight_the_statistics_and_the_call_backs_count_the_same_service_day(api, db, clock):
    """Between midnight and the hall's 03:00 day boundary a ticket belongs to the day before (000 §8.2 numbering
    restarts at the boundary); the statistics' default range and the call-back list date it the same way, so the
    day's tickets and its call-backs appear together."""
    mgr = api.token("manager")
    r = api.client.put(f"/api/v1/halls/{api.hall_id}/rating-settings", json={"callback_rate_pct": 100},
                       headers={"Authorization": f"Bearer {mgr}"})
    assert r.status_code == 200
    clock._now = datetime(2026, 3, 3, 16, 30)  # Wed 4 March, 00:30 in Shanghai: service day Tue 3 March
    api._staff_tokens.clear()
    mgr = api.token("manager")
    api.sign_in("clerk01", 1)
    serve_visit(api)
    assert api.post(f"/api/v1/halls/{api.hall_id}/callbacks/sample", token=mgr).get_json()["added"] == 1
    [row] = sampled(db)
    assert row[1:] == (date(2026, 3, 3), date(2026, 3, 6))  # completed on the service day; 3 working days on
    stats = api.get(f"/api/v1/halls/{api.hall_id}/statistics", token=mgr).get_json()
    assert stats["to"] == "2026-03-03"
    assert stats["callbacks"]["totals"]["sampled"] == 1

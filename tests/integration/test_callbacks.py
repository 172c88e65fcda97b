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

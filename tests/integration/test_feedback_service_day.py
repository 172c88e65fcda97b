"""The rating loop's month and the call-back list count service days, as the statistics do (the hall-day
scenario's finding): between midnight and the hall's 03:00 day boundary it is still the day before."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from hall_queue.domain.models import Rating
from tests.integration.test_admin_desk import pad_token
from tests.integration.test_callbacks import sampled
from tests.integration.test_rating_loop import _bad_rating, serve_visit


def test_the_rating_loop_month_counts_service_days(api, db, clock):
    """A rating at 00:30 on 1 April is of service day 31 March (the hall's 03:00 boundary), as in the statistics."""
    pad = pad_token(api, 1)
    api.sign_in("clerk01", 1)
    rating_id, _ = _bad_rating(api, pad)
    with db.write() as s:
        s.execute(update(Rating).where(Rating.id == rating_id).values(rated_at=datetime(2026, 3, 31, 16, 30)))
    clock._now = datetime(2026, 3, 31, 16, 30)  # 1 April 00:30 in Shanghai
    api._staff_tokens.clear()
    mgr = api.token("manager")
    loop = lambda q="": api.get(f"/api/v1/halls/{api.hall_id}/rating-loop{q}", token=mgr).get_json()  # noqa: E731
    assert loop()["month"] == "2026-03" and loop()["real_name_bad"] == 1
    assert loop("?month=2026-04")["real_name_bad"] == 0


def test_a_call_back_is_not_overdue_before_the_service_day_ends(api, db, clock):
    """A call-back due on a day is not overdue at 00:30 the next night: that is still its service day."""
    mgr = api.token("manager")
    r = api.client.put(f"/api/v1/halls/{api.hall_id}/rating-settings", json={"callback_rate_pct": 100},
                       headers={"Authorization": f"Bearer {mgr}"})
    assert r.status_code == 200
    api.sign_in("clerk01", 1)
    serve_visit(api)
    assert api.post(f"/api/v1/halls/{api.hall_id}/callbacks/sample", token=mgr).get_json()["added"] >= 1
    due = max(row[2] for row in sampled(db))
    clock._now = datetime(due.year, due.month, due.day, 16, 30)  # the next calendar day, 00:30 local
    api._staff_tokens.clear()
    mgr = api.token("manager")
    items = api.get(f"/api/v1/halls/{api.hall_id}/callbacks?status=pending", token=mgr).get_json()["items"]
    assert items and not any(i["overdue"] for i in items if i["due_on"] == due.isoformat())
    stats = api.get(f"/api/v1/halls/{api.hall_id}/callback-stats", token=mgr).get_json()
    assert stats["month"] == due.strftime("%Y-%m")

"""The 好差评 loop over HTTP (issue 18): rating from the phone once, attached to the case; the rectification
term as a hall setting on the hall calendar; appeal (申诉复核) with a manager's decision; re-open when the
rater is not satisfied; the monthly share of real-name bad ratings handled on time."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hall_queue.domain.models import AuditEvent, Case, Holiday, Rating
from tests.integration.test_admin_desk import pad_token

ID_NUMBER = "220102199001011234"


def serve_visit(api, clerk: str = "clerk01", window: int = 1, **issue) -> dict:
    """Issue a ticket (real-name by default), call it at ``window``, finish it; return the kiosk's answer."""
    issued = api.issue("SB001", **({"name": "张三丰", "id_number": ID_NUMBER, "phone": "13912345678"} | issue))
    t = api.call(clerk, window)["ticket"]
    assert t["id"] == issued["id"]
    api.act(clerk, t["id"], "finish", {"outcome": "completed"})
    return issued


def test_the_phone_rates_a_finished_ticket_once_and_the_rating_is_filed_under_its_case(api, db, clock):
    api.sign_in("clerk01", 1)
    issued = api.issue("SB001", name="张三丰", id_number=ID_NUMBER)
    code, tid = issued["follow_code"], issued["id"]
    view = api.get(f"/api/v1/follow/{code}/rating").get_json()
    assert view["to_rate"] == [] and view["finished"] is False  # not finished: nothing to rate yet
    api.call("clerk01", 1)
    api.act("clerk01", tid, "finish", {"outcome": "completed"})
    view = api.get(f"/api/v1/follow/{code}/rating").get_json()
    assert [(x["ticket_id"], x["window_number"]) for x in view["to_rate"]] == [(tid, 1)]
    r = api.post(f"/api/v1/follow/{code}/rating", {"ticket_id": tid, "score": 5})
    assert r.status_code == 201, r.get_json()
    again = api.post(f"/api/v1/follow/{code}/rating", {"ticket_id": tid, "score": 1, "reasons": ["attitude"]})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"
    pad = pad_token(api, 1)  # the pad cannot rate it a second time either
    assert api.post(f"/api/v1/tickets/{tid}/rating", {"score": 4}, token=pad).status_code == 409
    assert api.get(f"/api/v1/follow/{code}/rating").get_json()["to_rate"] == []
    assert api.post("/api/v1/follow/nonexistent/rating", {"ticket_id": tid, "score": 5}).status_code == 404
    with db.read() as s:
        rating = s.scalar(select(Rating))
        case = s.scalar(select(Case).where(Case.ticket_id == tid))
        assert (rating.channel, rating.real_name, rating.case_id) == ("qr", True, case.id)
    # A week later the QR no longer rates.
    later = serve_visit(api)
    clock.advance(days=8)
    r = api.post(f"/api/v1/follow/{later['follow_code']}/rating", {"ticket_id": later["id"], "score": 5})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_ratable"


def test_rectification_term_is_a_hall_setting_in_working_days_of_the_hall_calendar(api, db):
    mgr = api.token("manager")
    r = api.client.put(f"/api/v1/halls/{api.hall_id}/rating-settings", json={"rectify_working_days": 5},
                       headers={"Authorization": f"Bearer {mgr}"})
    assert r.status_code == 200 and r.get_json()["rectify_working_days"] == 5
    bad = api.client.put(f"/api/v1/halls/{api.hall_id}/rating-settings", json={"rectify_working_days": 0},
                         headers={"Authorization": f"Bearer {mgr}"})
    assert bad.status_code == 422
    db.run_write(lambda s: s.add(Holiday(hall_id=api.hall_id, day=date(2026, 3, 5), kind="holiday", name="假日")))
    api.sign_in("clerk01", 1)
    issued = serve_visit(api)
    r = api.post(f"/api/v1/follow/{issued['follow_code']}/rating",
                 {"ticket_id": issued["id"], "score": 2, "reasons": ["waiting"]})
    assert r.status_code == 201
    case = api.get(f"/api/v1/halls/{api.hall_id}/rectifications", token=mgr).get_json()["items"][0]
    # Mon 2 March + 5 working days, Thu 5 March a holiday: Tue 3, Wed 4, Fri 6, Mon 9, Tue 10.
    assert case["deadline"].startswith("2026-03-10")


def _bad_rating(api, pad) -> tuple[int, int]:
    issued = serve_visit(api)
    r = api.post(f"/api/v1/tickets/{issued['id']}/rating",
                 {"score": 1, "reasons": ["attitude"], "comment": "态度差"}, token=pad)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"], r.get_json()["rectification_id"]


def test_an_upheld_appeal_takes_the_rating_out_of_the_indicators_and_is_recorded(api, db):
    pad = pad_token(api, 1)
    api.sign_in("clerk01", 1)
    mgr = api.token("manager")
    rating_id, case_id = _bad_rating(api, pad)
    kept_id, _ = _bad_rating(api, pad)
    body = {"kind": "malicious", "reason": "评价人在窗口外与他人争执后点击非常不满意，监控可证"}
    assert api.post(f"/api/v1/ratings/{rating_id}/appeal", body, token=api.token("clerk02")).status_code == 403
    assert api.post(f"/api/v1/ratings/{rating_id}/appeal", {"kind": "malicious", "reason": ""},
                    token=api.token("clerk01")).status_code == 422
    r = api.post(f"/api/v1/ratings/{rating_id}/appeal", body, token=api.token("clerk01"))
    assert r.status_code == 201 and r.get_json()["status"] == "pending"
    appeal_id = r.get_json()["id"]
    assert api.post(f"/api/v1/ratings/{rating_id}/appeal", body, token=mgr).status_code == 409
    decide = f"/api/v1/appeals/{appeal_id}/decide"
    assert api.post(decide, {"upheld": True, "reason": "x"}, token=api.token("clerk01")).status_code == 403
    assert api.post(decide, {"upheld": True}, token=mgr).status_code == 422  # a decision needs its reason
    r = api.post(decide, {"upheld": True, "reason": "经调阅监控，属恶意差评"}, token=mgr)
    assert r.status_code == 200 and r.get_json()["status"] == "upheld"
    assert r.get_json()["decision_reason"] == "经调阅监控，属恶意差评"
    assert api.post(decide, {"upheld": False, "reason": "再议"}, token=mgr).status_code == 409
    summary = api.get(f"/api/v1/halls/{api.hall_id}/ratings", token=mgr).get_json()
    assert summary["total"] == 1  # only the kept rating counts
    assert {i["id"]: i["excluded"] for i in summary["items"]} == {rating_id: True, kept_id: False}
    cases = api.get(f"/api/v1/halls/{api.hall_id}/rectifications", token=mgr).get_json()["items"]
    assert {c["id"]: c["status"] for c in cases}[case_id] == "excluded"
    pending = api.get(f"/api/v1/halls/{api.hall_id}/rectifications?status=pending", token=mgr).get_json()["items"]
    assert case_id not in [c["id"] for c in pending]
    listed = api.get(f"/api/v1/halls/{api.hall_id}/appeals", token=mgr).get_json()["items"]
    assert [(a["id"], a["status"], a["rating"]["id"]) for a in listed] == [(appeal_id, "upheld", rating_id)]
    loop = api.get(f"/api/v1/halls/{api.hall_id}/rating-loop?month=2026-03", token=mgr).get_json()
    assert loop["real_name_bad"] == 1 and loop["excluded_by_appeal"] == 1
    with db.read() as s:
        actions = [a.action for a in s.scalars(select(AuditEvent).where(AuditEvent.action.like("rating.appeal%")))]
    assert actions == ["rating.appeal", "rating.appeal_upheld"]
    # A good rating cannot be appealed; a rejected appeal leaves the rating counted.
    issued = serve_visit(api)
    good = api.post(f"/api/v1/tickets/{issued['id']}/rating", {"score": 5}, token=pad).get_json()["id"]
    assert api.post(f"/api/v1/ratings/{good}/appeal", body, token=mgr).get_json()["error"]["code"] == "not_bad"
    r = api.post(f"/api/v1/ratings/{kept_id}/appeal", {"kind": "mistaken", "reason": "误触"}, token=mgr)
    r = api.post(f"/api/v1/appeals/{r.get_json()['id']}/decide", {"upheld": False, "reason": "评价人确认不满意"},
                 token=mgr)
    assert r.get_json()["status"] == "rejected"
    assert api.get(f"/api/v1/halls/{api.hall_id}/ratings", token=mgr).get_json()["total"] == 2


def test_a_rater_not_satisfied_with_the_answer_reopens_the_case_and_the_month_counts_it(api, clock):
    api.sign_in("clerk01", 1)
    mgr = api.token("manager")
    issued = serve_visit(api)
    code = issued["follow_code"]
    r = api.post(f"/api/v1/follow/{code}/rating", {"ticket_id": issued["id"], "score": 1,
                                                   "reasons": ["notice"]})
    assert r.status_code == 201
    case_id = api.get(f"/api/v1/halls/{api.hall_id}/rectifications", token=mgr).get_json()["items"][0]["id"]
    base = f"/api/v1/rectifications/{case_id}"
    # Nothing to answer before the hall has answered.
    assert api.post(f"/api/v1/follow/{code}/rectification-answer",
                    {"rectification_id": case_id, "satisfied": False}).status_code == 409
    api.post(f"{base}/assign", {"fix_plan": "一次性告知培训"}, token=mgr)
    api.post(f"{base}/fix", {"fix": "已培训"}, token=mgr)
    api.post(f"{base}/feedback", {"feedback": "已电话致歉并说明材料清单"}, token=mgr)
    assert api.get(f"/api/v1/follow/{code}/rating").get_json()["answers"] == [
        {"rectification_id": case_id, "feedback": "已电话致歉并说明材料清单"}]
    clock.advance(days=2)
    r = api.post(f"/api/v1/follow/{code}/rectification-answer", {"rectification_id": case_id, "satisfied": False})
    assert r.status_code == 200 and r.get_json()["status"] == "assigned" and r.get_json()["rater_answer"] == "not_satisfied"
    api._staff_tokens.clear()  # two days on: log in again
    mgr = api.token("manager")
    case = api.get(f"/api/v1/halls/{api.hall_id}/rectifications", token=mgr).get_json()["items"][0]
    assert case["reopened"] == 1 and case["deadline"].startswith("2026-03-25")  # 15 working days from Wed 4 March
    assert api.post(f"{base}/close", token=mgr).status_code == 409  # fix and answer again first
    assert api.post(f"/api/v1/follow/{code}/rectification-answer",
                    {"rectification_id": case_id, "satisfied": True}).status_code == 409  # already answered
    api.post(f"{base}/fix", {"fix": "窗口张贴材料清单，专人复核"}, token=mgr)
    api.post(f"{base}/feedback", {"feedback": "再次回访说明整改措施"}, token=mgr)
    r = api.post(f"{base}/rater-answer", {"satisfied": True}, token=mgr)  # answered on the phone call
    assert r.status_code == 200 and r.get_json()["rater_answer"] == "satisfied"
    assert api.post(f"{base}/close", token=mgr).get_json()["status"] == "closed"
    loop = api.get(f"/api/v1/halls/{api.hall_id}/rating-loop?month=2026-03", token=mgr).get_json()
    assert loop == {"month": "2026-03", "real_name_bad": 1, "called_back": 1, "fixed": 1, "answered_on_time": 1,
                    "complete_on_time": 1, "share": 1.0, "reopened": 1, "excluded_by_appeal": 0}
    assert api.get(f"/api/v1/halls/{api.hall_id}/rating-loop?month=2026-13", token=mgr).status_code == 422

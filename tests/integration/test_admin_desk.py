"""Window desk and ratings: audited identity reveal, overdue deferred materials, rating once, rectification,
long-wait alerts, the printable one-time notice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hall_queue.entrypoints.duties import run_post_checks
from hall_queue.domain.models import Alert, AuditEvent, Rectification
from hall_queue.bootstrap import runtime
from tests.integration.test_admin_auth import csrf_of, page_login

ID_NUMBER = "220102199001011234"


def pad_token(api, window: int) -> str:
    r = api.post(f"/api/v1/windows/{api.windows[window]}/pad-token", {}, token=api.token("manager"))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["url"].endswith(f"/admin/pad/{api.windows[window]}?token={r.get_json()['token']}")
    return r.get_json()["token"]


def serve(api, clerk: str, window: int, outcome: dict | None = None, **issue) -> int:
    """Issue a ticket, call it at ``window`` and finish it; return its id."""
    api.issue("SB001", **issue)
    t = api.call(clerk, window)["ticket"]
    api.act(clerk, t["id"], "finish", outcome or {"outcome": "completed"})
    return t["id"]


def audit(db, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# ---------------------------------------------------------------- identity reveal

def test_only_the_clerk_holding_the_ticket_reveals_the_id_and_it_is_audited(api, db):
    api.issue("SB001", name="张三丰", id_number=ID_NUMBER)
    api.sign_in("clerk01", 1)
    api.sign_in("clerk03", 3)
    t = api.call("clerk01", 1)["ticket"]
    assert t["masked_id"] == "220102********1234" and ID_NUMBER not in str(t)
    path = f"/api/v1/tickets/{t['id']}/reveal-identity"
    assert api.post(path, token=api.token("clerk03")).status_code == 403
    assert api.post(path, token=api.token("manager")).status_code == 403
    assert api.post(path, token=api.tokens["kiosk"]).status_code == 403
    r = api.post(path, token=api.token("clerk01"))
    assert r.status_code == 200 and r.get_json()["id_number"] == ID_NUMBER
    rows = audit(db, "identity.reveal")
    assert len(rows) == 1 and rows[0].ticket_id == t["id"] and rows[0].window_id == api.windows[1]
    assert ID_NUMBER not in str(rows[0].detail) and rows[0].detail["masked_id"] == "220102********1234"
    api.act("clerk01", t["id"], "finish", {"outcome": "completed"})
    assert api.post(path, token=api.token("clerk01")).status_code == 409


# ---------------------------------------------------------------- deferred materials

def test_overdue_deferred_materials_are_listed_per_window(api, clock):
    api.sign_in("clerk01", 1)
    due = clock.now().date() + timedelta(days=2)
    tid = serve(api, "clerk01", 1, {"outcome": "deferred", "deferred_materials": [
        {"name": "户口簿", "due_date": due.isoformat(), "promise": "三日内补交"}]}, name="李四")
    path = f"/api/v1/halls/{api.hall_id}/deferred-overdue"
    assert api.get(path, token=api.token("clerk01")).get_json()["items"] == []
    clock.advance(days=3)
    api._staff_tokens.clear()  # staff tokens last 12 hours
    items = api.get(f"{path}?window_id={api.windows[1]}", token=api.token("clerk01")).get_json()["items"]
    assert [(i["ticket_id"], i["material"], i["days_overdue"], i["masked_name"]) for i in items] == \
        [(tid, "户口簿", 1, "李*")]
    assert api.get(f"{path}?window_id={api.windows[2]}", token=api.token("clerk01")).get_json()["items"] == []
    assert api.get(path, token=api.tokens["screen"]).status_code == 403


def test_printable_notice_lists_the_missing_materials(api, client):
    api.sign_in("clerk01", 1)
    tid = serve(api, "clerk01", 1, {"outcome": "notice", "missing_materials": ["身份证复印件", "结婚证"]})
    page_login(client, "clerk01")
    r = client.get(f"/admin/notice/{tid}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "一次性告知书" in html and "身份证复印件" in html and "结婚证" in html
    client.post("/admin/logout", data={"csrf_token": csrf_of(client.get("/admin/console").get_data(as_text=True))})
    page_login(client, "clerk03")
    assert client.get(f"/admin/notice/{tid}").status_code == 403


# ---------------------------------------------------------------- ratings

def test_pad_rates_the_ticket_just_finished_once(api):
    pad = pad_token(api, 1)
    api.sign_in("clerk01", 1)
    first = serve(api, "clerk01", 1)
    second = serve(api, "clerk01", 1)
    prompt = api.get(f"/api/v1/windows/{api.windows[1]}/rating-prompt", token=pad).get_json()
    assert prompt["ticket"]["id"] == second and prompt["scores"]["5"] == "非常满意"
    r = api.post(f"/api/v1/tickets/{first}/rating", {"score": 5}, token=pad)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_ratable"
    r = api.post(f"/api/v1/tickets/{second}/rating", {"score": 5}, token=pad)
    assert r.status_code == 201 and r.get_json()["rectification_id"] is None
    r = api.post(f"/api/v1/tickets/{second}/rating", {"score": 4}, token=pad)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_rated"
    assert api.get(f"/api/v1/windows/{api.windows[1]}/rating-prompt", token=pad).get_json()["ticket"] is None


def test_pad_of_another_window_or_old_token_cannot_rate(api, clock):
    old = pad_token(api, 1)
    pad1 = pad_token(api, 1)  # rotating revokes the old one
    pad3 = pad_token(api, 3)
    api.sign_in("clerk01", 1)
    tid = serve(api, "clerk01", 1)
    assert api.post(f"/api/v1/tickets/{tid}/rating", {"score": 5}, token=old).status_code == 401
    assert api.post(f"/api/v1/tickets/{tid}/rating", {"score": 5}, token=pad3).status_code == 403
    assert api.get(f"/api/v1/windows/{api.windows[1]}/rating-prompt", token=pad3).status_code == 403
    clock.advance(minutes=11)  # the pad asks right after finish, not hours later
    r = api.post(f"/api/v1/tickets/{tid}/rating", {"score": 5}, token=pad1)
    assert r.status_code == 409


def test_a_pad_token_in_use_stops_working_the_moment_it_is_rotated(api):
    # Token resolutions are cached for a few seconds; a revocation in this process must not wait for that.
    old = pad_token(api, 1)
    assert api.get(f"/api/v1/windows/{api.windows[1]}/rating-prompt", token=old).status_code == 200
    pad_token(api, 1)
    assert api.get(f"/api/v1/windows/{api.windows[1]}/rating-prompt", token=old).status_code == 401


def test_bad_rating_needs_a_reason_and_opens_a_rectification_case(api, db, clock):
    pad = pad_token(api, 1)
    api.sign_in("clerk01", 1)
    tid = serve(api, "clerk01", 1)
    r = api.post(f"/api/v1/tickets/{tid}/rating", {"score": 1}, token=pad)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "reason_required"
    r = api.post(f"/api/v1/tickets/{tid}/rating", {"score": 1, "reasons": ["bogus"]}, token=pad)
    assert r.status_code == 422
    r = api.post(f"/api/v1/tickets/{tid}/rating", {"score": 1, "reasons": ["attitude", "notice"],
                                                    "comment": "让我跑了两次"}, token=pad)
    assert r.status_code == 201
    case_id = r.get_json()["rectification_id"]
    mgr = api.token("manager")
    cases = api.get(f"/api/v1/halls/{api.hall_id}/rectifications?status=pending", token=mgr).get_json()["items"]
    assert [c["id"] for c in cases] == [case_id]
    case = cases[0]
    assert case["status"] == "open" and case["window_number"] == 1 and case["responsible_name"] == "王丽"
    assert case["rating"]["reason_labels"][0] == "服务态度不好"
    # Deadline: 15 working days after Mon 2026-03-02 is Mon 2026-03-23.
    assert case["deadline"].startswith("2026-03-23")
    base = f"/api/v1/rectifications/{case_id}"
    assert api.post(f"{base}/close", token=mgr).status_code == 409
    assert api.post(f"{base}/fix", {"fix": "x"}, token=mgr).status_code == 409
    assert api.post(f"{base}/assign", {"fix_plan": "服务规范培训"}, token=api.token("clerk01")).status_code == 403
    r = api.post(f"{base}/assign", {"responsible_clerk_id": 1, "deadline": "2026-03-10", "fix_plan": "服务规范培训"},
                 token=mgr)
    assert r.status_code == 200 and r.get_json()["status"] == "assigned"
    assert api.post(f"{base}/fix", {"fix": "已完成一次性告知制度培训"}, token=mgr).get_json()["status"] == "fixed"
    assert api.post(f"{base}/close", token=mgr).status_code == 409  # no feedback yet
    assert api.post(f"{base}/feedback", {"feedback": "已电话回访并致歉"}, token=mgr).status_code == 200
    r = api.post(f"{base}/close", token=mgr)
    assert r.status_code == 200 and r.get_json()["status"] == "closed" and r.get_json()["overdue"] is False
    assert api.get(f"/api/v1/halls/{api.hall_id}/rectifications?status=pending", token=mgr).get_json()["items"] == []
    actions = [a.action for a in audit(db, "rectification.close")] + [a.action for a in audit(db, "rating.give")]
    assert actions == ["rectification.close", "rating.give"]
    summary = api.get(f"/api/v1/halls/{api.hall_id}/ratings", token=mgr).get_json()
    assert summary["total"] == 1 and summary["by_score"]["1"] == 1 and summary["good_rate"] == 0.0
    with db.read() as s:
        assert s.scalar(select(Rectification.closed_by_id)) is not None


# ---------------------------------------------------------------- long waits

def test_long_wait_raises_an_alert_and_clears_it(api, app, db, clock):
    published = []
    runtime(app).listeners.append(published.append)
    api.issue("SB001")
    run_post_checks(app)
    # (The windows nobody signed into are empty posts; this test follows the long-wait alert only.)
    long_waits = lambda: [e for e in published if e.name == "alert" and e.payload["kind"] == "long_wait"]
    assert not long_waits()
    clock.advance(seconds=1801)
    run_post_checks(app)
    raised = long_waits()
    assert len(raised) == 1 and raised[0].payload["kind"] == "long_wait" and raised[0].rooms() == [f"hall:{api.hall_id}"]
    run_post_checks(app)  # still too long: no second alert
    assert len(long_waits()) == 1
    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    assert [a["kind"] for a in alerts if a["kind"] != "empty_post"] == ["long_wait"]
    api.sign_in("clerk01", 1)
    api.call("clerk01", 1)
    run_post_checks(app)
    assert len([e for e in published if e.name == "alert_cleared" and e.payload["kind"] == "long_wait"]) == 1
    with db.read() as s:
        assert s.scalar(select(Alert).where(Alert.kind == "long_wait")).cleared_at == clock.now()


@pytest.mark.parametrize("wait_alert_s", [0])
def test_long_wait_check_is_off_when_threshold_is_zero(api, app, db, clock, wait_alert_s):
    from hall_queue.domain.models import Hall

    def off(s):
        s.get(Hall, api.hall_id).wait_alert_s = wait_alert_s
    db.run_write(off)
    api.issue("SB001")
    clock.advance(hours=5)
    run_post_checks(app)
    with db.read() as s:
        assert s.scalar(select(Alert).where(Alert.kind == "long_wait")) is None

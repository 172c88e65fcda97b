"""Supervision over HTTP (issue 18 parts 5–7): published measures anonymised (000 §10.4), the audit viewer with
its chain check (004 §8.4), violation indicators (000 §12.3.5, 002 §11.3.5), the leadership indicators
(000 §12.3.4, 002 §11.3.4)."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import delete, select, update

from hall_queue.access import audit
from hall_queue.domain.models import AuditEvent, Hall
from hall_queue.floor import supervision
from hall_queue.queueing.posts import check_posts
from tests.conftest import engines
from tests.integration.test_admin_desk import pad_token, serve
from tests.integration.test_cases_api import accept, later, step

KEY = audit.chain_key("test-data-key")
pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def _m(api):
    return api.token("manager")


def _complaint_closed(api, measures: str) -> dict:
    m = _m(api)
    filed = api.post(f"/api/v1/halls/{api.hall_id}/complaints/record", {
        "kind": "attitude", "content": "3号窗口工作人员李建国态度生硬。", "complainant_name": "赵小明",
        "contact": "13812345678", "target_person": "李建国", "channel": "phone"}, token=m).get_json()
    cid = filed["id"]
    assert api.post(f"/api/v1/complaints/{cid}/answer", {"answer": "已核实并致歉。", "measures": measures},
                    token=m).status_code == 200
    assert api.post(f"/api/v1/complaints/{cid}/close", token=m).status_code == 200
    return filed


def test_published_measures_are_anonymised_and_newest_first(api):
    filed = _complaint_closed(api, "对李建国（工号 1001）进行批评教育；已向赵小明（13812345678，身份证 "
                                   "220102199003071234）当面致歉；全员服务规范培训。")
    # An answered but not closed complaint is not published yet.
    m = _m(api)
    open_one = api.post(f"/api/v1/halls/{api.hall_id}/complaints/record", {
        "kind": "efficiency", "content": "等候时间太长，一上午没有办完。", "complainant_name": "钱多多",
        "contact": "13900001111"}, token=m).get_json()
    api.post(f"/api/v1/complaints/{open_one['id']}/answer", {"answer": "已增开窗口。", "measures": "高峰期增开两个窗口"},
             token=m)
    # A bad rating's rectification, closed a day later with a fix naming the clerk (王丽, demo clerk01).
    pad = pad_token(api, 1)
    api.sign_in("clerk01", 1)
    tid = serve(api, "clerk01", 1)
    rid = api.post(f"/api/v1/tickets/{tid}/rating", {"score": 1, "reasons": ["attitude"]},
                   token=pad).get_json()["rectification_id"]
    later(api, days=1)
    m = _m(api)
    base = f"/api/v1/rectifications/{rid}"
    assert api.post(f"{base}/assign", {"fix_plan": "服务规范培训"}, token=m).status_code == 200
    assert api.post(f"{base}/fix", {"fix": "王丽已参加文明服务培训，窗口增设引导员。"}, token=m).status_code == 200
    assert api.post(f"{base}/feedback", {"feedback": "已回访"}, token=m).status_code == 200
    assert api.post(f"{base}/close", token=m).status_code == 200

    r = api.get(f"/api/v1/halls/{api.hall_id}/published-measures")  # public: no token
    assert r.status_code == 200
    items = r.get_json()["items"]
    assert [i["source_label"] for i in items] == ["差评整改", "投诉处理"]  # newest first
    assert items[0]["measures"] == "工作人员已参加文明服务培训，窗口增设引导员。"
    assert items[0]["closed_on"] == "2026-03-03" and items[1]["closed_on"] == "2026-03-02"
    text = items[1]["measures"]
    for secret in ("李建国", "赵小明", "13812345678", "220102199003071234", "1001", filed["number"], filed["lookup_code"]):
        assert secret not in str(items), secret
    assert "工作人员" in text and "群众" in text and "全员服务规范培训" in text
    assert items[1]["topic"] == "服务态度"
    # The public page shows the same, in Chinese, on a phone-sized layout.
    page = api.client.get("/measures?hall=demo")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "整改措施公示" in html and "全员服务规范培训" in html
    assert "赵小明" not in html and "13812345678" not in html and "高峰期增开两个窗口" not in html


def test_audit_viewer_filters_and_chain(api, db):
    api.sign_in("clerk01", 1)
    api.sign_in("clerk02", 2)
    serve(api, "clerk01", 1)
    serve(api, "clerk02", 2)
    serve(api, "clerk02", 2)
    m = _m(api)
    base = f"/api/v1/halls/{api.hall_id}/audit-log"
    every = api.get(base, token=m).get_json()["items"]
    assert every and every[0]["id"] > every[-1]["id"]  # newest first
    finishes = api.get(f"{base}?action=ticket.finish", token=m).get_json()["items"]
    assert len(finishes) == 3 and {f["action_label"] for f in finishes} == {"办结"}
    w2 = api.get(f"{base}?window_id={api.windows[2]}&action=ticket.", token=m).get_json()["items"]
    assert w2 and {i["window"] for i in w2} == {"2号窗口"} and {"叫号", "办结"} <= {i["action_label"] for i in w2}
    staff_id = finishes[0]["staff_id"]
    mine = api.get(f"{base}?staff_id={staff_id}", token=m).get_json()["items"]
    assert mine and {i["actor"] for i in mine} == {finishes[0]["actor"]} and "*" in finishes[0]["actor"]
    assert api.get(f"{base}?from=2026-03-03&to=2026-03-04", token=m).get_json()["items"] == []
    assert len(api.get(f"{base}?from=2026-03-02", token=m).get_json()["items"]) == len(every)
    assert api.get(f"{base}?to=2001-01-01", token=m).get_json()["items"] == []
    assert api.get(f"{base}?from=1999-01-01", token=m).status_code == 422
    # Paging: three at a time, newest first, the pages joining up without gaps or repeats.
    first = api.get(f"{base}?limit=3", token=m).get_json()
    second = api.get(f"{base}?limit=3&before={first['next_before']}", token=m).get_json()
    assert first["more"] and [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in every[:6]]
    assert api.get(f"{base}?staff_id=abc", token=m).status_code == 422
    assert api.get(base, token=api.token("clerk01")).status_code == 403

    chain = api.get(f"/api/v1/halls/{api.hall_id}/audit-chain", token=m).get_json()
    assert chain["ok"] and chain["sealed"] == 0 and chain["unsealed"] > 0 and "完整" in chain["summary"]
    sealed = db.run_write(lambda s: audit.seal(s, KEY))
    chain = api.get(f"/api/v1/halls/{api.hall_id}/audit-chain", token=m).get_json()
    assert chain["ok"] and chain["sealed"] == sealed
    # Someone edits a sealed event in the database: the viewer says so, and where.
    victim = db.run_write(lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "ticket.finish")).first())
    db.run_write(lambda s: s.execute(update(AuditEvent).where(AuditEvent.id == victim.id)
                                     .values(detail={"outcome": "refused"})))
    chain = api.get(f"/api/v1/halls/{api.hall_id}/audit-chain", token=m).get_json()
    assert not chain["ok"] and chain["first_bad_seq"] == victim.chain_seq and "不一致" in chain["summary"]
    full = api.get(f"/api/v1/halls/{api.hall_id}/audit-chain?full=1", token=m).get_json()
    assert not full["ok"] and full["first_bad_seq"] == victim.chain_seq
    # The page's quick check covers the newest links, each against its stored predecessor: the edit is found
    # inside the stretch, and a stretch after it still checks out (the full walk is what covers everything).
    with db.read() as s:
        bad, total = audit.verify_tail(s, KEY, total_links := sealed - victim.chain_seq + 1)
        assert not bad.ok and bad.first_bad_seq == victim.chain_seq and total == sealed
        good, _ = audit.verify_tail(s, KEY, total_links - 1)
        assert good.ok and good.sealed == total_links - 1
    partial = supervision.chain_summary(good.as_dict(), total=total)
    assert partial["partial"] and f"已校验最近 {total_links - 1} 条（共 {total} 条）" in partial["summary"]
    # Deleting the link just before the stretch is noticed too.
    db.run_write(lambda s: s.execute(delete(AuditEvent).where(AuditEvent.chain_seq == sealed - 2)))
    with db.read() as s:
        gone, _ = audit.verify_tail(s, KEY, 2)
    assert not gone.ok and gone.first_bad_seq == sealed - 2 and "missing" in gone.problem


def test_violation_indicators_with_drill_down(api, db, clock):
    # Window 5 stays open and nobody signs in: once the B-post wait is over it is an empty post.
    clock.advance(minutes=30)
    db.run_write(lambda s: check_posts(s, s.get(Hall, api.hall_id), now=clock.now()))
    refused = accept(api, "SS003", outcome="refused", note="不属于本机关职权范围")["cases"][0]
    running = accept(api, "SS003")["cases"][0]          # due Thu 5 March
    decided = accept(api, "SS003")["cases"][0]
    step(api, "dept-ss", decided["id"], "take")
    step(api, "dept-ss", decided["id"], "decide", {"decision": "approved"})
    later(api, days=10)                                  # Thu 12 March: running is late, decided not handed over
    m = _m(api)
    got = api.get(f"/api/v1/halls/{api.hall_id}/violations?from=2026-03-01&to=2026-03-12", token=m).get_json()
    by = {i["key"]: i for i in got["indicators"]}
    assert [i["label"] for i in got["indicators"]] == ["空岗", "逾期未办结", "办理结果未送达", "不予受理"]
    assert by["empty_post"]["count"] >= 1 and all(e["minutes"] > 0 for e in by["empty_post"]["items"])
    assert by["overdue_case"]["count"] == 1
    late = by["overdue_case"]["items"][0]
    assert late["case_id"] == running["id"] and late["running"] and late["days_late"] == 7
    assert [c["case_id"] for c in by["result_not_handed_over"]["items"]] == [decided["id"]]
    assert [c["case_id"] for c in by["refusal"]["items"]] == [refused["id"]]
    assert by["refusal"]["items"][0]["reason"] == "不属于本机关职权范围" and by["refusal"]["items"][0]["window"] == "1号窗口"
    assert all(i["definition"] for i in got["indicators"])
    # A range before anything happened: nothing to show.
    quiet = api.get(f"/api/v1/halls/{api.hall_id}/violations?from=2026-02-01&to=2026-02-28", token=m).get_json()
    assert {i["key"]: i["count"] for i in quiet["indicators"]} == {"empty_post": 0, "overdue_case": 1,
                                                                    "result_not_handed_over": 1, "refusal": 0}


def test_leadership_indicators_monthly_with_platform_rows(api):
    accept(api, "SS003")
    accept(api, "SS001", outcome="completed")
    api.post(f"/api/v1/halls/{api.hall_id}/consultations", {"channel": "walk_up", "question": "在哪里取号？",
                                                            "answer": "一楼大厅。"}, token=api.token("clerk01"))
    m = _m(api)
    got = api.get(f"/api/v1/halls/{api.hall_id}/leadership?months=3", token=m).get_json()
    assert got["months"] == ["2026-01", "2026-02", "2026-03"] and got["to"] == "2026-03-02"
    by = {i["key"]: i for i in got["indicators"]}
    for key in ("concentration_rate", "online_completion_rate", "one_visit_item_rate"):
        assert by[key]["needs_platform"] and by[key]["values"] is None and "省级政务服务平台" in by[key]["note"]
    assert by["on_the_spot_acceptance_rate"]["values"] == [None, None, 1.0]
    assert by["immediate_rate"]["values"][2] == 0.5
    assert by["consultation_reply_rate"]["values"] == [None, None, 1.0]
    assert all(i["definition"] for i in got["indicators"])
    assert api.get(f"/api/v1/halls/{api.hall_id}/leadership?months=99", token=m).status_code == 422
    assert api.get(f"/api/v1/halls/{api.hall_id}/leadership?to=2026-13", token=m).status_code == 422
    assert api.get(f"/api/v1/halls/{api.hall_id}/leadership?to=0001-01", token=m).status_code == 422
    two_years = api.get(f"/api/v1/halls/{api.hall_id}/leadership?months=24", token=m).get_json()
    assert len(two_years["months"]) == 24 and two_years["months"][0] == "2024-04"
    assert by["immediate_rate"]["values"][2] == two_years["indicators"][4]["values"][-1]
    older = api.get(f"/api/v1/halls/{api.hall_id}/leadership?months=2&to=2025-12", token=m).get_json()
    assert older["months"] == ["2025-11", "2025-12"] and older["to"] == "2025-12-31"


def test_leadership_ends_on_the_service_day_not_the_calendar_date(api, clock):
    # 01:30 in Shanghai on 1 April is still 31 March's service day (boundary 03:00), as in the statistics.
    clock.set(datetime(2026, 3, 31, 17, 30))
    got = api.get(f"/api/v1/halls/{api.hall_id}/leadership?months=2", token=_m(api)).get_json()
    assert got["months"] == ["2026-02", "2026-03"] and got["to"] == "2026-03-31"


def test_a_manager_withholds_and_republishes_a_published_measure_audited(api, db):
    filed = _complaint_closed(api, "全员服务规范培训；窗口增设引导员。")
    m = _m(api)
    listing = api.get(f"/api/v1/halls/{api.hall_id}/measures", token=m).get_json()["items"]
    [entry] = listing
    assert (entry["source"], entry["withheld"]) == ("complaint", False) and entry["source_id"] == filed["id"]
    base = f"/api/v1/halls/{api.hall_id}/measures/complaint/{filed['id']}"
    # Only managers; a reason is required; an unknown source or a measure not published is 404.
    assert api.post(f"{base}/withhold", {"reason": "x"}, token=api.token("clerk01")).status_code == 403
    assert api.post(f"{base}/withhold", {"reason": ""}, token=m).status_code == 422
    assert api.post(f"/api/v1/halls/{api.hall_id}/measures/ticket/{filed['id']}/withhold", {"reason": "x"},
                    token=m).status_code == 404
    assert api.post(f"/api/v1/halls/{api.hall_id}/measures/rectification/999/withhold", {"reason": "x"},
                    token=m).status_code == 404
    assert api.post(f"{base}/republish", token=m).get_json()["error"]["code"] == "not_withheld"
    r = api.post(f"{base}/withhold", {"reason": "文中可辨认出当事人"}, token=m)
    assert r.status_code == 200 and r.get_json()["withheld"] is True
    again = api.post(f"{base}/withhold", {"reason": "再次"}, token=m)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_withheld"
    # Off the public API and page; the managers' list still shows it, marked, with the reason.
    assert api.get(f"/api/v1/halls/{api.hall_id}/published-measures").get_json()["items"] == []
    html = api.client.get("/measures?hall=demo").get_data(as_text=True)
    assert "窗口增设引导员" not in html and "暂无公示的整改措施" in html
    [entry] = api.get(f"/api/v1/halls/{api.hall_id}/measures", token=m).get_json()["items"]
    assert entry["withheld"] is True and entry["withheld_reason"] == "文中可辨认出当事人"
    # Re-published: back on the public page.
    assert api.post(f"{base}/republish", token=m).status_code == 200
    assert [i["measures"] for i in api.get(f"/api/v1/halls/{api.hall_id}/published-measures").get_json()["items"]] \
        == ["全员服务规范培训；窗口增设引导员。"]
    assert "source_id" not in api.get(f"/api/v1/halls/{api.hall_id}/published-measures").get_json()["items"][0]
    with db.read() as s:
        trail = s.execute(select(AuditEvent.action, AuditEvent.detail).where(AuditEvent.action.like("measure.%"))
                          .order_by(AuditEvent.id)).all()
    assert [a for a, _ in trail] == ["measure.withhold", "measure.republish"]
    assert trail[0][1]["reason"] == "文中可辨认出当事人" and trail[0][1]["source_id"] == filed["id"]
    labels = api.get(f"/api/v1/halls/{api.hall_id}/audit-log?action=measure.withhold", token=m).get_json()["items"]
    assert [i["action_label"] for i in labels] == ["撤下公示的整改措施"]

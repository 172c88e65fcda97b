"""Cases (办件) over HTTP: opened by the finish, the whole lifecycle, bundles, 403/409/422 answers."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hall_queue.domain.models import AuditEvent, Case, CaseEvent, Notification
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)

ID = "220102199003071234"
OTHER_ID = "220102198512120021"


def accept(api, *codes, bundle=None, outcome="accepted", window=1, clerk="clerk01", **finish):
    """Issue a ticket with an ID card, call it at ``window`` and finish it; return the finish answer."""
    kw = {"name": "张三丰", "id_number": ID, "phone": "13912345678"}
    t = api.issue(*codes, bundle=bundle, **kw) if bundle else api.issue(*codes, **kw)
    if clerk not in getattr(api, "_signed", set()):
        api.sign_in(clerk, window)
        api._signed = getattr(api, "_signed", set()) | {clerk}
    called = api.call(clerk, window)["ticket"]
    assert called["id"] == t["id"]
    return api.act(clerk, t["id"], "finish", {"outcome": outcome, **finish})


def later(api, **kw):
    """Move the clock (staff logins last 12 hours: log in again)."""
    api.clock.advance(**kw)
    api._staff_tokens.clear()


def step(api, who, case_id, path, body=None, expect=200, headers=None):
    r = api.post(f"/api/v1/cases/{case_id}/{path}", body or {}, token=api.token(who), headers=headers)
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def test_accepted_case_runs_its_whole_life_with_the_clock(api, db, clock):
    done = accept(api, "SS003")  # 企业注销登记: 3 working days, 市场监督管理局
    [case] = done["cases"]
    assert case["acceptance_no"] == "DEMO2026000001"
    assert case["state"] == "dispatched"            # 按责转办 at once (002 §8.3)
    assert case["due_on"] == "2026-03-05"           # Mon + 3 working days
    assert case["masked_name"] == "张*丰"
    assert [d["title"] for d in case["documents"]] == ["受理通知书"]
    cid = case["id"]
    dept = case["department_id"]
    inbox = api.get(f"/api/v1/departments/{dept}/inbox", token=api.token("dept-ss")).get_json()["items"]
    assert [c["id"] for c in inbox] == [cid]
    # Another department neither sees this inbox nor acts on the case.
    assert api.get(f"/api/v1/departments/{dept}/inbox", token=api.token("dept-bdc")).status_code == 403
    err = step(api, "dept-bdc", cid, "take", expect=403)["error"]
    assert err["code"] == "other_department"
    step(api, "dept-ss", cid, "take")
    assert step(api, "dept-ss", cid, "request-supplement", {}, expect=422)["error"]["code"] == "materials_required"
    step(api, "dept-ss", cid, "request-supplement", {"materials": ["清算报告（补签字）"]})
    later(api, days=2)                              # Wed: two working days stand still
    out = step(api, "dept-ss", cid, "supplement-received", {"at_hall": True})
    assert out["due_on"] == "2026-03-09" and out["visits"] == 2 and out["clock"]["stopped_working_days"] == 2
    assert step(api, "dept-ss", cid, "special-procedure/start", {"name": "专家评审"}, expect=422)["error"]["code"] == \
        "days_required"
    step(api, "dept-ss", cid, "special-procedure/start", {"name": "专家评审", "days": 5})
    later(api, days=1)                              # Thu
    assert step(api, "dept-ss", cid, "special-procedure/end")["due_on"] == "2026-03-10"
    assert step(api, "dept-ss", cid, "suspend", {"note": ""}, expect=422)["error"]["code"] == "reason_required"
    assert step(api, "dept-ss", cid, "decide", {"decision": "not_approved"}, expect=422)["error"]["code"] == \
        "reason_required"
    step(api, "dept-ss", cid, "decide", {"decision": "approved"})
    err = step(api, "dept-ss", cid, "decide", {"decision": "approved"}, expect=409)["error"]
    assert err["code"] == "illegal_transition" and "decided" in err["message"]
    step(api, "dept-ss", cid, "result-ready")
    # The applicant's SMS is queued (after commit) with the handover window in it.
    with db.read() as s:
        texts = s.scalars(select(Notification.text).where(Notification.kind == "case_ready")).all()
    assert len(texts) == 1 and "DEMO2026000001" in texts[0] and ID not in texts[0]
    assert step(api, "clerk12", cid, "hand-over", {"method": "courier", "courier_company": "EMS"},
                expect=422)["error"]["code"] == "tracking_required"
    assert step(api, "clerk12", cid, "hand-over", {"method": "pickup", "id_number": OTHER_ID},
                expect=422)["error"]["code"] == "card_mismatch"
    out = step(api, "clerk12", cid, "hand-over", {"method": "pickup", "id_number": ID})
    assert out["state"] == "handed_over" and out["handover"]["id_checked"] and out["visits"] == 3
    out = step(api, "clerk12", cid, "close")
    assert out["state"] == "closed"
    assert [e["to_state"] for e in out["events"]] == [
        "accepted", "dispatched", "in_review", "supplement", "in_review", "special_procedure", "in_review",
        "decided", "result_ready", "handed_over", "closed"]
    with db.read() as s:
        audited = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("case.%")))
        assert audited == s.scalar(select(func.count()).select_from(CaseEvent)) == 11
    # The full ID number never appears in a case answer.
    assert ID not in str(out) and out["masked_id"] == "220102********1234"


def test_completed_on_the_spot_is_closed_at_once_and_refused_gets_its_papers(api):
    done = accept(api, "SS001", outcome="completed")     # 即办件
    [c] = done["cases"]
    assert c["state"] == "closed" and c["due_on"] == "2026-03-02" and c["documents"] == []
    api.clock.advance(minutes=5)
    done = accept(api, "SS003", outcome="refused", note="不属于本机关职权范围")
    [r] = done["cases"]
    assert r["state"] == "refused" and r["acceptance_no"] == "DEMO2026000002"
    assert sorted(d["title"] for d in r["documents"]) == ["一次性告知书", "不予受理决定书"]


def test_deferred_case_waits_for_its_materials_before_a_decision(api):
    done = accept(api, "SS003", outcome="deferred",
                  deferred_materials=[{"name": "清税证明", "due_date": "2026-03-07", "promise": "五日内补交"}])
    [c] = done["cases"]
    assert sorted(d["title"] for d in c["documents"]) == ["一次性告知书", "受理通知书", "容缺受理承诺书"]
    detail = api.get(f"/api/v1/cases/{c['id']}", token=api.token("dept-ss")).get_json()
    [m] = detail["deferred_materials"]
    assert m["due_on"] == "2026-03-09"   # Saturday 7 March is no working day: moved to Monday
    step(api, "dept-ss", c["id"], "take")
    assert step(api, "dept-ss", c["id"], "decide", {"decision": "approved"}, expect=409)["error"]["code"] == \
        "materials_owed"
    r = api.post(f"/api/v1/deferred-materials/{m['id']}/supply", {"via": "window"}, token=api.token("clerk01"))
    assert r.status_code == 200, r.get_json()
    assert step(api, "dept-ss", c["id"], "decide", {"decision": "approved"})["visits"] == 2


def test_a_deferred_material_due_before_today_is_refused_and_costs_no_number(api):
    t = api.issue("SS003", name="张三丰", id_number=ID)
    api.sign_in("clerk01", 1)
    assert api.call("clerk01", 1)["ticket"]["id"] == t["id"]
    past = {"outcome": "deferred", "deferred_materials": [{"name": "清税证明", "due_date": "2026-03-01"}]}
    assert api.act("clerk01", t["id"], "finish", past, expect=422)["error"]["code"] == "bad_due_date"  # Sun 1 Mar
    today = {"outcome": "deferred", "deferred_materials": [{"name": "清税证明", "due_date": "2026-03-02"}]}
    [c] = api.act("clerk01", t["id"], "finish", today)["cases"]                # still in hand: finished now
    assert c["acceptance_no"] == "DEMO2026000001"                            # the refused finish took no number


def test_bundle_blocking_refusal_stops_every_item(api, db):
    ss001 = api.items["SS001"]
    done = accept(api, bundle="B01", decisions=[{"item_id": ss001, "outcome": "refused", "note": "名称不符合规定"}])
    [parent] = done["cases"]
    assert parent["state"] == "terminated" and len(parent["children"]) == 5
    states = {k["title"]: k["state"] for k in parent["children"]}
    assert states.pop("企业设立登记") == "refused"
    assert set(states.values()) == {"terminated"}
    with db.read() as s:
        notes = s.scalars(select(CaseEvent.note).where(CaseEvent.action == "terminate")).all()
    assert notes and all("材料予以退回" in n and "名称不符合规定" in n for n in notes)


def test_bundle_non_blocking_refusal_lets_the_others_go_on_and_parent_follows(api):
    sw001 = api.items["SW001"]
    done = accept(api, bundle="B01", decisions=[{"item_id": sw001, "outcome": "refused", "note": "发票种类不符"}])
    [parent] = done["cases"]
    assert parent["state"] == "dispatched" and parent["acceptance_no"] == "DEMO2026000001"
    assert [k["state"] for k in parent["children"] if k["id"] and k["state"] == "refused"] == ["refused"]
    going = [k for k in parent["children"] if k["state"] != "refused"]
    assert len(going) == len(parent["children"]) - 1 and all(k["state"] == "dispatched" for k in going)
    assert all(k["acceptance_no"].startswith("DEMO2026000001-") for k in parent["children"])
    # A parent takes no item action; its items do. The parent stands where its slowest item stands.
    assert step(api, "manager", parent["id"], "take", expect=409)["error"]["code"] == "bundle_parent"
    for k in going:
        step(api, "manager", k["id"], "take")
        step(api, "manager", k["id"], "decide", {"decision": "approved"})
        if k is not going[-1]:
            step(api, "manager", k["id"], "result-ready")
    p = api.get(f"/api/v1/cases/{parent['id']}", token=api.token("manager")).get_json()
    assert p["state"] == "decided"
    step(api, "manager", going[-1]["id"], "result-ready")
    out = step(api, "clerk12", parent["id"], "hand-over", {"method": "courier", "courier_company": "EMS",
                                                             "tracking_no": "1234567890"})
    assert out["state"] == "handed_over" and all(k["state"] in ("handed_over", "refused") for k in out["children"])
    # Non-blocking refusal of an item in review: the others go on (003 §8.3.4).


def test_blocking_item_not_approved_in_review_terminates_the_bundle(api):
    done = accept(api, bundle="B01")
    [parent] = done["cases"]
    lead = next(k for k in parent["children"] if k["title"] == "企业设立登记")
    step(api, "dept-ss", lead["id"], "take")
    step(api, "dept-ss", lead["id"], "decide", {"decision": "not_approved", "note": "住所不符合要求"})
    p = api.get(f"/api/v1/cases/{parent['id']}", token=api.token("manager")).get_json()
    assert p["state"] == "terminated"
    assert {k["state"] for k in p["children"] if k["id"] != lead["id"]} == {"terminated"}


def test_integration_token_is_idempotent_and_progress_page_learns_nothing_from_a_wrong_code(api, db):
    done = accept(api, "SS003")
    cid = done["cases"][0]["id"]
    r = api.post(f"/api/v1/halls/{api.hall_id}/integration-tokens", {"name": "审批系统"}, token=api.token("manager"))
    assert r.status_code == 201
    tok = r.get_json()["token"]
    h = {"Idempotency-Key": "take-1"}
    a = api.post(f"/api/v1/cases/{cid}/take", {}, token=tok, headers=h)
    b = api.post(f"/api/v1/cases/{cid}/take", {}, token=tok, headers=h)
    assert a.status_code == b.status_code == 200 and a.get_json() == b.get_json()
    c = api.post(f"/api/v1/cases/{cid}/take", {"note": "x"}, token=tok, headers=h)
    assert c.status_code == 422 and c.get_json()["error"]["code"] == "idempotency_key_reused"
    for bad in ("", "x" * 101):  # the one rule for the key (replays.header_key), as on ticket issue
        r = api.post(f"/api/v1/cases/{cid}/take", {}, token=tok, headers={"Idempotency-Key": bad})
        assert r.status_code == 422 and r.get_json()["error"] == {
            "code": "validation_error", "message": "Idempotency-Key must be 1 to 100 characters"}
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.action == "take")) == 1
        code_cipher = s.get(Case, cid).lookup_cipher
    code = api.client.application.extensions["onevisit"].vault.decrypt(code_cipher)
    r = api.client.get(f"/api/v1/progress/{code}")
    body = r.get_json()
    assert r.status_code == 200 and body["state_label"] == "审查中" and body["promised_on"] == "2026-03-05"
    assert ID not in str(body) and "张三丰" not in str(body)
    for wrong in (code[:-1] + ("A" if code[-1] != "A" else "B"), "x", "0" * 22):
        r = api.client.get(f"/api/v1/progress/{wrong}")
        assert r.status_code == 404 and r.get_json()["error"] == {"code": "not_found", "message": "no case with this code"}


def test_progress_page_shows_history_promised_date_missing_and_where_to_collect(api, db):
    done = accept(api, "SS003", outcome="deferred", deferred_materials=[{"name": "清税证明", "due_date": "2026-03-04"}])
    cid = done["cases"][0]["id"]
    with db.read() as s:
        code = api.client.application.extensions["onevisit"].vault.decrypt(s.get(Case, cid).lookup_cipher)
    page = api.client.get(f"/c/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    for text in ("企业注销登记", "DEMO2026000001", "已分办", "2026-03-05 前", "还需补交的材料", "清税证明", "张*丰"):
        assert text in html, text
    assert ID not in html and "220102" not in html
    detail = api.get(f"/api/v1/cases/{cid}", token=api.token("dept-ss")).get_json()
    api.post(f"/api/v1/deferred-materials/{detail['deferred_materials'][0]['id']}/supply", {},
             token=api.token("clerk01"))
    for path, body in (("take", {}), ("decide", {"decision": "approved"}), ("result-ready", {})):
        step(api, "dept-ss", cid, path, body)
    html = api.client.get(f"/c/{code}").get_data(as_text=True)
    assert "结果待领取" in html and "出件" in html and "领取办理结果" in html and "还需补交的材料" not in html
    assert api.client.get(f"/c/{code[:-2]}zz").status_code == 404
    assert api.client.get("/c/short").status_code == 404


def test_kiosk_pickup_issues_a_handover_ticket_with_the_ready_results_attached(api, db):
    cid = accept(api, "SS003")["cases"][0]["id"]
    kiosk = api.tokens["kiosk"]
    r = api.post(f"/api/v1/halls/{api.hall_id}/pickups/lookup", {"id_number": ID}, token=kiosk)
    assert r.status_code == 200 and r.get_json()["count"] == 0        # not ready yet
    for path, body in (("take", {}), ("decide", {"decision": "approved"}), ("result-ready", {})):
        step(api, "dept-ss", cid, path, body)
    r = api.post(f"/api/v1/halls/{api.hall_id}/pickups/lookup", {"id_number": ID}, token=kiosk)
    assert r.get_json() == {"count": 1, "items": [{"title": "企业注销登记", "acceptance_no": "DEMO2026000001"}], "already_taken": 0}
    assert api.post(f"/api/v1/halls/{api.hall_id}/pickups/lookup", {"id_number": OTHER_ID},
                    token=kiosk).get_json()["count"] == 0
    r = api.post(f"/api/v1/halls/{api.hall_id}/pickups", {"id_number": ID, "name": "张三丰"}, token=kiosk,
                 headers={"Idempotency-Key": "pick-1"})
    assert r.status_code == 201, r.get_json()
    ticket = r.get_json()
    assert ticket["number"].startswith("G") and [c["id"] for c in ticket["cases"]] == [cid]
    again = api.post(f"/api/v1/halls/{api.hall_id}/pickups", {"id_number": ID}, token=kiosk,
                     headers={"Idempotency-Key": "pick-1"})
    assert again.get_json()["id"] == ticket["id"] and again.get_json()["replayed"]
    r = api.post(f"/api/v1/halls/{api.hall_id}/pickups", {"id_number": OTHER_ID}, token=kiosk)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "no_results"
    # The handover window calls it, sees the attached result, checks the card, signs it off.
    api.sign_in("clerk12", 12)
    assert api.call("clerk12", 12)["ticket"]["id"] == ticket["id"]
    attached = api.get(f"/api/v1/tickets/{ticket['id']}/pickup-cases", token=api.token("clerk12")).get_json()
    assert [c["acceptance_no"] for c in attached["items"]] == ["DEMO2026000001"]
    assert step(api, "clerk12", cid, "hand-over", {"method": "pickup", "id_number": OTHER_ID},
                expect=422)["error"]["code"] == "card_mismatch"
    step(api, "clerk12", cid, "hand-over", {"method": "pickup", "id_number": ID})
    done = api.act("clerk12", ticket["id"], "finish", {"outcome": "completed"})
    assert done["cases"] == []                                      # a pickup visit opens no case
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1

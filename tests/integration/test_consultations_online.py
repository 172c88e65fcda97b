"""Questions asked online (网上咨询, 000 §7.4; 002 §9.1.2): the public form and API, the look-up by number and
code, the hall's answer from the usual pending list, the rates counting them, the form's limits, masking."""
from __future__ import annotations

import re

from sqlalchemy import select

from hall_queue.domain.models import AuditEvent, Consultation
from hall_queue.feedback.complaints import PER_SOURCE_10_MIN

QUESTION = "我的身份证220102199003071234丢了，手机13912345678，补办需要带什么材料？"


def _ask(api, body=None, expect=201, addr="10.3.3.3"):
    r = api.client.post(f"/api/v1/halls/{api.hall_id}/consultations/ask", json=body or {"question": QUESTION},
                        environ_base={"REMOTE_ADDR": addr})
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def _status(api, number, code=None, expect=200):
    q = {"number": number, **({"code": code} if code else {})}
    r = api.client.get(f"/api/v1/halls/{api.hall_id}/consultations/status", query_string=q)
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def test_an_online_question_is_answered_by_the_hall_and_read_with_its_code(api, db):
    asked = _ask(api, {"question": QUESTION, "asker": "张三丰", "contact": "13800138000"})
    assert re.fullmatch(r"ZX20260302-\d+", asked["number"]) and len(asked["lookup_code"]) == 8
    assert asked["due_on"] == "2026-03-05"  # 3 working days, as for any question not answered at once
    with db.read() as s:
        row = s.scalar(select(Consultation))
        assert row.channel == "online" and row.received_by_id is None
        # ID and mobile numbers typed into the question are masked before it is stored; name and contact too.
        assert "220102199003071234" not in row.question and "220102********1234" in row.question
        assert "13912345678" not in row.question and "139****5678" in row.question
        assert (row.asker_masked, row.contact_masked) == ("张*丰", "138****8000")
        assert "13800138000" not in (row.contact_cipher or "") and row.source_hash and row.device_hash
        assert asked["lookup_code"] not in row.lookup_hash
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "consultation.ask"))
    # By number alone: the status only; the code also shows the question; a wrong code is refused.
    bare = _status(api, asked["number"])
    assert bare["status"] == "pending" and bare["status_label"] == "待答复" and "question" not in bare
    assert _status(api, asked["number"], "WRONG234")["verified"] is False
    mine = _status(api, asked["number"], asked["lookup_code"].lower())
    assert mine["verified"] is True and mine["answer"] is None and "220102********1234" in mine["question"]
    for bad in ("ZX20260303-" + asked["number"].split("-")[1], "ZX20260302-999999", "TS20260302-0001", ""):
        assert _status(api, bad, expect=404)["error"]["code"] == "not_found"

    # The hall sees it on the usual pending list, with its number, and answers it.
    clerk = api.token("clerk01")
    [pending] = api.get(f"/api/v1/halls/{api.hall_id}/consultations?status=pending", token=clerk).get_json()["items"]
    assert pending["number"] == asked["number"] and pending["channel_label"] == "网上"
    assert pending["asker"] == "张*丰" and "13912345678" not in str(pending)
    api.clock.advance(hours=2)
    r = api.post(f"/api/v1/consultations/{pending['id']}/answer", {"answer": "带户口簿到2号窗口补办，当场可取。"},
                 token=clerk)
    assert r.status_code == 200
    mine = _status(api, asked["number"], asked["lookup_code"])
    assert mine["status_label"] == "已答复" and mine["answer"] == "带户口簿到2号窗口补办，当场可取。"
    # 咨询回复率 / 及时率 count it like any other question.
    rates = api.get(f"/api/v1/halls/{api.hall_id}/consultation-indicators?from=2026-03-02&to=2026-03-02",
                    token=api.token("manager")).get_json()
    assert rates["counts"]["received"] == 1 and rates["counts"]["answered_on_time"] == 1
    assert {i["key"]: i["value"] for i in rates["indicators"]} == {"reply_rate": 1.0, "on_time_rate": 1.0}


def test_the_online_form_is_checked_and_rate_limited(api):
    assert _ask(api, {"question": "问"}, expect=422)["error"]["code"] == "validation_error"
    assert _ask(api, {"question": QUESTION, "contact": "not a phone"}, expect=422)["error"]["code"] == "validation_error"
    assert _ask(api, {"question": QUESTION, "item_id": 999999}, expect=404)["error"]["code"] == "not_found"
    for _ in range(PER_SOURCE_10_MIN):
        _ask(api, addr="10.4.4.4")
    r = _ask(api, expect=429, addr="10.4.4.4")
    assert r["error"]["code"] == "too_many_requests"
    _ask(api, addr="10.5.5.5")  # another visitor is not held up
    api.clock.advance(minutes=11)
    _ask(api, addr="10.4.4.4")


def test_the_phone_pages_ask_and_show_the_answer_in_chinese(app, api):
    phone = app.test_client()
    page = phone.get("/consult/new?hall=demo")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "网上咨询" in html and "3 个工作日内答复" in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = phone.post("/consult/new?hall=demo", data={"csrf_token": csrf, "question": "短", "contact": "abc"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请填写您要咨询的问题" in html and "联系方式请填写手机号码" in html
    assert "String should" not in html and "validation" not in html  # no technicians' English on the page
    assert "短" in html  # what was typed is kept
    for item in ("2026-02-30", "0", str(2**63)):  # not an item: the form's own words (a KeyError, a 500, before)
        r = phone.post("/consult/new?hall=demo", data={"csrf_token": csrf, "question": QUESTION, "item_id": item})
        assert r.status_code == 422 and "所选事项不存在" in r.get_data(as_text=True), item
    r = phone.post("/consult/new?hall=demo", data={"csrf_token": csrf, "question": QUESTION})
    html = r.get_data(as_text=True)
    assert r.status_code == 201 and "您的咨询已提交" in html
    number = re.search(r'id="consult-number">([^<]+)<', html).group(1)
    code = re.search(r'id="lookup-code" class="code">([^<]+)<', html).group(1)
    assert phone.post("/consult/new?hall=demo", data={"question": QUESTION}).status_code == 422  # no CSRF token
    cid = int(number.split("-")[1])
    assert api.post(f"/api/v1/consultations/{cid}/answer", {"answer": "请带户口簿。"},
                    token=api.token("clerk01")).status_code == 200
    html = phone.get(f"/consult/status?hall=demo&number={number}&code={code}").get_data(as_text=True)
    assert "请带户口簿。" in html and "已答复" in html and "220102********1234" in html
    html = phone.get(f"/consult/status?hall=demo&number={number}").get_data(as_text=True)
    assert "请带户口簿。" not in html and "已答复" in html
    assert phone.get("/consult/status?hall=demo&number=ZX20260302-999999").status_code == 404
    for _ in range(PER_SOURCE_10_MIN):  # the page's own limit, per browser, in the visitor's words
        phone.post("/consult/new?hall=demo", data={"csrf_token": csrf, "question": QUESTION})
    r = phone.post("/consult/new?hall=demo", data={"csrf_token": csrf, "question": QUESTION})
    assert r.status_code == 429 and "提交太频繁" in r.get_data(as_text=True)


def test_the_askers_contact_and_the_forms_hashes_are_purged_with_the_retention_period(api, db):
    from datetime import timedelta

    from hall_queue.access.retention import purge_expired

    asked = _ask(api, {"question": QUESTION, "asker": "张三丰", "contact": "13800138000"})
    pending = _ask(api, {"question": "还没答复的问题，联系方式要留着。", "contact": "13900139000"})
    cid = int(asked["number"].split("-")[1])
    api.post(f"/api/v1/consultations/{cid}/answer", {"answer": "请带户口簿。"}, token=api.token("clerk01"))
    later = api.clock.now() + timedelta(days=181)
    report = db.run_write(lambda s: purge_expired(s, later, days=180))
    assert report.consultations == 1
    with db.read() as s:
        row = s.get(Consultation, cid)
        assert (row.asker_masked, row.contact_cipher, row.contact_masked, row.source_hash, row.device_hash) == \
            ("", None, "", None, None)
        assert row.question and row.answer == "请带户口簿。"  # the record and the rates stay
        kept = s.get(Consultation, int(pending["number"].split("-")[1]))
        assert kept.contact_cipher and kept.contact_masked == "139****9000"  # not answered yet: still needed
    assert db.run_write(lambda s: purge_expired(s, later, days=180)).consultations == 0

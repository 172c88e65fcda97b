"""Complaints (000 §10): filing with the §10.2 fields, numbering, public look-up (§10.3), handling, privacy."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from hall_queue.domain.calendar import add_working_days as _add_working_days


def add_working_days(start, n):
    return _add_working_days(start, n, lambda day: None)  # no holidays in these dates
from hall_queue.domain.models import AuditEvent, Complaint

FORM = {"kind": "attitude", "target_unit": "不动产登记中心", "target_person": "王小明", "target_staff_no": "0102",
        "content": "窗口工作人员态度生硬，未一次性告知所需材料。", "request": "希望道歉并一次性告知材料",
        "occurred_at": "2026-03-02T09:30", "complainant_name": "张三丰", "contact": "13812345678"}


def test_filing_numbers_lookup_and_handling(api, db, vault):
    r = api.client.post(f"/api/v1/halls/{api.hall_id}/complaints", json={**FORM, "window_id": api.windows[1],
                                                                         "item_id": api.items["BDC001"]})
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    # 2026-03-02 10:00 local; number TS<date>-<4-digit daily sequence>; answer due 5 working days later.
    assert first["number"] == "TS20260302-0001" and re.fullmatch(r"[A-Z2-9]{8}", first["lookup_code"])
    assert first["due_on"] == "2026-03-09"
    second = api.client.post(f"/api/v1/halls/{api.hall_id}/complaints", json={**FORM, "is_report": True,
                                                                              "kind": "discipline"}).get_json()
    assert second["number"] == "TS20260302-0002"
    api.clock.advance(days=1)
    third = api.client.post(f"/api/v1/halls/{api.hall_id}/complaints", json=FORM,
                            environ_base={"REMOTE_ADDR": "10.9.9.9"}).get_json()
    assert third["number"] == "TS20260303-0001"                           # the sequence restarts each day
    # Stored encrypted, shown masked.
    with db.read() as s:
        row = s.scalar(select(Complaint).where(Complaint.number == first["number"]))
        assert "张三丰" not in row.complainant_name_cipher and "13812345678" not in row.contact_cipher
        assert vault.decrypt(row.contact_cipher) == "13812345678"
        assert (row.complainant_name_masked, row.contact_masked, row.target_person_masked) == ("张*丰", "138****5678", "王*明")
    # Public look-up: status by number; the answer only with the code.
    status_url = f"/api/v1/halls/{api.hall_id}/complaints/status"
    r = api.client.get(status_url, query_string={"number": first["number"]})
    assert r.status_code == 200 and r.get_json()["status"] == "received" and "answer" not in r.get_json()
    assert api.client.get(status_url, query_string={"number": "TS20260302-0099"}).status_code == 404
    assert api.client.get(status_url, query_string={"number": "'; drop table"}).status_code == 404
    # Handling by the manager: list (masked), handle, answer, close.
    m = api.token("manager")
    items = api.get(f"/api/v1/halls/{api.hall_id}/complaints", token=m).get_json()["items"]
    assert len(items) == 3
    c = next(i for i in items if i["number"] == first["number"])
    assert c["complainant_masked"] == "张*丰" and c["contact_masked"] == "138****5678"
    assert "张三丰" not in str(items) and "13812345678" not in str(items) and "王小明" not in str(items)
    assert c["window_id"] == api.windows[1] and c["kind_label"] == "服务态度" and c["request"]
    cid = c["id"]
    r = api.post(f"/api/v1/complaints/{cid}/close", token=m)
    assert r.status_code == 409                                           # only an answered complaint closes
    r = api.post(f"/api/v1/complaints/{cid}/handle", {}, token=m)
    assert r.status_code == 200 and r.get_json()["status"] == "handling" and r.get_json()["handler"] == "9001 值****敏"  # 值班长 周敏, masked
    assert api.post(f"/api/v1/complaints/{cid}/answer", {"answer": "短"}, token=m).status_code == 422
    r = api.post(f"/api/v1/complaints/{cid}/answer", {"answer": "经核实，已对相关人员批评教育并当面致歉。",
                                                       "measures": "全员重新学习一次性告知制度"}, token=m)
    assert r.status_code == 200 and r.get_json()["status"] == "answered"
    pub = api.client.get(status_url, query_string={"number": first["number"], "code": first["lookup_code"]}).get_json()
    assert pub["verified"] and pub["answer"].startswith("经核实") and pub["measures"]
    wrong = api.client.get(status_url, query_string={"number": first["number"], "code": "WRONG123"}).get_json()
    assert not wrong["verified"] and "answer" not in wrong and wrong["status"] == "answered"
    assert api.post(f"/api/v1/complaints/{cid}/close", token=m).get_json()["status"] == "closed"
    # The handler may reveal the contact for a call-back; the reveal is audited.
    assert api.post(f"/api/v1/complaints/{cid}/contact", token=m).get_json() == {"contact": "13812345678"}
    with db.read() as s:
        actions = [a for a in s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("complaint.%")))]
    assert {"complaint.file", "complaint.handle", "complaint.answer", "complaint.close",
            "complaint.contact_reveal"} <= set(actions)


def test_validation_roles_and_abuse_limits(api):
    url = f"/api/v1/halls/{api.hall_id}/complaints"
    for bad in ({"kind": "weather"}, {"content": "短"}, {"content": "x" * 2001}, {"contact": "call me"},
                {"complainant_name": ""}, {"target_person": "x" * 51}, {"window_id": 2**40}, {"extra": 1},
                {"occurred_at": "yesterday"}):
        r = api.client.post(url, json={**FORM, **bad}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
        assert r.status_code == 422, (bad, r.get_json())
    r = api.client.post(url, json={**FORM, "window_id": 99999}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert r.status_code == 404
    r = api.client.post(url, json={**FORM, "occurred_at": "2030-01-01T00:00"}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert r.status_code == 422
    # Three filings per 10 minutes from one address, then 429.
    for _ in range(3):
        assert api.client.post(url, json=FORM, environ_base={"REMOTE_ADDR": "10.2.2.2"}).status_code == 201
    r = api.client.post(url, json=FORM, environ_base={"REMOTE_ADDR": "10.2.2.2"})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "too_many_requests"
    assert api.client.post(url, json=FORM, environ_base={"REMOTE_ADDR": "10.3.3.3"}).status_code == 201
    api.clock.advance(minutes=11)
    assert api.client.post(url, json=FORM, environ_base={"REMOTE_ADDR": "10.2.2.2"}).status_code == 201
    # Handling is for managers and admins only.
    cid = api.get(f"/api/v1/halls/{api.hall_id}/complaints", token=api.token("manager")).get_json()["items"][0]["id"]
    for who, status in (("clerk01", 403), ("kiosk", 403), ("screen", 403), (None, 401), ("admin", 200)):
        token = api.tokens.get(who) or (api.token(who) if who else None)
        assert api.get(f"/api/v1/halls/{api.hall_id}/complaints", token=token).status_code == status, who
        assert api.get(f"/api/v1/complaints/{cid}", token=token).status_code == status, who
        assert api.post(f"/api/v1/complaints/{cid}/contact", token=token).status_code == status, who
    # Staff record a phone complaint with its channel.
    r = api.post(f"/api/v1/halls/{api.hall_id}/complaints/record", {**FORM, "channel": "phone"},
                 token=api.token("manager"))
    assert r.status_code == 201
    c = api.get(f"/api/v1/complaints/{r.get_json()['id']}", token=api.token("manager")).get_json()
    assert c["channel"] == "phone"


def test_working_day_deadline():
    assert add_working_days(date(2026, 3, 2), 5) == date(2026, 3, 9)      # Mon → next Mon
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)      # Fri → Mon
    assert add_working_days(date(2026, 3, 7), 5) == date(2026, 3, 13)     # Sat → Fri


def test_one_address_behind_nat_does_not_close_the_form_for_everyone(app, api):
    """The limit is per device (the form page's session) and, ten times looser, per address (issue 13, finding 6)."""
    from hall_queue.feedback.complaints import PER_ADDRESS_10_MIN, PER_SOURCE_10_MIN

    url = f"/api/v1/halls/{api.hall_id}/complaints"
    nat = {"REMOTE_ADDR": "10.9.9.9"}

    def browser():
        b = app.test_client()
        assert b.get("/complaints/new", environ_base=nat).status_code == 200   # gives the browser its device id
        return b

    browsers = [browser() for _ in range(PER_ADDRESS_10_MIN // PER_SOURCE_10_MIN)]
    first = browsers[0]
    for _ in range(PER_SOURCE_10_MIN):
        assert first.post(url, json=FORM, environ_base=nat).status_code == 201
    r = first.post(url, json=FORM, environ_base=nat)
    assert r.status_code == 429 and "本设备" in r.get_json()["error"]["message"]   # this device is done
    for b in browsers[1:]:                                                       # its neighbours are not
        for _ in range(PER_SOURCE_10_MIN):
            assert b.post(url, json=FORM, environ_base=nat).status_code == 201
    r = browser().post(url, json=FORM, environ_base=nat)                          # the address as a whole is
    assert r.status_code == 429 and "网络地址" in r.get_json()["error"]["message"]
    assert browser().post(url, json=FORM, environ_base={"REMOTE_ADDR": "10.8.8.8"}).status_code == 201

"""Consultation records over HTTP (000 §7.1–§7.4; 002 §9.1): logging, the pending list, answers, 咨询回复率 / 及时率."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hall_queue.domain.models import AuditEvent, Consultation
from tests.conftest import engines

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def _log(api, who="clerk01", expect=201, **body):
    r = api.post(f"/api/v1/halls/{api.hall_id}/consultations", body, token=api.token(who))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def test_walk_up_answered_on_the_spot_and_phone_question_pending(api, db):
    spot = _log(api, channel="walk_up", question="社保卡丢了怎么补办？", answer="带身份证到3号窗口当场补办。")
    assert spot["status"] == "answered" and spot["due_on"] == "2026-03-02" and not spot["overdue"]
    assert spot["on_the_spot"] and spot["reply_minutes"] == 0
    assert spot["channel_label"] == "现场" and spot["answered_by"].endswith("*")  # masked staff name
    # A phone question the clerk cannot answer now: the reply date defaults to 3 working days on.
    phone = _log(api, channel="phone", question="个体户注销需要哪些材料？", asker="张三丰", contact="13800138000")
    assert phone["status"] == "pending" and phone["due_on"] == "2026-03-05"
    assert phone["asker"] == "张*丰" and phone["contact"] == "138****8000"
    letter = _log(api, who="manager", channel="letter", question="来信询问公积金提取进度。", contact="13900139000",
                  due_on="2026-03-03")
    assert letter["due_on"] == "2026-03-03"

    pending = api.get(f"/api/v1/halls/{api.hall_id}/consultations?status=pending", token=api.token("clerk01")).get_json()
    assert [p["id"] for p in pending["items"]] == [letter["id"], phone["id"]]  # most urgent first

    # The contact is kept encrypted; only the masked form is stored in clear.
    with db.read() as s:
        row = s.get(Consultation, phone["id"])
        assert "13800138000" not in (row.contact_cipher or "") and row.contact_masked == "138****8000"

    api.clock.advance(days=1)
    r = api.post(f"/api/v1/consultations/{phone['id']}/answer", {"answer": "需营业执照正副本和清税证明。"},
                 token=api.token("clerk02"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "answered" and r.get_json()["reply_hours"] == 24.0
    assert not r.get_json()["on_the_spot"] and r.get_json()["reply_minutes"] == 1440
    again = api.post(f"/api/v1/consultations/{phone['id']}/answer", {"answer": "再答一次"}, token=api.token("clerk02"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_answered"
    with db.read() as s:
        actions = [a for a in s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("consultation.%")))]
    assert actions.count("consultation.log") == 3 and actions.count("consultation.answer") == 1


def test_reply_and_on_time_rates(api):
    _log(api, channel="walk_up", question="在哪里取号？", answer="一楼大厅自助取号机。")
    late = _log(api, channel="online", question="网上预约后可以改时间吗？", due_on="2026-03-03")
    _log(api, channel="phone", question="周六上班吗？", contact="13800138000", due_on="2026-03-10")
    # A clerk logs and answers, but the rates are for managers.
    assert api.get(f"/api/v1/halls/{api.hall_id}/consultation-indicators", token=api.token("clerk01")).status_code == 403
    api.clock.advance(days=3)  # Thursday 5 March: the online question is now two days late
    r = api.post(f"/api/v1/consultations/{late['id']}/answer", {"answer": "可以，在原预约记录中改约。"},
                 token=api.token("manager"))
    assert r.status_code == 200 and r.get_json()["overdue"] is True
    got = api.get(f"/api/v1/halls/{api.hall_id}/consultation-indicators?from=2026-03-01&to=2026-03-31",
                  token=api.token("manager")).get_json()
    by = {i["key"]: i for i in got["indicators"]}
    assert got["counts"] == {"received": 3, "answered": 2, "due_or_answered": 2, "answered_on_time": 1, "pending": 1}
    assert by["reply_rate"]["value"] == round(2 / 3, 4) and by["reply_rate"]["label"] == "咨询回复率"
    assert by["on_time_rate"]["value"] == 0.5 and "承诺答复日期" in by["on_time_rate"]["definition"]
    empty = api.get(f"/api/v1/halls/{api.hall_id}/consultation-indicators?from=2026-01-01&to=2026-01-31",
                    token=api.token("manager")).get_json()
    assert all(i["value"] is None for i in empty["indicators"])  # nothing asked: no rate, not 0


def test_refusals_are_4xx_with_chinese_messages(api):
    bad = _log(api, expect=422, channel="fax", question="问题")
    assert bad["error"]["code"]
    past = _log(api, expect=422, channel="online", question="能加急吗？", due_on="2026-03-01")
    assert past["error"]["code"] == "bad_due_date" and "今天" in past["error"]["message"]
    nowhere = _log(api, expect=422, channel="letter", question="来信咨询户口迁移。")
    assert nowhere["error"]["code"] == "contact_required"
    other_item = _log(api, expect=404, channel="walk_up", question="这个事项怎么办？", item_id=99999, answer="答复内容")
    assert other_item["error"]["code"] == "not_found"
    assert api.post("/api/v1/consultations/424242/answer", {"answer": "答复内容"},
                    token=api.token("manager")).status_code == 404


def test_indicators_count_service_days_like_the_statistics(api):
    # Tue 3 Mar 01:30 local is still Monday's service day (the demo's day boundary is 03:00): a question taken then
    # counts on Monday, as the statistics count a visit, and the default range (ending on the current service day)
    # holds it.
    api.clock.advance(hours=15, minutes=30)
    api._staff_tokens.clear()  # staff logins last 12 hours
    _log(api, channel="walk_up", question="夜间自助区可以打印社保证明吗？", answer="可以，在自助终端打印。")
    base, manager = f"/api/v1/halls/{api.hall_id}", api.token("manager")
    monday = api.get(f"{base}/consultation-indicators?from=2026-03-02&to=2026-03-02", token=manager).get_json()
    tuesday = api.get(f"{base}/consultation-indicators?from=2026-03-03&to=2026-03-03", token=manager).get_json()
    default = api.get(f"{base}/consultation-indicators", token=manager).get_json()
    assert monday["counts"]["received"] == 1 and tuesday["counts"]["received"] == 0
    assert default["to"] == "2026-03-02" and default["counts"]["received"] == 1
    listed = api.get(f"{base}/consultations?from=2026-03-02&to=2026-03-02", token=manager).get_json()["items"]
    assert len(listed) == 1

"""Upload to the provincial 好差评 platform through the outbox, against a real local HTTP server that is down
for three hours and then recovers: every rating (and its rectification result) arrives exactly once,
signed, in order per rating, with the fields the platforms file it under."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from hall_queue.bootstrap import runtime
from hall_queue.domain.models import WebhookDelivery
from hall_queue.feedback import provincial
from hall_queue.infrastructure.webhooks import verify
from tests.integration.test_admin_desk import pad_token
from tests.integration.test_rating_loop import serve_visit
from tests.webhook_receiver import WebhookReceiver

SECRET = "province-secret-0123456789"
REGION = "220102000000"


class Receiver(WebhookReceiver):
    """A platform that answers 503 while ``down`` and records every message it accepted (2xx)."""

    def __init__(self) -> None:
        self.down = True
        self.accepted: list[tuple[str, dict]] = []
        self.refused = 0
        self.bad_signatures = 0
        super().__init__("/ratings")

    def answer(self, headers, body: str) -> int:
        if self.down:
            self.refused += 1
            return 503
        if not verify(SECRET, headers["X-OneVisit-Signature"], body):
            self.bad_signatures += 1
            return 401
        self.accepted.append((headers["X-OneVisit-Event"], json.loads(body)))
        return 200


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_every_rating_reaches_a_platform_that_was_down_for_three_hours_exactly_once(api, app, db, clock, receiver):
    mgr = api.token("manager")
    r = api.client.put(f"/api/v1/halls/{api.hall_id}/rating-settings", headers={"Authorization": f"Bearer {mgr}"},
                       json={"province_url": receiver.url, "province_secret": SECRET, "region_code": REGION})
    assert r.status_code == 200 and r.get_json()["province_secret_set"] is True
    r = api.client.patch(f"/api/v1/items/{api.items['SB001']}", headers={"Authorization": f"Bearer {mgr}"},
                         json={"code_version": "3", "implementation_code": "11220102MB0000001X"})
    assert r.status_code == 200 and r.get_json()["implementation_code"] == "11220102MB0000001X"
    pad = pad_token(api, 1)
    api.sign_in("clerk01", 1)
    scores = [5, 4, 1, 3, 5, 2, 5, 4, 5, 1, 5, 5]
    rectifications = []
    for i, score in enumerate(scores):
        if i % 3 == 0:  # every third from the phone (扫码), anonymous
            issued = serve_visit(api, name=None, id_number=None, phone=None)
            body = {"ticket_id": issued["id"], "score": score, "reasons": ["waiting"] if score <= 2 else []}
            out = api.post(f"/api/v1/follow/{issued['follow_code']}/rating", body)
        else:
            issued = serve_visit(api)
            body = {"score": score, "reasons": ["attitude"] if score <= 2 else []}
            out = api.post(f"/api/v1/tickets/{issued['id']}/rating", body, token=pad)
        assert out.status_code == 201, out.get_json()
        if out.get_json().get("rectification_id"):
            rectifications.append(out.get_json()["rectification_id"])
    # One rectification is carried through to its result, which goes up after its rating.
    base = f"/api/v1/rectifications/{rectifications[0]}"
    for step, body in (("assign", {"fix_plan": "服务礼仪培训"}), ("fix", {"fix": "已培训"}),
                       ("feedback", {"feedback": "已致歉"}), ("close", None)):
        assert api.post(f"{base}/{step}", body, token=mgr).status_code == 200
    with db.read() as s:
        queued = s.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.channel == "province"))
    assert queued == len(scores) + 1

    rt = runtime(app)
    sent = failed = 0
    for _ in range(180):  # the duty loop, once a minute, while the platform is down for three hours
        report = provincial.deliver_due(db, rt.vault, now=clock.now())
        sent, failed = sent + report.delivered, failed + report.failed
        clock.advance(minutes=1)
    assert sent == 0 and failed > 0 and receiver.refused == failed and receiver.accepted == []
    receiver.down = False
    for _ in range(120):  # back up: back-off is at most an hour, so within two hours all is through
        report = provincial.deliver_due(db, rt.vault, now=clock.now())
        sent, failed = sent + report.delivered, failed + report.failed
        clock.advance(minutes=1)
    with db.read() as s:
        rows = s.scalars(select(WebhookDelivery).where(WebhookDelivery.channel == "province")).all()
        assert {r.status for r in rows} == {"delivered"}
        message_ids = sorted(r.message_id for r in rows)
    received = [mid for mid, _ in receiver.accepted]
    assert sent == len(received) == len(rows) == len(scores) + 1  # sent vs received: every one exactly once
    assert sorted(received) == message_ids and len(set(received)) == len(received)
    assert receiver.bad_signatures == 0
    print(f"\nprovince upload: {len(rows)} queued, {receiver.refused} attempts refused during the outage, "
          f"{sent} sent, {len(received)} received, {len(set(received))} distinct")
    by_id = dict(receiver.accepted)
    # Order per rating: the rectification result after the rating it belongs to.
    first_bad = next(m for m in by_id.values() if m["kind"] == "rectification")["hall_rating_id"]
    assert received.index(f"rating-{first_bad}") < received.index(
        next(k for k, m in by_id.items() if m["kind"] == "rectification"))
    result = next(m for m in by_id.values() if m["kind"] == "rectification")["rectification"]
    assert result["status"] == "closed" and result["on_time"] is True
    pad_message = by_id["rating-2"]
    rating = pad_message["rating"]
    assert pad_message["schema_version"] == "1.0" and pad_message["kind"] == "rating"
    assert rating["case_number"].startswith("DEMO2026") and rating["region_code"] == REGION
    assert rating["service_item"]["code"] == "SB001" and rating["service_item"]["version"] == "3"
    assert rating["implementation_code"] == "11220102MB0000001X"
    assert rating["department"]["code"] and rating["channel"] == "pad" and rating["level"] == 4
    assert rating["applicant_type"] == "natural_person" and rating["masked_id"] == "220102********1234"
    assert rating["clerk"]["name"] == "王丽" and rating["times"]["rated_at"].startswith("2026-03-02")
    phone = by_id["rating-1"]["rating"]
    assert phone["channel"] == "qr" and phone["applicant_type"] == "anonymous" and phone["masked_id"] is None
    bad = by_id[f"rating-{first_bad}"]
    assert bad["rating"]["reasons"][0]["name"] == "服务态度不好" and bad["rectification"]["status"] == "open"
    body = json.dumps(receiver.accepted)
    assert "张三丰" not in body and "220102199001011234" not in body  # masked only


def test_a_reopened_rating_goes_up_to_the_platform_after_the_first_answer(api, app, db, clock, receiver):
    mgr = api.token("manager")
    r = api.client.put(f"/api/v1/halls/{api.hall_id}/rating-settings", headers={"Authorization": f"Bearer {mgr}"},
                       json={"province_url": receiver.url, "province_secret": SECRET, "region_code": REGION})
    assert r.status_code == 200
    receiver.down = False
    api.sign_in("clerk01", 1)
    issued = serve_visit(api)
    out = api.post(f"/api/v1/tickets/{issued['id']}/rating", {"score": 1, "reasons": ["attitude"]},
                   token=pad_token(api, 1))
    case_id = out.get_json()["rectification_id"]
    base = f"/api/v1/rectifications/{case_id}"
    for step, body in (("assign", {"fix_plan": "服务礼仪培训"}), ("fix", {"fix": "已培训"}),
                       ("feedback", {"feedback": "已致歉"})):
        assert api.post(f"{base}/{step}", body, token=mgr).status_code == 200
    # The rater, on the phone, is not satisfied with the answer: the case runs again, and the platform hears of it.
    r = api.post(f"/api/v1/follow/{issued['follow_code']}/rectification-answer",
                 {"rectification_id": case_id, "satisfied": False})
    assert r.status_code == 200 and r.get_json()["status"] == "assigned"
    for step, body in (("fix", {"fix": "调整岗位"}), ("feedback", {"feedback": "已再次致歉并调整岗位"})):
        assert api.post(f"{base}/{step}", body, token=mgr).status_code == 200
    assert api.post(f"{base}/rater-answer", {"satisfied": True}, token=mgr).status_code == 200
    assert api.post(f"{base}/close", None, token=mgr).status_code == 200
    rt = runtime(app)
    for _ in range(5):
        provincial.deliver_due(db, rt.vault, now=clock.now())
        clock.advance(minutes=1)
    kinds = [(event, m["kind"]) for event, m in receiver.accepted]
    assert [k for _, k in kinds] == ["rating", "reopened", "rectification"]
    reopened = receiver.accepted[1][1]
    assert reopened["message_id"] == f"reopened-{case_id}-1" and reopened["schema_version"] == "1.0"
    assert reopened["rectification"]["rater_answer"] == "not_satisfied"
    assert reopened["rectification"]["reopened"] == 1 and reopened["rectification"]["status"] == "assigned"
    assert reopened["rating"]["case_number"] and reopened["rating"]["masked_id"] == "220102********1234"
    closed = receiver.accepted[2][1]["rectification"]
    assert closed["status"] == "closed" and closed["rater_answer"] == "satisfied" and closed["reopened"] == 1
    assert "张三丰" not in json.dumps(receiver.accepted)

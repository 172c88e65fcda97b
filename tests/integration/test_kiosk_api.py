"""Kiosk API on the queue server: scanned pages, device health alerts, green-channel revocation,
and the "three or fewer ahead" SMS queued once per ticket."""
from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import func, select

from hall_queue.domain.models import Alert, AuditEvent, Hall, Notification


def _jpeg(w: int = 320, h: int = 450) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (240, 240, 230)).save(buf, "JPEG")
    return buf.getvalue()


def _upload(api, ticket_id: int, data: bytes, *, token: str | None, content_type: str = "image/jpeg",
            page_size: str = "A4"):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return api.client.post(f"/api/v1/tickets/{ticket_id}/attachments?page_size={page_size}", data=data,
                           headers=headers)


# ---------------------------------------------------------------- scanned pages

def test_kiosk_uploads_pages_and_staff_read_them(api):
    t = api.issue("SS001")
    kiosk = api.tokens["kiosk"]
    r1 = _upload(api, t["id"], _jpeg(), token=kiosk)
    r2 = _upload(api, t["id"], _jpeg(300, 200), token=kiosk, page_size="bogus")
    assert r1.status_code == 201, r1.get_json()
    assert r2.status_code == 201
    assert [r1.get_json()["position"], r2.get_json()["position"]] == [1, 2]
    assert r2.get_json()["page_size_name"] == "custom"  # unknown names are not stored as given

    api.sign_in("clerk01", 1)
    assert api.call("clerk01", 1)["ticket"]["id"] == t["id"]  # pages are for the clerk holding the ticket
    listed = api.get(f"/api/v1/tickets/{t['id']}/attachments", token=api.token("clerk01")).get_json()["items"]
    assert [(p["position"], p["width"], p["height"]) for p in listed] == [(1, 320, 450), (2, 300, 200)]
    img = api.get(listed[0]["url"], token=api.token("manager"))
    assert img.status_code == 200
    assert img.mimetype == "image/jpeg" and img.headers["Cache-Control"] == "no-store"
    assert Image.open(io.BytesIO(img.data)).size == (320, 450)
    audit = api.get(f"/api/v1/halls/{api.hall_id}/audit", token=api.token("manager")).get_json()["items"]
    assert sum(1 for a in audit if a["action"] == "ticket.attach_page") == 2


def test_page_upload_roles_and_validation(api):
    t = api.issue("SS001")
    kiosk = api.tokens["kiosk"]
    assert _upload(api, t["id"], _jpeg(), token=None).status_code == 401
    assert _upload(api, t["id"], _jpeg(), token=api.token("clerk01")).status_code == 403
    assert _upload(api, t["id"], _jpeg(), token=api.tokens["screen"]).status_code == 403
    bad = _upload(api, t["id"], b"not an image at all", token=kiosk)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "bad_image"
    png_as_jpeg = io.BytesIO()
    Image.new("RGB", (10, 10)).save(png_as_jpeg, "PNG")
    assert _upload(api, t["id"], png_as_jpeg.getvalue(), token=kiosk).get_json()["error"]["code"] == "bad_image"
    assert _upload(api, t["id"], b"", token=kiosk).status_code == 422
    assert _upload(api, t["id"], _jpeg(), token=kiosk, content_type="application/pdf").status_code == 422
    assert _upload(api, 999999, _jpeg(), token=kiosk).status_code == 404
    assert _upload(api, 2**63, _jpeg(), token=kiosk).status_code == 404
    assert api.get(f"/api/v1/tickets/{t['id']}/attachments/12345", token=api.token("manager")).status_code == 404
    assert api.get(f"/api/v1/tickets/{t['id']}/attachments", token=None).status_code == 401
    # A finished (here: cancelled) ticket takes no more pages.
    api.post(f"/api/v1/tickets/{t['id']}/cancel", token=kiosk)
    closed = _upload(api, t["id"], _jpeg(), token=kiosk)
    assert closed.status_code == 409 and closed.get_json()["error"]["code"] == "wrong_state"


def test_page_limit_per_ticket(api, monkeypatch):
    from hall_queue.queueing import attachments

    monkeypatch.setattr(attachments, "MAX_PAGES_PER_TICKET", 2)
    t = api.issue("SB002")
    for _ in range(2):
        assert _upload(api, t["id"], _jpeg(), token=api.tokens["kiosk"]).status_code == 201
    third = _upload(api, t["id"], _jpeg(), token=api.tokens["kiosk"])
    assert third.status_code == 409 and third.get_json()["error"]["code"] == "too_many_pages"


# ---------------------------------------------------------------- device health

def test_printer_fault_raises_one_alert_and_recovery_clears_it(api, db):
    path = f"/api/v1/halls/{api.hall_id}/device-health"
    kiosk = api.tokens["kiosk"]
    fault = {"device": "printer", "state": "fault", "reason": "paper_out"}
    r = api.post(path, fault, token=kiosk)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "fault" and r.get_json()["alert_id"]
    assert api.post(path, fault, token=kiosk).get_json()["alert_id"] == r.get_json()["alert_id"]  # no duplicate

    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    device_alerts = [a for a in alerts if a["kind"] == "device_fault"]
    assert len(device_alerts) == 1 and "缺纸" in device_alerts[0]["message"]
    # The audit log says the fault's reason in Chinese, never the device's code.
    logged = api.get(f"/api/v1/halls/{api.hall_id}/audit-log?action=device.fault",
                     token=api.token("manager")).get_json()["items"]
    assert [i["notes"] for i in logged] == ["原因：缺纸"]
    listed = api.get(path, token=api.token("manager")).get_json()["items"]
    assert listed[0]["device"] == "printer" and listed[0]["state"] == "fault" and listed[0]["kiosk"] == "大厅1号取号机"

    assert api.post(path, {"device": "printer", "state": "online"}, token=kiosk).get_json()["alert_id"] is None
    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    assert not [a for a in alerts if a["kind"] == "device_fault"]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "device_fault")) == 1


def test_device_health_publishes_alert_events(api, app):
    seen = []
    app.extensions["onevisit"].emit = lambda name, payload, room: seen.append((name, room, payload))
    path = f"/api/v1/halls/{api.hall_id}/device-health"
    api.post(path, {"device": "idcard", "state": "offline", "reason": "port"}, token=api.tokens["kiosk"])
    api.post(path, {"device": "idcard", "state": "online"}, token=api.tokens["kiosk"])
    names = [(n, room) for n, room, _ in seen]
    assert ("alert", f"hall:{api.hall_id}") in names and ("alert_cleared", f"hall:{api.hall_id}") in names
    raised = next(p for n, _, p in seen if n == "alert")
    assert raised["kind"] == "device_fault" and raised["device"] == "idcard"


def test_device_health_roles_and_validation(api):
    path = f"/api/v1/halls/{api.hall_id}/device-health"
    body = {"device": "printer", "state": "fault"}
    assert api.post(path, body).status_code == 401
    assert api.post(path, body, token=api.token("manager")).status_code == 403
    assert api.post(path, body, token=api.tokens["screen"]).status_code == 403
    for bad in ({"device": "toaster", "state": "fault"}, {"device": "printer", "state": "on fire"},
                {"device": "printer"}, {"device": "printer", "state": "fault", "extra": 1},
                {"device": "printer", "state": "fault", "reason": "x" * 101}):
        r = api.post(path, bad, token=api.tokens["kiosk"])
        assert r.status_code == 422, (bad, r.get_json())
    r = api.client.post(path, data="{not json", headers={"Authorization": f"Bearer {api.tokens['kiosk']}",
                                                         "Content-Type": "application/json"})
    assert r.status_code == 400
    assert api.post("/api/v1/halls/999/device-health", body, token=api.tokens["kiosk"]).status_code == 404
    assert api.get(path, token=api.tokens["kiosk"]).status_code == 403


# ---------------------------------------------------------------- green channel

def test_clerk_holding_the_ticket_revokes_green_and_it_is_audited(api):
    api.sign_in("clerk01", 1)
    api.sign_in("clerk03", 3)
    t = api.issue("SS001", priority_class="green", green_reason="elderly")
    called = api.call("clerk01", 1)["ticket"]
    assert called["id"] == t["id"]
    # Another clerk (not at the holding window) may not.
    other = api.post(f"/api/v1/tickets/{t['id']}/revoke-green", {"reason": "不符合条件"}, token=api.token("clerk03"))
    assert other.status_code == 403
    r = api.act("clerk01", t["id"], "revoke-green", {"reason": "不符合绿色通道条件"})
    assert r["priority_class"] == "ordinary" and r["green_reason"] is None
    again = api.post(f"/api/v1/tickets/{t['id']}/revoke-green", {"reason": "x"}, token=api.token("clerk01"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_green"
    audit = api.get(f"/api/v1/halls/{api.hall_id}/audit", token=api.token("manager")).get_json()["items"]
    entry = next(a for a in audit if a["action"] == "ticket.revoke_green")
    assert entry["ticket_id"] == t["id"] and entry["detail"]["previous"] == "elderly"


def test_manager_revokes_a_waiting_green_ticket(api):
    t = api.issue("SS001", priority_class="green", green_reason="pregnant")
    assert api.post(f"/api/v1/tickets/{t['id']}/revoke-green", {"reason": "滥用"}, token=api.token("clerk01")).status_code == 403
    assert api.post(f"/api/v1/tickets/{t['id']}/revoke-green", {"reason": "滥用"}, token=api.tokens["kiosk"]).status_code == 403
    assert api.post(f"/api/v1/tickets/{t['id']}/revoke-green", {}, token=api.token("manager")).status_code == 422
    r = api.post(f"/api/v1/tickets/{t['id']}/revoke-green", {"reason": "滥用"}, token=api.token("manager"))
    assert r.status_code == 200 and r.get_json()["priority_class"] == "ordinary"


# ---------------------------------------------------------------- near-turn SMS (three or fewer ahead)

def test_near_turn_sms_is_queued_once_per_ticket(api, db):
    api.sign_in("clerk01", 1)
    tickets = [api.issue("SS001", phone="13800138000" if n in (3, 5) else None) for n in range(7)]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 0
    api.call("clerk01", 1)  # ticket 0 called: ticket 3 now has 2 ahead
    with db.read() as s:
        rows = s.scalars(select(Notification)).all()
        assert [(r.kind, r.dedup_key) for r in rows] == [("near_turn", f"near_turn:{tickets[3]['id']}")]
        assert "前面还有 2 人" in rows[0].text and tickets[3]["number"] in rows[0].text
        assert "13800138000" not in rows[0].phone_cipher  # stored encrypted
    api.act("clerk01", tickets[0]["id"], "finish", {"outcome": "completed"})
    api.call("clerk01", 1)  # ticket 1: ticket 3 has 1 ahead, ticket 5 has 3 ahead
    api.act("clerk01", tickets[1]["id"], "finish", {"outcome": "completed"})
    api.call("clerk01", 1)
    with db.read() as s:
        keys = sorted(r.dedup_key for r in s.scalars(select(Notification)))
    assert keys == sorted([f"near_turn:{tickets[3]['id']}", f"near_turn:{tickets[5]['id']}"])


def test_the_publisher_checks_a_queue_for_near_turn_once_per_batch_and_still_sends(api, db, app):
    from sqlalchemy import event

    from hall_queue.bootstrap import runtime

    rt = runtime(app)
    api.sign_in("clerk01", 1)
    api.sign_in("clerk02", 2)
    tickets = [api.issue("SS001", phone="13800138000" if n == 4 else None) for n in range(8)]
    seen: list = []
    rt.publish = seen.extend  # the events queue up unhandled, as for the publisher thread under load
    try:
        first = api.call("clerk01", 1)["ticket"]
        api.call("clerk02", 2)
        api.act("clerk01", first["id"], "finish", {"outcome": "completed"})
        api.call("clerk01", 1)  # three calls of one queue: ticket 4 now has one ahead
    finally:
        del rt.publish
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 0
    heads: list[str] = []

    def on_execute(_conn, _cursor, statement, *_a):
        if "FROM tickets" in statement and "LIMIT" in statement and "phone_cipher IS NOT NULL" in statement:
            heads.append(statement)
    for e in db.engines:
        event.listen(e, "before_cursor_execute", on_execute)
    try:
        rt.publish_batch(seen)  # the calls, finishes and figures, queued up together as under load
    finally:
        for e in db.engines:
            event.remove(e, "before_cursor_execute", on_execute)
    assert sum(1 for e in seen if e.name == "ticket_called") == 3
    # One look at the queue's heads for the whole batch (not one per call), and its re-check under the writer
    # lock before the SMS is queued.
    assert len(heads) == 2, heads
    with db.read() as s:
        keys = [r.dedup_key for r in s.scalars(select(Notification))]
    assert keys == [f"near_turn:{tickets[4]['id']}"]


def test_hall_closed_and_daily_cap_answers_the_kiosk_shows(api, db):
    def close(s):
        s.get(Hall, api.hall_id).opening_hours = {}
    db.run_write(close)
    r = api.post(f"/api/v1/halls/{api.hall_id}/tickets", {"item_ids": [api.items["SS001"]]}, token=api.tokens["kiosk"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "hall_closed"
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "ticket.issue")) == 0

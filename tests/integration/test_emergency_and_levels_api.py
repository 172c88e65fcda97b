"""The clerk's emergency alarm and the service-level endpoints over HTTP (issue 17)."""
from __future__ import annotations


def test_emergency_alarm_raised_by_the_clerk_and_acknowledged_by_a_manager(api):
    api.sign_in("clerk01", 1)
    w1 = api.windows[1]
    r = api.post(f"/api/v1/windows/{w1}/emergency", token=api.token("clerk01"))
    assert r.status_code == 201, r.get_json()
    alarm = r.get_json()
    assert alarm["kind"] == "emergency" and alarm["window_id"] == w1 and alarm["acknowledged_at"] is None
    assert "1号窗口" in alarm["message"] and "10:00" in alarm["message"]  # the window and the local time
    again = api.post(f"/api/v1/windows/{w1}/emergency", token=api.token("clerk01")).get_json()
    assert again["id"] == alarm["id"]  # a second press while it is open raises nothing new
    # Only the clerk signed in at that window presses its button.
    assert api.post(f"/api/v1/windows/{w1}/emergency", token=api.token("clerk02")).status_code == 403

    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    assert [a["id"] for a in alerts if a["kind"] == "emergency"] == [alarm["id"]]
    snap = api.get(f"/api/v1/halls/{api.hall_id}/snapshot", token=api.token("manager")).get_json()
    assert any(a["id"] == alarm["id"] for a in snap["alerts"])

    assert api.post(f"/api/v1/alerts/{alarm['id']}/acknowledge", token=api.token("clerk01")).status_code == 403
    api.clock.advance(seconds=42)
    ack = api.post(f"/api/v1/alerts/{alarm['id']}/acknowledge", token=api.token("manager"))
    assert ack.status_code == 200, ack.get_json()
    assert ack.get_json()["acknowledged_at"] is not None and ack.get_json()["acknowledged_by_id"] is not None
    again = api.post(f"/api/v1/alerts/{alarm['id']}/acknowledge", token=api.token("manager"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_acknowledged"
    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    assert not [a for a in alerts if a["kind"] == "emergency"]

    audit = api.get(f"/api/v1/halls/{api.hall_id}/audit", token=api.token("manager")).get_json()["items"]
    actions = {a["action"]: a for a in audit}
    assert actions["alarm.emergency"]["window_id"] == w1
    assert actions["alarm.acknowledge"]["detail"]["after_s"] == 42
    # A new press after the acknowledgement is a new alarm.
    third = api.post(f"/api/v1/windows/{w1}/emergency", token=api.token("clerk01")).get_json()
    assert third["id"] != alarm["id"]


def test_service_levels_now_and_statistics(api):
    api.sign_in("clerk01", 1)
    api.issue("SS001")
    r = api.get(f"/api/v1/halls/{api.hall_id}/service-levels", token=api.token("manager"))
    assert r.status_code == 200, r.get_json()
    v = r.get_json()
    assert v["hall_state"] in ("green", "amber", "red")
    assert {"sl_max_wait_s", "sl_max_service_s", "sl_max_idle_s", "sl_max_queue_len"} == set(v["targets"])
    assert {q["prefix"] for q in v["queues"]} and {w["number"] for w in v["windows"]} >= {1}
    assert api.get(f"/api/v1/halls/{api.hall_id}/service-levels", token=api.token("clerk01")).status_code == 403
    api.call("clerk01", 1)
    s = api.get(f"/api/v1/halls/{api.hall_id}/service-levels/statistics?from=2026-03-02&to=2026-03-02",
                token=api.token("manager"))
    assert s.status_code == 200, s.get_json()
    (cell,) = s.get_json()["queues"]
    assert (cell["day"], cell["hour"], cell["called"], cell["within_wait_share"]) == ("2026-03-02", 10, 1, 1.0)
    assert cell["over_service_share"] is None  # nothing finished yet: no share, not 0

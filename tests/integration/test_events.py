"""Socket.IO: a client that joins gets a snapshot first, then events published after commit."""
from __future__ import annotations


from hall_queue.infrastructure.realtime import socketio


def _client(app, token):
    return socketio.test_client(app, auth={"token": token})


def test_join_hall_gets_snapshot_then_events(app, api):
    screen = _client(app, api.tokens["screen"])
    assert screen.is_connected()
    ack = screen.emit("join", {"hall": api.hall_id}, callback=True)
    assert ack == {"ok": True, "room": f"hall:{api.hall_id}"}
    received = screen.get_received()
    assert [r["name"] for r in received] == ["snapshot"]
    snap = received[0]["args"][0]
    assert snap["hall"]["name"] == "示例市政务服务中心" and len(snap["windows"]) == 12

    api.sign_in("clerk01", 1)
    t = api.issue("SS001", name="张三丰", id_number="220102199003071234")
    api.call("clerk01", 1)
    api.act("clerk01", t["id"], "recall")
    api.act("clerk01", t["id"], "finish", {"outcome": "completed"})
    names = [r["name"] for r in screen.get_received()]
    for expected in ("window_status", "ticket_issued", "queue_stats", "ticket_called", "ticket_recalled",
                     "ticket_finished"):
        assert expected in names, names
    assert names.index("ticket_issued") < names.index("ticket_called") < names.index("ticket_finished")


def test_window_room_and_privacy_of_payloads(app, api):
    api.sign_in("clerk01", 1)
    ws = _client(app, api.tokens["screen"])
    ws.emit("join", {"window": api.windows[1]}, callback=True)
    snap = ws.get_received()[0]["args"][0]
    assert snap["window"]["number"] == 1 and snap["window"]["clerk_name"] == "王丽"
    api.issue("SS001", name="张三丰", id_number="220102199003071234")
    api.call("clerk01", 1)
    got = ws.get_received()
    called = [r for r in got if r["name"] == "ticket_called"]
    assert called and called[0]["args"][0]["window"]["number"] == 1
    text = repr(got)
    assert "220102199003071234" not in text and "张三丰" not in text and "张*丰" in text
    assert "ticket_issued" not in [r["name"] for r in got]  # issue events go to the hall room only


def test_refused_without_token_and_bad_joins(app, api):
    anon = socketio.test_client(app)
    assert not anon.is_connected()
    bad = _client(app, "nope")
    assert not bad.is_connected()
    c = _client(app, api.tokens["screen"])
    assert c.emit("join", {"hall": 999}, callback=True)["error"]["code"] == "not_found"
    assert c.emit("join", "hall", callback=True)["error"]["code"] == "invalid"
    assert c.emit("join", {"window": True}, callback=True)["error"]["code"] == "invalid"


def test_no_event_when_the_transaction_fails(app, api):
    c = _client(app, api.tokens["screen"])
    c.emit("join", {"hall": api.hall_id}, callback=True)
    c.get_received()
    r = api.post(f"/api/v1/halls/{api.hall_id}/tickets", {"item_ids": [api.items["ZH001"], api.items["ZH002"]]},
                 token=api.tokens["kiosk"])
    assert r.status_code == 422
    assert c.get_received() == []


def test_post_events_reach_both_windows(app, api):
    api.sign_in("clerk01", 1)
    api.sign_in("clerk02", 2)
    w2 = _client(app, api.tokens["screen"])
    w2.emit("join", {"window": api.windows[2]}, callback=True)
    w2.get_received()
    api.post(f"/api/v1/windows/{api.windows[1]}/sign-out", token=api.token("clerk01"))
    covered = [r for r in w2.get_received() if r["name"] == "post_covered"]
    assert covered and covered[0]["args"][0]["message"] == "1号窗口由2号窗口顶岗"

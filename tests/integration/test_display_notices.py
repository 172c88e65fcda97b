"""Notices API (issue 5): who may list, post and remove; validation; notice_changed events; snapshots."""
from __future__ import annotations

from hall_queue.access.auth import issue_token
from hall_queue.entrypoints.demo.loader import load_demo_hall
from hall_queue.infrastructure.realtime import socketio

NOTICE = "今日下午14:00至15:00系统维护，不动产业务暂停办理"


def _screen(app, api):
    c = socketio.test_client(app, auth={"token": api.tokens["screen"]})
    assert c.emit("join", {"hall": api.hall_id}, callback=True)["ok"] is True
    return c


def _notices_path(api):
    return f"/api/v1/halls/{api.hall_id}/notices"


def test_manager_posts_screen_lists_and_the_hall_room_hears_it(app, api):
    screen = _screen(app, api)
    snap = screen.get_received()[0]["args"][0]
    assert snap["notices"] == []
    r = api.post(_notices_path(api), {"text": f"  {NOTICE}  "}, token=api.token("manager"))
    assert r.status_code == 201, r.get_json()
    posted = r.get_json()
    assert posted["text"] == NOTICE and posted["active"] is True and posted["expires_at"] is None
    events = [e for e in screen.get_received() if e["name"] == "notice_changed"]
    assert len(events) == 1
    payload = events[0]["args"][0]
    assert payload["action"] == "posted" and [n["text"] for n in payload["notices"]] == [NOTICE]
    listed = api.get(_notices_path(api), token=api.tokens["screen"]).get_json()["items"]
    assert [n["id"] for n in listed] == [posted["id"]]
    # A screen that joins later gets the notice inside its snapshot.
    late = _screen(app, api)
    assert [n["text"] for n in late.get_received()[0]["args"][0]["notices"]] == [NOTICE]


def test_roles(api):
    path = _notices_path(api)
    assert api.get(path, token=api.token("clerk01")).status_code == 200
    assert api.get(path, token=api.tokens["kiosk"]).status_code == 403
    assert api.get(path).status_code == 401
    assert api.post(path, {"text": "x"}, token=api.token("clerk01")).status_code == 403
    assert api.post(path, {"text": "x"}, token=api.tokens["screen"]).status_code == 403
    assert api.post(path, {"text": "x"}, token=api.tokens["kiosk"]).status_code == 403
    assert api.post(path, {"text": "管理员发布"}, token=api.token("admin")).status_code == 201
    nid = api.post(path, {"text": "值班长发布"}, token=api.token("manager")).get_json()["id"]
    assert api.client.delete(f"/api/v1/notices/{nid}", headers={
        "Authorization": f"Bearer {api.token('clerk01')}"}).status_code == 403
    assert api.client.delete(f"/api/v1/notices/{nid}", headers={
        "Authorization": f"Bearer {api.tokens['screen']}"}).status_code == 403


def test_validation(api, clock):
    path, tok = _notices_path(api), api.token("manager")
    for body in ({"text": ""}, {"text": "   "}, {"text": "字" * 201}, {}, {"text": "ok", "colour": "red"},
                 {"text": "ok", "expires_at": "tomorrow"}, {"text": 5}):
        r = api.post(path, body, token=tok)
        assert r.status_code == 422, (body, r.get_json())
        assert r.get_json()["error"]["code"] in ("validation_error",)
    assert api.post(path, {"text": "字" * 200}, token=tok).status_code == 201
    past = api.post(path, {"text": "过期", "expires_at": "2026-03-02T01:00:00Z"}, token=tok)
    assert past.status_code == 422 and past.get_json()["error"]["code"] == "expires_in_past"
    r = api.client.post(path, data="not json", headers={"Authorization": f"Bearer {tok}",
                                                        "Content-Type": "application/json"})
    assert r.status_code == 400
    # Line breaks are folded: the marquee shows one line.
    r = api.post(path, {"text": "第一行\n第二行"}, token=tok)
    assert r.get_json()["text"] == "第一行 第二行"


def test_expiry_with_offset_and_the_cap(api, clock):
    path, tok = _notices_path(api), api.token("manager")
    # 10:30 Shanghai = 02:30 UTC; the clock stands at 02:00 UTC.
    r = api.post(path, {"text": "半小时后结束", "expires_at": "2026-03-02T10:30:00+08:00"}, token=tok)
    assert r.status_code == 201 and r.get_json()["expires_at"] == "2026-03-02T02:30:00Z"
    assert len(api.get(path, token=api.tokens["screen"]).get_json()["items"]) == 1
    clock.advance(minutes=31)
    assert api.get(path, token=api.tokens["screen"]).get_json()["items"] == []
    for i in range(20):
        assert api.post(path, {"text": f"公告{i}"}, token=tok).status_code == 201
    over = api.post(path, {"text": "第21条"}, token=tok)
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "too_many_notices"


def test_delete_publishes_and_is_idempotent(app, api):
    tok = api.token("manager")
    keep = api.post(_notices_path(api), {"text": "保留"}, token=tok).get_json()
    gone = api.post(_notices_path(api), {"text": "撤下"}, token=tok).get_json()
    screen = _screen(app, api)
    screen.get_received()
    h = {"Authorization": f"Bearer {tok}"}
    r = api.client.delete(f"/api/v1/notices/{gone['id']}", headers=h)
    assert r.status_code == 200 and r.get_json()["notice"]["active"] is False
    events = [e["args"][0] for e in screen.get_received() if e["name"] == "notice_changed"]
    assert len(events) == 1 and events[0]["action"] == "removed"
    assert [n["id"] for n in events[0]["notices"]] == [keep["id"]]
    again = api.client.delete(f"/api/v1/notices/{gone['id']}", headers=h)
    assert again.status_code == 200 and screen.get_received() == []
    assert api.client.delete("/api/v1/notices/999999", headers=h).status_code == 404
    listed = api.get(_notices_path(api), token=api.tokens["screen"]).get_json()["items"]
    assert [n["id"] for n in listed] == [keep["id"]]


def test_other_halls_notices_are_out_of_reach(api, db, clock):
    def other_hall(s):
        h = load_demo_hall(s, now=clock.now(), code="east", name="东区分厅")
        return issue_token(s, kind="screen", hall_id=h.id, now=clock.now()), h.id

    other_screen, other_id = db.run_write(other_hall)
    tok = api.token("manager")
    nid = api.post(_notices_path(api), {"text": "本厅公告"}, token=tok).get_json()["id"]
    # The demo manager belongs to the demo hall: the other hall is not found, nor is our notice for them.
    assert api.post(f"/api/v1/halls/{other_id}/notices", {"text": "x"}, token=tok).status_code == 404
    assert api.get(_notices_path(api), token=other_screen).status_code == 404
    east_manager = api.token("east-manager")
    assert api.client.delete(f"/api/v1/notices/{nid}", headers={
        "Authorization": f"Bearer {east_manager}"}).status_code == 404


def test_notice_operations_are_in_openapi(api):
    doc = api.get("/api/v1/openapi.json").get_json()
    ops = doc["paths"]["/api/v1/halls/{hall_id}/notices"]
    assert set(ops) == {"get", "post"} and ops["post"]["x-roles"] == ["admin", "manager"]
    assert "delete" in doc["paths"]["/api/v1/notices/{notice_id}"]

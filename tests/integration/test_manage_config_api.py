"""Configuration API (issue 6b): validation as clear 4xx (never 500), roles, hall scoping, 409 in use, audit."""
from __future__ import annotations

from sqlalchemy import func, select

from hall_queue.entrypoints.demo.loader import load_demo_hall
from hall_queue.domain.models import AuditEvent, Hall, ServiceItem, Staff, Window


def _err(r, status, code=None):
    body = r.get_json()
    assert r.status_code == status, (r.status_code, body)
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def _req(api, method, path, json=None, token=None):
    h = {"Authorization": f"Bearer {token}"} if token else {}
    return api.client.open(path, method=method, json=json, headers=h)


def _cat(api, m):
    return api.get(f"/api/v1/halls/{api.hall_id}/categories", token=m).get_json()["items"][0]["id"]


def test_item_crud_with_validation_and_audit(api, db):
    m = api.token("manager")
    url = f"/api/v1/halls/{api.hall_id}/items"
    cat = _cat(api, m)
    good = {"code": "NEW01", "name": "新事项", "category_id": cat, "kind": "promised", "promised_days": 5,
            "materials": [{"name": "身份证", "form": "original", "count": 1, "required": True, "deferrable": False}],
            "guide": {"fees": "不收费"}, "queue_ids": [api.queues["A"]], "on_the_spot": True}
    r = api.post(url, good, token=m)
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    assert item["kind"] == "promised" and item["queue_ids"] == [api.queues["A"]] and item["pinyin_initials"] == "xsx"
    # Validation: each a 422 naming the problem.
    assert "promised_days" in _err(api.post(url, {**good, "code": "N2", "promised_days": None}, token=m), 422)["message"]
    _err(api.post(url, {**good, "code": "N3", "kind": "immediate"}, token=m), 422)        # immediate with days
    _err(api.post(url, {**good, "code": "bad code!"}, token=m), 422, "validation_error")
    _err(api.post(url, {**good, "code": "N4", "materials": [{"name": "x", "form": "scan"}]}, token=m), 422)
    _err(api.post(url, {**good, "code": "N5", "typical_service_s": 10**12}, token=m), 422)
    _err(api.post(url, {**good, "code": "N6", "queue_ids": [99999]}, token=m), 404, "not_found")
    _err(api.post(url, {**good, "code": "N7", "category_id": 99999}, token=m), 404, "not_found")
    _err(api.post(url, good, token=m), 409, "conflict")                                    # code taken
    _err(api.post(url, {**good, "surprise": 1}, token=m), 422)
    # Partial change keeps the rest; an invalid combination is refused.
    r = _req(api, "PATCH", f"/api/v1/items/{item['id']}", {"name": "改名事项"}, m)
    assert r.status_code == 200 and r.get_json()["promised_days"] == 5 and r.get_json()["name"] == "改名事项"
    _err(_req(api, "PATCH", f"/api/v1/items/{item['id']}", {"kind": "immediate"}, m), 422)
    _err(_req(api, "PATCH", f"/api/v1/items/{item['id']}", {"name": None}, m), 422)
    _err(_req(api, "PATCH", f"/api/v1/items/{item['id']}", {}, m), 422)
    # Unused: deleted. Used by tickets: 409, and deactivating works instead.
    assert _req(api, "DELETE", f"/api/v1/items/{item['id']}", token=m).status_code == 200
    used = api.items["SS001"]
    api.issue("SS001")
    assert "deactivate" in _err(_req(api, "DELETE", f"/api/v1/items/{used}", token=m), 409, "in_use")["message"]
    r = _req(api, "PATCH", f"/api/v1/items/{used}", {"active": False}, m)
    assert r.status_code == 200 and r.get_json()["active"] is False
    codes = [i["code"] for i in api.client.get(f"/api/v1/halls/{api.hall_id}/catalog").get_json()["items"]]
    assert "SS001" not in codes                                                            # kiosks no longer offer it
    with db.read() as s:
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("config.%"))))
    assert {"config.item.save", "config.item.delete"} <= actions


def test_categories_queues_bundles_and_in_use(api):
    m = api.token("manager")
    h = api.hall_id
    r = api.post(f"/api/v1/halls/{h}/categories", {"code": "NEWC", "name": "新领域"}, token=m)
    assert r.status_code == 201
    cat = r.get_json()["id"]
    _err(api.post(f"/api/v1/halls/{h}/categories", {"code": "NEWC", "name": "重复"}, token=m), 409)
    used_cat = _cat(api, m)
    _err(_req(api, "DELETE", f"/api/v1/categories/{used_cat}", token=m), 409, "in_use")
    assert _req(api, "DELETE", f"/api/v1/categories/{cat}", token=m).status_code == 200
    # Queues: prefix unique per hall, normalised to upper case.
    _err(api.post(f"/api/v1/halls/{h}/queues", {"prefix": "a", "name": "重复字头"}, token=m), 409, "conflict")
    _err(api.post(f"/api/v1/halls/{h}/queues", {"prefix": "A1", "name": "坏字头"}, token=m), 422)
    r = api.post(f"/api/v1/halls/{h}/queues", {"prefix": "z", "name": "新队列", "daily_cap": 50,
                                                "item_ids": [api.items["SS001"]]}, token=m)
    assert r.status_code == 201 and r.get_json()["prefix"] == "Z"
    qz = r.get_json()["id"]
    _err(_req(api, "PATCH", f"/api/v1/queues/{qz}", {"daily_cap": 0}, m), 422)
    _err(_req(api, "DELETE", f"/api/v1/queues/{api.queues['A']}", token=m), 409, "in_use")
    # Bundles: items in order, queue of this hall.
    r = api.post(f"/api/v1/halls/{h}/bundles", {"code": "B9", "name": "新一件事", "queue_id": qz,
                                                 "item_ids": [api.items["SS004"], api.items["SS001"]]}, token=m)
    assert r.status_code == 201 and r.get_json()["item_ids"] == [api.items["SS004"], api.items["SS001"]]
    b = r.get_json()["id"]
    _err(api.post(f"/api/v1/halls/{h}/bundles", {"code": "B8", "name": "空", "queue_id": qz, "item_ids": []},
                  token=m), 422)
    _err(_req(api, "DELETE", f"/api/v1/queues/{qz}", token=m), 409, "in_use")          # the bundle routes to it
    r = _req(api, "PATCH", f"/api/v1/bundles/{b}", {"item_ids": [api.items["SS001"]]}, m)
    assert r.get_json()["item_ids"] == [api.items["SS001"]]
    assert _req(api, "DELETE", f"/api/v1/bundles/{b}", token=m).status_code == 200
    assert _req(api, "DELETE", f"/api/v1/queues/{qz}", token=m).status_code == 200


def test_windows_via_configure_window_and_staff(api, db):
    m = api.token("manager")
    h = api.hall_id
    r = api.post(f"/api/v1/halls/{h}/staff", {"username": "clerk99", "display_name": "新人", "employee_no": "099",
                                               "password": "secret-pass-1"}, token=m)
    assert r.status_code == 201 and r.get_json()["role"] == "clerk" and r.get_json()["hall_id"] == h
    new_clerk = r.get_json()["id"]
    _err(api.post(f"/api/v1/halls/{h}/staff", {"username": "mgr2", "display_name": "经理", "role": "manager",
                                                "password": "secret-pass-1"}, token=m), 403)   # managers add clerks
    _err(api.post(f"/api/v1/halls/{h}/staff", {"username": "clerk99", "display_name": "重复",
                                                "password": "secret-pass-1"}, token=m), 409)
    _err(api.post(f"/api/v1/halls/{h}/staff", {"username": "x1", "display_name": "短密码", "password": "short"},
                  token=m), 422)
    with db.read() as s:
        a_clerk = s.scalar(select(Staff.id).where(Staff.username == "clerk01"))
    body = {"number": 40, "name": "新窗口", "kind": "on_the_spot",
            "queues": [{"queue_id": api.queues["A"], "role": "primary"}], "a_clerk_id": new_clerk, "b_clerk_id": a_clerk}
    r = api.post(f"/api/v1/halls/{h}/windows", body, token=m)
    assert r.status_code == 201, r.get_json()
    w = r.get_json()
    assert w["kind"] == "on_the_spot" and w["queues"][0]["prefix"] == "A" and w["a_clerk_id"] == new_clerk
    _err(api.post(f"/api/v1/halls/{h}/windows", body, token=m), 409)                      # number taken
    _err(api.post(f"/api/v1/halls/{h}/windows", {**body, "number": 41, "b_clerk_id": new_clerk}, token=m), 422)
    _err(api.post(f"/api/v1/halls/{h}/windows", {**body, "number": 42, "kind": "vip"}, token=m), 422)
    # Its planned breaks (the wait estimate reads them): kept in time order; a break must end after it starts.
    r = _req(api, "PATCH", f"/api/v1/windows/{w['id']}", {"break_plan": [["15:00", "15:15"], ["11:45", "12:45"]]}, m)
    assert r.status_code == 200 and r.get_json()["break_plan"] == [["11:45", "12:45"], ["15:00", "15:15"]]
    _err(_req(api, "PATCH", f"/api/v1/windows/{w['id']}", {"break_plan": [["12:45", "11:45"]]}, m), 422)
    _err(_req(api, "PATCH", f"/api/v1/windows/{w['id']}", {"break_plan": [["25:00", "25:30"]]}, m), 422)
    # Digits are ASCII: "1٣:00" (Arabic-Indic) passed \d and reached time parsing.
    _err(_req(api, "PATCH", f"/api/v1/windows/{w['id']}", {"break_plan": [["1\u0663:00", "1\u0663:30"]]}, m), 422)
    assert _req(api, "PATCH", f"/api/v1/windows/{w['id']}", {"name": "新窗口"}, m).get_json()["break_plan"] == [
        ["11:45", "12:45"], ["15:00", "15:15"]]  # a change elsewhere keeps the plan
    r = _req(api, "PATCH", f"/api/v1/windows/{w['id']}", {"b_clerk_id": None, "name": "改名"}, m)
    assert r.status_code == 200 and r.get_json()["b_clerk_id"] is None and r.get_json()["a_clerk_id"] == new_clerk
    # The new clerk signs in at their window: the configuration is live.
    token = api.client.post("/api/v1/auth/login", json={"username": "clerk99", "password": "secret-pass-1"}).get_json()["token"]
    assert api.post(f"/api/v1/windows/{w['id']}/sign-in", token=token).status_code == 200
    _err(_req(api, "DELETE", f"/api/v1/windows/{w['id']}", token=m), 409, "in_use")
    api.post(f"/api/v1/windows/{w['id']}/sign-out", token=token)
    # Its post history (the empty post after sign-out) keeps it: close it instead.
    assert "post records" in _err(_req(api, "DELETE", f"/api/v1/windows/{w['id']}", token=m), 409, "in_use")["message"]
    spare = api.post(f"/api/v1/halls/{h}/windows", {"number": 43, "name": "备用"}, token=m).get_json()["id"]
    assert _req(api, "DELETE", f"/api/v1/windows/{spare}", token=m).status_code == 200
    # Disable: the clerk's token stops working at once; a password reset ends logins too.
    r = _req(api, "PATCH", f"/api/v1/staff/{new_clerk}", {"active": False}, m)
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert api.get(f"/api/v1/halls/{h}/snapshot", token=token).status_code == 401
    _err(_req(api, "PATCH", f"/api/v1/staff/{new_clerk}", {"active": None}, m), 422)
    me = api.client.post("/api/v1/auth/login", json={"username": "manager", "password": "onevisit-demo"}).get_json()
    _err(_req(api, "PATCH", f"/api/v1/staff/{me['staff']['id']}", {"active": False}, m), 403)
    r = api.post(f"/api/v1/staff/{a_clerk}/password", {"password": "brand-new-pass"}, token=m)
    assert r.status_code == 200
    assert api.client.post("/api/v1/auth/login", json={"username": "clerk01", "password": "brand-new-pass"}).status_code == 200


def test_hall_settings_and_opening_hours(api):
    m = api.token("manager")
    url = f"/api/v1/halls/{api.hall_id}/settings"
    r = _req(api, "PATCH", url, {"max_recalls": 2, "wait_alert_s": 900, "day_boundary": "04:00",
                                 "opening_hours": {"mon": [["8:30", "12:00"], ["13:00", "17:30"]]}}, m)
    assert r.status_code == 200, r.get_json()
    s = r.get_json()
    assert s["max_recalls"] == 2 and s["opening_hours"] == {"mon": [["08:30", "12:00"], ["13:00", "17:30"]]}
    _err(_req(api, "PATCH", url, {"opening_hours": {"mon": [["12:00", "08:00"]]}}, m), 422)
    _err(_req(api, "PATCH", url, {"opening_hours": {"funday": []}}, m), 422)
    _err(_req(api, "PATCH", url, {"opening_hours": {"mon": [["x", "y"]]}}, m), 422)
    _err(_req(api, "PATCH", url, {"timezone": "Mars/Olympus"}, m), 422)
    _err(_req(api, "PATCH", url, {"day_boundary": "25:00"}, m), 422)
    _err(_req(api, "PATCH", url, {"max_recalls": -1}, m), 422)
    assert api.get(url, token=m).get_json()["day_boundary"] == "04:00"


def _token(api, who):
    return api.tokens.get(who) or (api.token(who) if who else None)


def test_only_admins_create_halls(api):
    for who, status in [("manager", 403), ("clerk01", 403), ("kiosk", 403), ("screen", 403), (None, 401),
                        ("admin", 201)]:
        r = api.post("/api/v1/halls", {"code": f"h-{who or 'anon'}", "name": "新大厅"}, token=_token(api, who))
        assert r.status_code == status, (who, r.get_json())
    assert r.get_json()["code"] == "h-admin" and r.get_json()["timezone"] == "Asia/Shanghai"
    a = _token(api, "admin")
    _err(api.post("/api/v1/halls", {"code": "h-admin", "name": "重复"}, token=a), 409)
    _err(api.post("/api/v1/halls", {"code": "Bad Code", "name": "x"}, token=a), 422)
    _err(api.post("/api/v1/halls", {"code": "ok-code", "name": "x", "timezone": "Nowhere/City"}, token=a), 422)


def test_config_endpoints_roles(api):
    h = api.hall_id
    for who, status in [("admin", 200), ("manager", 200), ("clerk01", 403), ("kiosk", 403), ("screen", 403),
                        (None, 401)]:
        token = _token(api, who)
        for path in (f"/api/v1/halls/{h}/items", f"/api/v1/halls/{h}/categories", f"/api/v1/halls/{h}/queues",
                     f"/api/v1/halls/{h}/bundles", f"/api/v1/halls/{h}/staff", f"/api/v1/halls/{h}/settings",
                     f"/api/v1/halls/{h}/items.csv", f"/api/v1/items/{api.items['SS001']}"):
            assert api.get(path, token=token).status_code == status, (who, path)
        r = _req(api, "PATCH", f"/api/v1/items/{api.items['SS001']}", {"name": "企业设立登记（改）"}, token)
        assert r.status_code == status, who
        r = _req(api, "DELETE", f"/api/v1/queues/{api.queues['A']}", token=token)
        assert r.status_code == (409 if status == 200 else status), who              # queue A serves windows
        r = api.post(f"/api/v1/halls/{h}/categories", {"code": f"R{status}{who}", "name": "x"}, token=token)
        assert r.status_code == (201 if status == 200 else status), who


def test_managers_stay_in_their_hall_admins_do_not(api, db, clock):
    other = db.run_write(lambda s: load_demo_hall(s, now=clock.now(), code="north", name="北区分厅").id)
    with db.read() as s:
        other_item = s.scalar(select(ServiceItem.id).where(ServiceItem.hall_id == other))
        other_window = s.scalar(select(Window.id).where(Window.hall_id == other))
        other_clerk = s.scalar(select(Staff.id).where(Staff.hall_id == other, Staff.role == "clerk"))
    m, a = api.token("manager"), api.token("admin")
    assert api.get(f"/api/v1/halls/{other}/items", token=m).status_code == 404
    assert _req(api, "PATCH", f"/api/v1/items/{other_item}", {"name": "越权"}, m).status_code == 404
    assert _req(api, "DELETE", f"/api/v1/windows/{other_window}", token=m).status_code == 404
    assert _req(api, "PATCH", f"/api/v1/staff/{other_clerk}", {"active": False}, m).status_code == 404
    # A clerk of another hall cannot be put at this hall's window.
    r = _req(api, "PATCH", f"/api/v1/windows/{api.windows[1]}", {"a_clerk_id": other_clerk}, m)
    assert r.status_code == 404
    assert api.get(f"/api/v1/halls/{other}/items", token=a).status_code == 200
    assert _req(api, "PATCH", f"/api/v1/items/{other_item}", {"name": "管理员修改"}, a).status_code == 200
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Hall)) == 2

"""No 500s from hostile input (issue 13, finding 9): nested JSON and huge query integers answer 4xx JSON."""
from __future__ import annotations

import re
import socket

import pytest

from hall_queue.infrastructure.request_limits import (
    MAX_JSON_DEPTH,
    json_depth,
    loads_limited,
)
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD
from tests.conftest import engines

DEEP = "[" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


def _is_json_4xx(r) -> bool:
    body = r.get_json(silent=True) or {}
    return 400 <= r.status_code < 500 and {"code", "message"} <= set(body.get("error", {}))


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, '{"username": ' + DEEP + "}"], ids=["array", "object", "inner"])
def test_nested_json_on_login_complaints_and_tickets(api, body):
    paths = ["/api/v1/auth/login", f"/api/v1/halls/{api.hall_id}/complaints",
             f"/api/v1/halls/{api.hall_id}/tickets", f"/api/v1/halls/{api.hall_id}/complaints/record"]
    for path in paths:
        for token in (None, api.tokens["kiosk"], api.token("manager")):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = api.client.post(path, data=body, content_type="application/json", headers=headers)
            assert _is_json_4xx(r), (path, r.status_code, r.data[:200])


@pytest.fixture
def kiosk_pc(tmp_path):
    """The kiosk PC's own app (``onevisit kiosk``), its server unreachable."""
    from kiosk.agent import AgentConfig
    from kiosk.standalone import create_kiosk_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_kiosk_app(server=f"http://127.0.0.1:{port}", token="ovki_x",
                           config=AgentConfig(idcard_url=None, printer_url=f"virtual://?dir={tmp_path}",
                                              scanner_url=None, health_every_s=3600))
    yield app
    app.extensions["kiosk_agent"].stop()


def test_nested_json_on_the_kiosk_agent(kiosk_pc):
    c = kiosk_pc.test_client()
    for path in ("/kiosk/agent/tickets", "/kiosk/agent/checkin"):
        r = c.post(path, data=DEEP, content_type="application/json")
        assert 400 <= r.status_code < 500 or r.status_code == 503, (path, r.status_code)
        assert r.is_json and "error" in r.get_json()


def test_depth_is_counted_outside_strings_only():
    assert json_depth('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert json_depth('[[1], {"b": [2]}]') == 3
    assert loads_limited("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(ValueError):
        loads_limited("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize("value", ["99999999999999999999", "-99999999999999999999", "1" * 400])
def test_huge_query_integers_answer_400(api, value):
    clerk = api.token("clerk01")
    r = api.client.get(f"/api/v1/halls/{api.hall_id}/deferred-overdue", query_string={"window_id": value},
                       headers={"Authorization": f"Bearer {clerk}"})
    assert r.status_code == 400 and _is_json_4xx(r), r.data[:200]
    m = api.token("manager")
    r = api.client.get(f"/api/v1/halls/{api.hall_id}/ratings", query_string={"days": value},
                       headers={"Authorization": f"Bearer {m}"})
    assert r.status_code == 400 and _is_json_4xx(r)
    ok = api.client.get(f"/api/v1/halls/{api.hall_id}/deferred-overdue", query_string={"window_id": "abc"},
                        headers={"Authorization": f"Bearer {clerk}"})
    assert ok.status_code == 200  # not a number: ignored as before


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_nul_in_a_body_or_url_is_a_4xx_on_both_engines(api):
    # PostgreSQL's text cannot hold U+0000: these reached the driver and answered 500 there (SQLite took them).
    clerk, manager, kiosk = api.token("clerk01"), api.token("manager"), api.tokens["kiosk"]
    api.sign_in("clerk01", 1)
    base = f"/api/v1/halls/{api.hall_id}"
    for path, body, token in ((f"/api/v1/windows/{api.windows[1]}/pause", {"reason": "午\x00休"}, clerk),
                              (f"{base}/consultations", {"channel": "walk_up", "question": "怎么\x00办",
                                                         "answer": "这样办"}, clerk),
                              (f"{base}/tickets", {"item_ids": [api.items["SS001"]], "name": "张\x00三"}, kiosk),
                              (f"{base}/tickets", {"item_ids": [api.items["SS001"]], "\x00": 1}, kiosk)):
        r = api.post(path, body, token=token)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "validation_error", (path, r.get_json())
    for path, token in (("/api/v1/follow/a%00b", None), ("/api/v1/follow/a%00b/rating", None),
                        (f"{base}/cases?acceptance_no=a%00b", manager), (f"{base}/appointments/today?code=A%00B", kiosk),
                        (f"{base}/audit-log?action=a%00", manager), ("/t/a%00b", None)):
        r = api.client.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})
        assert r.status_code == 400, (path, r.status_code)
        if path.startswith("/api/"):
            assert _is_json_4xx(r), (path, r.get_data(as_text=True)[:200])
    assert api.post(f"/api/v1/windows/{api.windows[1]}/pause", {"reason": "午休"}, token=clerk).status_code == 200


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_names_longer_than_their_column_are_422_on_both_engines(api):
    # A department's or an integration token's name is a String(100) column: PostgreSQL refused 200 characters
    # (the schema's old limit) with a 500, SQLite stored them.
    m, base = api.token("manager"), f"/api/v1/halls/{api.hall_id}"
    for path, body in ((f"{base}/departments", {"code": "LONG", "name": "部" * 101}),
                       (f"{base}/integration-tokens", {"name": "审" * 101})):
        r = api.post(path, body, token=m)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "validation_error", (path, r.get_json())
        assert api.post(path, {**body, "name": "部" * 100}, token=m).status_code == 201, path


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_ids_a_database_cannot_hold_or_not_ascii_are_4xx_on_every_page(api, app):
    # Pages look their <int:…> ids up without the API's range check: /book/2**64 and /admin/pad/2**63 overflowed
    # the driver (a 500, found by test_fuzz_beyond_openapi); on PostgreSQL every id above 2**31 - 1 did, in the
    # API too (ids are int4); Arabic-Indic digits read as ticket 123.
    m = api.token("manager")
    for value in (str(2**31), str(2**62), str(2**63), str(2**64 + 1), "9" * 5000, "١٢٣", "１２"):
        for path in (f"/book/{value}/slots", f"/book/{value}/cancel", f"/admin/pad/{value}", f"/guide/{value}/1",
                     f"/display/hall/{value}", f"/api/v1/tickets/{value}", f"/api/v1/halls/{value}/catalog"):
            r = api.client.get(path, headers={"Authorization": f"Bearer {m}"})
            assert r.status_code in (404, 414), (path[:60], r.status_code)
            if path.startswith("/api/"):
                assert _is_json_4xx(r) and r.get_json()["error"]["code"] == "not_found", path[:60]
        r = api.client.get(f"/api/v1/halls/{api.hall_id}/deferred-overdue?window_id={value}",
                           headers={"Authorization": f"Bearer {api.token('clerk01')}"})
        assert r.status_code in (200, 400, 414), (value[:30], r.status_code)  # not a number: ignored, as before
    admin = app.test_client()  # a hall-less admin picks the hall with hall_id, from the query or the form
    html = admin.get("/admin/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    admin.post("/admin/login", data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": csrf})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/admin/appointments/holidays").get_data(
        as_text=True)).group(1)
    for value in (str(2**31), str(2**63)):
        r = admin.post("/admin/appointments/holidays", data={"csrf_token": csrf, "hall_id": value, "day": "2026-03-09"})
        assert r.status_code in (400, 404), (value, r.status_code)
    assert api.client.get(f"/book/{api.hall_id}").status_code == 200  # an ordinary id still serves
    assert api.client.get(f"/api/v1/halls/{api.hall_id}/catalog").status_code == 200


def test_the_kiosk_agent_refuses_in_json_on_the_server_and_on_the_kiosk_pc(client, kiosk_pc):
    # werkzeug's own refusals (no such agent path, a wrong method, %00 in the URL) were HTML pages under
    # /kiosk/agent/, whose callers are the touch page's scripts reading {"error": {"code", "message"}}.
    for c in (client, kiosk_pc.test_client()):
        for method, path, status, code in (("GET", "/kiosk/agent/nothing-here", 404, "not_found"),
                                           ("DELETE", "/kiosk/agent/tickets", 405, "method_not_allowed"),
                                           ("GET", "/kiosk/agent/state?x=%00", 400, "bad_request")):
            r = c.open(path, method=method)
            assert r.status_code == status and _is_json_4xx(r), (path, r.status_code, r.data[:100])
            assert r.get_json()["error"]["code"] == code
    assert "<html" in client.get("/kiosk/nothing-here").get_data(as_text=True)  # a person's page stays a page
    r = client.post("/kiosk/agent/sim/swipe", json={"card": ["resident"]})  # unhashable: a TypeError, a 500
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "validation_error"


def test_digits_in_phone_and_id_numbers_are_ascii(api, kiosk_pc):
    # \d in a pattern takes any Unicode digit in Python's re and in pydantic: a ticket, a complaint or the kiosk
    # agent took "1٣٨٠٠١٣٨٠٠٠" (Arabic-Indic) or fullwidth digits as a mobile number no SMS gateway can dial.
    base = f"/api/v1/halls/{api.hall_id}"
    for phone in ("1\u0663\u0668\u0660\u0660\u0661\u0663\u0668\u0660\u0660\u0660", "1" + "\uff11" * 10):
        r = api.post(f"{base}/tickets", {"item_ids": [api.items["SS001"]], "phone": phone}, token=api.tokens["kiosk"])
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "validation_error", r.get_json()
        complaint = {"kind": "attitude", "content": "窗口人员态度不好，请核查处理", "complainant_name": "张三"}
        r = api.post(f"{base}/complaints", {**complaint, "contact": phone})
        assert r.status_code == 422 and "contact" in str(r.get_json()["error"]), r.get_json()
        r = kiosk_pc.test_client().post("/kiosk/agent/tickets", json={"request_id": "req-00000001", "item_ids": [1],
                                                                       "phone": phone})
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "validation_error", r.get_json()
    ok = api.post(f"{base}/tickets", {"item_ids": [api.items["SS001"]], "phone": "13800138000"}, token=api.tokens["kiosk"])
    assert ok.status_code == 201, ok.get_json()
    ok = api.post(f"{base}/complaints", {**complaint, "contact": "13800138000"})
    assert ok.status_code == 201, ok.get_json()

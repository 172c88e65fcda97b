"""Role matrix over EVERY endpoint under /api/v1 and every Socket.IO event.

Callers: anonymous, kiosk, screen, rating pad (of window 1, and at window 2), clerk (at their own window 1,
and acting on window 2 / a ticket held there), manager, admin. ``EXPECTED`` is the reviewed access table;
the test enumerates Flask's url_map, so an endpoint added without a row here fails, and a row that no
longer matches the operation's declared roles fails too. Each endpoint runs on its own copy of one
prepared hall (real SQLite files), so one endpoint's writes cannot hide another's answers; one app per
module is pointed at each copy (tests/integration/hall_copies.py) instead of being built per endpoint.
"""
from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from hall_queue import create_app
from hall_queue.entrypoints.api.registry import OPERATIONS
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, load_demo_hall
from hall_queue.domain.models import Base
from hall_queue.infrastructure.realtime import socketio
from tests.conftest import MONDAY_10AM, Api
from tests.integration.hall_copies import HallCopies
from tests.integration.test_admin_desk import pad_token

PUBLIC = frozenset({"public"})
STAFF = frozenset({"admin", "manager", "clerk"})
MANAGERS = frozenset({"admin", "manager"})

# endpoint → roles allowed (the reviewed table; "public" = anyone, no token needed).
APPROVAL = STAFF | {"approval"}  # cases: staff and the external approval system's integration token
EXPECTED: dict[str, frozenset[str]] = {
    # cases (issue 15)
    "get_case": APPROVAL, "list_cases": APPROVAL, "department_inbox": APPROVAL, "case_dispatch": APPROVAL,
    "case_take": APPROVAL, "case_request_supplement": APPROVAL, "case_supplement_received": APPROVAL,
    "case_special_start": APPROVAL, "case_special_end": APPROVAL, "case_suspend": APPROVAL, "case_resume": APPROVAL,
    "case_decide": APPROVAL, "case_result_ready": APPROVAL, "case_hand_over": APPROVAL, "case_close": APPROVAL,
    "supply_material": STAFF | {"kiosk"}, "pickup_lookup": STAFF | {"kiosk"}, "pickup_issue": STAFF | {"kiosk"},
    "deferred_supply_lookup": STAFF | {"kiosk"}, "supply_page": frozenset({"kiosk"}), "case_attachment": APPROVAL,
    "pickup_cases": STAFF, "document_pdf": STAFF, "document_print": STAFF, "case_progress": PUBLIC,
    "case_indicators": MANAGERS, "case_indicators_csv": MANAGERS, "list_departments": APPROVAL,
    "add_department": MANAGERS, "put_case_settings": MANAGERS, "add_integration_token": MANAGERS,
    "list_failed_webhooks": MANAGERS, "resend_webhooks": MANAGERS,
    "openapi_json": PUBLIC,
    "auth_login": PUBLIC, "auth_logout": STAFF, "auth_me": STAFF, "socket_token": STAFF,
    "list_halls": STAFF | {"kiosk", "pad", "screen"}, "hall_catalog": PUBLIC,
    "get_hall_snapshot": STAFF | {"kiosk", "screen"}, "list_windows": STAFF | {"screen"},
    "hall_audit": MANAGERS, "hall_alerts": STAFF,
    # tickets
    "issue": MANAGERS | {"kiosk"}, "get_ticket": STAFF | {"kiosk"}, "follow": PUBLIC, "follow_cancel": PUBLIC,
    "cancel": MANAGERS | {"kiosk"},
    "recall": STAFF, "no_show": STAFF, "requeue": STAFF, "start": STAFF, "finish": STAFF, "transfer": STAFF,
    "reveal_identity": STAFF, "post_revoke_green": STAFF,
    "upload_attachment": frozenset({"kiosk"}), "list_attachments": STAFF | {"kiosk"}, "get_attachment": STAFF,
    # windows
    "get_window": STAFF | {"pad", "screen"}, "sign_in": STAFF, "sign_out": STAFF, "pause": STAFF, "resume": STAFF,
    "call_next": STAFF, "call_ticket": STAFF, "window_desk_lists": STAFF, "finish_and_call_next": STAFF, "open_window": MANAGERS, "close_window": MANAGERS, "cover": MANAGERS, "configure": MANAGERS,
    "deferred_overdue": STAFF, "pad_token": MANAGERS,
    # ratings (好差评) and rectification
    "rating_prompt": frozenset({"pad"}), "rate": frozenset({"pad"}), "list_ratings": MANAGERS,
    "list_rectifications": MANAGERS, "assign_rectification": MANAGERS, "fix_rectification": MANAGERS,
    "feedback_rectification": MANAGERS, "close_rectification": MANAGERS,
    # the 好差评 loop (issue 18): the phone rates and answers by the slip's code; the rated clerk or a manager
    # appeals, managers decide; any staff member makes the call-backs
    "get_rating_settings": MANAGERS, "put_rating_settings": MANAGERS, "phone_rating": PUBLIC, "phone_rate": PUBLIC,
    "phone_rater_answer": PUBLIC, "rater_answer": MANAGERS, "appeal_rating": STAFF, "list_appeals": MANAGERS,
    "decide_appeal": MANAGERS, "rating_loop": MANAGERS, "list_callbacks": STAFF, "sample_callbacks": MANAGERS,
    "callback_result": STAFF, "callback_phone": STAFF, "callback_stats": MANAGERS,
    # appointments
    "appointment_options": PUBLIC, "appointment_slots": PUBLIC, "appointment_book": PUBLIC,
    "appointment_cancel": PUBLIC, "appointment_today": MANAGERS | {"kiosk"},
    "appointment_check_in": MANAGERS | {"kiosk"}, "appointment_walk_in_status": STAFF | {"kiosk"},
    "appointment_walk_in_consume": MANAGERS | {"kiosk"}, "appointment_list": MANAGERS,
    "appointment_staff_cancel": MANAGERS, "appointment_no_shows": MANAGERS, "appointment_settings": MANAGERS,
    "appointment_settings_update": MANAGERS, "appointment_capacity": MANAGERS, "appointment_capacity_set": MANAGERS,
    "appointment_holidays": MANAGERS, "appointment_holiday_add": MANAGERS, "appointment_holiday_remove": MANAGERS,
    # complaints
    "complaint_file": PUBLIC, "complaint_status": PUBLIC, "complaint_record": MANAGERS, "complaint_list": MANAGERS,
    "complaint_get": MANAGERS, "complaint_handle": MANAGERS, "complaint_answer": MANAGERS,
    "complaint_close": MANAGERS, "complaint_update": MANAGERS, "complaint_contact": MANAGERS,
    # hall configuration
    "cfg_create_hall": frozenset({"admin"}), "cfg_hall_settings": MANAGERS, "cfg_update_hall": MANAGERS,
    "cfg_list_categories": MANAGERS, "cfg_create_category": MANAGERS, "cfg_update_category": MANAGERS,
    "cfg_delete_category": MANAGERS, "cfg_list_items": MANAGERS, "cfg_create_item": MANAGERS,
    "cfg_get_item": MANAGERS, "cfg_update_item": MANAGERS, "cfg_delete_item": MANAGERS,
    "cfg_export_items": MANAGERS, "cfg_import_items": MANAGERS, "cfg_list_bundles": MANAGERS,
    "cfg_create_bundle": MANAGERS, "cfg_update_bundle": MANAGERS, "cfg_delete_bundle": MANAGERS,
    "cfg_list_queues": MANAGERS, "cfg_create_queue": MANAGERS, "cfg_update_queue": MANAGERS,
    "cfg_delete_queue": MANAGERS, "cfg_create_window": MANAGERS, "cfg_update_window": MANAGERS,
    "cfg_delete_window": MANAGERS, "cfg_list_staff": MANAGERS, "cfg_create_staff": MANAGERS,
    "cfg_update_staff": MANAGERS, "cfg_reset_password": MANAGERS,
    # screens, devices, statistics (a kiosk cannot read statistics)
    "list_notices": STAFF | {"screen"}, "post_notice": MANAGERS, "delete_notice": MANAGERS,
    "post_device_health": frozenset({"kiosk"}), "list_device_health": STAFF,
    "stats_read": MANAGERS, "stats_csv": MANAGERS,
    # registered devices (issue 13): managers of the hall and admins only
    "list_devices": MANAGERS, "register_device": MANAGERS, "revoke_device": MANAGERS, "rotate_device": MANAGERS,
    # issue 18: consultations (any staff member logs and answers; the rates are the managers'), supervision
    # (audit viewer, chain check, violations, leadership figures: managers), published measures (anyone)
    "consultation_log": STAFF, "consultation_list": STAFF, "consultation_answer": STAFF,
    "consultation_indicators": MANAGERS, "audit_log": MANAGERS, "audit_chain": MANAGERS, "violations": MANAGERS,
    "leadership_indicators": MANAGERS, "published_measures": PUBLIC,
    # issue 18 gaps: anyone asks online and looks the answer up; managers withhold / re-publish measures
    "consultation_ask": PUBLIC, "consultation_status": PUBLIC, "measures_for_managers": MANAGERS,
    "measure_withhold": MANAGERS, "measure_republish": MANAGERS,
    # service levels and the emergency alarm (issue 17)
    "service_levels_now": MANAGERS, "service_levels_statistics": MANAGERS,
    "raise_emergency_alarm": STAFF, "acknowledge_alarm": MANAGERS,
}
# A clerk may only act at the window they are signed in at (window 1): on window 2, or on the ticket
# in hand there, these answer 403 (sign-in: 409, the window is taken). Re-queueing a late visitor's
# no-show ticket is the business of the window that called it (or a manager).
CLERK_WINDOW_BOUND = {"recall": 403, "no_show": 403, "requeue": 403, "start": 403, "finish": 403,
                      "transfer": 403, "reveal_identity": 403, "post_revoke_green": 403, "call_next": 403,
                      "call_ticket": 403, "window_desk_lists": 403,
                      "sign_out": 403, "pause": 403, "resume": 403, "sign_in": 409, "raise_emergency_alarm": 403}
# Only the clerk holding the ticket sees the full ID number, not even a manager (个人信息保护法: least access).
HOLDER_ONLY = {"reveal_identity"}
# A case's review steps belong to its department (issue 15): a window clerk of no department gets 403.
DEPARTMENT_BOUND = {"case_take", "case_request_supplement", "case_supplement_received", "case_special_start",
                    "case_special_end", "case_suspend", "case_resume", "case_decide", "case_result_ready",
                    "department_inbox"}
# A rating pad belongs to window 1: window 2 and its tickets answer 403.
PAD_WINDOW_BOUND = {"get_window", "rating_prompt", "rate"}
# Public operations whose own answer is a 401 (wrong password).
PUBLIC_401 = {"auth_login"}
CALLERS = ("anonymous", "kiosk", "screen", "pad_other", "pad", "clerk_other", "clerk", "manager", "admin")

# Bodies good enough to reach the rules behind the role gate (the gate itself runs before validation).
BODIES = {
    "auth_login": {"username": "nobody", "password": "wrong"},
    "issue": {"item_ids": [1]}, "finish": {"outcome": "completed"}, "transfer": {"queue_id": 1},
    "finish_and_call_next": {"outcome": "completed", "ticket_id": 1},
    "case_decide": {"decision": "approved"}, "case_hand_over": {"method": "courier"},
    "pause": {"reason": "午休"}, "post_revoke_green": {"reason": "核实不符"}, "rate": {"score": 4},
    "cover": {"by_window_id": 3}, "configure": {"kind": "general"}, "pad_token": {},
    "assign_rectification": {"fix_plan": "培训"}, "fix_rectification": {"fix": "已培训"},
    "feedback_rectification": {"feedback": "已回访"}, "post_notice": {"text": "今日下午三点后暂停办理"},
    "post_device_health": {"device": "printer", "status": "ok"},
    "register_device": {"role": "kiosk", "name": "备用取号机"},
    "consultation_log": {"channel": "walk_up", "question": "在哪里取号？", "answer": "一楼大厅自助取号机。"},
    "consultation_answer": {"answer": "已电话答复。"},
    "consultation_ask": {"question": "周六上班吗？请告知。"}, "measure_withhold": {"reason": "可辨认出当事人"},
    "appeal_rating": {"kind": "mistaken", "reason": "误评"}, "callback_result": {"reached": False},
}


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 56), (250, 250, 250)).save(buf, "JPEG")
    return buf.getvalue()


def _second_session(api, username: str) -> str:
    """Another login of the same person (logout in one session must not end the other)."""
    r = api.client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def _prepare(tmp_path_factory) -> tuple[str, dict, dict]:
    """One hall in every state the matrix needs; returns (SQLite file, tokens, ids)."""
    from hall_queue.domain.clock import ManualClock

    path = tmp_path_factory.mktemp("matrix") / "template.db"
    db = Database(f"sqlite:///{path}")
    Base.metadata.create_all(db.writer)
    clock = ManualClock(MONDAY_10AM)
    hall_id = db.run_write(lambda s: load_demo_hall(s, now=clock.now()).id)
    app = create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "DATA_KEY": "test-data-key",
                      "TESTING": True})
    api = Api(app.test_client(), db, hall_id, clock)
    pad = pad_token(api, 1)
    api.sign_in("clerk01", 1)
    api.sign_in("clerk02", 2)
    api.issue("SB001")
    rated = api.call("clerk01", 1)["ticket"]["id"]
    api.act("clerk01", rated, "finish", {"outcome": "completed"})
    case = api.post(f"/api/v1/tickets/{rated}/rating", {"score": 2, "reasons": ["waiting"]}, token=pad)
    green = {"priority_class": "green", "green_reason": "elderly", "name": "张三丰", "id_number": "110101194503071234"}
    own = api.issue("SB001", **green)
    assert api.call("clerk01", 1)["ticket"]["id"] == own["id"]
    other = api.issue("SB001", **green)
    assert api.call("clerk02", 2)["ticket"]["id"] == other["id"]
    page = api.client.post(f"/api/v1/tickets/{own['id']}/attachments", data=_jpeg(),
                           headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {api.tokens['kiosk']}"})
    m = api.token("manager")
    complaint = api.client.post(f"/api/v1/halls/{hall_id}/complaints", json={
        "kind": "attitude", "content": "窗口工作人员态度生硬。", "complainant_name": "李四", "contact": "13800138000"})
    booking = api.post(f"/api/v1/halls/{hall_id}/appointments", {
        "slot": "2026-03-03T10:00", "name": "王五", "id_number": "110101199205093456", "phone": "13900139000",
        "item_id": api.items["SS001"]})
    holiday = api.post(f"/api/v1/halls/{hall_id}/appointments/holidays", {"day": "2026-05-01"}, token=m)
    notice = api.post(f"/api/v1/halls/{hall_id}/notices", {"text": "今日正常办理"}, token=m)
    device = api.post(f"/api/v1/halls/{hall_id}/devices", {"role": "hall_screen", "name": "备用综合屏"}, token=m)
    asked = api.post(f"/api/v1/halls/{hall_id}/consultations", {"channel": "online", "question": "周六上班吗？"}, token=m)
    cfg = {k: api.get(f"/api/v1/halls/{hall_id}/{k}", token=m).get_json()["items"]
           for k in ("categories", "items", "bundles", "queues", "staff")}
    alarm = api.post(f"/api/v1/windows/{api.windows[1]}/emergency", token=api.token("clerk01"))
    for r in (case, page, complaint, booking, holiday, notice, device, asked, alarm):
        assert r.status_code in (200, 201), r.get_json()
    appointment_id = next(a["id"] for a in api.get(f"/api/v1/halls/{hall_id}/appointments?date=2026-03-03",
                                                    token=m).get_json()["items"])
    tokens = {"anonymous": None, "kiosk": api.tokens["kiosk"], "screen": api.tokens["screen"], "pad": pad,
              "pad_other": pad, "clerk": api.token("clerk01"), "clerk_other": _second_session(api, "clerk01"),
              "manager": m, "admin": api.token("admin")}
    ids = {"department_id": 1, "material_id": 1, "doc_id": 1, "consultation_id": asked.get_json()["id"],  # cases (issue 15): the gate runs before the lookup
           "rating_id": 1, "appeal_id": 1, "callback_id": 1,  # the 好差评 loop: likewise
           "source": "complaint", "source_id": 1,  # a measure: the gate runs before the lookup
           "hall_id": hall_id, "ticket_id": own["id"], "window_id": api.windows[1],
           "other_ticket_id": other["id"], "other_window_id": api.windows[2],
           "case_id": case.get_json()["rectification_id"], "attachment_id": page.get_json()["id"],
           "complaint_id": next(c["id"] for c in api.get(f"/api/v1/halls/{hall_id}/complaints",
                                                          token=m).get_json()["items"]),
           "appointment_id": appointment_id, "holiday_id": holiday.get_json()["id"],
           "notice_id": notice.get_json()["id"], "code": own["follow_code"],
           "device_id": device.get_json()["device"]["id"], "alert_id": alarm.get_json()["id"],
           "category_id": cfg["categories"][-1]["id"], "item_id": cfg["items"][-1]["id"],
           "bundle_id": cfg["bundles"][-1]["id"], "queue_id": cfg["queues"][-1]["id"],
           "staff_id": next(s["id"] for s in cfg["staff"] if s["username"] == "clerk12")}
    db.dispose()
    return str(path), tokens, ids


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return _prepare(tmp_path_factory)


@pytest.fixture(scope="module")
def copies(prepared, tmp_path_factory):
    """The app over fresh copies of the prepared hall, built once for the module."""
    copies = HallCopies(prepared[0], tmp_path_factory.mktemp("matrix-copies"), MONDAY_10AM)
    yield copies
    copies.close()


def _api_endpoints(app) -> dict[str, list]:
    rules: dict[str, list] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            rules.setdefault(rule.endpoint.removeprefix("api."), []).append(rule)
    return rules


def test_every_endpoint_has_a_reviewed_row(copies):
    endpoints = _api_endpoints(copies.app)
    assert set(endpoints) == set(EXPECTED), "add the new endpoint to EXPECTED (and review who may call it)"
    declared = {op.endpoint: frozenset(op.roles) for op in OPERATIONS}
    for endpoint, allowed in EXPECTED.items():
        if endpoint in declared:
            assert declared[endpoint] == allowed, endpoint
    assert set(CLERK_WINDOW_BOUND) <= {e for e, r in EXPECTED.items() if "clerk" in r}
    assert PAD_WINDOW_BOUND <= {e for e, r in EXPECTED.items() if "pad" in r}


def _url(rule, caller: str, ids: dict) -> str:
    values = {}
    for name in rule.arguments:
        key = f"other_{name}" if caller in ("clerk_other", "pad_other") and f"other_{name}" in ids else name
        values[name] = ids[key]
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    return path


def _expect(endpoint: str, caller: str, status: int, message: str) -> str | None:
    """Return what is wrong with this answer, or None."""
    allowed = EXPECTED[endpoint]
    role = caller.removesuffix("_other")
    gate = status == 403 and " may not " in message
    if "public" in allowed:
        refused = (403,) if endpoint in PUBLIC_401 else (401, 403)
        return None if status not in refused and status < 500 else f"public answered {status}"
    if caller == "anonymous":
        return None if status == 401 else f"anonymous got {status}"
    if role not in allowed:
        return None if gate else f"{caller} got {status} (expected the role gate's 403)"
    if caller == "clerk_other" and endpoint in CLERK_WINDOW_BOUND:
        want = CLERK_WINDOW_BOUND[endpoint]
        return None if status == want else f"clerk at another window got {status}, expected {want}"
    if role == "clerk" and endpoint in DEPARTMENT_BOUND:
        return None if status == 403 else f"a clerk of no department got {status} on a department's case"
    if role in ("manager", "admin") and endpoint in HOLDER_ONLY:
        return None if status == 403 else f"{caller} got {status}, expected 403 (holder only)"
    if caller == "pad_other" and endpoint in PAD_WINDOW_BOUND:
        return None if status == 403 else f"pad of another window got {status}"
    return None if status not in (401, 403) and status < 500 else f"{caller} was refused ({status}: {message})"


# The endpoints are checked in shards, each a work unit of its own for the xdist workers (tests/scheduling.py).
SHARDS = 2


@pytest.mark.parametrize("shard", range(SHARDS), ids=lambda n: f"shard-{n}")
def test_api_role_matrix(prepared, copies, shard):
    _template, tokens, ids = prepared
    problems, requests, not_done = [], 0, []
    for n, (endpoint, rules) in enumerate(sorted(_api_endpoints(copies.app).items())):
        if n % SHARDS != shard:
            continue
        copies.fresh(f"e{n}")
        client = copies.app.test_client()
        for rule in rules:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for caller in CALLERS:
                    headers = {"Authorization": f"Bearer {tokens[caller]}"} if tokens[caller] else {}
                    r = client.open(_url(rule, caller, ids), method=method, headers=headers,
                                    json=BODIES.get(endpoint, {}) if method != "GET" else None)
                    requests += 1
                    if caller.removesuffix("_other") in EXPECTED[endpoint] and r.status_code >= 400:
                        not_done.append(f"{method} {rule.rule} {caller}: {r.status_code}")
                    body = r.get_json(silent=True) or {}
                    message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
                    if (wrong := _expect(endpoint, caller, r.status_code, message)) is not None:
                        problems.append(f"{method} {rule.rule} [{endpoint}]: {wrong}")
        copies.close()
    print(f"\nrole matrix shard {shard}: {requests} requests over its share of {len(EXPECTED)} endpoints × "
          f"{len(CALLERS)} callers")
    assert requests > 0
    if os.environ.get("ONEVISIT_MATRIX_VERBOSE"):
        print("\n".join(not_done))
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- Socket.IO

def test_socketio_role_matrix(prepared, copies):
    """connect needs a valid token; join {hall} / {window}: a window-bound pad joins its own window only."""
    _template, tokens, ids = prepared
    copies.fresh("socket")
    app = copies.app
    hall, own, other = {"hall": ids["hall_id"]}, {"window": ids["window_id"]}, {"window": ids["other_window_id"]}
    # caller → (join hall, join own window, join other window) answers: "ok" or the error code.
    expected = {
        "admin": ("ok", "ok", "ok"), "manager": ("ok", "ok", "ok"), "clerk": ("ok", "ok", "ok"),
        "kiosk": ("ok", "ok", "ok"), "screen": ("ok", "ok", "ok"),
        "pad": ("forbidden", "ok", "forbidden"),
    }
    for caller, answers in expected.items():
        client = socketio.test_client(app, auth={"token": tokens[caller]})
        assert client.is_connected(), caller
        for payload, want in zip((hall, own, other), answers, strict=True):
            ack = client.emit("join", payload, callback=True)
            got = "ok" if ack.get("ok") else ack["error"]["code"]
            assert got == want, (caller, payload, ack)
        received = [m["name"] for m in client.get_received()]
        assert received.count("snapshot") == answers.count("ok"), (caller, received)
        for bad in (None, "hall", [1], {"hall": True}, {"hall": 2**70}, {"window": -1}, {"hall": 99999}):
            ack = client.emit("join", bad, callback=True)
            assert ack["error"]["code"] in ("invalid", "not_found"), (caller, bad, ack)
        client.disconnect()
    # No token, a wrong token, or a revoked one: the connection is refused.
    for auth in (None, {"token": ""}, {"token": "not-a-token"}, {"token": 42}):
        assert not socketio.test_client(app, auth=auth).is_connected(), auth
    client = app.test_client()
    r = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {tokens['manager']}"})
    assert r.status_code == 200
    assert not socketio.test_client(app, auth={"token": tokens["manager"]}).is_connected()
    copies.close()

"""Role matrix of the staff-side API operations and pages: every one × admin/manager/clerk/kiosk/screen/pad/anonymous."""
from __future__ import annotations

import pytest

from hall_queue.entrypoints.api.registry import OPERATIONS
from tests.integration.test_admin_auth import page_login
from tests.integration.test_admin_desk import pad_token, serve

ROLES = ("admin", "manager", "clerk", "kiosk", "screen", "pad", "anonymous")
STAFF = {"admin", "manager", "clerk"}
MANAGERS = {"admin", "manager"}

# (method, path template, body, roles allowed)
MATRIX = [
    ("GET", "/api/v1/auth/me", None, STAFF),
    ("POST", "/api/v1/auth/socket-token", None, STAFF),
    ("POST", "/api/v1/tickets/{ticket}/reveal-identity", None, STAFF),
    ("GET", "/api/v1/halls/{hall}/deferred-overdue", None, STAFF),
    ("POST", "/api/v1/windows/{other_window}/pad-token", {}, MANAGERS),
    ("GET", "/api/v1/windows/{window}/rating-prompt", None, {"pad"}),
    ("POST", "/api/v1/tickets/{ticket}/rating", {"score": 4}, {"pad"}),
    ("GET", "/api/v1/halls/{hall}/ratings", None, MANAGERS),
    ("GET", "/api/v1/halls/{hall}/rectifications", None, MANAGERS),
    ("POST", "/api/v1/rectifications/{case}/assign", {"fix_plan": "培训"}, MANAGERS),
    ("POST", "/api/v1/rectifications/{case}/fix", {"fix": "已培训"}, MANAGERS),
    ("POST", "/api/v1/rectifications/{case}/feedback", {"feedback": "已回访"}, MANAGERS),
    ("POST", "/api/v1/rectifications/{case}/close", None, MANAGERS),
]


@pytest.fixture
def world(api):
    pad = pad_token(api, 1)
    api.sign_in("clerk01", 1)
    rated = serve(api, "clerk01", 1)
    r = api.post(f"/api/v1/tickets/{rated}/rating", {"score": 2, "reasons": ["waiting"]}, token=pad)
    case = r.get_json()["rectification_id"]
    ticket = serve(api, "clerk01", 1)  # the pad may rate this one
    tokens = {"admin": api.token("admin"), "manager": api.token("manager"), "clerk": api.token("clerk01"),
              "kiosk": api.tokens["kiosk"], "screen": api.tokens["screen"], "pad": pad, "anonymous": None}
    ids = {"ticket": ticket, "hall": api.hall_id, "window": api.windows[1], "other_window": api.windows[3],
           "case": case}
    return tokens, ids


def test_matrix_covers_every_staff_side_operation():
    mine = {(op.method, "/api/v1" + op.path) for op in OPERATIONS
            if op.endpoint in {"auth_me", "socket_token", "reveal_identity", "deferred_overdue", "pad_token",
                               "rating_prompt", "rate", "list_ratings", "list_rectifications",
                               "assign_rectification", "fix_rectification", "feedback_rectification",
                               "close_rectification"}}
    declared = {(m, p.replace("{ticket}", "<int:ticket_id>").replace("{hall}", "<int:hall_id>")
                 .replace("{window}", "<int:window_id>").replace("{other_window}", "<int:window_id>")
                 .replace("{case}", "<int:case_id>")) for m, p, _, _ in MATRIX}
    assert mine == declared
    roles = {(op.method, "/api/v1" + op.path): set(op.roles) for op in OPERATIONS}
    for method, path, _, allowed in MATRIX:
        key = (method, path.replace("{ticket}", "<int:ticket_id>").replace("{hall}", "<int:hall_id>")
               .replace("{window}", "<int:window_id>").replace("{other_window}", "<int:window_id>")
               .replace("{case}", "<int:case_id>"))
        assert roles[key] == allowed, key


def test_api_role_matrix(api, world):
    """One hall for the whole matrix (fast); each operation is tried by every role."""
    tokens, ids = world
    for method, path, body, allowed in MATRIX:
        check_operation(api, tokens, method, path.format(**ids), body, allowed)


def check_operation(api, tokens, method, url, body, allowed) -> None:
    for role in ROLES:
        token = tokens[role]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = api.client.open(url, method=method, json=body, headers=headers)
        err = (r.get_json() or {}).get("error", {}) if r.status_code >= 400 else {}
        if role == "anonymous":
            assert r.status_code == 401, (role, url, r.get_json())
        elif role in allowed:
            gate = r.status_code == 403 and " may not " in err.get("message", "")
            assert r.status_code != 401 and not gate, (role, url, r.get_json())
        else:
            assert r.status_code == 403 and " may not " in err["message"], (role, url, r.get_json())


PAGES = [("/admin/console", STAFF), ("/admin/dashboard", MANAGERS), ("/admin/ratings", MANAGERS),
         ("/admin/notice/{notice}", STAFF)]


def test_page_role_matrix(app, api, world):
    tokens, _ids = world
    notice = serve(api, "clerk01", 1, {"outcome": "notice", "missing_materials": ["户口簿"]})
    clients = {}
    for role in STAFF:
        clients[role] = app.test_client()
        assert page_login(clients[role], {"clerk": "clerk01"}.get(role, role)).status_code == 302
    for path, allowed in PAGES:
        url = path.format(notice=notice)
        for role in ROLES:
            check_page(app, clients, tokens, role, url, allowed)


def check_page(app, clients, tokens, role, url, allowed) -> None:
    if role in STAFF:
        r = clients[role].get(url)
        assert r.status_code == (200 if role in allowed else 403), (role, url)
    else:
        # Device tokens never open staff pages: they are sent to the login page.
        headers = {"Authorization": f"Bearer {tokens[role]}"} if tokens[role] else {}
        r = app.test_client().get(url, headers=headers)
        assert r.status_code == 302 and r.headers["Location"].startswith("/admin/login"), (role, url)


def test_pad_page_needs_the_windows_own_pad_token(client, api, world):
    tokens, _ids = world
    other = pad_token(api, 2)
    w1 = api.windows[1]
    assert client.get(f"/admin/pad/{w1}?token={tokens['pad']}").status_code == 200
    for bad in (other, tokens["kiosk"], tokens["screen"], tokens["manager"], "", "garbage"):
        assert client.get(f"/admin/pad/{w1}?token={bad}").status_code == 403

"""Staff logins for pages: cookie flags, CSRF, throttling/lock-out (page and API), logout, redirects."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hall_queue import create_app
from hall_queue.access.auth import LOCKOUT, MAX_FAILURES_PER_IP, MAX_FAILURES_PER_USER
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD
from hall_queue.domain.models import AuditEvent


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def page_login(client, username: str, password: str = DEMO_PASSWORD, next_url: str | None = None):
    token = csrf_of(client.get("/admin/login").get_data(as_text=True))
    data = {"username": username, "password": password, "csrf_token": token}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/admin/login", data=data)


def audit_actions(db, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_login_sets_httponly_lax_cookie_and_secure_outside_testing(db, clock, hall_id):
    app = create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "DATA_KEY": "k"})
    assert app.config["SESSION_COOKIE_SECURE"] is True  # production default
    client = app.test_client()
    r = page_login(client, "clerk01")
    assert r.status_code == 302 and r.headers["Location"] == "/admin/console"
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_cookie_secure_can_be_turned_off_for_plain_http(db, clock, hall_id, monkeypatch):
    monkeypatch.setenv("ONEVISIT_COOKIE_SECURE", "0")
    app = create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "DATA_KEY": "k"})
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_manager_lands_on_dashboard_and_next_is_kept_on_site(client):
    r = page_login(client, "manager", next_url="/admin/ratings")
    assert r.headers["Location"] == "/admin/ratings"
    client.post("/admin/logout", data={"csrf_token": csrf_of(client.get("/admin/ratings").get_data(as_text=True))})
    r = page_login(client, "manager", next_url="//evil.example/x")
    assert r.headers["Location"] == "/admin/dashboard"


def test_wrong_password_is_refused_and_audited(client, db):
    r = page_login(client, "clerk01", "wrong-password")
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    rows = audit_actions(db, "staff.login_failed")
    assert len(rows) == 1 and rows[0].detail["username"] == "clerk01"


def test_page_post_without_csrf_is_refused(client):
    client.get("/admin/login")
    r = client.post("/admin/login", data={"username": "clerk01", "password": DEMO_PASSWORD})
    assert r.status_code == 400
    r = client.post("/admin/login", data={"username": "clerk01", "password": DEMO_PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 400
    assert client.get("/admin/console").status_code == 302  # still logged out


def test_api_with_session_cookie_needs_csrf_header_on_unsafe_methods(client, api):
    page_login(client, "clerk01")
    assert client.get("/api/v1/auth/me").get_json()["staff"]["username"] == "clerk01"
    w = api.windows[1]
    r = client.post(f"/api/v1/windows/{w}/sign-in")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    r = client.post(f"/api/v1/windows/{w}/sign-in", headers={"X-CSRF-Token": "nope"})
    assert r.status_code == 403
    token = csrf_of(client.get("/admin/console").get_data(as_text=True))
    r = client.post(f"/api/v1/windows/{w}/sign-in", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.get_json()["clerk_post"] == "A"


def test_bearer_tokens_work_without_csrf(api):
    api.sign_in("clerk01", 1)  # Api helper sends only Authorization: Bearer


def test_logout_revokes_the_session(client):
    page_login(client, "clerk01")
    token = csrf_of(client.get("/admin/console").get_data(as_text=True))
    r = client.post("/admin/logout", data={"csrf_token": token})
    assert r.status_code == 302
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/admin/console").status_code == 302


def test_five_failures_lock_the_username_for_fifteen_minutes(client, clock, db):
    for _ in range(MAX_FAILURES_PER_USER - 1):
        assert page_login(client, "clerk02", "bad-password").status_code == 401
    r = page_login(client, "clerk02", "bad-password")
    assert r.status_code == 401 and "已锁定" in r.get_data(as_text=True)
    # Locked: even the right password is refused, on the page and on the API.
    assert page_login(client, "clerk02").status_code == 429
    r = client.post("/api/v1/auth/login", json={"username": "clerk02", "password": DEMO_PASSWORD})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "locked_out"
    # Other usernames are not affected.
    assert page_login(client, "clerk03").status_code == 302
    assert [a.detail["scope"] for a in audit_actions(db, "staff.lockout")] == ["username"]
    clock.advance(seconds=LOCKOUT.total_seconds() - 30)
    assert page_login(client, "clerk02").status_code == 429
    clock.advance(seconds=31)
    assert page_login(client, "clerk02").status_code == 302


def test_api_login_failures_count_too(client, clock):
    for _ in range(MAX_FAILURES_PER_USER):
        r = client.post("/api/v1/auth/login", json={"username": "clerk04", "password": "not-the-password"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "clerk04", "password": DEMO_PASSWORD})
    assert r.status_code == 429
    assert page_login(client, "clerk04").status_code == 429


def test_success_resets_the_username_count(client):
    for _ in range(MAX_FAILURES_PER_USER - 1):
        page_login(client, "clerk05", "bad-password")
    assert page_login(client, "clerk05").status_code == 302
    client.post("/admin/logout", data={"csrf_token": csrf_of(client.get("/admin/console").get_data(as_text=True))})
    for _ in range(MAX_FAILURES_PER_USER - 1):
        assert page_login(client, "clerk05", "bad-password").status_code == 401
    assert page_login(client, "clerk05").status_code == 302


def test_many_failures_from_one_address_lock_the_address(client, db):
    for i in range(MAX_FAILURES_PER_IP):
        assert page_login(client, f"nobody{i}", "bad-password").status_code == 401
    assert page_login(client, "clerk06").status_code == 429
    assert any(a.detail["scope"] == "address" for a in audit_actions(db, "staff.lockout"))


@pytest.mark.parametrize("path", ["/admin/console", "/admin/dashboard", "/admin/ratings"])
def test_pages_redirect_anonymous_to_login(client, path):
    r = client.get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/admin/login?next=" + path)

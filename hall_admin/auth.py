"""Staff logins for pages: the session cookie, role checks and CSRF (shared by every ``/admin`` page).

A logged-in browser holds a signed Flask session with the staff bearer token (``staff_token``) and a
CSRF secret (``csrf``). Pages use ``staff_required``; the same cookie also works on the JSON API
(``hall_queue.entrypoints.api.base``), where unsafe methods must send the secret in ``X-CSRF-Token``.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from hall_queue.entrypoints.web_session import SAFE_METHODS, csrf_matches, csrf_token, session_actor
from hall_queue.access.audit import Actor
from hall_queue.domain.models import Hall
from hall_queue.bootstrap import runtime

__all__ = ["check_csrf", "csrf_token", "current_staff", "init_app", "safe_next", "staff_required"]
ADMIN_PREFIX = "/admin"
# The nav of admin/base.html: (key, label, path). An entry shows when some page is routed at that
# path (or below it) and the staff member's role may open it.
NAV = (
    ("console", "窗口叫号", "/admin/console"),
    ("dashboard", "现场管理", "/admin/dashboard"),
    ("configuration", "配置", "/admin/config"),
    ("statistics", "统计", "/admin/stats"),
    ("complaints", "投诉", "/admin/complaints"),
    ("appointments", "预约", "/admin/appointments"),
    ("ratings", "好差评", "/admin/ratings"),
    ("callbacks", "回访", "/admin/callbacks"),
    ("cases", "办件", "/admin/cases"),
    ("consultations", "咨询", "/admin/consultations"),
    ("audit", "监察", "/admin/audit"),
    ("leadership", "领导看板", "/admin/leadership"),
)
ROLE_LABELS = {"admin": "管理员", "manager": "大厅管理", "clerk": "窗口人员"}


def current_staff() -> Actor | None:
    """Return the staff member logged in on this browser, or None."""
    if "staff_actor" not in g:
        g.staff_actor = session_actor()
    return g.staff_actor


def staff_required(*roles: str) -> Callable:
    """Protect a page: log in first (redirect), and only ``roles`` may see it (403 page otherwise)."""

    def deco(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            actor = current_staff()
            if actor is None:
                return redirect(url_for("hall_admin.login", next=request.full_path.rstrip("?")))
            if roles and actor.role not in roles:
                return render_template("admin/forbidden.html", roles=[ROLE_LABELS.get(r, r) for r in roles]), 403
            return view(*args, **kwargs)

        wrapped.staff_roles = roles  # type: ignore[attr-defined]  (read by the role-matrix tests)
        return wrapped

    return deco


def admin_nav() -> list[dict[str, str]]:
    """List the nav entries this staff member may open (see ``NAV``)."""
    actor = current_staff()
    if actor is None:
        return []
    items = []
    for key, label, path in NAV:
        for rule in current_app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or not (rule.rule == path or rule.rule.startswith(path + "/")):
                continue
            roles = getattr(current_app.view_functions.get(rule.endpoint), "staff_roles", ())
            if not roles or actor.role in roles:
                items.append({"key": key, "label": label, "path": path})
                break
    return items


def staff_page(*roles: str) -> Callable:
    """``staff_required(*roles)`` for a page about one hall: the view is called with the staff member and
    the hall it shows (``page_hall``)."""

    def deco(view: Callable) -> Callable:
        @functools.wraps(view)
        def with_hall(*args: Any, **kwargs: Any):
            actor = current_staff()
            return view(actor, page_hall(actor), *args, **kwargs)

        return staff_required(*roles)(with_hall)

    return deco


def page_hall(actor: Actor) -> Hall:
    """The hall a page shows: the staff member's own, or for a hall-less admin ``?hall=`` / the first."""
    with runtime().db.read() as s:
        if actor.hall_id is not None:
            hall = s.get(Hall, actor.hall_id)
        else:
            wanted = request.args.get("hall", type=int)
            hall = s.get(Hall, wanted) if wanted else s.scalar(select(Hall).order_by(Hall.id).limit(1))
        if hall is None:
            abort(404, description="no hall")
        return hall


def staff_label(actor: Actor) -> str:
    """Name the logged-in staff member for the top bar (their own display name and role)."""
    from hall_queue.domain.models import Staff
    from hall_queue.bootstrap import runtime

    with runtime().db.read() as s:
        staff = s.get(Staff, actor.id)
        name = staff.display_name if staff else "?"
    return f"{name}（{ROLE_LABELS.get(actor.role or '', actor.role)}）"


def check_csrf() -> None:
    """Refuse an unsafe page request whose form field or X-CSRF-Token header lacks the session's secret."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    if not csrf_matches(sent):
        abort(400, description="CSRF token missing or wrong; reload the page and try again")


def safe_next(target: str | None, default: str) -> str:
    """Keep a post-login redirect inside this site (no open redirect)."""
    if not target or len(target) > 2000:  # a form's next= is unbounded: it must not become a giant Location
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _cookie_secure(app: Flask) -> bool:
    """Secure cookies need HTTPS: on unless DEBUG/TESTING; ``COOKIE_SECURE`` config or env overrides."""
    value = app.config.get("COOKIE_SECURE", os.environ.get("ONEVISIT_COOKIE_SECURE"))
    if value is None:
        return not (app.debug or app.testing)
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


def init_app(app: Flask) -> None:
    """Set the session cookie flags, check CSRF on every unsafe ``/admin`` request, expose helpers to Jinja."""
    app.config["SESSION_COOKIE_SECURE"] = _cookie_secure(app)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"

    @app.before_request
    def _csrf_for_pages():
        if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
            check_csrf()

    app.jinja_env.globals.update(csrf_token=csrf_token, current_staff=current_staff, admin_nav=admin_nav,
                                 staff_label=staff_label)

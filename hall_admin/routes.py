"""Staff pages: login/logout, the clerk console, the floor dashboard, the rating pad, rectifications.

Pages are thin: they check the login and role, render a template with the few ids the page needs,
and the page's script drives the JSON API (session cookie + X-CSRF-Token) and Socket.IO.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from hall_queue.access import login
from hall_queue.domain import calendar
from hall_queue.domain.calendar import service_day
from hall_queue.domain.vocabulary import ALERT_KIND_LABELS, EMERGENCY_ALERT_KIND, MANAGER_ROLES, NOTICE_OUTCOMES, STAFF_ROLES, client_vocabulary
from hall_queue.entrypoints.web_session import SESSION_TOKEN, client_ip, csrf_token
from hall_queue.access.auth import (
    LockedOut,
    authenticate,
    revoke_token,
)
from hall_queue.domain.errors import DomainError, Unauthorized
from hall_queue.access.audit import Actor
from hall_queue.domain.models import Hall, Queue, Staff, Ticket, Window
from hall_queue.queueing.presenters import iso
from hall_queue.feedback.ratings import LOW_REASONS, SCORE_LABELS
from hall_queue.bootstrap import runtime

from . import auth as staff_auth
from .auth import current_staff, safe_next, staff_page, staff_required

log = logging.getLogger("onevisit.admin")
bp = Blueprint("hall_admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static",
               static_url_path="/static")
STAFF = STAFF_ROLES
MANAGERS = MANAGER_ROLES
OUTCOME_LABELS = {"accepted": "受理", "completed": "办结", "notice": "一次性告知", "deferred": "容缺受理",
                  "refused": "不予受理", "consultation": "咨询"}


def init_app(app) -> None:
    staff_auth.init_app(app)


def _home_for(role: str | None) -> str:
    return url_for("hall_admin.dashboard") if role in MANAGERS else url_for("hall_admin.console")


@bp.get("/")
def home():
    actor = current_staff()
    if actor is None:
        return redirect(url_for("hall_admin.login"))
    return redirect(_home_for(actor.role))


# ---------------------------------------------------------------- login / logout

@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page():
    """Show the login form; on POST check throttling, then the password (CSRF already checked)."""
    next_url = request.values.get("next")
    if request.method == "GET":
        csrf_token()
        return render_template("admin/login.html", next=next_url or "", username="")
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")[:200]
    rt = runtime()
    ip = client_ip()
    error, status = None, 200
    if not username or not password:
        error, status = "请输入用户名和密码", 400
    else:
        try:
            done = login.log_in(rt.db, username, password, ip, clock=rt.clock)
        except LockedOut:
            error, status = "登录失败次数过多，账号已临时锁定，请15分钟后再试", 429
        except login.WrongPassword as e:
            error, status = ("用户名或密码错误" + ("；失败次数过多，已锁定15分钟" if e.locked else "")), 401
        else:
            session.clear()  # a fresh session on login: no fixation
            session[SESSION_TOKEN] = done.token
            csrf_token()
            log.info("staff login ok (role %s)", done.role)
            return redirect(safe_next(next_url, _home_for(done.role)))
    return render_template("admin/login.html", next=next_url or "", username=username, error=error), status



@bp.post("/logout")
def logout():
    token = session.get(SESSION_TOKEN)
    if token:
        rt = runtime()
        try:
            def do(s):
                principal = authenticate(s, token, now=rt.clock.now())
                revoke_token(s, principal.token_id, now=rt.clock.now())
            rt.db.run_write(do)
        except DomainError:
            pass  # already expired or revoked
    session.clear()
    flash("您已退出登录", "info")
    return redirect(url_for("hall_admin.login"))


# ---------------------------------------------------------------- pages

def _windows(hall_id: int) -> list[dict[str, Any]]:
    with runtime().db.read() as s:
        rows = s.scalars(select(Window).where(Window.hall_id == hall_id).order_by(Window.number))
        return [{"id": w.id, "number": w.number, "name": w.name, "kind": w.kind, "is_open": w.is_open,
                 "a_clerk_id": w.a_clerk_id, "b_clerk_id": w.b_clerk_id, "clerk_id": w.clerk_id} for w in rows]


def _queues(hall_id: int) -> list[dict[str, Any]]:
    with runtime().db.read() as s:
        return [{"id": q.id, "prefix": q.prefix, "name": q.name}
                for q in s.scalars(select(Queue).where(Queue.hall_id == hall_id, Queue.active.is_(True))
                                   .order_by(Queue.prefix))]


@bp.get("/console")
@staff_page(*STAFF)
def console(actor: Actor, hall: Hall):
    """窗口叫号终端: sign in at a window and serve tickets with one-key actions."""
    page = {"hall_id": hall.id, "hall_name": hall.name, "staff_id": actor.id, "role": actor.role,
            "windows": _windows(hall.id), "queues": _queues(hall.id), "outcomes": OUTCOME_LABELS,
            # Times on the desk (the no-show list) are the hall's, whatever zone the clerk's PC is set to.
            "timezone": hall.timezone}
    return render_template("admin/console.html", page=page, hall=hall)


@bp.get("/cases")
@staff_page(*STAFF)
def cases_page(actor: Actor, hall: Hall):
    """办件: a department's inbox and its transitions; managers see every department; the handover window hands over."""
    from hall_queue.domain.models import Department
    from hall_queue.domain.vocabulary import CASE_DECISION_LABELS, CASE_STATE_LABELS, HANDOVER_LABELS

    with runtime().db.read() as s:
        depts = [{"id": d.id, "name": d.name} for d in
                 s.scalars(select(Department).where(Department.hall_id == hall.id).order_by(Department.id))]
        mine = s.scalar(select(Staff.department_id).where(Staff.id == actor.id))
    page = {"hall_id": hall.id, "role": actor.role, "department_id": mine, "departments": depts,
            "states": CASE_STATE_LABELS, "decisions": CASE_DECISION_LABELS, "handover": HANDOVER_LABELS,
            "timezone": hall.timezone}  # a case's history in the hall's time
    return render_template("admin/cases.html", page=page, hall=hall)


@bp.get("/dashboard")
@staff_page(*MANAGERS)
def dashboard(actor: Actor, hall: Hall):
    """现场管理: every window and queue live, with alerts."""
    page = {"hall_id": hall.id, "hall_name": hall.name, "wait_alert_s": hall.wait_alert_s,
            "queues": _queues(hall.id), "windows": _windows(hall.id),
            # The KPI strip reads today's statistics: the hall's service day, not the server's date.
            "today": service_day(hall, runtime().clock.now()).isoformat(),
            "alert_kinds": ALERT_KIND_LABELS, "emergency_kind": EMERGENCY_ALERT_KIND,
            "timezone": hall.timezone}  # a notice's end time in the hall's time, not the manager's PC's
    return render_template("admin/dashboard.html", page=page, hall=hall)


@bp.get("/ratings", endpoint="ratings")
@staff_page(*MANAGERS)
def ratings_page(actor: Actor, hall: Hall):
    """好差评 and 差评整改: the rating summary and the rectification cases."""
    with runtime().db.read() as s:
        clerks = [{"id": p.id, "name": p.display_name, "employee_no": p.employee_no}
                  for p in s.scalars(select(Staff).where(Staff.hall_id == hall.id, Staff.active.is_(True))
                                     .order_by(Staff.employee_no, Staff.id))]
    page = {"hall_id": hall.id, "windows": _windows(hall.id), "clerks": clerks, "scores": SCORE_LABELS,
            "reasons": LOW_REASONS}
    return render_template("admin/ratings.html", page=page, hall=hall)



@bp.get("/callbacks", endpoint="callbacks")
@staff_page(*STAFF)
def callbacks_page(actor: Actor, hall: Hall):
    """回访 (002 §11.2.3): the sampled cases to call back within 3 working days, and the month's results."""
    page = {"hall_id": hall.id, "scores": SCORE_LABELS, "manager": actor.role in MANAGERS,
            "month": calendar.service_day(hall, runtime().clock.now()).strftime("%Y-%m")}
    return render_template("admin/callbacks.html", page=page, hall=hall)


@bp.get("/notice/<int:ticket_id>")
@staff_required(*STAFF)
def notice_print(ticket_id: int):
    """Printable 一次性告知书 (000 §9.3.3) or 容缺受理告知 (000 §9.3.6) of a finished ticket."""
    actor = current_staff()
    with runtime().db.read() as s:
        t = s.get(Ticket, ticket_id)
        if t is None or (actor.hall_id is not None and t.hall_id != actor.hall_id) \
                or t.outcome not in NOTICE_OUTCOMES:
            abort(404)
        if actor.role == "clerk" and t.clerk_id != actor.id:
            return render_template("admin/forbidden.html", roles=("办理该号的窗口人员", staff_auth.ROLE_LABELS["manager"])), 403
        hall = s.get(Hall, t.hall_id)
        window = s.get(Window, t.window_id) if t.window_id else None
        items = [{"name": i.name, "materials": i.materials} for i in t.items]
        detail = dict(t.outcome_detail or {})
        view = {"number": t.number, "masked_name": t.masked_name, "outcome": t.outcome,
                "outcome_label": OUTCOME_LABELS.get(t.outcome, t.outcome), "note": t.outcome_note,
                "finished_at": iso(t.finished_at), "local_finished": _local(hall, t.finished_at),
                "window_number": window.number if window else None, "service_items": items,
                "missing": detail.get("missing_materials", []), "deferred": detail.get("deferred_materials", [])}
    return render_template("admin/notice.html", t=view, hall=hall)


def _local(hall: Hall, at) -> str:
    from hall_queue.domain.calendar import local_time

    return local_time(hall, at).strftime("%Y-%m-%d %H:%M") if at else ""


@bp.get("/pad/<int:window_id>")
def pad(window_id: int):
    """评价器: the window's rating pad, opened with its device token (``?token=``)."""
    token = request.args.get("token", "")
    rt = runtime()
    try:
        with rt.db.read() as s:
            principal = authenticate(s, token, now=rt.clock.now()) if token else None
            window = s.get(Window, window_id)
            if principal is None or principal.actor.kind != "pad" or principal.actor.window_id != window_id \
                    or window is None:
                raise Unauthorized("not this window's pad token")
            hall = s.get(Hall, window.hall_id)
            page = {"window_id": window.id, "window_number": window.number, "window_name": window.name,
                    "hall_name": hall.name, "scores": SCORE_LABELS, "reasons": LOW_REASONS,
                    "vocabulary": client_vocabulary()}
    except DomainError:
        return render_template("admin/pad_error.html"), 403
    resp = render_template("admin/pad.html", page=page)
    return resp, 200, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


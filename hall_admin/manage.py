"""Manager pages of issue 6b: configuration, statistics, complaints; and the public complaint pages.

Staff pages (``/admin/config``, ``/admin/stats``, ``/admin/complaints``) need a manager or admin login
(``hall_admin.auth``); their scripts drive the JSON API with the session cookie and X-CSRF-Token.
The public pages (``/complaints/new``, ``/complaints/status``) need no login (000 §10.2, §10.3).
"""
from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from pydantic import ValidationError
from sqlalchemy import select

from hall_queue.domain.vocabulary import COMPLAINT_ANSWER_WORKING_DAYS, HALL_TIMEZONES, MANAGER_ROLES
from hall_queue.feedback import complaints as K
from hall_queue.floor import statistics as stats
from hall_queue.entrypoints.front import page_lang, shown, text_context
from hall_queue.entrypoints.web_session import csrf_matches, csrf_token
from hall_queue.entrypoints.api.complaints_api import file_public
from hall_queue.entrypoints.api.replays import form_key
from hall_queue.entrypoints.web_session import DEVICE_KEY
from hall_queue.domain.errors import DomainError
from hall_queue.domain.calendar import service_day
from hall_queue.config import public_url
from hall_queue.domain.models import (
    Complaint,
    Hall,
    ServiceItem,
    Staff,
    Window,
)
from hall_queue.bootstrap import runtime
from hall_queue.infrastructure.sms import notifier_for

from .auth import current_staff, page_hall, staff_required
from .complaint_text import COMPLAINT_TEXT
from .refusals import invalid_fields

bp = Blueprint("manage", __name__, template_folder="templates", static_folder="static/manage",
               static_url_path="/admin/manage/static")
bp.context_processor(text_context(COMPLAINT_TEXT))  # the public complaint pages: t(), lang, the ?lang=en switch
MANAGERS = MANAGER_ROLES
# Window kinds in the hall's own words (glossary; 001 §5, 004 §7).
WINDOW_KIND_LABELS = {"general": "综合窗口（无差别受理）", "on_the_spot": "即来即办窗口", "cross_region": "跨省通办 / 全区通办窗口",
                      "fallback": "“办不成事”反映窗口", "handover": "出件窗口"}
PUBLIC_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _now():
    return runtime().clock.now()


def _staff_hall() -> Hall:
    """The hall a manager page shows (see hall_admin.auth.page_hall)."""
    return page_hall(current_staff())


def _halls() -> list[dict[str, Any]]:
    with runtime().db.read() as s:
        return [{"id": h.id, "code": h.code, "name": h.name} for h in s.scalars(select(Hall).order_by(Hall.id))]


# ---------------------------------------------------------------- configuration

@bp.get("/admin/config")
@staff_required(*MANAGERS)
def config_page():
    """配置: hall hours and thresholds, catalogue, queues, windows, staff, CSV import/export."""
    hall = _staff_hall()
    actor = current_staff()
    page = {"hall_id": hall.id, "hall_name": hall.name, "role": actor.role, "staff_id": actor.id,
            "halls": _halls() if actor.role == "admin" else [], "window_kinds": list(WINDOW_KIND_LABELS.items()),
            "public_url": public_url(current_app.config),  # the address registered screens and pads open
            "timezones": list(HALL_TIMEZONES.items()), "timezone": hall.timezone}
    return render_template("manage/config.html", page=page, hall=hall)


# ---------------------------------------------------------------- statistics

@bp.get("/admin/stats")
@staff_required(*MANAGERS)
def stats_page():
    """统计: KPI tiles, trends, the weekday × hour heat map and per-window bars."""
    hall = _staff_hall()
    today = service_day(hall, _now())  # the statistics count service days (a ticket at 00:30 is on the day before)
    page = {"hall_id": hall.id, "hall_name": hall.name, "today": today.isoformat(),
            "groups": list(stats.GROUPS), "dimensions": list(stats.DIMENSIONS),
            "halls": _halls() if current_staff().role == "admin" else [], "timezones": HALL_TIMEZONES}
    return render_template("manage/stats.html", page=page, hall=hall)


# ---------------------------------------------------------------- complaints (managers)

def _complaint(complaint_id: int, s) -> tuple[Complaint, Hall]:
    actor = current_staff()
    c = s.get(Complaint, complaint_id)
    if c is None or (actor.hall_id is not None and c.hall_id != actor.hall_id):
        abort(404)
    return c, s.get(Hall, c.hall_id)


@bp.get("/admin/complaints")
@staff_required(*MANAGERS)
def complaints_page():
    """投诉举报: the hall's complaints, newest first, overdue ones marked."""
    hall = _staff_hall()
    status = request.args.get("status", "")
    with runtime().db.read() as s:
        items = K.list_complaints(s, hall, status=status, now=_now())
    return render_template("manage/complaints.html", hall=hall, items=items, status=status,
                           answer_days=COMPLAINT_ANSWER_WORKING_DAYS,
                           statuses=K.STATUS_LABELS)


@bp.get("/admin/complaints/<int:complaint_id>")
@staff_required(*MANAGERS)
def complaint_page(complaint_id: int):
    """One complaint: the §10.2 form fields (personal data masked) and its handling."""
    with runtime().db.read() as s:
        c, hall = _complaint(complaint_id, s)
        view = K.staff_view(c, hall, now=_now(), names=K.staff_names(s, {c.handler_id, c.target_staff_id}))
        window = s.get(Window, c.window_id) if c.window_id else None
        item = s.get(ServiceItem, c.item_id) if c.item_id else None
        managers = [{"id": m.id, "label": f"{m.employee_no or m.id} {K.mask_name(m.display_name)}"}
                    for m in s.scalars(select(Staff).where(Staff.hall_id == hall.id, Staff.active.is_(True),
                                                           Staff.role == "manager").order_by(Staff.id))]
    return render_template("manage/complaint.html", c=view, hall=hall, managers=managers,
                           window=window.number if window else None, item=item.name if item else None)


# What a manager reads when the rules refuse an action on a complaint (their messages are the API's English).
_ACTION_REFUSED = {"handle": "只有本大厅的大厅管理人员可以承办投诉", "answer": "答复内容需 5 至 4000 字（纠正措施至多 4000 字）",
                   "close": "该投诉现在不能办结", "note": "备注未保存"}


@bp.post("/admin/complaints/<int:complaint_id>/<action>")
@staff_required(*MANAGERS)
def complaint_action(complaint_id: int, action: str):
    """Handle, answer, close or annotate a complaint (CSRF checked by hall_admin.auth)."""
    if action not in ("handle", "answer", "close", "note"):
        abort(404)
    actor = current_staff()
    form = request.form
    now = _now()

    def do(s):
        c, _ = _complaint(complaint_id, s)
        if action == "handle":
            K.start_handling(s, c, handler_id=form.get("handler_id", type=int), now=now, actor=actor)
        elif action == "answer":
            K.answer(s, c, text=form.get("answer", "")[:4000], measures=form.get("measures", "")[:4000], now=now,
                     actor=actor)
        elif action == "close":
            K.close(s, c, now=now, actor=actor)
        else:
            K.update(s, c, {"internal_note": form.get("internal_note", "")}, now=now, actor=actor)
        return c.number

    try:
        number = runtime().db.run_write(do)
        flash(f"投诉 {number} 已更新", "info")
    except DomainError as e:
        flash(shown(e, _ACTION_REFUSED.get(action, "操作未成功")), "error")
    return redirect(url_for("manage.complaint_page", complaint_id=complaint_id))


# ---------------------------------------------------------------- complaints (public)

def public_hall() -> Hall | None:
    code = request.values.get("hall", "")
    with runtime().db.read() as s:
        if code:
            return s.scalar(select(Hall).where(Hall.code == code[:40]))
        return s.scalar(select(Hall).order_by(Hall.id).limit(1))


def _say(key: str) -> str:
    """A sentence of the public complaint pages in the visitor's language."""
    return COMPLAINT_TEXT[page_lang()][key]


def _form_choices(hall: Hall) -> dict[str, Any]:
    with runtime().db.read() as s:
        windows = [{"id": w.id, "label": COMPLAINT_TEXT[page_lang()]["window_label"].format(n=w.number, name=w.name)}
                   for w in s.scalars(select(Window).where(Window.hall_id == hall.id).order_by(Window.number))]
        items = [{"id": i.id, "label": i.name}
                 for i in s.scalars(select(ServiceItem).where(ServiceItem.hall_id == hall.id,
                                                              ServiceItem.active.is_(True)).order_by(ServiceItem.code))]
    return {"windows": windows, "items": items, "kinds": K.KIND_LABELS}


# The complaint form's fields as its Chinese page labels them (a refused form names them so).
_FIELD_LABELS = {"kind": COMPLAINT_TEXT["zh"]["kind"], "target_unit": COMPLAINT_TEXT["zh"]["target_unit"],
                 "window_id": COMPLAINT_TEXT["zh"]["window"], "item_id": COMPLAINT_TEXT["zh"]["item"],
                 "target_person": COMPLAINT_TEXT["zh"]["target_person"], "target_staff_no": COMPLAINT_TEXT["zh"]["staff_no"],
                 "content": COMPLAINT_TEXT["zh"]["content"], "request": COMPLAINT_TEXT["zh"]["request"],
                 "occurred_at": COMPLAINT_TEXT["zh"]["occurred_at"], "complainant_name": COMPLAINT_TEXT["zh"]["your_name"],
                 "contact": COMPLAINT_TEXT["zh"]["contact"]}
_FORM_FIELDS = ("kind", "target_unit", "window_id", "item_id", "target_person", "target_staff_no", "content",
                "request", "occurred_at", "complainant_name", "contact")


@bp.route("/complaints/new", methods=["GET", "POST"])
def complaint_new():
    """投诉举报表 (000 §10.2): anyone may file; a number and look-up code are given at once."""
    hall = public_hall()
    if hall is None:
        abort(404)
    values: dict[str, str] = {k: request.form.get(k, "")[:2100] for k in _FORM_FIELDS}
    values["is_report"] = request.form.get("is_report", "")
    errors: list[str] = []
    # This browser's device id: the form's limit counts per device, and more loosely per address.
    session.setdefault(DEVICE_KEY, secrets.token_urlsafe(16))
    if request.method == "POST":
        if not csrf_matches(request.form.get("csrf_token")):
            errors.append(_say("page_expired"))
        else:
            data: dict[str, Any] = {k: v for k, v in values.items() if v.strip() and k != "is_report"}
            data["is_report"] = values["is_report"] == "1"
            try:
                form = K.ComplaintForm.model_validate(data)
                # The form's one-use token keys the filing: a double click files once and both show its number.
                filed, status = file_public(hall.id, form, form_key(request.form.get("submit_token", ""),
                                                                    form.model_dump_json()))
                return render_template("manage/complaint_filed.html", hall=hall, filed=filed,
                                       csrf=csrf_token()), status, PUBLIC_HEADERS
            except ValidationError as e:
                errors.append(_say("invalid_form") + (invalid_fields(e, _FIELD_LABELS) if page_lang() == "zh" else ""))
            except DomainError as e:
                # A rule's own plain Chinese sentence, else the page's for its code (an English page: always the page's).
                said = COMPLAINT_TEXT[page_lang()].get(e.code, _say("invalid_form"))
                errors.append(shown(e, said) if page_lang() == "zh" else said)
                if e.status == 429:
                    return render_template("manage/complaint_new.html", hall=hall, v=values, errors=errors,
                                           csrf=csrf_token(), submit_token=secrets.token_urlsafe(16),
                                           **_form_choices(hall)), 429, PUBLIC_HEADERS
    status = 422 if errors else 200
    return render_template("manage/complaint_new.html", hall=hall, v=values, errors=errors, csrf=csrf_token(),
                           submit_token=secrets.token_urlsafe(16), **_form_choices(hall)), status, PUBLIC_HEADERS


@bp.post("/complaints/sms")
def complaint_code_sms():
    """Send the just-filed complaint's number and look-up code to the complainant's phone (issue 21)."""
    hall = public_hall()
    if hall is None:
        abort(404)
    number = request.form.get("number", "").strip()[:30]
    code = request.form.get("code", "").strip()[:20]
    phone = request.form.get("phone", "").strip()[:20]
    filed = {"number": number, "lookup_code": code, "due_on": request.form.get("due_on", "")[:10]}
    if not csrf_matches(request.form.get("csrf_token")):
        return render_template("manage/complaint_filed.html", hall=hall, filed=filed, csrf=csrf_token(),
                               sms_error=_say("page_expired")), 400, PUBLIC_HEADERS
    rt = runtime()
    notifier = notifier_for(current_app)
    try:
        rt.db.run_write(lambda s: K.send_lookup_code(s, s.get(Hall, hall.id), number, code, phone, vault=rt.vault,
                                                     notifier=notifier, now=_now()))
    except DomainError as e:
        message = _say("sms_bad_phone" if e.code == "invalid_phone" else "sms_not_found")
        return render_template("manage/complaint_filed.html", hall=hall, filed=filed, csrf=csrf_token(),
                               sms_error=message, phone=phone), 422, PUBLIC_HEADERS
    masked = phone[:3] + "****" + phone[-4:]
    return render_template("manage/complaint_filed.html", hall=hall, filed=filed, csrf=csrf_token(),
                           sms_sent=masked), 200, PUBLIC_HEADERS


def lookup_page(template: str, lookup, *, not_found: str, wrong_code: str):
    """A public look-up by number (and look-up code): ``lookup(session, hall, number, code, vault=, now=)``."""
    hall = public_hall()
    if hall is None:
        abort(404)
    number = request.args.get("number", "").strip()[:30]
    code = request.args.get("code", "").strip()[:20]
    result, error = None, None
    if number:
        rt = runtime()
        with rt.db.read() as s:
            try:
                result = lookup(s, hall, number, code or None, vault=rt.vault, now=_now())
            except DomainError:
                error = not_found
        if result is not None and code and not result["verified"]:
            error = wrong_code
    return render_template(template, hall=hall, number=number, code=code, result=result,
                           error=error), (404 if number and result is None else 200), PUBLIC_HEADERS


@bp.get("/complaints/status")
def complaint_status_page():
    """投诉举报结果查询 (000 §10.3): status by number; the answer with the look-up code."""
    return lookup_page("manage/complaint_status.html", K.lookup, not_found=_say("not_found"),
                       wrong_code=_say("wrong_code"))

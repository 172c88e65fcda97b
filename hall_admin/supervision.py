"""Supervision pages (issue 18): consultation records, the audit viewer with violation indicators, the
leadership page, the public page of corrective measures and the managers' page that withholds them.

Staff pages drive the JSON API (``entrypoints/api/consultations_api.py``, ``supervision_api.py``) with the
session cookie and X-CSRF-Token; the public pages (``/measures``, the online question form ``/consult/new`` and
its look-up ``/consult/status``) are rendered on the server, no script.
"""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, render_template, request, session
from pydantic import ValidationError
from sqlalchemy import select

from hall_queue.access.audit import Actor
from hall_queue.bootstrap import runtime
from hall_queue.domain.errors import DomainError
from hall_queue.entrypoints.api.consultations_api import ask_online
from hall_queue.entrypoints.api.replays import form_key
from hall_queue.entrypoints.web_session import DEVICE_KEY, csrf_matches, csrf_token
from hall_queue.feedback import consultations as C
from hall_queue.entrypoints.front import text_context
from hall_queue.domain.calendar import local_time
from hall_queue.domain.models import Hall, ServiceItem
from hall_queue.domain.vocabulary import (CONSULTATION_CHANNEL_LABELS, CONSULTATION_REPLY_WORKING_DAYS,
                                          MANAGER_ROLES, STAFF_ROLES)
from hall_queue.feedback import measures

from .complaint_text import COMPLAINT_TEXT
from hall_queue.floor import leadership, supervision

from .auth import current_staff, page_hall, staff_page, staff_required
from .manage import lookup_page, public_hall

bp = Blueprint("supervision", __name__, template_folder="templates", static_folder="static/supervision",
               static_url_path="/admin/supervision/static")
bp.context_processor(text_context(COMPLAINT_TEXT))  # the published measures page shares the public frame
PUBLIC_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _today(hall: Hall) -> str:
    return local_time(hall, runtime().clock.now()).date().isoformat()


@bp.get("/admin/consultations")
@staff_page(*STAFF_ROLES)
def consultations_page(actor: Actor, hall: Hall):
    """咨询登记: log a question (answered at once or with a reply date), the pending list, the rates."""
    with runtime().db.read() as s:
        items = [{"id": i.id, "label": i.name} for i in s.scalars(
            select(ServiceItem).where(ServiceItem.hall_id == hall.id, ServiceItem.active.is_(True))
            .order_by(ServiceItem.code))]
    page = {"hall_id": hall.id, "today": _today(hall), "channels": CONSULTATION_CHANNEL_LABELS, "items": items,
            "reply_days": CONSULTATION_REPLY_WORKING_DAYS, "manager": actor.role in MANAGER_ROLES}
    return render_template("supervision/consultations.html", page=page, hall=hall)


@bp.get("/admin/audit")
@staff_required(*MANAGER_ROLES)
def audit_page():
    """电子监察: the chain check, the violation indicators with drill-down, the filtered audit log."""
    hall = page_hall(current_staff())
    with runtime().db.read() as s:
        page = {"hall_id": hall.id, "today": _today(hall), **supervision.filters(s, hall)}
    return render_template("supervision/audit.html", page=page, hall=hall)


@bp.get("/admin/leadership")
@staff_required(*MANAGER_ROLES)
def leadership_page():
    """领导看板: every efficiency indicator by month with its definition and trend."""
    hall = page_hall(current_staff())
    page = {"hall_id": hall.id, "today": _today(hall), "max_months": leadership.MAX_MONTHS}
    return render_template("supervision/leadership.html", page=page, hall=hall)


# ---------------------------------------------------------------- online questions (public, 000 §7.4)

def _ask_choices(hall: Hall) -> list[dict]:
    with runtime().db.read() as s:
        return [{"id": i.id, "label": i.name} for i in s.scalars(
            select(ServiceItem).where(ServiceItem.hall_id == hall.id, ServiceItem.active.is_(True))
            .order_by(ServiceItem.code))]


_ASK_FIELDS = ("question", "item_id", "asker", "contact")
# The form's answers in the visitor's words: the API's messages are for technicians.
_ASK_ERRORS = {"question": "请填写您要咨询的问题（5至2000字）。", "item_id": "所选事项不存在，请重新选择。",
               "asker": "姓名不能含数字或特殊符号。",
               "contact": "联系方式请填写手机号码、固定电话（如0431-88886666）或电子邮箱。"}


@bp.route("/consult/new", methods=["GET", "POST"])
def consult_new():
    """网上咨询 (000 §7.4): anyone asks a question; a number and look-up code are given at once."""
    hall = public_hall()
    if hall is None:
        abort(404)
    values = {k: request.form.get(k, "")[:2100] for k in _ASK_FIELDS}
    errors: list[str] = []
    session.setdefault(DEVICE_KEY, secrets.token_urlsafe(16))  # the form's limit counts per device
    status = 200
    if request.method == "POST":
        if not csrf_matches(request.form.get("csrf_token")):
            errors.append("页面已过期，请刷新后重新提交。")
        else:
            try:
                form = C.QuestionForm.model_validate({k: v for k, v in values.items() if v.strip()})
                # The form's one-use token keys the question: a double click asks once and both show its number.
                asked, status = ask_online(hall.id, form, form_key(request.form.get("submit_token", ""),
                                                                   form.model_dump_json()))
                return render_template("supervision/consult_asked.html", hall=hall, asked=asked), status, PUBLIC_HEADERS
            except ValidationError as e:
                fields = {str(err["loc"][0]) for err in e.errors() if err.get("loc")}
                errors += [_ASK_ERRORS[f] for f in _ASK_FIELDS if f in fields] or ["请检查填写的内容。"]
            except DomainError as e:
                status = e.status
                errors.append("提交太频繁，请稍后再试，或拨打大厅电话咨询。" if e.status == 429
                              else "所选事项不存在，请重新选择。" if e.status == 404 else "提交没有成功，请稍后再试。")
        status = status if status != 200 else 422
    return render_template("supervision/consult_new.html", hall=hall, v=values, errors=errors, csrf=csrf_token(),
                           submit_token=secrets.token_urlsafe(16), items=_ask_choices(hall),
                           reply_days=CONSULTATION_REPLY_WORKING_DAYS), status, PUBLIC_HEADERS


@bp.get("/consult/status")
def consult_status():
    """网上咨询答复查询: the status by number; the question and answer with the look-up code."""
    return lookup_page("supervision/consult_status.html", C.public_lookup, not_found="未找到该咨询编号，请核对后重试。",
                       wrong_code="查询码不正确：仅显示答复状态。")


@bp.get("/admin/measures")
@staff_required(*MANAGER_ROLES)
def measures_admin_page():
    """整改措施公示 for managers: every measure as the public reads it; withhold one, or re-publish it."""
    hall = page_hall(current_staff())
    page = {"hall_id": hall.id, "public_url": f"/measures?hall={hall.code}"}
    return render_template("supervision/measures_admin.html", page=page, hall=hall)


@bp.get("/measures")
def measures_page():
    """整改措施公示 (000 §10.4): anyone may read the hall's corrective measures, anonymised."""
    code = request.args.get("hall", "")[:40]
    rt = runtime()
    with rt.db.read() as s:
        hall = s.scalar(select(Hall).where(Hall.code == code)) if code else \
            s.scalar(select(Hall).order_by(Hall.id).limit(1))
        if hall is None:
            abort(404)
        items = measures.published(s, hall, vault=rt.vault)
    return render_template("supervision/measures.html", hall=hall, items=items), 200, PUBLIC_HEADERS

"""Supervision pages (issue 18): consultation records, the audit viewer with violation indicators, the
leadership page, the public page of corrective measures and the managers' page that withholds them.

Staff pages drive the JSON API (``entrypoints/api/consultations_api.py``, ``supervision_api.py``) with the
session cookie and X-CSRF-Token; the public ``/measures`` page is rendered on the server, no script.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from hall_queue.bootstrap import runtime
from hall_queue.domain.calendar import local_time
from hall_queue.domain.models import Hall, ServiceItem
from hall_queue.domain.vocabulary import (CONSULTATION_CHANNEL_LABELS, CONSULTATION_REPLY_WORKING_DAYS,
                                          MANAGER_ROLES, STAFF_ROLES)
from hall_queue.feedback import measures
from hall_queue.floor import leadership, supervision

from .auth import current_staff, page_hall, staff_required

bp = Blueprint("supervision", __name__, template_folder="templates", static_folder="static/supervision",
               static_url_path="/admin/supervision/static")
PUBLIC_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _today(hall: Hall) -> str:
    return local_time(hall, runtime().clock.now()).date().isoformat()


@bp.get("/admin/consultations")
@staff_required(*STAFF_ROLES)
def consultations_page():
    """咨询登记: log a question (answered at once or with a reply date), the pending list, the rates."""
    actor = current_staff()
    hall = page_hall(actor)
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

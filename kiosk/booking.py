"""Public booking pages (网上预约, 000 §8.2): phone-sized forms, no login, no script required.

Choose a matter → a day and a slot → name, ID number and phone → a success page with the
confirmation code (000 §8.2.1). ``/book/<hall>/cancel`` cancels with code + ID number (000 §8.2.5).
Views only translate forms into ``hall_queue.appointments`` calls (STYLE rule 6).
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from hall_queue import appointments as A
from hall_queue.catalog.materials import merged_materials
from hall_queue.domain.vocabulary import MATERIAL_FORM_LABELS as FORMS
from hall_queue.entrypoints.front import page_lang, shown, text_context
from hall_queue.entrypoints.web_session import csrf_matches, csrf_token
from hall_queue.domain.errors import DomainError
from hall_queue.domain.models import Appointment, Hall
from hall_queue.entrypoints.api import replays
from hall_queue.entrypoints.api.replays import form_key
from hall_queue.infrastructure.request_limits import echoed
from hall_queue.infrastructure.sms import notifier_for
from hall_queue.bootstrap import runtime

from .booking_text import BOOKING_TEXT

bp = Blueprint("booking", __name__, url_prefix="/book", template_folder="templates", static_folder="static",
               static_url_path="/static")
DONE_KEY = "booking_done"
bp.context_processor(text_context(BOOKING_TEXT))  # t(), lang and the language switch (?lang=en)


def _said(e: DomainError) -> str:
    """A booking rule's refusal in the page's language (the rule's own sentence when it is plain Chinese)."""
    if page_lang() == "zh":
        return shown(e, BOOKING_TEXT["zh"]["code_other"])
    en = BOOKING_TEXT["en"]
    return en.get(f"code_{e.code}", en["code_other"])


def _field_errors(errors: dict[str, str]) -> dict[str, str]:
    if page_lang() == "zh":
        return errors
    return {field: BOOKING_TEXT["en"].get(f"err_{field}", message) for field, message in errors.items()}


def _hall(s, hall_id: int) -> Hall:
    hall = s.get(Hall, hall_id)
    if hall is None:
        abort(404)
    return hall


def _now() -> datetime:
    return runtime().clock.now()


def _check_csrf() -> None:
    if not csrf_matches(request.form.get("csrf_token")):
        abort(400, description="页面已过期，请刷新后重试")


def _attempt(do: Callable[[Any], tuple[Any, list]]) -> tuple[Any, str | None]:
    """Run a visitor's booking change: (its result, None), or (None, the message the page shows) when refused."""
    rt = runtime()
    try:
        result, events = rt.db.run_write(do)
    except DomainError as e:
        return None, _said(e)
    rt.publish(events)
    return result, None


@bp.get("/<int:hall_id>")
def choose(hall_id: int):
    """Step 1: choose a service item or a life-event bundle."""
    with runtime().db.read() as s:
        hall = _hall(s, hall_id)
        matters = A.bookable_matters(s, hall)
        return render_template("booking/choose.html", hall=hall, **matters)


@bp.get("/<int:hall_id>/slots")
def slots(hall_id: int):
    """Step 2: choose a day and a slot, with the seats left in each."""
    with runtime().db.read() as s:
        hall = _hall(s, hall_id)
        try:
            matter = A.resolve_matter(s, hall, request.args.get("matter", ""))
        except DomainError:
            return redirect(url_for("booking.choose", hall_id=hall_id))
        st = A.settings_for(s, hall)
        now = _now()
        days = A.bookable_days(hall, st, now)
        try:
            day = date.fromisoformat(request.args.get("date", ""))
        except ValueError:
            day = None
        tabs = []
        for d in days:
            _, hol = A.day_plan(s, hall, d)
            tabs.append({"date": d, "holiday": hol, "open": bool(A.slots_of_day(s, hall, st, d))})
        if day in days:
            cal = A.day_calendar(s, hall, matter, day, now=now)
        else:  # no day chosen yet: the first day with a seat left, not a today whose times have all passed
            for d in days:
                cal = A.day_calendar(s, hall, matter, d, now=now)
                if any(slot["bookable"] for slot in cal["slots"]):
                    break
            else:
                cal = A.day_calendar(s, hall, matter, days[0], now=now)
            day = date.fromisoformat(cal["date"])
        return render_template("booking/slots.html", hall=hall, matter=matter, day=day, tabs=tabs, cal=cal)


@bp.route("/<int:hall_id>/form", methods=["GET", "POST"])
def form(hall_id: int):
    """Step 3: who is coming; POST books and shows the success page."""
    rt = runtime()
    matter_key = request.values.get("matter", "")
    slot_text = request.values.get("slot", "")
    try:
        slot = datetime.fromisoformat(slot_text)
    except ValueError:
        return redirect(url_for("booking.slots", hall_id=hall_id, matter=echoed(matter_key)))
    values = {k: request.form.get(k, "").strip() for k in ("name", "id_number", "phone")}
    error = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        _check_csrf()
        # Every problem of the form at once, each by its field (issue 21), not one per try.
        errors = A.person_errors(values["name"], values["id_number"], values["phone"])
        if not request.form.get("consent"):
            errors["consent"] = BOOKING_TEXT["zh"]["err_consent"]
        errors = _field_errors(errors)
        if errors:
            error = BOOKING_TEXT[page_lang()]["fix_n"].format(n=len(errors))
        else:
            notifier = notifier_for(current_app)

            def do(s):
                hall = _hall(s, hall_id)
                m = A.resolve_matter(s, hall, matter_key)
                req = A.BookingRequest(slot=slot, name=values["name"], id_number=values["id_number"],
                                       phone=values["phone"], item_id=m.item.id if m.item else None,
                                       bundle_id=m.bundle.id if m.bundle else None)
                appt, events = A.book(s, hall, req, now=_now(), vault=rt.vault, notifier=notifier)
                return appt.id, events
            # The form's one-use token keys the booking: a double click books once (not once and 已预约).
            filled = json.dumps([matter_key, slot_text, values], ensure_ascii=False)
            try:
                appt_id, _ = replays.once(do, kept=replays.visitor(f"booking-form:{hall_id}"), payload=filled,
                                          key=form_key(request.form.get("submit_token", ""), filled))
            except DomainError as e:
                error = _said(e)
            if error is None:
                session[DONE_KEY] = appt_id
                return redirect(url_for("booking.done", hall_id=hall_id))
    with rt.db.read() as s:
        hall = _hall(s, hall_id)
        try:
            matter = A.resolve_matter(s, hall, matter_key)
        except DomainError:
            return redirect(url_for("booking.choose", hall_id=hall_id))
        st = A.settings_for(s, hall)
        found = A.find_slot(s, hall, st, slot)
        if found is None:
            return redirect(url_for("booking.slots", hall_id=hall_id, matter=echoed(matter_key)))
        return render_template("booking/form.html", hall=hall, matter=matter, slot=found, values=values,
                               error=error, errors=errors, csrf=csrf_token(), submit_token=secrets.token_urlsafe(16),
                               st=st), (422 if error else 200)


@bp.get("/<int:hall_id>/done")
def done(hall_id: int):
    """The success prompt with the confirmation code (000 §8.2.1); only in the browser that booked."""
    appt_id = session.get(DONE_KEY)
    with runtime().db.read() as s:
        hall = _hall(s, hall_id)
        appt = s.get(Appointment, appt_id) if isinstance(appt_id, int) else None
        if appt is None or appt.hall_id != hall.id:
            return redirect(url_for("booking.choose", hall_id=hall_id))
        st = A.settings_for(s, hall)
        matter = A.resolve_matter(s, hall, appt.matter)
        # What to bring, once (003 §3.8 一套材料), and where to come: the success page is what people keep.
        return render_template("booking/done.html", hall=hall, b=A.appointment_view(appt, hall, with_code=True),
                               st=st, materials=merged_materials(matter.items), forms=FORMS)


@bp.route("/<int:hall_id>/cancel", methods=["GET", "POST"])
def cancel(hall_id: int):
    """Cancel with the confirmation code and the ID number, before or during the slot (000 §8.2.5)."""
    rt = runtime()
    error = cancelled = None
    code = request.values.get("code", "").strip().upper()[:12]
    if request.method == "POST":
        _check_csrf()
        id_number = request.form.get("id_number", "").strip()
        notifier = notifier_for(current_app)

        def do(s):
            hall = _hall(s, hall_id)
            appt, events = A.cancel(s, hall, code=code, id_number=id_number, now=_now(), vault=rt.vault,
                                    notifier=notifier)
            return A.appointment_view(appt, hall), events
        if code and id_number:
            cancelled, error = _attempt(do)
        else:  # an empty field is not "no booking matches": say what to fill in
            error = BOOKING_TEXT[page_lang()]["cancel_fill"]
    with rt.db.read() as s:
        hall = _hall(s, hall_id)
    return render_template("booking/cancel.html", hall=hall, code=code, error=error, cancelled=cancelled,
                           csrf=csrf_token()), (422 if error else 200)

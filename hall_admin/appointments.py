"""Managers' appointment pages: today's bookings and check-ins live, capacity calendar, holidays, no-shows.

Pages need a manager or admin login (``staff_required``); forms post with the page's CSRF token
(checked for every ``/admin`` request by ``hall_admin.auth``). The live list polls the JSON API
with the same session cookie. Identity is shown masked only.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from hall_queue import appointments as A
from hall_queue.appointments.settings import SETTING_LIMITS
from hall_queue.domain.vocabulary import HHMM_PATTERN, MANAGER_ROLES
from hall_queue.infrastructure.request_limits import echoed
from hall_queue.floor.statistics import WEEKDAYS_ZH
from hall_queue.domain.errors import DomainError, NotFound
from hall_queue.domain.models import Appointment, Hall
from hall_queue.infrastructure.sms import notifier_for
from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.front import shown

from .auth import current_staff, staff_required

bp = Blueprint("hall_admin_appointments", __name__, url_prefix="/admin/appointments", template_folder="templates")
MANAGERS = MANAGER_ROLES
STATUS_LABELS = {"booked": "已预约", "checked_in": "已签到", "served": "已办结", "closed": "已结束",
                 "cancelled": "已取消", "no_show": "爽约"}
SETTING_LABELS = {
    "slot_minutes": "时段长度（分钟）", "default_capacity": "每时段号源（默认）", "booking_share_pct": "可网上预约比例（%）",
    "book_days_ahead": "可提前预约天数", "book_close_minutes": "时段开始前多少分钟停止预约（可为负）",
    "checkin_early_minutes": "可提前签到（分钟）", "checkin_grace_minutes": "开始后宽限签到（分钟）",
    "no_show_limit": "爽约次数上限（0=不限制）", "no_show_window_days": "爽约统计天数",
    "no_show_block_days": "暂停网上预约天数",
}


def _hall_id() -> int:
    """The manager's own hall; an admin (no hall) picks one with ``?hall_id=`` (default: the first)."""
    actor = current_staff()
    if actor is not None and actor.hall_id is not None:
        return actor.hall_id
    with runtime().db.read() as s:
        wanted = request.values.get("hall_id", type=int)
        hall = s.get(Hall, wanted) if wanted else s.scalar(select(Hall).order_by(Hall.id))
        if hall is None:
            abort(404)
        return hall.id


def _halls() -> list[Hall]:
    actor = current_staff()
    with runtime().db.read() as s:
        q = select(Hall).order_by(Hall.id)
        if actor is not None and actor.hall_id is not None:
            q = q.where(Hall.id == actor.hall_id)
        return list(s.scalars(q))


def _write(fn, ok: str, back: str, refused: str = "未保存：填写的内容不符合要求，请检查后重试", **args):
    """Run a change in one transaction; publish the events it returns after commit; flash the outcome."""
    rt = runtime()
    try:
        events = rt.db.run_write(fn)
    except DomainError as e:
        flash(shown(e, refused), "error")
    else:
        if isinstance(events, list):
            rt.publish(events)
        flash(ok, "ok")
    return _back(back, **args)


def _back(endpoint: str, **args):
    """Redirect to a page of this blueprint, with the form's own choices (matter, date) kept when they are short."""
    return redirect(url_for(endpoint, **{k: echoed(v) for k, v in args.items()}))


@bp.get("")
@staff_required(*MANAGERS)
def today():
    """Today's (or ``?date=``) bookings and check-ins; the table refreshes itself every few seconds."""
    hall_id = _hall_id()
    with runtime().db.read() as s:
        hall = s.get(Hall, hall_id)
        day = request.args.get("date") or A.local_today(hall, runtime().clock.now()).isoformat()
        try:
            day_d = date.fromisoformat(day)
        except ValueError:
            abort(400)
        rows = A.day_bookings(s, hall, day_d, now=runtime().clock.now())
        return render_template("appointments/today.html", hall=hall, halls=_halls(), day=day_d, rows=rows,
                               summary=A.day_summary(rows), labels=STATUS_LABELS)


@bp.post("/<int:appointment_id>/cancel")
@staff_required(*MANAGERS)
def cancel(appointment_id: int):
    hall_id = _hall_id()
    notifier = notifier_for(current_app)
    rt = runtime()

    def do(s):
        hall = s.get(Hall, hall_id)
        appt = s.get(Appointment, appointment_id)
        if appt is None or appt.hall_id != hall_id:
            raise NotFound("未找到该预约")
        return A.cancel_by_staff(s, hall, appt, now=rt.clock.now(), notifier=notifier, actor=current_staff())
    return _write(do, "已取消该预约并短信通知预约人", "hall_admin_appointments.today", hall_id=hall_id,
                  date=request.form.get("date") or None)


# A capacity rule's weekday as the page writes it (周一 … 周日) and as the rule keeps it (mon … sun).
DAY_NAMES = dict(zip(A.WEEKDAYS, WEEKDAYS_ZH))
DAY_KEYS = {v: k for k, v in DAY_NAMES.items()}


def _capacity_problem(cap_raw: str, day: str, time_: str) -> str | None:
    """What is wrong with a capacity rule's fields, in the page's words (the rules' own messages are English)."""
    if cap_raw and not (cap_raw.isascii() and cap_raw.isdigit() and len(cap_raw) <= 3):
        return "号源数请填写 0 至 999 的整数"
    if day != "*" and day not in A.WEEKDAYS:
        try:
            date.fromisoformat(day)
        except ValueError:
            return "日期或星期请填写 *（每天）、周一至周日，或 2026-05-01 这样的日期"
    if time_ != "*" and not re.fullmatch(HHMM_PATTERN, time_):
        return "时段开始请填写 *（全部时段）或 09:00 这样的时刻"
    return None


@bp.route("/capacity", methods=["GET", "POST"])
@staff_required(*MANAGERS)
def capacity():
    """The capacity calendar (最大预约数, 000 §8.2.2) of one matter over a week, with the hall's settings."""
    hall_id = _hall_id()
    rt = runtime()
    if request.method == "POST":
        form = request.form
        if form.get("action") == "settings":
            changes = {}
            back = _back(".capacity", hall_id=hall_id, matter=form.get("matter") or None)
            # Each refused value is named with its limits (the service's refusal is English, for integrators).
            for key, label in SETTING_LABELS.items():
                raw = form.get(key, "").strip()
                if raw:
                    lo, hi = SETTING_LIMITS[key]
                    value = int(raw) if re.fullmatch(r"-?[0-9]{1,6}", raw) else None
                    if value is None or not lo <= value <= hi:
                        flash(f"{label}：请填写 {lo} 至 {hi} 的整数", "error")
                        return back
                    changes[key] = value
            raw = form.get("reminder_minutes", "").replace("，", ",")
            parts = [x.strip() for x in raw.split(",") if x.strip()]
            if len(parts) > 5 or not all(re.fullmatch(r"[0-9]{1,5}", x) and 1 <= int(x) <= 10080 for x in parts):
                flash("提醒时间：最多 5 个 1 至 10080 的分钟数，用逗号分隔，如 1440,60", "error")
                return back
            changes["reminder_minutes"] = [int(x) for x in parts]
            return _write(lambda s: A.update_settings(s, s.get(Hall, hall_id), changes, now=rt.clock.now(),
                                                      actor=current_staff()) and None,
                          "预约设置已保存", "hall_admin_appointments.capacity", hall_id=hall_id,
                          matter=form.get("matter") or None)
        cap_raw = form.get("capacity", "").strip()
        day = form.get("day", "*").strip() or "*"
        day = DAY_KEYS.get(day, day)  # a manager writes 周一; the rule keeps the vocabulary's "mon"
        time_ = form.get("time", "*").strip() or "*"
        problem = _capacity_problem(cap_raw, day, time_)
        if problem:
            flash(problem, "error")
            return _back(".capacity", hall_id=hall_id, matter=form.get("matter"))
        cap = None if cap_raw == "" else int(cap_raw)
        return _write(lambda s: A.set_capacity(s, s.get(Hall, hall_id), matter=form.get("matter", ""),
                                               day=day, time_=time_, capacity=cap,
                                               now=rt.clock.now(), actor=current_staff()) and None,
                      "号源规则已保存" if cap is not None else "号源规则已删除", "hall_admin_appointments.capacity",
                      hall_id=hall_id, matter=form.get("matter"), start=form.get("start") or None)
    with rt.db.read() as s:
        hall = s.get(Hall, hall_id)
        st = A.settings_for(s, hall)
        matters = A.bookable_matters(s, hall)
        key = request.args.get("matter") or (matters["categories"][0]["items"][0]["matter"]
                                             if matters["categories"] else None)
        start_raw = request.args.get("start")
        try:
            start = date.fromisoformat(start_raw) if start_raw else A.local_today(hall, rt.clock.now())
        except ValueError:
            start = A.local_today(hall, rt.clock.now())
        days, matter = [], None
        if key:
            try:
                matter = A.resolve_matter(s, hall, key)
            except DomainError:
                abort(404)
            days = [A.day_calendar(s, hall, matter, start + timedelta(days=n), now=rt.clock.now()) for n in range(7)]
        times = sorted({slot["start"] for d in days for slot in d["slots"]})
        grid = [{t: next((x for x in d["slots"] if x["start"] == t), None) for t in times} for d in days]
        rules = [r for r in A.capacity_rules(s, hall) if matter is None or r["matter"] == matter.key]
        return render_template("appointments/capacity.html", hall=hall, halls=_halls(), st=A.settings_view(st),
                               day_names=DAY_NAMES,
                               labels=SETTING_LABELS, matters=matters, matter=matter, days=days, times=times,
                               grid=grid, rules=rules, start=start, prev=start - timedelta(days=7),
                               next=start + timedelta(days=7))


@bp.route("/holidays", methods=["GET", "POST"])
@staff_required(*MANAGERS)
def holidays():
    """Holidays (closed) and make-up working days (调休上班) with their hours."""
    hall_id = _hall_id()
    rt = runtime()
    if request.method == "POST":
        form = request.form
        if form.get("remove"):
            return _write(lambda s: A.remove_holiday(s, s.get(Hall, hall_id), int(form["remove"]), now=rt.clock.now(),
                                                     actor=current_staff()),
                          "已删除", "hall_admin_appointments.holidays", hall_id=hall_id)
        try:
            day = date.fromisoformat(form.get("day", ""))
        except ValueError:
            flash("请选择日期", "error")
            return _back(".holidays", hall_id=hall_id)
        hours = []
        for part in form.get("hours", "").replace("，", ",").split(","):
            if part.strip():
                hours.append([x.strip() for x in part.split("-", 1)] if "-" in part else [part.strip(), ""])
        result: dict = {}

        def do(s):
            _, affected = A.add_holiday(s, s.get(Hall, hall_id), day=day, kind=form.get("kind", "holiday"),
                                        name=form.get("name", ""), hours=hours, now=rt.clock.now(),
                                        actor=current_staff())
            result["affected"] = affected
        resp = _write(do, "已保存", "hall_admin_appointments.holidays", hall_id=hall_id,
                      refused="未保存：调休办公时间请写成 08:30-12:00,13:00-17:30 这样的时段（结束晚于开始）")
        if result.get("affected"):
            flash(f"注意：当天已有 {result['affected']} 个有效预约，预约仍然有效，请联系预约人或在预约列表中取消。",
                  "warning")
        return resp
    with rt.db.read() as s:
        hall = s.get(Hall, hall_id)
        rows = A.holidays_of(s, hall, since=A.local_today(hall, rt.clock.now()) - timedelta(days=30))
        return render_template("appointments/holidays.html", hall=hall, halls=_halls(), rows=rows)


@bp.get("/no-shows")
@staff_required(*MANAGERS)
def no_shows():
    """Recent no-shows (爽约) and who is blocked from booking online, masked."""
    hall_id = _hall_id()
    with runtime().db.read() as s:
        hall = s.get(Hall, hall_id)
        report = A.no_show_report(s, hall, now=runtime().clock.now())
        return render_template("appointments/no_shows.html", hall=hall, halls=_halls(), report=report)

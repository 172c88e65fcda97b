"""Electronic supervision for managers (004 §8.4 全程实时监督): the audit log read back, and the violation
indicators of 000 §12.3.5 / 002 §11.3.5 the hall can see itself.

The audit log (``access.audit``) is written by every staff and device action; here it is filtered by staff
member, window, action and time and put into the managers' words (``AUDIT_ACTION_LABELS``). Detail values
are shown only for free-text keys (a reason, a note); identities never appear (they are not in the log).

Violations, over a range of the hall's local dates, each with its list for drill-down:

- ``empty_post`` 空岗 (002 §6.9 不得空岗; 000 §12.3.5 a 无人受理): post intervals of kind ``empty`` that overlap
  the range, with their minutes (an open one runs to now).
- ``overdue_case`` 逾期未办结 (000 §12.3.5 c; 002 §11.3.5 c): matter cases running past their promised date now,
  plus those decided in the range after it.
- ``result_not_handed_over`` 未出具办理结果 (000 §12.3.5 e; 002 §11.3.5 f): matter cases decided more than
  ``RESULT_HANDOVER_WORKING_DAYS`` working days ago whose result has not reached the applicant.
- ``refusal`` 不予受理 (000 §12.3.5 a; 002 §11.3.5 a): every refusal in the range with its reason, for a
  manager to check that the application was indeed incomplete or out of scope — the system cannot judge that.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access.identity import mask_name
from hall_queue.cases.duties import overdue_by_department
from hall_queue.domain.calendar import local_time, to_utc
from hall_queue.domain.clock import iso
from hall_queue.domain.models import AuditEvent, Case, Department, Hall, PostInterval, Staff, Ticket, Window
from hall_queue.domain.vocabulary import (AUDIT_ACTION_LABELS, AUDIT_AREA_LABELS, CASE_STATE_LABELS,
                                          RESULT_HANDOVER_WORKING_DAYS, VIOLATION_KINDS)
from hall_queue.infrastructure import hall_store
from hall_queue.queueing.device_health import REASON_LABELS

PAGE_SIZE = 50
# The page checks this many of the newest chain links on each visit (a few seconds at most); 完整校验 walks all.
CHAIN_TAIL_LINKS = 5_000
ACTOR_LABELS = {"kiosk": "自助取号机", "screen": "显示屏", "pad": "评价器", "system": "系统", "approval": "审批系统"}
# Detail keys whose values are free text staff wrote; everything else in ``detail`` is codes and ids.
DETAIL_TEXT = {"reason": "原因", "note": "备注", "text": "内容", "fix_plan": "整改要求", "fix": "整改情况"}
# Actions whose "reason" is a code, not words: said in Chinese (an unknown code as 其他), never the code.
CODED_REASONS = {
    "device.fault": REASON_LABELS,
    "ticket.recover": {"no_window": "号票未落到窗口", "window_gone": "窗口已删除", "no_clerk": "窗口无人在岗",
                       "other_clerk": "窗口已换人", "window_busy": "窗口另有在办号票"},
}
VIOLATION_LABELS = {
    "empty_post": ("空岗", "开放办理的窗口 A、B 岗均无人在岗的时段（含开门后无人签到），按窗口列出，分钟数截至现在"),
    "overdue_case": ("逾期未办结", "当前仍在办理且已超过承诺办结日期的办件，以及期内超过承诺日期才作出决定的办件"),
    "result_not_handed_over": ("办理结果未送达", f"已作出决定超过{RESULT_HANDOVER_WORKING_DAYS}个工作日、结果仍未交给申请人的办件"),
    "refusal": ("不予受理", "期内窗口不予受理的申请及其理由，供核查是否存在材料齐全、符合法定形式却不予受理的情况"),
}


def action_label(action: str) -> str:
    """The audit action in the managers' words."""
    if action in AUDIT_ACTION_LABELS:
        return AUDIT_ACTION_LABELS[action]
    area = action.split(".", 1)[0]
    return AUDIT_AREA_LABELS.get(area, "其他") + "操作"


def span(hall: Hall, first: date, last: date) -> tuple[datetime, datetime]:
    """The naive-UTC span of the hall's local dates ``first``..``last``."""
    return (to_utc(hall, datetime.combine(first, datetime.min.time())),
            to_utc(hall, datetime.combine(last + timedelta(days=1), datetime.min.time())))


def _staff_labels(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {s.id: f"{s.employee_no or s.id} {mask_name(s.display_name)}".strip()
            for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))}


def filters(session: Session, hall: Hall) -> dict[str, Any]:
    """What the audit filters offer: the hall's staff (masked), its windows, the actions by area."""
    staff = session.scalars(select(Staff).where(Staff.hall_id == hall.id).order_by(Staff.employee_no, Staff.id)).all()
    windows = session.scalars(select(Window).where(Window.hall_id == hall.id).order_by(Window.number)).all()
    return {"staff": [{"id": s.id, "label": f"{s.employee_no or s.id} {mask_name(s.display_name)}".strip()}
                      for s in staff],
            "windows": [{"id": w.id, "label": f"{w.number}号窗口"} for w in windows],
            "areas": [{"value": k + ".", "label": f"{v}（全部）"} for k, v in AUDIT_AREA_LABELS.items()],
            "actions": [{"value": k, "label": v} for k, v in AUDIT_ACTION_LABELS.items()]}


def search(session: Session, hall: Hall, *, staff_id: int | None = None, window_id: int | None = None,
           action: str | None = None, first: date | None = None, last: date | None = None,
           before_id: int | None = None, limit: int = PAGE_SIZE) -> dict[str, Any]:
    """The hall's audit events matching the filters, newest first, ``limit`` at a time (``before_id`` continues a
    page); an ``action`` ending in "." means a whole area ("ticket.")."""
    q = select(AuditEvent).where(AuditEvent.hall_id == hall.id)
    if staff_id is not None:
        q = q.where(AuditEvent.actor_kind == "staff", AuditEvent.actor_id == staff_id)
    if window_id is not None:
        q = q.where(AuditEvent.window_id == window_id)
    if action:
        q = q.where(AuditEvent.action.startswith(action, autoescape=True) if action.endswith(".")
                    else AuditEvent.action == action)
    if first is not None or last is not None:
        lo, hi = span(hall, first or date(2000, 1, 1), last or date(2099, 12, 31))
        q = q.where(AuditEvent.at >= lo, AuditEvent.at < hi)
    if before_id is not None:
        # Keyset paging in the order shown (time, then id): events recorded for earlier times (a replayed
        # day, the demo) still fall in their place.
        at = session.scalar(select(AuditEvent.at).where(AuditEvent.id == before_id))
        if at is not None:
            q = q.where((AuditEvent.at < at) | ((AuditEvent.at == at) & (AuditEvent.id < before_id)))
    rows = session.scalars(q.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    staff = _staff_labels(session, {r.actor_id for r in rows if r.actor_kind == "staff" and r.actor_id})
    wids = {r.window_id for r in rows if r.window_id}
    windows = dict(session.execute(select(Window.id, Window.number).where(Window.id.in_(wids))).all()) if wids else {}
    tids = {r.ticket_id for r in rows if r.ticket_id}
    tickets = dict(session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(tids))).all()) if tids else {}
    items = []
    for r in rows:
        who = staff.get(r.actor_id or 0, "已删除人员") if r.actor_kind == "staff" else ACTOR_LABELS.get(r.actor_kind, "设备")
        detail = r.detail if isinstance(r.detail, dict) else {}
        coded = CODED_REASONS.get(r.action, {})
        notes = "；".join(f"{label}：{coded.get(detail[k], '其他') if coded and k == 'reason' else str(detail[k])[:200]}"
                         for k, label in DETAIL_TEXT.items() if isinstance(detail.get(k), str) and detail[k].strip())
        items.append({"id": r.id, "at": iso(r.at), "local": local_time(hall, r.at).strftime("%Y-%m-%d %H:%M:%S"),
                      "actor": who, "actor_kind": r.actor_kind, "staff_id": r.actor_id if r.actor_kind == "staff" else None,
                      "action": r.action, "action_label": action_label(r.action),
                      "window": f"{windows[r.window_id]}号窗口" if r.window_id in windows else "",
                      "ticket": tickets.get(r.ticket_id or 0, ""), "notes": notes, "sealed": r.chain_seq is not None})
    return {"items": items, "more": more, "next_before": rows[-1].id if more and rows else None}


def chain_summary(report: dict[str, Any], *, total: int | None = None) -> dict[str, Any]:
    """The chain check (``access.audit.verify`` / ``verify_tail``) as a manager reads it; ``total`` for a tail check."""
    partial = total is not None and report["ok"] and report["sealed"] < total
    if report["ok"]:
        checked = f"已校验最近 {report['sealed']} 条（共 {total} 条）" if partial else f"已校验 {report['sealed']} 条"
        text = f"操作记录完整，未发现篡改：{checked}"
        if report["unsealed"]:
            text += f"，另有 {report['unsealed']} 条新记录等待下一轮封存（几分钟内完成）"
    elif report.get("problem") and "missing" in report["problem"]:
        text = f"校验失败：第 {report['first_bad_seq']} 条记录缺失（可能被删除），请立即报告系统管理员"
    else:
        text = f"校验失败：第 {report['first_bad_seq']} 条记录与封存时不一致（可能被修改），请立即报告系统管理员"
    return {**report, "summary": text, "partial": partial, "total": total if total is not None else report["sealed"]}


# ---------------------------------------------------------------- violations

def _matter_cases(hall: Hall):
    return select(Case).where(Case.hall_id == hall.id, (Case.parent_id.is_not(None)) | (Case.bundle_id.is_(None)))


def _case_row(c: Case, hall: Hall, depts: dict[int, str], windows: dict[int, int], **extra: Any) -> dict[str, Any]:
    return {"case_id": c.id, "acceptance_no": c.acceptance_no, "title": c.title,
            "department": depts.get(c.department_id or 0, "待分办"), "state": CASE_STATE_LABELS.get(c.state, ""),
            "due_on": c.due_on.isoformat(), "window": f"{windows[c.window_id]}号窗口" if c.window_id in windows else "",
            "window_id": c.window_id,
            "accepted_on": local_time(hall, c.accepted_at).date().isoformat(), **extra}


def violations(session: Session, hall: Hall, first: date, last: date, *, now: datetime) -> dict[str, Any]:
    """The violation indicators over local dates ``first``..``last``, each with a count and its items."""
    lo, hi = span(hall, first, last)
    today = local_time(hall, now).date()
    windows = dict(session.execute(select(Window.id, Window.number).where(Window.hall_id == hall.id)).all())
    depts = dict(session.execute(select(Department.id, Department.name).where(Department.hall_id == hall.id)).all())
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in VIOLATION_KINDS}

    for iv in session.scalars(select(PostInterval).where(PostInterval.hall_id == hall.id, PostInterval.kind == "empty",
                                                         PostInterval.started_at < hi)
                              .order_by(PostInterval.started_at.desc())):
        end = iv.ended_at or now
        if end <= lo:
            continue
        minutes = round((min(end, hi) - max(iv.started_at, lo)).total_seconds() / 60, 1)
        out["empty_post"].append({"window": f"{windows.get(iv.window_id, '?')}号窗口", "window_id": iv.window_id,
                                  "from": local_time(hall, iv.started_at).strftime("%Y-%m-%d %H:%M"),
                                  "to": local_time(hall, iv.ended_at).strftime("%Y-%m-%d %H:%M") if iv.ended_at else None,
                                  "minutes": max(minutes, 0.0), "date": local_time(hall, iv.started_at).date().isoformat()})

    for d in overdue_by_department(session, hall, now=now):
        for c in d["cases"]:
            case = session.get(Case, c["id"])
            out["overdue_case"].append(_case_row(case, hall, depts, windows, running=True,
                                                 days_late=(today - case.due_on).days))
    matters = session.scalars(_matter_cases(hall).where(Case.decided_at.is_not(None))).all()
    for c in matters:
        decided_on = local_time(hall, c.decided_at).date()
        if lo <= c.decided_at < hi and decided_on > c.due_on:
            out["overdue_case"].append(_case_row(c, hall, depts, windows, running=False,
                                                 decided_on=decided_on.isoformat(), days_late=(decided_on - c.due_on).days))
        if c.handed_over_at is None and c.state in ("decided", "result_ready"):
            limit = hall_store.add_working_days(session, hall.id, decided_on, RESULT_HANDOVER_WORKING_DAYS)
            if today > limit:
                out["result_not_handed_over"].append(_case_row(c, hall, depts, windows, decided_on=decided_on.isoformat(),
                                                               waiting_since=limit.isoformat()))
    refused = session.scalars(_matter_cases(hall).where(Case.state == "refused", Case.accepted_at >= lo,
                                                                 Case.accepted_at < hi)
                              .order_by(Case.accepted_at.desc())).all()
    clerks = _staff_labels(session, {c.accepted_by_id for c in refused if c.accepted_by_id})
    for c in refused:
        out["refusal"].append(_case_row(c, hall, depts, windows, reason=c.decision_reason,
                                        clerk=clerks.get(c.accepted_by_id or 0, "")))
    return {"from": first.isoformat(), "to": last.isoformat(),
            "indicators": [{"key": k, "label": VIOLATION_LABELS[k][0], "definition": VIOLATION_LABELS[k][1],
                            "count": len(out[k]), "items": out[k]} for k in VIOLATION_KINDS]}

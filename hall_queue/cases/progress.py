"""Progress look-up (000 §8.5; 002 §7.5): the applicant's view of a case by its unguessable code.

Only masked data: the item, the acceptance number, the state history with times (no staff names, no
internal notes), the promised date, what is still missing, and where to collect the result. A wrong
code finds nothing and says nothing more than that.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.cases.intake import lookup_hash
from hall_queue.domain import calendar
from hall_queue.domain.models import Case, CaseEvent, DeferredMaterial, Hall, Window
from hall_queue.domain.vocabulary import (
    CASE_DECISION_LABELS,
    CASE_STATE_LABELS,
    HANDOVER_LABELS,
)

MAX_CODE = 64


def handover_windows(session: Session, hall_id: int) -> str:
    """Where results are collected, as people read it: ``12号窗口（出件）``."""
    rows = session.execute(select(Window.number, Window.name).where(Window.hall_id == hall_id,
                                                                    Window.kind == "handover")
                           .order_by(Window.number)).all()
    return "、".join(f"{n}号窗口（{name}）" for n, name in rows) or "出件窗口"


def find(session: Session, code: str) -> Case | None:
    if not isinstance(code, str) or not 8 <= len(code) <= MAX_CODE:
        return None
    return session.scalar(select(Case).where(Case.lookup_hash == lookup_hash(code)))


def _local(hall: Hall, at: datetime) -> str:
    return calendar.local_time(hall, at).strftime("%Y-%m-%d %H:%M")


def view(session: Session, case: Case) -> dict[str, Any]:
    hall = session.get(Hall, case.hall_id)
    evs = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    history, last = [], None
    for e in evs:
        if e.to_state == last and e.action != "material_supplied":
            continue
        label = "补交容缺材料" if e.action == "material_supplied" else CASE_STATE_LABELS.get(e.to_state, "")
        history.append({"at": _local(hall, e.at), "label": label})
        last = e.to_state
    missing = [f"{m.name}（{m.due_on.isoformat()}前）" for m in session.scalars(
        select(DeferredMaterial).where(DeferredMaterial.case_id == case.id, DeferredMaterial.state == "owed"))]
    if case.state == "supplement":
        req = next((e for e in reversed(evs) if e.action == "request_supplement"), None)
        missing += list((req.detail or {}).get("materials", [])) if req else []
    collect = ""
    if case.state == "result_ready":
        collect = f"请携带身份证件和受理通知书到{hall.name}{handover_windows(session, hall.id)}领取办理结果"
    handover = next((e for e in reversed(evs) if e.action == "hand_over"), None)
    return {"title": case.title, "acceptance_no": case.acceptance_no, "hall": hall.name,
            "state": case.state, "state_label": CASE_STATE_LABELS.get(case.state, ""),
            "masked_name": case.masked_name, "promised_on": case.due_on.isoformat(),
            "accepted_at": _local(hall, case.accepted_at),
            "decision": CASE_DECISION_LABELS.get(case.decision or "", ""),
            "decision_reason": case.decision_reason if case.decision == "not_approved" or case.state in
            ("refused", "terminated") else "",
            "history": history, "missing": missing, "collect": collect,
            "handover": HANDOVER_LABELS.get((handover.detail or {}).get("method", "")) if handover else "",
            "items": [{"title": k.title, "acceptance_no": k.acceptance_no,
                       "state_label": CASE_STATE_LABELS.get(k.state, "")} for k in case.children]}

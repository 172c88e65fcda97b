"""The case's explicit transitions (``vocabulary.CASE_TRANSITIONS``), each audited, each checking who asks.

* A department's staff act only on cases dispatched to their department (001 §6.3; 003 §8.3.1); a
  manager of the hall, the system and the hall's integration token (the external approval system,
  行政审批综合管理系统) act on any. Another department's case answers 403.
* An action the case's state does not allow answers 409 ``illegal_transition``, naming the state.
* Supplements, special procedures and suspensions stop the clock (``clock``); a decision waits for every
  容缺 material (002 §6.5: 在材料补正后及时作出办理意见).
* A bundle's parent (一件事) follows its items: it is dispatched with all of them at once (003 §8.2,
  一次分办), handed over with all of them (003 §8.4, 一窗出件), and a refused *blocking* item stops every
  other item (003 §8.3.3) while a non-blocking one lets them go on (§8.3.4).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault
from hall_queue.cases import clock
from hall_queue.cases.records import record
from hall_queue.domain.errors import Forbidden, InvalidRequest, NotFound, WrongState
from hall_queue.domain.events import CaseChanged, CaseResultReady, DomainEvent
from hall_queue.domain.models import (
    Case,
    CaseEvent,
    CaseHandover,
    DeferredMaterial,
    Department,
    Hall,
    Staff,
)
from hall_queue.domain.vocabulary import (
    CASE_DECISIONS,
    CASE_FINAL_STATES,
    CASE_STATE_LABELS,
    CASE_TRANSITIONS,
    CLOCK_RUNNING_STATES,
    CLOCK_STOPPED_STATES,
    INTEGRATION_TOKEN_KIND,
)

# Actions only the responsible department (or a manager / the approval system) may take.
DEPARTMENT_ACTIONS = ("take", "request_supplement", "supplement_received", "start_special_procedure",
                      "end_special_procedure", "suspend", "resume", "decide", "result_ready")
# How far a case has come, for a bundle's parent (which stands where its slowest item stands).
_PROGRESS = {"accepted": 0, "dispatched": 1, "in_review": 2, "supplement": 2, "special_procedure": 2,
             "suspended": 2, "decided": 3, "result_ready": 4, "handed_over": 5, "closed": 6}
# The parent of a bundle takes these actions for all its items at once; the others are the items' own.
PARENT_ACTIONS = ("dispatch", "hand_over", "close")


def _changed(case: Case, action: str) -> CaseChanged:
    return CaseChanged(case.hall_id, {"case": brief(case), "action": action})


def brief(case: Case) -> dict[str, Any]:
    """A masked one-line view of a case for events and lists."""
    return {"id": case.id, "acceptance_no": case.acceptance_no, "title": case.title, "state": case.state,
            "state_label": CASE_STATE_LABELS.get(case.state, case.state), "department_id": case.department_id,
            "parent_id": case.parent_id, "due_on": case.due_on.isoformat(), "masked_name": case.masked_name,
            "decision": case.decision}


def authorize(session: Session, case: Case, actor: Actor, action: str) -> None:
    """Refuse (403) a department's staff acting on another department's case, or a device acting at all."""
    if actor.hall_id is not None and actor.hall_id != case.hall_id:
        raise NotFound(f"case {case.id} not found")
    if actor.is_system or actor.is_manager or actor.kind == INTEGRATION_TOKEN_KIND:
        return
    if actor.kind != "staff":
        raise Forbidden("only staff may act on a case")
    if action in DEPARTMENT_ACTIONS:
        dept_id = session.scalar(select(Staff.department_id).where(Staff.id == actor.id))
        if dept_id is None or dept_id != case.department_id:
            raise Forbidden(f"case {case.acceptance_no} belongs to another department", code="other_department")


def _step(session: Session, case: Case, action: str, *, actor: Actor, now: datetime, note: str = "",
          detail: dict[str, Any] | None = None) -> None:
    allowed, to = CASE_TRANSITIONS[action]
    if case.state not in allowed:
        raise WrongState(f"case {case.acceptance_no} is {case.state} ({CASE_STATE_LABELS.get(case.state)}); "
                         f"{action} needs it {' or '.join(allowed)}", code="illegal_transition")
    hall = session.get(Hall, case.hall_id)
    today = clock.local_day(hall, now)
    from_state = case.state
    extra = dict(detail or {})
    if to in CLOCK_STOPPED_STATES:
        clock.stop(case, today)
    elif from_state in CLOCK_STOPPED_STATES:
        extra["clock_stood_working_days"] = clock.restart(session, case, today)
        extra["due_on"] = case.due_on.isoformat()
    case.state = to
    record(session, case, action=action, from_state=from_state, to_state=to, actor=actor, now=now, note=note,
           detail=extra)


def _load(session: Session, case_id: int) -> Case:
    # Two systems acting on one case at once take turns (PostgreSQL row lock; SQLite has one writer).
    case = session.scalars(select(Case).where(Case.id == case_id).with_for_update()
                           .execution_options(populate_existing=True)).first()
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def _own_item(case: Case, action: str) -> None:
    if case.parent_id is None and case.children and action not in PARENT_ACTIONS:
        raise WrongState(f"case {case.acceptance_no} is a bundle (一件事); {action} its items, not the bundle",
                         code="bundle_parent")


def sync_parent(session: Session, parent: Case, *, actor: Actor, now: datetime) -> list[DomainEvent]:
    """Put a bundle's parent where its slowest going item stands (refused and terminated items left out)."""
    if parent.state in ("terminated", "refused"):
        return []
    session.flush()
    kids = [k for k in parent.children]
    going = [k for k in kids if k.state not in ("refused", "terminated")]
    if not going:
        target = "refused" if kids and all(k.state == "refused" for k in kids) else "terminated"
    else:
        target = min(going, key=lambda k: _PROGRESS[k.state]).state
        parent.due_on = max(k.due_on for k in going)
    if target == parent.state:
        return []
    from_state = parent.state
    parent.state = target
    for attr, state in (("decided_at", "decided"), ("ready_at", "result_ready"), ("handed_over_at", "handed_over"),
                        ("closed_at", "closed")):
        if getattr(parent, attr) is None and target in _PROGRESS and _PROGRESS[target] >= _PROGRESS[state]:
            setattr(parent, attr, now)
    record(session, parent, action="follow_items", from_state=from_state, to_state=target, actor=actor, now=now)
    return [_changed(parent, "follow_items")]


def _after(session: Session, case: Case, action: str, *, actor: Actor, now: datetime) -> list[DomainEvent]:
    events: list[DomainEvent] = [_changed(case, action)]
    if case.parent_id is not None:
        events += sync_parent(session, session.get(Case, case.parent_id), actor=actor, now=now)
    return events


def _sync_bundle(session: Session, case: Case, *, actor: Actor, now: datetime) -> list[DomainEvent]:
    """Re-place the bundle ``case`` heads, or the bundle it belongs to; nothing for a lone case."""
    if case.children:
        return sync_parent(session, case, actor=actor, now=now)
    if case.parent_id is not None:
        return sync_parent(session, session.get(Case, case.parent_id), actor=actor, now=now)
    return []


def act(session: Session, case_id: int, action: str, *, actor: Actor, now: datetime, note: str = "",
        **kw: Any) -> tuple[Case, list[DomainEvent]]:
    """Take one named action on a case (the API's single door); return the case and the events."""
    case = _load(session, case_id)
    authorize(session, case, actor, action)
    _own_item(case, action)
    fn = _ACTIONS.get(action)
    if fn is None:
        raise InvalidRequest(f"unknown case action {action!r}", code="bad_action")
    events = fn(session, case, actor=actor, now=now, note=note, **kw)
    return case, events


# ---------------------------------------------------------------- the actions

def dispatch(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "",
             department_id: int | None = None) -> list[DomainEvent]:
    """按责转办 (000 §9.4): send the case to its department; a bundle's items all at once (003 §8.2)."""
    if department_id is not None:
        dept = session.get(Department, department_id)
        if dept is None or dept.hall_id != case.hall_id:
            raise NotFound(f"department {department_id} not found")
    targets = [k for k in case.children if k.state == "accepted"] if case.children else [case]
    if case.children and not targets:
        raise WrongState(f"case {case.acceptance_no} is {case.state}; no item is waiting to be dispatched",
                         code="illegal_transition")
    events: list[DomainEvent] = []
    for c in targets:
        if department_id is not None and not case.children:
            c.department_id = department_id
        if c.department_id is None:
            raise InvalidRequest(f"case {c.acceptance_no} has no responsible department; send department_id",
                                 code="department_required")
        _step(session, c, "dispatch", actor=actor, now=now, note=note, detail={"department_id": c.department_id})
        events.append(_changed(c, "dispatch"))
    return events + _sync_bundle(session, case, actor=actor, now=now)


def take(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "") -> list[DomainEvent]:
    _step(session, case, "take", actor=actor, now=now, note=note)
    case.handler_id = actor.id if actor.kind == "staff" else case.handler_id
    return _after(session, case, "take", actor=actor, now=now)


def request_supplement(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "",
                       materials: list[str] | None = None) -> list[DomainEvent]:
    """补齐补正 (000 §9.5.2.2): name every material at once; the clock stops until they come."""
    materials = [m.strip() for m in (materials or []) if m and m.strip()]
    if not materials:
        raise InvalidRequest("a supplement request needs the materials to supply (materials)", code="materials_required")
    _step(session, case, "request_supplement", actor=actor, now=now, note=note, detail={"materials": materials})
    return _after(session, case, "request_supplement", actor=actor, now=now)


def supplement_received(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "",
                        at_hall: bool = True) -> list[DomainEvent]:
    """The supplement came: in person at the hall (one more trip) or by post / online (none)."""
    _step(session, case, "supplement_received", actor=actor, now=now, note=note, detail={"at_hall": at_hall})
    if at_hall:
        case.visits += 1
    return _after(session, case, "supplement_received", actor=actor, now=now)


def start_special_procedure(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "",
                            name: str = "", days: int | None = None) -> list[DomainEvent]:
    """特别程序 (000 §9.5.3; 002 §8.4.3): 听证、检验、鉴定、专家评审 … with its declared working days."""
    if not name.strip():
        raise InvalidRequest("a special procedure needs its name (e.g. 专家评审)", code="name_required")
    if days is None or days < 1:
        raise InvalidRequest("a special procedure needs its declared working days (days ≥ 1)", code="days_required")
    _step(session, case, "start_special_procedure", actor=actor, now=now, note=note,
          detail={"name": name.strip(), "days": days})
    case.special_procedures = [*case.special_procedures, {"name": name.strip(), "days": days,
                                                          "started_at": now.isoformat(timespec="seconds")}]
    return _after(session, case, "start_special_procedure", actor=actor, now=now)


def end_special_procedure(session: Session, case: Case, *, actor: Actor, now: datetime,
                          note: str = "") -> list[DomainEvent]:
    _step(session, case, "end_special_procedure", actor=actor, now=now, note=note)
    return _after(session, case, "end_special_procedure", actor=actor, now=now)


def suspend(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "") -> list[DomainEvent]:
    """挂起 (000 §9.3.5: a matter waiting on an instruction from above); needs the reason."""
    if not note.strip():
        raise InvalidRequest("suspending a case needs the reason in note", code="reason_required")
    _step(session, case, "suspend", actor=actor, now=now, note=note)
    return _after(session, case, "suspend", actor=actor, now=now)


def resume(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "") -> list[DomainEvent]:
    _step(session, case, "resume", actor=actor, now=now, note=note)
    return _after(session, case, "resume", actor=actor, now=now)


def decide(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "",
           decision: str = "") -> list[DomainEvent]:
    """审查决定 (000 §9.5.4; 002 §8.5): approved, or not approved with the reason (§8.5.5)."""
    if decision not in CASE_DECISIONS:
        raise InvalidRequest(f"decision must be one of {', '.join(CASE_DECISIONS)}", code="bad_decision")
    if decision == "not_approved" and not note.strip():
        raise InvalidRequest("a decision not to approve needs its reason in note", code="reason_required")
    owed = session.scalars(select(DeferredMaterial.name).where(DeferredMaterial.case_id == case.id,
                                                               DeferredMaterial.state == "owed")).all()
    if owed and case.state == "in_review":
        raise WrongState(f"case {case.acceptance_no} still owes deferred materials: {', '.join(owed)}",
                         code="materials_owed")
    _step(session, case, "decide", actor=actor, now=now, note=note, detail={"decision": decision})
    case.decision = decision
    case.decision_reason = note.strip()
    case.decided_at = now
    events: list[DomainEvent] = []
    if decision == "not_approved" and case.parent_id is not None and case.blocking:
        events += stop_bundle(session, session.get(Case, case.parent_id), cause=case, actor=actor, now=now,
                              reason=note.strip())
    return _after(session, case, "decide", actor=actor, now=now) + events


def stop_bundle(session: Session, parent: Case, *, cause: Case, actor: Actor, now: datetime,
                reason: str) -> list[DomainEvent]:
    """003 §8.3.3: a blocking item failed — every other open item stops, materials go back, explained."""
    explanation = (f"“一件事”中“{cause.title}”未通过（{reason}），该事项影响其他联动事项审批，"
                   "整件办理终止，申请材料予以退回。")
    events: list[DomainEvent] = []
    for k in parent.children:
        if k.id != cause.id and k.state in CASE_TRANSITIONS["terminate"][0]:
            _step(session, k, "terminate", actor=actor, now=now, note=explanation, detail={"cause_case_id": cause.id})
            k.clock_stopped_on = None
            events.append(_changed(k, "terminate"))
    if parent.state not in CASE_FINAL_STATES:
        from_state = parent.state
        parent.state = "terminated"
        parent.decision_reason = explanation
        record(session, parent, action="terminate", from_state=from_state, to_state="terminated", actor=actor,
               now=now, note=explanation, detail={"cause_case_id": cause.id})
        events.append(_changed(parent, "terminate"))
    return events


def result_ready(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "",
                 location: str = "") -> list[DomainEvent]:
    """The result (licence, approval or decision paper) is at the handover window (001 §7.2.6).

    ``location`` says where it lies (e.g. 出件柜A-03) so the handover clerk finds it while the visitor waits.
    """
    _step(session, case, "result_ready", actor=actor, now=now, note=note,
          detail={"location": location.strip()} if location.strip() else None)
    case.ready_at = now
    return _after(session, case, "result_ready", actor=actor, now=now) + [
        CaseResultReady(case.hall_id, {"case_id": case.id})]


def hand_over(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "", method: str = "",
              courier_company: str = "", tracking_no: str = "", id_number: str | None = None,
              vault: IdentityVault | None = None, window_id: int | None = None,
              ticket_id: int | None = None) -> list[DomainEvent]:
    """统一出件 (001 §7.3): pickup signed for after the card matches, or courier with company and number."""
    targets = [k for k in case.children if k.state == "result_ready"] if case.children else [case]
    if case.children and (case.state != "result_ready" or not targets):
        raise WrongState(f"case {case.acceptance_no} is {case.state}; a bundle is handed over when all its items "
                         "are ready", code="illegal_transition")
    if method == "courier":
        if not courier_company.strip() or not tracking_no.strip():
            raise InvalidRequest("a courier handover needs courier_company and tracking_no", code="tracking_required")
    elif method == "pickup":
        if case.id_hash:
            if not id_number or vault is None:
                raise InvalidRequest("a pickup needs the collector's ID card (id_number)", code="id_required")
            if not vault.hash_matches(id_number, case.id_hash):
                raise InvalidRequest("the ID card does not match the applicant of this case", code="card_mismatch")
    else:
        raise InvalidRequest("method must be pickup or courier", code="bad_method")
    events: list[DomainEvent] = []
    for c in targets:
        _step(session, c, "hand_over", actor=actor, now=now, note=note,
              detail={"method": method, "courier_company": courier_company.strip(),
                      "tracking_no": tracking_no.strip()})
        c.handed_over_at = now
        session.add(CaseHandover(hall_id=c.hall_id, case_id=c.id, method=method, at=now,
                                 by_id=actor.id if actor.kind == "staff" else None, window_id=window_id,
                                 ticket_id=ticket_id, id_checked=bool(method == "pickup" and c.id_hash),
                                 signed_by_masked=(c.masked_name or "") if method == "pickup" else "",
                                 courier_company=courier_company.strip(), tracking_no=tracking_no.strip()))
        events.append(_changed(c, "hand_over"))
    if method == "pickup":  # one trip to collect, counted once on the case the applicant applied for
        case.visits += 1
    return events + _sync_bundle(session, case, actor=actor, now=now)


def close(session: Session, case: Case, *, actor: Actor, now: datetime, note: str = "") -> list[DomainEvent]:
    """办结: the loop is over (a bundle closes with all its handed-over items)."""
    targets = [k for k in case.children if k.state == "handed_over"] if case.children else [case]
    if case.children and (case.state != "handed_over" or not targets):
        raise WrongState(f"case {case.acceptance_no} is {case.state}; close needs it handed_over",
                         code="illegal_transition")
    events: list[DomainEvent] = []
    for c in targets:
        _step(session, c, "close", actor=actor, now=now, note=note)
        c.closed_at = now
        events.append(_changed(c, "close"))
    return events + _sync_bundle(session, case, actor=actor, now=now)


_ACTIONS = {"dispatch": dispatch, "take": take, "request_supplement": request_supplement,
            "supplement_received": supplement_received, "start_special_procedure": start_special_procedure,
            "end_special_procedure": end_special_procedure, "suspend": suspend, "resume": resume,
            "decide": decide, "result_ready": result_ready, "hand_over": hand_over, "close": close}


def owed_material(session: Session, material_id: int, actor: Actor) -> tuple[DeferredMaterial, Case]:
    """A 容缺 material still owed to an open case of the actor's hall (404, 409 ``already_supplied`` otherwise)."""
    m = session.get(DeferredMaterial, material_id)
    if m is None or (actor.hall_id is not None and m.hall_id != actor.hall_id):
        raise NotFound(f"deferred material {material_id} not found")
    if m.state != "owed":
        raise WrongState(f"deferred material {material_id} was already supplied", code="already_supplied")
    case = session.get(Case, m.case_id)
    if case.state in CASE_FINAL_STATES:
        raise WrongState(f"case {case.acceptance_no} is {case.state}; it takes no more materials",
                         code="illegal_transition")
    return m, case


def supply_material(session: Session, material_id: int, *, actor: Actor, now: datetime,
                    via: str = "window") -> tuple[DeferredMaterial, list[DomainEvent]]:
    """A 容缺 material arrived (at a window or scanned at the kiosk): one more trip to the hall."""
    m, case = owed_material(session, material_id, actor)
    m.state = "supplied"
    m.supplied_at = now
    m.supplied_via = via
    case.visits += 1
    record(session, case, action="material_supplied", from_state=case.state, to_state=case.state, actor=actor,
           now=now, note=m.name, detail={"material_id": m.id, "via": via})
    events: list[DomainEvent] = [_changed(case, "material_supplied")]
    if _supplement_complete(session, case):
        # 002 §6.5 (在材料补正后及时作出办理意见), 000 §9.5.2.2: the department asked for these very materials
        # and stopped the clock; with the last of them in, review goes on and the clock runs again. The same
        # trip brought them: no second visit is counted.
        _step(session, case, "supplement_received", actor=actor, now=now, note=m.name,
              detail={"at_hall": True, "via": via})
        events += _after(session, case, "supplement_received", actor=actor, now=now)
    return m, events


def _supplement_complete(session: Session, case: Case) -> bool:
    """Whether a case standing in 补正 waited only for its 容缺 materials, and none is owed any more."""
    if case.state != "supplement":
        return False
    session.flush()
    mats = session.execute(select(DeferredMaterial.name, DeferredMaterial.state)
                           .where(DeferredMaterial.case_id == case.id)).all()
    if any(state == "owed" for _, state in mats):
        return False
    asked = session.scalar(select(CaseEvent.detail).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.action == "request_supplement")
                           .order_by(CaseEvent.id.desc()).limit(1)) or {}
    wanted = {str(x).strip() for x in asked.get("materials", [])}
    return bool(wanted) and wanted <= {name.strip() for name, _ in mats}


def running(case: Case) -> bool:
    return case.state in CLOCK_RUNNING_STATES

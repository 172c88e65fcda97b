"""Demo cases (办件) in every state, so each new page shows something after ``onevisit demo``.

They are made the way the hall makes them — a ticket issued and finished at window 1 on an earlier day,
then each department's steps through ``cases.lifecycle`` — dated over the past working days, so today's
ticket numbers stay untouched. The ready results belong to the simulated ID card ``resident`` (张晓三),
so swiping it at the demo kiosk finds results to collect.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.idcard.simulator import SAMPLE_CARDS
from hall_queue.access.audit import SYSTEM, Actor
from hall_queue.access.identity import IdentityVault
from hall_queue.cases import lifecycle
from hall_queue.domain.models import Bundle, Case, Hall, ServiceItem, Staff, Ticket, Window
from hall_queue.queueing import calling
from hall_queue.queueing.ticketing import IssueRequest, issue_ticket

CARD_ID = SAMPLE_CARDS["resident"].id_number or ""  # the simulator's made-up card
PEOPLE = [("张晓三", CARD_ID, "13800000001"), ("李梅", "220102198811230028", "13800000002"),
          ("王建国", "220104197502140019", "13800000003")]

# (days ago, item code or "bundle:<code>", outcome, note, steps after acceptance, person)
PLAN = [
    (1, "SS003", "accepted", "", [], 1),
    (3, "BDC001", "accepted", "", [("take", {})], 2),
    (4, "SS005", "accepted", "", [("take", {}), ("request_supplement", {"materials": ["经营场所平面图（加盖公章）"]})], 1),
    (5, "BDC001", "accepted", "", [("take", {}), ("start_special_procedure", {"name": "现场勘验", "days": 5})], 2),
    (5, "SS003", "accepted", "", [("take", {}), ("suspend", {"note": "待上级部门答复"})], 1),
    (6, "SS005", "accepted", "", [("take", {}), ("decide", {"decision": "approved"})], 1),
    (6, "SS003", "accepted", "", [("take", {}), ("decide", {"decision": "approved"}),
                                  ("result_ready", {"location": "出件柜A-03"})], 0),
    (7, "BDC001", "accepted", "", [("take", {}), ("decide", {"decision": "approved"}),
                                   ("result_ready", {"location": "出件柜B-11"})], 0),
    (8, "SS005", "accepted", "", [("take", {}), ("decide", {"decision": "approved"}), ("result_ready", {}),
                                  ("hand_over", {"method": "courier", "courier_company": "中国邮政EMS",
                                                 "tracking_no": "1180000000001"})], 2),
    (9, "SS003", "accepted", "", [("take", {}), ("decide", {"decision": "not_approved",
                                                            "note": "清算报告未经全体股东确认"}),
                                  ("result_ready", {}), ("hand_over", {"method": "courier",
                                                                       "courier_company": "顺丰速运",
                                                                       "tracking_no": "SF0000000002"}),
                                  ("close", {})], 1),
    (2, "SS003", "refused", "申请事项不属于本机关职权范围", [], 2),
    (12, "SS003", "accepted", "", [], 1),  # long past its 3 working days: overdue on the floor
    (2, "SS005", "deferred", "", [], 2),
    (3, "bundle:B01", "accepted", "", [], 1),
    (4, "bundle:B02", "accepted", "", [], 2),
    # A blocking item refused at the window stops the whole 一件事 (003 §8.3.3).
    (6, "bundle:B01!SS001", "accepted", "企业名称与已登记名称相同", [], 2),
]


def load_demo_cases(session: Session, hall: Hall, *, now: datetime, vault: IdentityVault) -> int:
    """Create the demo cases once (nothing if the hall already has cases); return how many were made."""
    if session.scalar(select(Case.id).where(Case.hall_id == hall.id).limit(1)) is not None:
        return 0
    window = session.scalar(select(Window).where(Window.hall_id == hall.id, Window.number == 1))
    items = {i.code: i for i in session.scalars(select(ServiceItem).where(ServiceItem.hall_id == hall.id))}
    bundles = {b.code: b for b in session.scalars(select(Bundle).where(Bundle.hall_id == hall.id))}
    dept_staff = {s.department_id: s for s in session.scalars(select(Staff).where(Staff.hall_id == hall.id,
                                                                               Staff.department_id.is_not(None)))}
    made = 0
    for days_ago, matter, outcome, note, steps, who in PLAN:
        at = now - timedelta(days=days_ago)
        name, id_number, phone = PEOPLE[who]
        req = IssueRequest(name=name, id_number=id_number, phone=phone)
        refuse = None
        if matter.startswith("bundle:"):
            code, _, refuse = matter.split(":", 1)[1].partition("!")
            req.bundle_id = bundles[code].id
        else:
            req.item_ids = [items[matter].id]
        issued, _ = issue_ticket(session, hall, req, now=at, vault=vault, actor=SYSTEM)
        ticket = session.get(Ticket, issued.id)
        ticket.status, ticket.window_id, ticket.clerk_id = "serving", window.id, window.a_clerk_id
        ticket.called_at = ticket.started_at = at + timedelta(minutes=5)
        detail = {"deferred_materials": [{"name": "经营场所平面图", "due_date": (at + timedelta(days=5)).date().isoformat(),
                                          "promise": "五个工作日内补交"}]} if outcome == "deferred" else {}
        if refuse:
            detail["decisions"] = [{"item_id": items[refuse].id, "outcome": "refused", "note": note}]
        calling.finish(session, ticket, outcome=outcome, note=(note or None) if not refuse else None, detail=detail,
                       now=at + timedelta(minutes=15), actor=SYSTEM, vault=vault)
        session.flush()
        case = session.scalar(select(Case).where(Case.ticket_id == ticket.id, Case.parent_id.is_(None)))
        t = at + timedelta(hours=1)
        for action, kw in steps:
            staff = dept_staff.get(case.department_id)
            actor = SYSTEM if staff is None else Actor("staff", staff.id, staff.role, hall.id)
            kw = dict(kw)
            if action == "hand_over":
                kw["vault"] = vault
            lifecycle.act(session, case.id, action, actor=actor, now=t, **kw)
            t += timedelta(hours=3)
        made += 1
    return made

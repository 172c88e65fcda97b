"""Cases (办件) API: departments' inboxes and transitions, papers, progress look-up, the approval system.

Thin adapters over ``hall_queue.cases``. Writes accept an ``Idempotency-Key`` header: the first answer
is stored with the key (per token) in the same transaction and a retry gets it again, even when the
two arrive at once (``replays.once``).
"""
from __future__ import annotations

import os
from typing import Annotated, Any, Optional

from flask import Response, g, request
from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.auth import issue_token
from hall_queue.bootstrap import runtime
from hall_queue.cases import handover, indicators, lifecycle, number_limits, pdf, progress, supply, webhooks
from hall_queue.cases.intake import lookup_code_of
from hall_queue.cases.numbering import check_format
from hall_queue.cases.records import settings_of
from hall_queue.cases.views import case_detail, inbox
from hall_queue.domain import vocabulary as V
from hall_queue.domain.errors import DomainError, Forbidden, InvalidRequest, NotFound
from hall_queue.domain.models import (
    Case,
    CaseAttachment,
    CaseDocument,
    CaseSettings,
    Department,
    ServiceItem,
    Staff,
    Ticket,
    Window,
)
from hall_queue.entrypoints.api import replays
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.api.base import (
    MANAGERS,
    STAFF,
    get_hall,
    get_row,
    now,
    operation,
    write,
)
from hall_queue.entrypoints.api.registry import OPERATIONS

APPROVAL = V.INTEGRATION_TOKEN_KIND
READERS = STAFF + (APPROVAL,)
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)]


class NoteIn(S.In):
    note: Text = ""


class DispatchIn(NoteIn):
    department_id: S.Id | None = None


class SupplementIn(NoteIn):
    materials: Annotated[list[S.ShortText], Field(max_length=50)] = []


class SupplementReceivedIn(NoteIn):
    at_hall: bool = True


class SpecialProcedureIn(NoteIn):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    days: Annotated[int, Field(ge=0, le=365)] | None = None


class DecideIn(NoteIn):
    decision: V.CaseDecision


class HandOverIn(NoteIn):
    method: V.HandoverMethod = "pickup"
    courier_company: Short = ""
    tracking_no: Short = ""
    id_number: S.IdNumber | None = None
    ticket_id: S.Id | None = Field(None, description="the handover ticket in hand at the clerk's window that "
                                   "came for this result (the console sends it; the hand-over is recorded there)")


class ResultReadyIn(NoteIn):
    location: Short = Field("", description="where the result lies at the hall, e.g. 出件柜A-03")


class CaseOut(S.Out):
    id: int
    acceptance_no: str
    title: str
    state: str
    due_on: str


class DepartmentIn(S.In):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    name: S.Name
    item_ids: Annotated[list[S.Id], Field(max_length=200)] = []
    staff_ids: Annotated[list[S.Id], Field(max_length=200)] = []


class CaseSettingsIn(S.In):
    acceptance_format: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=60)] | None = None
    due_soon_working_days: Annotated[int, Field(ge=0, le=30)] | None = None
    webhook_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300, pattern=r"^(https?://\S+)?$")] | None = None
    webhook_secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = None


class TokenIn(S.In):
    name: S.Name


class SupplyIn(S.In):
    via: Annotated[str, StringConstraints(pattern=r"^(window|kiosk)$")] = "window"
    # The kiosk shows who brings the material again: the card read there, or the receipt's QR code.
    id_number: Optional[S.IdNumber] = None
    code: Optional[Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=64)]] = None


# ---------------------------------------------------------------- idempotent writes

def _idempotent(do):
    """Run ``do(session) -> (answer, events)`` once per (token, Idempotency-Key); replay the answer after."""
    payload = request.path.encode() + b"|" + request.get_data()
    return replays.once(do, kept=replays.integration(g.get("token_id")), key=replays.header_key(),
                        payload=payload)[0]


def _act(case_id: int, action: str, before=None, **kw: Any):
    def do(s: Session):
        if before is not None:
            kw.update(before(s, get_row(s, Case, case_id, "case")))
        case, events = lifecycle.act(s, case_id, action, actor=g.actor, now=now(), **kw)
        s.flush()
        return case_detail(s, case, now=now()), events
    return _idempotent(do)


def _op(path: str, summary: str, body: type | None = None, roles: tuple[str, ...] = READERS):
    return operation(f"/cases/<int:case_id>/{path}", "POST", roles=roles, summary=summary, body=body,
                     response=CaseOut, tags=("cases",), headers=replays.IDEMPOTENCY)


# ---------------------------------------------------------------- reading

@operation("/cases/<int:case_id>", "GET", roles=READERS, summary="Read a case (办件): state, clock, events, papers",
           response=CaseOut, tags=("cases",))
def get_case(case_id: int):
    rt = runtime()
    with rt.db.read() as s:
        case = get_row(s, Case, case_id, "case")
        out = case_detail(s, case, now=now())
        if g.actor.kind == "staff":  # the receipt's QR, for staff who re-print it
            top = s.get(Case, case.parent_id) if case.parent_id else case
            code = lookup_code_of(top, rt.vault)
            out["progress_path"] = f"/c/{code}" if code else None
        return out


@operation("/halls/<int:hall_id>/cases", "GET", roles=READERS, summary="List a hall's cases, newest first",
           response=S.ListOut, tags=("cases",),
           )
def list_cases(hall_id: int):
    state = request.args.get("state")
    dept = request.args.get("department_id", type=int)
    number = (request.args.get("acceptance_no") or "").strip()[:40]
    with runtime().db.read() as s:
        get_hall(s, hall_id)
        q = select(Case).where(Case.hall_id == hall_id)
        if state:
            if state not in V.CASE_STATES:
                raise InvalidRequest(f"state must be one of {', '.join(V.CASE_STATES)}", code="bad_state")
            q = q.where(Case.state == state)
        if dept:
            q = q.where(Case.department_id == dept)
        if number:
            q = q.where(Case.acceptance_no == number)
        rows = s.scalars(q.order_by(Case.id.desc()).limit(500)).all()
        return {"items": [lifecycle.brief(c) for c in rows]}


@operation("/departments/<int:department_id>/inbox", "GET", roles=READERS,
           summary="A department's inbox of dispatched cases, most urgent first", response=S.ListOut, tags=("cases",))
def department_inbox(department_id: int):
    with runtime().db.read() as s:
        dept = get_row(s, Department, department_id, "department")
        actor = g.actor
        if actor.kind == "staff" and not actor.is_manager:
            if s.scalar(select(Staff.department_id).where(Staff.id == actor.id)) != dept.id:
                raise Forbidden("this inbox belongs to another department", code="other_department")
        return {"items": inbox(s, dept.hall_id, dept.id, now=now()), "department": {"id": dept.id, "name": dept.name}}


# ---------------------------------------------------------------- transitions

@_op("dispatch", "Dispatch a case to its department (a bundle's items all at once)", DispatchIn)
def case_dispatch(case_id: int, body: DispatchIn):
    return _act(case_id, "dispatch", note=body.note, department_id=body.department_id)


@_op("take", "Take a dispatched case into review", NoteIn)
def case_take(case_id: int, body: NoteIn):
    return _act(case_id, "take", note=body.note)


@_op("request-supplement", "Request a supplement of materials (the clock stops)", SupplementIn)
def case_request_supplement(case_id: int, body: SupplementIn):
    return _act(case_id, "request_supplement", note=body.note, materials=list(body.materials))


@_op("supplement-received", "Record the supplement received (the clock runs again)", SupplementReceivedIn)
def case_supplement_received(case_id: int, body: SupplementReceivedIn):
    return _act(case_id, "supplement_received", note=body.note, at_hall=body.at_hall)


@_op("special-procedure/start", "Start a special procedure with its declared working days", SpecialProcedureIn)
def case_special_start(case_id: int, body: SpecialProcedureIn):
    return _act(case_id, "start_special_procedure", note=body.note, name=body.name, days=body.days)


@_op("special-procedure/end", "End the special procedure", NoteIn)
def case_special_end(case_id: int, body: NoteIn):
    return _act(case_id, "end_special_procedure", note=body.note)


@_op("suspend", "Suspend a case (reason required; the clock stops)", NoteIn)
def case_suspend(case_id: int, body: NoteIn):
    return _act(case_id, "suspend", note=body.note)


@_op("resume", "Resume a suspended case", NoteIn)
def case_resume(case_id: int, body: NoteIn):
    return _act(case_id, "resume", note=body.note)


@_op("decide", "Decide a case: approved, or not approved with the reason", DecideIn)
def case_decide(case_id: int, body: DecideIn):
    return _act(case_id, "decide", note=body.note, decision=body.decision)


@_op("result-ready", "Mark the result ready at the handover window (the applicant gets an SMS)", ResultReadyIn)
def case_result_ready(case_id: int, body: ResultReadyIn):
    return _act(case_id, "result_ready", note=body.note, location=body.location)


@_op("hand-over", "Hand the result over: pickup (ID card checked) or courier (company and tracking number)",
     HandOverIn)
def case_hand_over(case_id: int, body: HandOverIn):
    def at_desk(s: Session, case: Case) -> dict[str, Any]:
        # At the handover window: the case must have come with the ticket in hand (001 §7.3 统一出件).
        if body.ticket_id is None:
            return {}
        return {"ticket_id": body.ticket_id, "window_id": handover.check_at_desk(s, case, body.ticket_id, g.actor)}
    return _act(case_id, "hand_over", note=body.note, method=body.method, courier_company=body.courier_company,
                tracking_no=body.tracking_no, id_number=body.id_number, vault=runtime().vault, before=at_desk)


@_op("close", "Close a handed-over case (办结)", NoteIn)
def case_close(case_id: int, body: NoteIn):
    return _act(case_id, "close", note=body.note)


@operation("/deferred-materials/<int:material_id>/supply", "POST", roles=STAFF + ("kiosk",),
           summary="Mark a deferred (容缺) material supplied", body=SupplyIn, response=S.OkOut, tags=("cases",))
def supply_material(material_id: int, body: SupplyIn):
    rt = runtime()

    def do(s: Session):
        if g.actor.kind == "kiosk":  # scanned at the kiosk: the applicant shown again, the pages kept first
            m, events = supply.supply_at_kiosk(s, material_id, actor=g.actor, now=now(), vault=rt.vault,
                                               id_number=body.id_number, code=body.code)
        else:
            m, events = lifecycle.supply_material(s, material_id, actor=g.actor, now=now(), via=body.via)
        case = s.get(Case, m.case_id)
        return {"ok": True, "case_id": m.case_id, "state": m.state, "case_state": case.state}, events
    return _idempotent(do)


@operation("/deferred-materials/<int:material_id>/pages", "POST", roles=("kiosk",), status=201, response=S.Out,
           tags=("cases",), summary="Keep a page of an owed 容缺 material scanned at the kiosk (image/jpeg or image/png)")
def supply_page(material_id: int):
    data = request.get_data(cache=False)
    content_type = request.mimetype or ""
    page_size = (request.args.get("page_size") or "custom")[:20]

    def do(s: Session):
        page = supply.attach_page(s, material_id, data=data, content_type=content_type, page_size_name=page_size,
                                  now=now(), actor=g.actor, token_id=g.get("token_id"))
        return {"id": page.id, "case_id": page.case_id, "material_id": page.material_id,
                "position": page.position, "width": page.width, "height": page.height}, []
    return write(do)


OPERATIONS[-1].query["page_size"] = {"type": "string"}


@operation("/case-attachments/<int:attachment_id>", "GET", roles=READERS, tags=("cases",),
           summary="Fetch one page scanned at the kiosk for a case (the department's staff, managers)")
def case_attachment(attachment_id: int):
    def do(s: Session):
        page = get_row(s, CaseAttachment, attachment_id, "attachment")
        case = s.get(Case, page.case_id)
        lifecycle.authorize(s, case, g.actor, "take")  # the case's department, managers, the approval system
        audit.record(s, actor=g.actor, action="case.read_page", at=now(), hall_id=case.hall_id,
                     ticket_id=case.ticket_id, case_id=case.id, attachment_id=page.id)
        return (page.data, page.content_type), []
    data, content_type = write(do)
    resp = Response(data, mimetype=content_type)
    resp.headers["Cache-Control"] = "no-store"  # personal documents: never kept by a shared cache
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


class PickupIn(S.In):
    """Who comes to collect: the ID card read at the kiosk, the receipt's QR code, or the acceptance number."""

    id_number: Optional[S.IdNumber] = None
    name: Optional[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]] = None
    code: Optional[Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=64)]] = None
    acceptance_no: Optional[Annotated[str, StringConstraints(strip_whitespace=True, min_length=4,
                                                             max_length=40)]] = None


def _pickup_args(body: PickupIn) -> dict[str, Any]:
    if not (body.id_number or body.code or body.acceptance_no):
        raise InvalidRequest("send id_number, code or acceptance_no", code="who_required")
    return {"id_number": body.id_number, "code": body.code, "acceptance_no": body.acceptance_no}


def _by_number_only(body: PickupIn) -> bool:
    return bool(body.acceptance_no) and not (body.id_number or body.code)


def _count_number_lookup(s: Session) -> None:
    """A typed acceptance number: counted per device and per client address, 429 past the limit."""
    from hall_queue.entrypoints.web_session import client_ip

    device = f"token:{g.get('token_id')}" if g.actor.kind != "staff" else f"staff:{g.actor.id}"
    address = runtime().vault.id_hash(f"lookup-address:{client_ip() or 'unknown'}")
    number_limits.count_number_lookup(s, device=device, address=address, now=now())


@operation("/halls/<int:hall_id>/pickups/lookup", "POST", roles=("kiosk",) + STAFF, body=PickupIn,
           response=S.Out, tags=("cases",), errors=(429,),
           summary="Count the visitor's results waiting for collection (by a typed number: limited, 429)")
def pickup_lookup(hall_id: int, body: PickupIn):
    rt = runtime()
    args = _pickup_args(body)
    if _by_number_only(body):
        # Numbers run in sequence: a typed one learns no more than "ready or not", and only so often.
        def do(s: Session):
            hall = get_hall(s, hall_id)
            _count_number_lookup(s)
            found, taken = handover.ready_results(s, hall, vault=rt.vault, **args)
            return {"count": len(found), "items": [{"acceptance_no": c.acceptance_no} for c in found],
                    "already_taken": len(taken)}, []
        return write(do)
    with rt.db.read() as s:
        hall = get_hall(s, hall_id)
        found, taken = handover.ready_results(s, hall, vault=rt.vault, **args)
        return {"count": len(found), "items": [{"title": c.title, "acceptance_no": c.acceptance_no} for c in found],
                "already_taken": len(taken)}


@operation("/halls/<int:hall_id>/pickups", "POST", roles=("kiosk",) + STAFF, body=PickupIn, status=201,
           response=S.Out, tags=("cases",), headers=replays.IDEMPOTENCY, errors=(429,),
           summary="Issue a handover ticket for the visitor's ready results (routed to the handover window)")
def pickup_issue(hall_id: int, body: PickupIn):
    rt = runtime()
    key = replays.header_key()

    if _by_number_only(body):
        # Counted in its own transaction: a miss (404) must count too, and a retried press is not a new try.
        def count(s: Session):
            get_hall(s, hall_id)
            if not (key and s.scalar(select(Ticket.id).where(Ticket.hall_id == hall_id, Ticket.idempotency_key == key))):
                _count_number_lookup(s)
            return None, []
        write(count)

    def do(s: Session):
        hall = get_hall(s, hall_id)
        issued, cases, events = handover.issue_pickup(s, hall, vault=rt.vault, now=now(), actor=g.actor,
                                                      name=body.name, idempotency_key=key, **_pickup_args(body))
        briefs = ([{"id": c.id, "acceptance_no": c.acceptance_no} for c in cases] if _by_number_only(body)
                  else [lifecycle.brief(c) for c in cases])
        # A retried press replays its ticket with 200, as ticket issue does (and as the OpenAPI document says).
        return ({**issued.view(), "cases": briefs}, 200 if issued.replayed else 201), events
    return write(do)


@operation("/tickets/<int:ticket_id>/pickup-cases", "GET", roles=STAFF, response=S.ListOut, tags=("cases",),
           summary="The results a handover ticket came to collect")
def pickup_cases(ticket_id: int):
    with runtime().db.read() as s:
        get_row(s, Ticket, ticket_id, "ticket")
        return {"items": handover.cases_of_pickup(s, ticket_id)}


@operation("/halls/<int:hall_id>/deferred-supply/lookup", "POST", roles=("kiosk",) + STAFF, body=PickupIn,
           response=S.Out, tags=("cases",),
           summary="The 容缺 materials an applicant still owes (by ID card, receipt QR, or number with the card)")
def deferred_supply_lookup(hall_id: int, body: PickupIn):
    rt = runtime()
    with rt.db.read() as s:
        hall = get_hall(s, hall_id)
        cases = supply.owed(s, hall, vault=rt.vault, now=now(), id_number=body.id_number, code=body.code,
                            acceptance_no=body.acceptance_no)
        return {"count": sum(len(c["materials"]) for c in cases), "cases": cases}


# ---------------------------------------------------------------- papers

def _document(s: Session, doc_id: int) -> CaseDocument:
    doc = get_row(s, CaseDocument, doc_id, "document")
    return doc


@operation("/case-documents/<int:doc_id>.pdf", "GET", roles=STAFF, summary="A case paper as A4 PDF (re-printable)",
           tags=("cases",))
def document_pdf(doc_id: int):
    rt = runtime()

    def do(s: Session):
        doc = _document(s, doc_id)
        case = s.get(Case, doc.case_id) if doc.case_id else None
        top = s.get(Case, case.parent_id) if case is not None and case.parent_id else case
        code = lookup_code_of(top, rt.vault) if top is not None else None
        hall = get_hall(s, doc.hall_id)
        data = pdf.render(doc.content, qr_url=pdf.progress_url(hall, code) if code and doc.content.get("qr") else None)
        doc.prints += 1
        return (data, doc.number), []
    data, number = write(do)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})


class PrintIn(S.In):
    window_id: S.Id


class PrinterUnavailable(DomainError, status=503, code="printer_unavailable"):
    """The window's printer could not print the case papers."""


# The short fields of the receipt (受理单, 002 §8.2.2) out of the acceptance notice's lines.
RECEIPT_FIELDS = ("事项名称", "受理号", "申请人", "联系电话", "受理时间", "承诺办结时限", "承诺办结日期", "中介服务事项",
                  "特别程序及所需时间", "受理窗口及受理人", "包含事项")


def window_printer_url(window_number: int) -> str:
    """The ESC/POS printer of a window: ``WINDOW_PRINTER`` (``{window}`` is the number), else a virtual one."""
    from pathlib import Path

    from flask import current_app

    template = str(current_app.config.get("WINDOW_PRINTER") or os.environ.get("ONEVISIT_WINDOW_PRINTER") or
                   f"virtual://?dir={Path(current_app.instance_path) / 'window-printouts'}")
    return template.replace("{window}", str(window_number))


@operation("/case-documents/<int:doc_id>/print", "POST", roles=STAFF, body=PrintIn, response=S.Out, tags=("cases",),
           summary="Print a case's short receipt (受理单) on the window's ESC/POS printer")
def document_print(doc_id: int, body: PrintIn):
    from devices.base import DeviceError
    from devices.printer import ReceiptSlip, open_printer

    rt = runtime()
    with rt.db.read() as s:
        doc = _document(s, doc_id)
        if doc.kind != "acceptance_notice":
            raise InvalidRequest("only an acceptance notice has a short receipt", code="not_a_receipt")
        window = get_row(s, Window, body.window_id, "window")
        case = s.get(Case, doc.case_id)
        code = lookup_code_of(case, rt.vault)
        hall = get_hall(s, doc.hall_id)
        lines = [(str(k), str(v)) for k, v in doc.content.get("lines", []) if k in RECEIPT_FIELDS]
        slip = ReceiptSlip(hall_name=hall.name, title="受理单", number=doc.number, lines=lines,
                           progress_url=pdf.progress_url(hall, code) if code else None)
        number = window.number
    try:
        with open_printer(window_printer_url(number)) as printer:
            printout = printer.print_receipt(slip)
    except DeviceError as e:
        raise PrinterUnavailable(f"window {number}'s printer: {e.message}") from e

    def count(s: Session):
        s.get(CaseDocument, doc_id).prints += 1
        return None, []
    write(count)
    return {"ok": True, "printout": os.path.basename(printout) if printout else None}


# ---------------------------------------------------------------- progress look-up (public)

@operation("/progress/<code>", "GET", roles=("public",), summary="Look up a case's progress by its code",
           response=S.Out, tags=("cases",))
def case_progress(code: str):
    with runtime().db.read() as s:
        case = progress.find(s, code)
        if case is None:
            raise NotFound("no case with this code")
        return progress.view(s, case)


# ---------------------------------------------------------------- indicators (000 §12.3.4, 002 §11.3.4)

def _indicators(hall_id: int) -> dict:
    from hall_queue.entrypoints.api.stats_api import parse_query

    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        q = parse_query(hall, request.args)
        return indicators.compute(s, hall, q.date_from, q.date_to, now=now())


PERIOD = {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}}


@operation("/halls/<int:hall_id>/case-indicators", "GET", roles=MANAGERS, response=S.Out, tags=("cases",),
           summary="Read the case indicators (当场受理率, 按时办结率, 即办件比率, …) with their definitions")
def case_indicators(hall_id: int):
    return _indicators(hall_id)


OPERATIONS[-1].query.update(PERIOD)


@operation("/halls/<int:hall_id>/case-indicators.csv", "GET", roles=MANAGERS, tags=("cases",),
           summary="Export the case indicators as CSV")
def case_indicators_csv(hall_id: int):
    import csv
    import io

    result = _indicators(hall_id)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(indicators.csv_rows(result))
    return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="case-indicators-{result["from"]}-{result["to"]}.csv"'})


OPERATIONS[-1].query.update(PERIOD)


# ---------------------------------------------------------------- configuration

@operation("/halls/<int:hall_id>/departments", "GET", roles=READERS, summary="List the hall's departments",
           response=S.ListOut, tags=("cases",))
def list_departments(hall_id: int):
    with runtime().db.read() as s:
        get_hall(s, hall_id)
        rows = s.scalars(select(Department).where(Department.hall_id == hall_id).order_by(Department.id)).all()
        return {"items": [{"id": d.id, "code": d.code, "name": d.name} for d in rows]}


@operation("/halls/<int:hall_id>/departments", "POST", roles=MANAGERS, status=201,
           summary="Add a department with its items and staff", body=DepartmentIn, response=S.Out, tags=("cases",))
def add_department(hall_id: int, body: DepartmentIn):
    def do(s: Session):
        get_hall(s, hall_id)
        if s.scalar(select(Department.id).where(Department.hall_id == hall_id, Department.code == body.code)):
            raise InvalidRequest(f"department code {body.code!r} is taken", code="duplicate")
        dept = Department(hall_id=hall_id, code=body.code, name=body.name)
        s.add(dept)
        s.flush()
        for iid in body.item_ids:
            get_row(s, ServiceItem, iid, "service item").department_id = dept.id
        for sid in body.staff_ids:
            staff = get_row(s, Staff, sid, "staff")
            if staff.hall_id != hall_id:
                raise NotFound(f"staff {sid} not found")
            staff.department_id = dept.id
        return {"id": dept.id, "code": dept.code, "name": dept.name}, []
    return write(do)


@operation("/halls/<int:hall_id>/case-settings", "PUT", roles=MANAGERS, summary="Set the hall's case rules",
           body=CaseSettingsIn, response=S.Out, tags=("cases",))
def put_case_settings(hall_id: int, body: CaseSettingsIn):
    rt = runtime()

    def do(s: Session):
        get_hall(s, hall_id)
        row = s.get(CaseSettings, hall_id)
        if row is None:
            row = settings_of(s, hall_id)
            s.add(row)
        if body.acceptance_format is not None:
            row.acceptance_format = check_format(body.acceptance_format)
        if body.due_soon_working_days is not None:
            row.due_soon_working_days = body.due_soon_working_days
        if body.webhook_url is not None:
            row.webhook_url = body.webhook_url
        if body.webhook_secret is not None:
            row.webhook_secret_cipher = rt.vault.encrypt(body.webhook_secret)
        if row.webhook_url and not row.webhook_secret_cipher:
            raise InvalidRequest("a webhook URL needs a webhook_secret to sign with", code="secret_required")
        return {"acceptance_format": row.acceptance_format, "due_soon_working_days": row.due_soon_working_days,
                "webhook_url": row.webhook_url, "webhook_secret_set": bool(row.webhook_secret_cipher)}, []
    return write(do)


class ResendIn(S.In):
    ids: Annotated[list[S.Id], Field(max_length=200)] = Field([], description="the deliveries to re-send; "
                                                                             "none: every one given up")


@operation("/halls/<int:hall_id>/webhook-deliveries", "GET", roles=MANAGERS, response=S.ListOut, tags=("cases",),
           summary="List the case events the webhook outbox gave up on (to re-send)")
def list_failed_webhooks(hall_id: int):
    with runtime().db.read() as s:
        get_hall(s, hall_id)
        return {"items": webhooks.failed_deliveries(s, hall_id)}


@operation("/halls/<int:hall_id>/webhook-deliveries/resend", "POST", roles=MANAGERS, body=ResendIn,
           response=S.Out, tags=("cases",),
           summary="Put given-up case events back in the webhook outbox (clears the floor alert when none is left)")
def resend_webhooks(hall_id: int, body: ResendIn):
    def do(s: Session):
        get_hall(s, hall_id)
        n, events = webhooks.resend(s, hall_id, now=now(), ids=list(body.ids) or None)
        return {"ok": True, "resent": n}, events
    return write(do)


@operation("/halls/<int:hall_id>/integration-tokens", "POST", roles=MANAGERS, status=201,
           summary="Issue a token for the external approval system (行政审批综合管理系统)", body=TokenIn,
           response=S.Out, tags=("cases",))
def add_integration_token(hall_id: int, body: TokenIn):
    def do(s: Session):
        get_hall(s, hall_id)
        return {"token": issue_token(s, kind=APPROVAL, hall_id=hall_id, now=now(), name=body.name),
                "kind": APPROVAL}, []
    return write(do)

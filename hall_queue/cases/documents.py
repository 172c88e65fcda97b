"""The papers of a case, each numbered, stored as issued and re-printable (A4 PDF in ``pdf``, a short
receipt on the window's ESC/POS printer in ``devices.printer``).

* 受理通知书 / 受理单 — 002 §8.2.2 (item, 受理号, applicant and phone, time, promised completion date,
  intermediary service), 000 §9.3.4 / 002 §8.2.6 (special procedures and their time), the accepting clerk
  and a QR to the progress page (000 §8.5).
* 一次性告知书 — 002 §6.3 (complete? legal form? how to correct, accepted or not and why, special
  procedures, next step, fees); 000 §9.3.3.
* 容缺受理承诺书 — 000 §9.3.6 (owed materials, their deadline, the overdue rule).
* 不予受理决定书 — 000 §9.3.3, 002 §8.5.5 (reason, legal basis, the right to administrative review or suit
  and its time limits).

A document's ``content`` is plain data — a title, label/value lines, paragraphs — rendered the same way
every time; the ID number only ever appears masked, the phone masked.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from hall_queue.access.audit import Actor
from hall_queue.domain import calendar
from hall_queue.domain.models import (
    Case,
    CaseDocument,
    Hall,
    ServiceItem,
    Staff,
    Ticket,
    Window,
)
from hall_queue.domain.vocabulary import (
    CASE_DOCUMENT_CODES,
    CASE_DOCUMENT_TITLES,
    REVIEW_DAYS,
    SUIT_MONTHS,
)
from hall_queue.infrastructure.cache import MISSING, TtlCache
from hall_queue.infrastructure.db import core

_INSERT_DOC = insert(CaseDocument).returning(CaseDocument.id)
_STAFF_LINE = select(Staff.display_name, Staff.employee_no).where(Staff.id == bindparam("staff_id"))
# The accepting clerk's name and number on every 受理通知书: kept per process, dropped when staff rows change here.
_staff_lines = TtlCache(60.0, {Staff.__tablename__})
PAPERS = "onevisit_papers_written"  # session.info: ticket id → the papers written for it in this session

OVERDUE_RULE = ("逾期未补正的，视为申请人放弃容缺受理：本事项终止办理，已提交的材料予以退回，"
                "申请人可在材料齐全后重新申请。")


def _local(hall: Hall, at: datetime) -> str:
    return calendar.local_time(hall, at).strftime("%Y年%m月%d日 %H:%M")


def _day(d) -> str:
    return d.strftime("%Y年%m月%d日")


def term_text(case: Case) -> str:
    return "即办（当日办结）" if case.promised_days == 0 else f"{case.promised_days}个工作日"


def _staff_line(session: Session, staff_id: int) -> str:
    line = _staff_lines.get(session, staff_id)
    if line is MISSING:
        row = core(session).execute(_STAFF_LINE, {"staff_id": staff_id}).first()
        line = _staff_lines.put(session, staff_id, f"{row.display_name}（工号{row.employee_no}）" if row else "")
    return line


def _clerk(session: Session, case: Case) -> str:
    staff = _staff_line(session, case.accepted_by_id) if case.accepted_by_id else ""
    window = session.get(Window, case.window_id) if case.window_id else None  # loaded with the finished ticket
    parts = [window.name if window else "", staff]
    return " ".join(p for p in parts if p) or "—"


def _applicant_lines(case: Case, masked_phone: str) -> list[list[str]]:
    return [["申请人", case.masked_name or "—"], ["证件号码", case.masked_id or "—"],
            ["联系电话", masked_phone or "—"]]


def _procedures(case: Case) -> str:
    return "；".join(f"{p['name']}（约{p['days']}个工作日，不计入承诺时限）" for p in case.special_procedures) or "无"


def acceptance_notice(session: Session, hall: Hall, case: Case, item: ServiceItem | None, *, masked_phone: str,
                      deferred: list[dict[str, Any]]) -> dict[str, Any]:
    lines = [["事项名称", case.title], ["受理号", case.acceptance_no], *_applicant_lines(case, masked_phone),
             ["受理时间", _local(hall, case.accepted_at)], ["承诺办结时限", term_text(case)],
             ["承诺办结日期", _day(case.due_on)], ["中介服务事项", case.intermediary_service or "无"],
             ["特别程序及所需时间", _procedures(case)], ["受理窗口及受理人", _clerk(session, case)]]
    if deferred:
        lines.append(["容缺补正材料", "；".join(f"{m['name']}（{m['due_on']}前）" for m in deferred)])
    paragraphs = [f"您申请的“{case.title}”已于{_local(hall, case.accepted_at)}受理，承诺于{_day(case.due_on)}前办结"
                  "（补正、特别程序期间不计入）。办结后将短信通知您到出件窗口领取结果，请携带本通知书和身份证件。",
                  "扫描下方二维码或凭查询码可随时查询办理进度。"]
    return {"lines": lines, "paragraphs": paragraphs, "qr": True, "hall": hall.name}


def one_time_notice(hall: Hall, *, title: str, accepted: bool, reason: str, missing: list[str],
                    procedures: str, next_step: str, fees: str, masked_name: str | None) -> dict[str, Any]:
    """一次性告知书 with the elements of 002 §6.3."""
    lines = [["事项名称", title], ["申请人", masked_name or "—"],
             ["申请材料是否齐全", "齐全" if not missing else "不齐全"],
             ["是否符合法定形式", "符合" if not missing else "需补正后符合"],
             ["需补正的全部材料", "；".join(missing) or "无"],
             ["如何补正", "请按上列清单一次补齐原件或复印件，可到任一综合受理窗口或自助终端提交" if missing else "无需补正"],
             ["是否受理及理由", ("予以受理" if accepted else "暂不受理") + (f"：{reason}" if reason else "")],
             ["特别程序", procedures or "无"], ["下一步程序", next_step], ["收费标准", fees or "不收费"]]
    return {"lines": lines, "paragraphs": ["以上内容一次性告知，补齐后无需重复提交已提交的材料。"], "qr": False,
            "hall": hall.name}


def deferral_pledge(hall: Hall, case: Case, deferred: list[dict[str, Any]]) -> dict[str, Any]:
    """容缺受理承诺书 (000 §9.3.6): the owed materials, their deadlines and the overdue rule."""
    lines = [["事项名称", case.title], ["受理号", case.acceptance_no], ["申请人", case.masked_name or "—"],
             ["证件号码", case.masked_id or "—"]]
    lines += [[f"容缺材料{i}", f"{m['name']}，补正期限{m['due_on']}" + (f"（{m['promise']}）" if m.get("promise") else "")]
              for i, m in enumerate(deferred, 1)]
    paragraphs = ["本人自愿申请容缺受理，承诺在上列期限内补齐所缺材料，并对所提交材料的真实性负责。",
                  f"超期处理办法：{OVERDUE_RULE}", "申请人签名：____________    日期：____________"]
    return {"lines": lines, "paragraphs": paragraphs, "qr": False, "hall": hall.name}


def refusal_decision(hall: Hall, case: Case, *, reason: str, basis: str) -> dict[str, Any]:
    """不予受理决定书 (000 §9.3.3; 002 §8.5.5): reason, legal basis, rights of review and suit."""
    lines = [["事项名称", case.title], ["编号", case.acceptance_no], ["申请人", case.masked_name or "—"],
             ["证件号码", case.masked_id or "—"], ["决定时间", _local(hall, case.accepted_at)],
             ["不予受理理由", reason], ["依据", basis or "—"]]
    paragraphs = ["经审查，您的申请不符合受理条件，决定不予受理，申请材料予以退回。",
                  f"如不服本决定，可自收到本决定书之日起{REVIEW_DAYS}日内依法申请行政复议，"
                  f"或者自收到本决定书之日起{SUIT_MONTHS}个月内依法向人民法院提起行政诉讼。"]
    return {"lines": lines, "paragraphs": paragraphs, "qr": False, "hall": hall.name}


def issue(session: Session, hall: Hall, *, kind: str, content: dict[str, Any], now: datetime, actor: Actor,
          case: Case | None = None, ticket: Ticket | None = None) -> CaseDocument:
    """Number and store a paper: ``<受理号>-<kind code>`` for a case's, ``<hall>-<code>-T<ticket>`` otherwise."""
    code = CASE_DOCUMENT_CODES[kind]
    number = f"{case.acceptance_no}-{code}" if case is not None else f"{hall.code.upper()}-{code}-T{ticket.id}"
    values = dict(hall_id=hall.id, case_id=case.id if case else None,
                  ticket_id=(case.ticket_id if case else ticket.id) if (case or ticket) else None,
                  kind=kind, number=number, content={"title": CASE_DOCUMENT_TITLES[kind], "number": number, **content},
                  issued_at=now, issued_by_id=actor.id if actor.kind == "staff" else None, prints=0)
    # A prebuilt Core insert (issue 19: the finish writes its papers without an ORM flush); the paper is
    # kept per ticket in ``session.info`` for the clerk's receipt (``intake.opened_by_finish``).
    doc = CaseDocument(id=core(session).execute(_INSERT_DOC, values).scalar_one(), **values)
    if values["ticket_id"] is not None:
        session.info.setdefault(PAPERS, {}).setdefault(values["ticket_id"], []).append(doc)
    return doc

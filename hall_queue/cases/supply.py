"""容缺 materials brought back at the kiosk (000 §9.3.6; 002 §6.5, §8.2.4).

A case accepted with deferred materials (容缺受理) owes them by their deadlines. The applicant comes back
to the kiosk, shows who they are — the ID card, the receipt's QR code, or the acceptance number *with*
the ID card (a typed number alone would let anyone read another applicant's list: numbers run in
sequence) — sees the materials still owed, and lays each on the document camera. The pages are kept with
the case (``CaseAttachment``), then the material is marked supplied (``lifecycle.supply_material``:
audited, one more trip, the clock run again if it stood waiting for them).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault
from hall_queue.cases import clock
from hall_queue.cases.intake import lookup_hash
from hall_queue.cases.lifecycle import owed_material, supply_material
from hall_queue.domain.errors import Forbidden, InvalidRequest, WrongState
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Case, CaseAttachment, DeferredMaterial, Hall
from hall_queue.domain.vocabulary import CASE_FINAL_STATES, SUPPLY_MAX_PAGES
from hall_queue.queueing.attachments import check_page, page_columns


def _family(top: Case) -> list[Case]:
    return [top, *top.children]


def _cases_of(session: Session, hall: Hall, *, vault: IdentityVault, id_number: str | None, code: str | None,
              acceptance_no: str | None) -> list[Case]:
    """The applicant's cases the way they showed themselves (see the module's docstring)."""
    if code:
        top = session.scalar(select(Case).where(Case.hall_id == hall.id, Case.lookup_hash == lookup_hash(code)))
        return _family(top) if top is not None else []
    if acceptance_no:
        if not id_number:
            raise InvalidRequest("请刷身份证核对身份后再查询", code="card_required")
        case = session.scalar(select(Case).where(Case.hall_id == hall.id,
                                                 Case.acceptance_no == acceptance_no.strip().upper()))
        if case is None:
            return []
        top = session.get(Case, case.parent_id) if case.parent_id else case
        return [c for c in _family(top) if c.id_hash and vault.hash_matches(id_number, c.id_hash)]
    if id_number:
        return list(session.scalars(select(Case).where(Case.hall_id == hall.id,
                                                       Case.id_hash == vault.id_hash(id_number))))
    raise InvalidRequest("send id_number, code or acceptance_no with id_number", code="who_required")


def owed(session: Session, hall: Hall, *, vault: IdentityVault, now: datetime, id_number: str | None = None,
         code: str | None = None, acceptance_no: str | None = None) -> list[dict[str, Any]]:
    """The applicant's open cases with 容缺 materials still owed, each with those materials (oldest case first)."""
    cases = {c.id: c for c in _cases_of(session, hall, vault=vault, id_number=id_number, code=code,
                                        acceptance_no=acceptance_no) if c.state not in CASE_FINAL_STATES}
    if not cases:
        return []
    today = clock.local_day(hall, now)
    rows = session.scalars(select(DeferredMaterial).where(DeferredMaterial.case_id.in_(list(cases)),
                                                          DeferredMaterial.state == "owed")
                           .order_by(DeferredMaterial.case_id, DeferredMaterial.id)).all()
    out: dict[int, dict[str, Any]] = {}
    for m in rows:
        c = cases[m.case_id]
        entry = out.setdefault(c.id, {"case_id": c.id, "acceptance_no": c.acceptance_no, "title": c.title,
                                      "materials": []})
        entry["materials"].append({"id": m.id, "name": m.name, "due_on": m.due_on.isoformat(),
                                   "overdue": today > m.due_on, "pages": _pages_of(session, m.id)})
    return list(out.values())


def _pages_of(session: Session, material_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(CaseAttachment)
                              .where(CaseAttachment.material_id == material_id)) or 0)


def attach_page(session: Session, material_id: int, *, data: bytes, content_type: str, page_size_name: str,
                now: datetime, actor: Actor, token_id: int | None) -> CaseAttachment:
    """Keep one scanned page of an owed material with its case, after the case's pages already kept."""
    m, case = owed_material(session, material_id, actor)
    checked = check_page(data, content_type, page_size_name)
    if _pages_of(session, m.id) >= SUPPLY_MAX_PAGES:
        raise WrongState(f"a material takes at most {SUPPLY_MAX_PAGES} pages", code="too_many_pages")
    last = session.scalar(select(func.max(CaseAttachment.position)).where(CaseAttachment.case_id == case.id))
    page = CaseAttachment(hall_id=case.hall_id, case_id=case.id, material_id=m.id,
                          **page_columns(data, checked, content_type=content_type, last_position=last, now=now,
                                         token_id=token_id))
    session.add(page)
    session.flush()
    audit.record(session, actor=actor, action="case.attach_page", at=now, hall_id=case.hall_id,
                 ticket_id=case.ticket_id, case_id=case.id, material_id=m.id, position=page.position,
                 bytes=len(data))
    return page


def supply_at_kiosk(session: Session, material_id: int, *, actor: Actor, now: datetime, vault: IdentityVault,
                    id_number: str | None = None, code: str | None = None) -> tuple[DeferredMaterial, list[DomainEvent]]:
    """Mark an owed material supplied from the kiosk: the applicant shown again, its pages scanned first."""
    m, case = owed_material(session, material_id, actor)
    top = session.get(Case, case.parent_id) if case.parent_id else case
    shown = (bool(id_number) and bool(case.id_hash) and vault.hash_matches(id_number, case.id_hash)) or \
        (bool(code) and top.lookup_hash == lookup_hash(code))
    if not shown:
        raise Forbidden("the ID card or receipt shown is not this case's applicant's", code="not_the_applicant")
    if _pages_of(session, m.id) == 0:
        raise InvalidRequest("scan the material's pages before marking it supplied", code="pages_required")
    return supply_material(session, material_id, actor=actor, now=now, via="kiosk")


def page_views(session: Session, case: Case) -> list[dict[str, Any]]:
    """The pages scanned at the kiosk for a case, with the material each belongs to (images fetched apart)."""
    rows = session.execute(select(CaseAttachment.id, CaseAttachment.material_id, CaseAttachment.position,
                                  CaseAttachment.content_type, CaseAttachment.uploaded_at, DeferredMaterial.name)
                           .join(DeferredMaterial, DeferredMaterial.id == CaseAttachment.material_id)
                           .where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.position)).all()
    return [{"id": i, "material_id": mid, "material": name, "position": pos, "content_type": ct,
             "uploaded_at": at.isoformat(timespec="seconds"), "url": f"/api/v1/case-attachments/{i}"}
            for i, mid, pos, ct, at, name in rows]

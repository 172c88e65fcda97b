"""Cases opened by the clerk's finish, in the same transaction (a crash never leaves one without the other).

For every service item of the ticket the clerk decided — accepted (受理), completed on the spot (即办),
accepted with deferred materials (容缺) or refused (不予受理) — one case; a 一件事 ticket gets one
parent case (led by the bundle's lead department, 003 §5.2) with one child per item. A notice
(一次性告知) or a consultation opens none; a notice still gets its numbered 一次性告知书.

The clerk decides each item (``detail["decisions"]``: item id → outcome and note); an item without a
decision takes the ticket's outcome. In a bundle, a refused *blocking* item stops all the others and
returns the materials (003 §8.3.3); a refused non-blocking item lets the others go on (§8.3.4).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault, mask_phone
from hall_queue.cases import clock, documents
from hall_queue.cases.lifecycle import _changed, _step, stop_bundle, sync_parent
from hall_queue.cases.numbering import first_seq_ahead, first_seq_unless_pickup, format_acceptance_no, next_seq
from hall_queue.cases.records import case_rules, record
from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import (
    Bundle,
    BundleItem,
    Case,
    CaseHandover,
    DeferredMaterial,
    Hall,
    ServiceItem,
    Ticket,
)
from hall_queue.domain.vocabulary import CASE_OPENING_OUTCOMES, OUTCOMES
from hall_queue.infrastructure import hall_store
from hall_queue.infrastructure.cache import TtlCache
from hall_queue.infrastructure.db import Ahead, IdBlock, Prebuilt, core

# A finish writes its cases on statements built once (issue 19): the ORM's flush per case cost more than
# the rest of the clerk's 下一位. A case written here is then attached to the session as persistent, so
# the lifecycle code that follows (dispatch, a bundle's stop) changes it as any loaded case.
_CASE_COLUMNS = tuple(c.key for c in Case.__table__.columns if c.key != "id")
_INSERT_CASE = Prebuilt(insert(Case).returning(Case.id), keys=_CASE_COLUMNS)
# PostgreSQL: the id taken first, the insert sent ``later`` with the finish's next statements — the round trip that
# waited for ``RETURNING id`` in every clerk's 下一位 that opens a case is gone (issue 19; ``IdBlock``).
_INSERT_CASE_WITH_ID = Prebuilt(insert(Case), keys=("id", *_CASE_COLUMNS))
_CASE_IDS = IdBlock("cases_id_seq")
_HANDOVER_COLUMNS = tuple(c.key for c in CaseHandover.__table__.columns if c.key != "id")
_INSERT_HANDOVER = Prebuilt(insert(CaseHandover), keys=_HANDOVER_COLUMNS)
_CASE_MANAGER = Case.__mapper__.class_manager  # builds a Case object without its constructor (``new_case``)
_OPENED = "onevisit_opened_cases"  # session.info: ticket id → (cases, papers) the finish just wrote


@dataclass(frozen=True)
class CaseItem:
    """What opening a case (and the finished ticket's view) needs of a service item, read-only."""

    id: int
    code: str
    name: str
    kind: str
    promised_days: int | None
    department_id: int | None
    guide: dict[str, Any]
    materials: list[Any]


_CASE_ITEMS = (select(ServiceItem.id, ServiceItem.code, ServiceItem.name, ServiceItem.kind, ServiceItem.promised_days,
                      ServiceItem.department_id, ServiceItem.guide, ServiceItem.materials)
               .where(ServiceItem.id.in_(bindparam("ids", expanding=True))))
# Kept a few seconds per process like the issue path's item routes (``routing._routes``), dropped when this
# process commits a change to the catalogue: the clerk's 下一位 parses no item's guide and materials (issue 19).
_case_items = TtlCache(5.0, {ServiceItem.__tablename__})


def case_items(session: Session, item_ids: list[int]) -> list[CaseItem]:
    """The items among ``item_ids`` that exist, in the order given (one statement for those not kept)."""
    found = _case_items.get_many(session, item_ids, lambda missing: {
        row.id: CaseItem(*row) for row in core(session).execute(_CASE_ITEMS, {"ids": missing})})
    return [found[iid] for iid in item_ids if iid in found]


def lookup_hash(code: str) -> str:
    return hashlib.sha256(("onevisit-case|" + code).encode()).hexdigest()


def new_lookup_code() -> str:
    """An unguessable look-up code (128 bits) for the progress page ``/c/<code>`` (000 §8.5)."""
    return secrets.token_urlsafe(16)


def _decisions(ticket: Ticket, outcome: str, note: str | None, detail: dict[str, Any]) -> list[tuple[ServiceItem, str, str]]:
    by_item = {}
    item_ids = {i.id for i in ticket.items}
    for d in detail.get("decisions") or []:
        iid, o = d.get("item_id"), d.get("outcome")
        if iid not in item_ids:
            raise InvalidRequest(f"service item {iid} is not on ticket {ticket.number}", code="bad_decision")
        if o not in OUTCOMES:
            raise InvalidRequest(f"outcome must be one of {', '.join(OUTCOMES)}", code="bad_outcome")
        by_item[iid] = (o, (d.get("note") or note or "").strip())
    out = []
    for item in ticket.items:
        o, n = by_item.get(item.id, (outcome, (note or "").strip()))
        if o == "refused" and not n:
            raise InvalidRequest(f"refusing {item.name} (不予受理) needs its reason", code="reason_required")
        out.append((item, o, n))
    return out


def _deferred(session: Session, hall: Hall, detail: dict[str, Any], today: date) -> list[dict[str, Any]]:
    out = []
    for m in detail.get("deferred_materials") or []:
        due = m["due_date"]
        due = date.fromisoformat(due) if isinstance(due, str) else due
        if due < today:  # 000 §9.3.6: the applicant promises to bring it later, not by a day already gone
            raise InvalidRequest(f"the deferred material {m['name']} is due {due.isoformat()}, before today "
                                 f"({today.isoformat()})", code="bad_due_date")
        # A deadline never lands on a closed day: moved to the next working day.
        due = hall_store.add_working_days(session, hall.id, due, 0)
        out.append({"name": m["name"], "due_on": due.isoformat(), "promise": m.get("promise", "")})
    return out


class _Opener:
    def __init__(self, session: Session, ticket: Ticket, *, now: datetime, actor: Actor,
                 vault: IdentityVault | None) -> None:
        self.s, self.t, self.now, self.actor, self.vault = session, ticket, now, actor, vault
        self.hall = hall_store.hall_settings(session, ticket.hall_id)  # cached plain settings (same names as Hall)
        self.today = clock.local_day(self.hall, now)
        self.settings = case_rules(session, self.hall.id)
        self.first_seq: int | None = None  # taken with the pickup check (``first_seq_unless_pickup``)
        self.cases: list[Case] = []
        self.masked_phone = ""
        if vault is not None and ticket.phone_cipher:
            try:
                self.masked_phone = mask_phone(vault.decrypt(ticket.phone_cipher))
            except Exception:  # noqa: BLE001 - a key rotated away: the receipt shows no phone
                self.masked_phone = ""
        self.codes: dict[int, str] = {}

    def number(self) -> tuple[int, str]:
        seq, self.first_seq = self.first_seq, None
        if seq is None:
            seq = next_seq(self.s, self.hall.id, self.today.year)
        return seq, format_acceptance_no(self.settings.acceptance_format, hall_code=self.hall.code,
                                         year=self.today.year, seq=seq)

    def new_case(self, *, seq: int, part: int, number: str, title: str, outcome: str, state: str,
                 item: ServiceItem | None, bundle_id: int | None, department_id: int | None, blocking: bool,
                 parent: Case | None, detail: dict[str, Any], attach: bool = True) -> Case:
        """Write one case and return it as an object; ``attach``: join it to the session (persistent) so later
        steps of this transaction can change it — a 即办 case outside a bundle is written whole and never is."""
        days = (item.promised_days or 0) if (item is not None and item.kind == "promised"
                                             and outcome != "completed") else 0
        code = new_lookup_code()
        t = self.t
        values = dict(hall_id=self.hall.id, parent_id=parent.id if parent else None, year=self.today.year, seq=seq,
                      part=part, acceptance_no=number, ticket_id=t.id, item_id=item.id if item else None,
                      bundle_id=bundle_id, title=title, department_id=department_id, blocking=blocking,
                      outcome=outcome, state=state, decision=None, masked_name=t.masked_name, masked_id=t.masked_id,
                      id_hash=t.id_hash, id_cipher=t.id_cipher, phone_cipher=t.phone_cipher,
                      lookup_hash=lookup_hash(code), lookup_cipher=self.vault.encrypt(code) if self.vault else None,
                      accepted_at=self.now, accepted_by_id=self.actor.id if self.actor.kind == "staff" else None,
                      window_id=t.window_id, promised_days=days,
                      due_on=clock.promised_due(self.s, self.hall, self.today, days),
                      special_procedures=[{"name": p["name"], "days": p["days"]}
                                          for p in detail.get("special_procedures") or []],
                      intermediary_service=(detail.get("intermediary_service") or "")[:200], visits=1,
                      decision_reason="", stopped_working_days=0, clock_stopped_on=None, handler_id=None,
                      decided_at=None, ready_at=None, handed_over_at=None, closed_at=None, due_alert_id=None,
                      due_alert_kind=None, pickup_ticket_id=None)
        if outcome == "completed" and state == "accepted":
            # 即办件 (000 §6.6 a): decided and handed over at the window — written closed at once.
            values.update(state="closed", decision="approved", decided_at=self.now, ready_at=self.now,
                          handed_over_at=self.now, closed_at=self.now)
        assert values.keys() == set(_CASE_COLUMNS), "every column of a case is written"
        case_id = _CASE_IDS.insert(core(self.s), values, with_id=_INSERT_CASE_WITH_ID, returning_id=_INSERT_CASE)
        # The object is filled as a load fills it, not through ``Case(**values)`` (issue 19): the row is already
        # written, and the constructor's attribute events for some forty columns cost a tenth of the finish.
        case = _CASE_MANAGER.new_instance()
        case.__dict__.update(values, id=case_id)
        if attach:
            make_transient_to_detached(case)  # the row is written: the object joins the session as persistent
            self.s.add(case)
        self.codes[case.id] = code
        self.cases.append(case)
        return case

    def accept(self, case: Case, outcome: str, note: str, deferred: list[dict[str, Any]]) -> list[DomainEvent]:
        """Record how the case began; a 即办 case runs the whole loop at once, a refusal ends it."""
        s, now, actor = self.s, self.now, self.actor
        if outcome == "refused":
            case.decision_reason = note
            record(s, case, action="refuse", from_state=None, to_state="refused", actor=actor, now=now, note=note)
            return [_changed(case, "refuse")]
        if outcome == "completed":
            # 即办件 (000 §6.6 a): accepted, decided and handed over at the window in one moment (``new_case``
            # wrote it closed) — one recorded step (→ closed) rather than six rows of the same second, which
            # would triple the statements of every clerk's 下一位 (issue 19) without telling anyone more.
            record(s, case, action="complete", from_state=None, to_state="closed", actor=actor, now=now, note=note,
                   detail={"outcome": outcome, "on_the_spot": True})
            _INSERT_HANDOVER.later(core(s), dict(
                hall_id=case.hall_id, case_id=case.id, method="on_the_spot", at=now, by_id=case.accepted_by_id,
                window_id=case.window_id, ticket_id=case.ticket_id, id_checked=False,
                signed_by_masked=case.masked_name or "", courier_company="", tracking_no=""))
            return [_changed(case, "complete")]
        record(s, case, action="accept", from_state=None, to_state="accepted", actor=actor, now=now, note=note,
               detail={"outcome": outcome})
        for m in deferred:
            s.add(DeferredMaterial(hall_id=case.hall_id, case_id=case.id, name=m["name"],
                                   due_on=date.fromisoformat(m["due_on"]), promise=m.get("promise", ""),
                                   state="owed", supplied_via=""))
        if case.department_id is not None and case.parent_id is None:
            _step(s, case, "dispatch", actor=actor, now=now, detail={"department_id": case.department_id})
        return [_changed(case, "accept")]

    def papers(self, case: Case, item: ServiceItem | None, outcome: str, note: str,
               deferred: list[dict[str, Any]], *, receipt: bool) -> None:
        hall, now, actor, s = self.hall, self.now, self.actor, self.s
        fees = (item.guide or {}).get("fees", "") if item is not None else ""
        if receipt and outcome in ("accepted", "deferred"):
            documents.issue(s, hall, kind="acceptance_notice", case=case, now=now, actor=actor,
                            content=documents.acceptance_notice(s, hall, case, item, masked_phone=self.masked_phone,
                                                                deferred=deferred))
        if outcome == "deferred":
            documents.issue(s, hall, kind="deferral_pledge", case=case, now=now, actor=actor,
                            content=documents.deferral_pledge(hall, case, deferred))
            documents.issue(s, hall, kind="one_time_notice", case=case, now=now, actor=actor,
                            content=documents.one_time_notice(
                                hall, title=case.title, accepted=True, reason="主要材料齐全，次要材料容缺受理",
                                missing=[f"{m['name']}（{m['due_on']}前补正）" for m in deferred],
                                procedures=documents._procedures(case), fees=fees, masked_name=case.masked_name,
                                next_step="按期补齐容缺材料；部门审查后作出决定，办结后短信通知领取"))
        if outcome == "refused":
            basis = (item.guide or {}).get("legal_basis", "") if item is not None else ""
            documents.issue(s, hall, kind="refusal_decision", case=case, now=now, actor=actor,
                            content=documents.refusal_decision(hall, case, reason=note, basis=basis))
            documents.issue(s, hall, kind="one_time_notice", case=case, now=now, actor=actor,
                            content=documents.one_time_notice(
                                hall, title=case.title, accepted=False, reason=note, missing=[],
                                procedures="无", fees=fees, masked_name=case.masked_name,
                                next_step="不予受理；具备条件后可重新申请"))


def number_ahead(session: Session, ticket: Ticket, *, outcome: str, note: str | None, detail: dict[str, Any],
                 now: datetime) -> Ahead | None:
    """For a finish whose cases open later in its transaction (the clerk's 下一位): the acceptance-number bump of its
    first case, sent ahead with the transaction's next statement — on PostgreSQL in the call's round trip instead of
    one of its own (issue 19); ``None`` when the finish opens no case. Passed to ``open_cases(…, bump=)``.
    A refused decision (``_decisions``) is refused here, before anything is sent."""
    if not any(o in CASE_OPENING_OUTCOMES for _, o, _ in _decisions(ticket, outcome, note, detail)):
        return None
    hall = hall_store.hall_settings(session, ticket.hall_id)
    return first_seq_ahead(session, hall.id, clock.local_day(hall, now).year, ticket.id)


def open_cases(session: Session, ticket: Ticket, *, outcome: str, note: str | None, detail: dict[str, Any],
               now: datetime, actor: Actor, vault: IdentityVault | None = None,
               bump: Ahead | None = None) -> tuple[list[Case], list[DomainEvent]]:
    """Open the cases of a finished ticket (see the module doc); return the top-level cases and events.

    ``bump``: the first case's number bump sent by ``number_ahead`` for this finish, in this transaction."""
    decided = _decisions(ticket, outcome, note, detail)
    opening = [(i, o, n) for i, o, n in decided if o in CASE_OPENING_OUTCOMES]
    if not opening:
        if outcome == "notice":
            hall = session.get(Hall, ticket.hall_id)
            documents.issue(session, hall, kind="one_time_notice", ticket=ticket, now=now, actor=actor,
                            content=documents.one_time_notice(
                                hall, title="、".join(i.name for i in ticket.items), accepted=False,
                                reason="申请材料不齐全或不符合法定形式",
                                missing=list(detail.get("missing_materials") or []), procedures="无",
                                fees="、".join(sorted({(i.guide or {}).get("fees", "") for i in ticket.items} - {""})),
                                next_step="补齐后到任一综合受理窗口提交，已提交的材料无需重复提交",
                                masked_name=ticket.masked_name))
        _remember(session, ticket.id, [])
        return [], []
    op = _Opener(session, ticket, now=now, actor=actor, vault=vault)
    op.first_seq = first_seq_unless_pickup(session, op.hall.id, op.today.year, ticket.id, sent=bump)
    if op.first_seq is None:
        _remember(session, ticket.id, [])
        return [], []  # a visit to collect results (统一出件) opens nothing new
    deferred = _deferred(session, op.hall, detail, op.today)
    events: list[DomainEvent] = []
    if ticket.bundle_id is None:
        cases = []
        for item, o, n in opening:
            seq, number = op.number()
            case = op.new_case(seq=seq, part=0, number=number, title=item.name, outcome=o,
                               state="refused" if o == "refused" else "accepted", item=item, bundle_id=None,
                               department_id=item.department_id, blocking=True, parent=None, detail=detail,
                               attach=o != "completed")
            events += op.accept(case, o, n, deferred if o == "deferred" else [])
            op.papers(case, item, o, n, deferred if o == "deferred" else [], receipt=True)
            cases.append(case)
        _remember(session, ticket.id, op.cases)
        return cases, events
    bundle = session.get(Bundle, ticket.bundle_id)
    blocking = dict(session.execute(select(BundleItem.item_id, BundleItem.blocking)
                                    .where(BundleItem.bundle_id == bundle.id)).all())
    seq, number = op.number()
    going = [o for _, o, _ in opening if o != "refused"]
    parent_outcome = "refused" if not going else ("deferred" if "deferred" in going else
                                                  "accepted" if "accepted" in going else "completed")
    parent = op.new_case(seq=seq, part=0, number=number, title=bundle.name, outcome=parent_outcome,
                         state="accepted", item=None, bundle_id=bundle.id,
                         department_id=bundle.lead_department_id, blocking=True, parent=None, detail=detail)
    record(session, parent, action="accept", from_state=None, to_state="accepted", actor=actor, now=now,
           note=note or "", detail={"outcome": parent_outcome, "items": len(opening)})
    kids = []
    for part, (item, o, n) in enumerate(opening, 1):
        kid = op.new_case(seq=seq, part=part, number=f"{number}-{part:02d}", title=item.name, outcome=o,
                          state="refused" if o == "refused" else "accepted", item=item, bundle_id=bundle.id,
                          department_id=item.department_id, blocking=blocking.get(item.id, True), parent=parent,
                          detail=detail)
        events += op.accept(kid, o, n, deferred if o == "deferred" else [])
        op.papers(kid, item, o, n, deferred if o == "deferred" else [], receipt=False)
        kids.append((kid, o, n))
    session.flush()
    session.refresh(parent, ["children"])
    stopper = next(((k, n) for k, o, n in kids if o == "refused" and k.blocking), None)
    if stopper is not None:  # 003 §8.3.3: the whole bundle stops, materials returned, explained
        events += stop_bundle(session, parent, cause=stopper[0], actor=actor, now=now, reason=stopper[1])
    else:
        # 003 §8.2 一次分办: every accepted item goes to its department at once.
        for k, o, _ in kids:
            if k.state == "accepted" and k.department_id is not None:
                _step(session, k, "dispatch", actor=actor, now=now, detail={"department_id": k.department_id})
        events += sync_parent(session, parent, actor=actor, now=now)
    if going and stopper is None:
        documents.issue(session, op.hall, kind="acceptance_notice", case=parent, now=now, actor=actor,
                        content=_bundle_notice(session, op, parent, [k for k, _, _ in kids], deferred))
    _remember(session, ticket.id, op.cases)
    return [parent], events


def _remember(session: Session, ticket_id: int, cases: list[Case]) -> None:
    """Keep what this finish wrote for ``opened_by_finish``: the receipt then needs no read back."""
    papers = session.info.get(documents.PAPERS, {}).get(ticket_id, [])
    session.info.setdefault(_OPENED, {})[ticket_id] = (sorted(cases, key=lambda c: c.id), papers)


def opened_by_finish(session: Session, ticket_id: int) -> tuple[list[Case], list[Any]] | None:
    """The cases and papers the finish of ``ticket_id`` wrote in this session, or None if it wrote none here."""
    return session.info.get(_OPENED, {}).get(ticket_id)


def _bundle_notice(session: Session, op: _Opener, parent: Case, kids: list[Case],
                   deferred: list[dict[str, Any]]) -> dict[str, Any]:
    content = documents.acceptance_notice(session, op.hall, parent, None, masked_phone=op.masked_phone,
                                          deferred=deferred)
    content["lines"].insert(2, ["包含事项", "；".join(
        f"{k.title}（{k.acceptance_no}，{'不予受理' if k.state == 'refused' else documents.term_text(k)}）"
        for k in kids)])
    return content


def lookup_code_of(case: Case, vault: IdentityVault | None) -> str | None:
    """The case's look-up code for a (re-)printed receipt, or None when it was not kept."""
    if case.lookup_cipher is None or vault is None:
        return None
    try:
        return vault.decrypt(case.lookup_cipher)
    except Exception:  # noqa: BLE001 - encrypted under a key since retired
        return None

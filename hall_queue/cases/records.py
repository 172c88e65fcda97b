"""Every step of a case is recorded once: a ``CaseEvent`` (who, when, from, to, note), the audit log
(004 §8.4), and — when the hall has configured an approval system's URL — a webhook outbox row in the
same transaction, so an event is never lost and never sent for a change that rolled back."""
from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain.clock import iso
from hall_queue.domain.models import (
    Case,
    CaseEvent,
    CaseSettings,
    Department,
    ServiceItem,
)
from hall_queue.domain.vocabulary import (
    DEFAULT_ACCEPTANCE_FORMAT,
    DUE_SOON_WORKING_DAYS,
)
from hall_queue.infrastructure import outbox
from hall_queue.infrastructure.cache import MISSING, TtlCache
from hall_queue.infrastructure.db import Prebuilt, core

# The case settings every finish reads (acceptance format, webhook URL): kept a few seconds per process,
# dropped at once when a change to them commits here (``cache.py``) — the clerk's 下一位 reads no row for them.
_rules = TtlCache(5.0, {CaseSettings.__tablename__})
_EVENT_COLUMNS = tuple(c.key for c in CaseEvent.__table__.columns if c.key != "id")
_INSERT_EVENT = Prebuilt(insert(CaseEvent).returning(CaseEvent.id), keys=_EVENT_COLUMNS)
_ADD_EVENT = Prebuilt(insert(CaseEvent), keys=_EVENT_COLUMNS)  # no id back (``record``)
_EVENT_MANAGER = CaseEvent.__mapper__.class_manager  # a CaseEvent filled without its constructor (``record``)


def settings_of(session: Session, hall_id: int) -> CaseSettings:
    """The hall's case settings, or the defaults (not added to the session) when none were saved.

    Read once per session: a finish records several steps and each needs the webhook URL; a saved row
    is in the identity map anyway, the defaults would otherwise cost a SELECT per step.
    """
    cache = session.info.setdefault("case_settings", {})
    row = cache.get(hall_id)
    if row is not None:
        return row
    row = session.get(CaseSettings, hall_id)
    if row is None:
        row = CaseSettings(hall_id=hall_id, acceptance_format=DEFAULT_ACCEPTANCE_FORMAT,
                           due_soon_working_days=DUE_SOON_WORKING_DAYS, webhook_url="", webhook_secret_cipher=None)
    cache[hall_id] = row
    return row


def case_rules(session: Session, hall_id: int) -> SimpleNamespace:
    """The hall's case settings as plain read-only values (``settings_of``'s fields), cached per process."""
    hit = _rules.get(session, hall_id)
    if hit is MISSING:
        row = session.get(CaseSettings, hall_id)
        if row is None:
            hit = SimpleNamespace(hall_id=hall_id, acceptance_format=DEFAULT_ACCEPTANCE_FORMAT,
                                  due_soon_working_days=DUE_SOON_WORKING_DAYS, webhook_url="",
                                  webhook_secret_cipher=None)
        else:
            hit = SimpleNamespace(hall_id=hall_id, acceptance_format=row.acceptance_format,
                                  due_soon_working_days=row.due_soon_working_days, webhook_url=row.webhook_url,
                                  webhook_secret_cipher=row.webhook_secret_cipher)
        _rules.put(session, hall_id, hit)
    return hit


def webhook_payload(session: Session, case: Case, ev: CaseEvent, *, state: str | None = None) -> dict[str, Any]:
    """What an approval system receives: the event and the case, masked (no name, no ID number)."""
    item_code = session.scalar(select(ServiceItem.code).where(ServiceItem.id == case.item_id)) if case.item_id else None
    dept_code = session.scalar(select(Department.code).where(Department.id == case.department_id)) \
        if case.department_id else None
    return {"event_id": ev.id, "action": ev.action, "at": iso(ev.at), "from_state": ev.from_state,
            "to_state": ev.to_state, "note": ev.note,
            "case": {"id": case.id, "acceptance_no": case.acceptance_no, "parent_id": case.parent_id,
                     "item_code": item_code, "department_code": dept_code, "state": state or case.state,
                     "decision": case.decision, "due_on": case.due_on.isoformat(), "masked_name": case.masked_name}}


def record(session: Session, case: Case, *, action: str, from_state: str | None, to_state: str, actor: Actor,
           now: datetime, note: str = "", detail: dict[str, Any] | None = None) -> None:
    """Append one step of ``case`` (its state already set by the caller) with its audit and outbox rows.

    The step is a prebuilt Core insert, not ``session.add``: a finish records one per case it opens
    and the ORM's flush cost more than the rest of the step (issue 19). Without a webhook nobody reads the
    step's id, so it is written ``later`` (PostgreSQL: sent with the transaction's next statement, no round trip).
    """
    values = dict(hall_id=case.hall_id, case_id=case.id, at=now, action=action, from_state=from_state,
                  to_state=to_state, actor_kind=actor.kind, actor_id=actor.id, note=note or "", detail=detail or {})
    settings = case_rules(session, case.hall_id)
    if not settings.webhook_url:
        _ADD_EVENT.later(core(session), values)
    else:
        # The step the webhook tells is filled as a load fills an object, not through ``CaseEvent(**values)``,
        # whose attribute events would be paid for a step nobody changes (issue 19).
        ev = _EVENT_MANAGER.new_instance()
        ev.__dict__.update(values, id=_INSERT_EVENT.run(core(session), values)[0].id)
        body = json.dumps(webhook_payload(session, case, ev), ensure_ascii=False, sort_keys=True)
        outbox.enqueue(session, hall_id=case.hall_id, channel="case", ordering_key=f"case:{case.id}",
                       message_id=str(ev.id), case_id=case.id, event_id=ev.id, url=settings.webhook_url, body=body,
                       now=now)
    audit.record(session, actor=actor, action=f"case.{action}", at=now, hall_id=case.hall_id,
                 ticket_id=case.ticket_id, case_id=case.id, acceptance_no=case.acceptance_no, to_state=to_state)

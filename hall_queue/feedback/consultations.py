"""Consultation records (咨询接待记录): 000 §7.1–§7.4 and 002 §9.1, and the 咨询回复率 / 及时率 of 002 §11.3.4 g.

- §7.1.1 / 002 §9.1.3.1: walk-up questions are logged (宜建立咨询接待记录); §7.2.1: letters are logged with
  who wrote; §7.3: a phone question not answered on the spot gets a reply date (告知答复时间); §7.4: online
  questions are answered promptly. Every channel lands in one record: the question, who took it and when,
  and either the answer at once or a promised reply date, then the answer, who gave it and when.
- The reply date defaults to ``CONSULTATION_REPLY_WORKING_DAYS`` working days of the hall calendar; staff
  may promise another (not in the past).
- Indicators over a range of the hall's service days (as the statistics count them), by the day the question came in:
  咨询回复率 = questions answered (up to now) ÷ questions received;
  咨询及时率 = questions answered on or before their promised date ÷ questions received whose promised date
  has come (or that are already answered). Empty denominators give null, never 0.

The asker's contact is encrypted at rest and shown masked, as for complaints.

Online questions (000 §7.4, 002 §9.1.2 应设立网上咨询平台，及时回复): anyone asks on the public form (a phone
page); the question becomes a record like any other (channel ``online``, due in the default reply term), so
the hall answers it from the same pending list and it counts in 咨询回复率 / 及时率. The asker gets a number
(``ZX<local date>-<id>``) and a look-up code: the number shows the status, the code also the question and the
answer (as for complaints, 000 §10.3). The form is rate-limited as the complaint form is; ID and mobile numbers
typed into the question are masked before it is stored, since the question is shown on staff screens.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Optional

import re

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault, mask_id_number, mask_name, mask_phone
from hall_queue.domain.calendar import local_time, service_days_span
from hall_queue.domain.clock import iso
from hall_queue.domain.errors import InvalidRequest, NotFound, WrongState
from hall_queue.domain.models import Consultation, Hall, ServiceItem, Staff
from hall_queue.domain.vocabulary import (CONSULTATION_CHANNEL_LABELS, CONSULTATION_REPLY_WORKING_DAYS,
                                          ConsultationChannel)
from hall_queue.feedback.complaints import (Contact, Person, check_contact, check_public_rate, mask_contact,
                                            new_lookup_code)
from hall_queue.infrastructure import hall_store

DEFINITIONS = {
    "reply_rate": ("咨询回复率", "期内登记的咨询中已作出答复的数量 ÷ 期内登记的咨询数量"),
    "on_time_rate": ("咨询及时率", "期内登记的咨询中在承诺答复日期当天或之前答复的数量（当场答复计为及时）"
                                  " ÷ 期内登记且已到答复日期或已答复的咨询数量"),
}
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=4000)]


class ConsultationIn(BaseModel):
    """A question as staff log it: answered at once (``answer``) or with a promised reply date."""

    model_config = ConfigDict(extra="forbid")
    channel: ConsultationChannel
    question: Text
    item_id: Optional[Annotated[int, Field(ge=1, le=2**31 - 1)]] = None
    asker: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = ""
    contact: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] = ""
    answer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""
    due_on: Optional[date] = None


class QuestionForm(BaseModel):
    """A question asked on the public form (000 §7.4): the asker's name and contact are optional."""

    model_config = ConfigDict(extra="forbid")
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=2000,
                                               pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
    item_id: Optional[Annotated[int, Field(ge=1, le=2**31 - 1)]] = None
    asker: Optional[Person] = None
    contact: Optional[Contact] = None

    @field_validator("contact")
    @classmethod
    def _contact(cls, v: Optional[str]) -> Optional[str]:
        return check_contact(v) if v else None


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Text


def log(session: Session, hall: Hall, form: ConsultationIn, *, now: datetime, actor: Actor,
        vault: IdentityVault) -> Consultation:
    """Record a question; answered on the spot when ``form.answer`` is given, else due by a promised date."""
    today = local_time(hall, now).date()
    if form.item_id is not None:
        item = session.get(ServiceItem, form.item_id)
        if item is None or item.hall_id != hall.id:
            raise NotFound("所选事项不在本大厅")
    if form.answer:
        due = today
    elif form.due_on is not None:
        if form.due_on < today:
            raise InvalidRequest("承诺答复日期不能早于今天", code="bad_due_date")
        due = form.due_on
    else:
        due = hall_store.add_working_days(session, hall.id, today, CONSULTATION_REPLY_WORKING_DAYS)
    if form.channel in ("letter", "phone") and not form.answer and not form.contact:
        # 000 §7.2.2 / §7.3: a later reply goes by phone or letter, so it needs somewhere to go.
        raise InvalidRequest("未当场答复的电话、信函咨询请填写联系方式，以便答复", code="contact_required")
    c = Consultation(hall_id=hall.id, channel=form.channel, item_id=form.item_id, question=form.question,
                     asker_masked=mask_name(form.asker) if form.asker else "",
                     contact_cipher=vault.encrypt(form.contact) if form.contact else None,
                     contact_masked=mask_contact(form.contact) if form.contact else "",
                     received_at=now, received_by_id=actor.id if actor.kind == "staff" else None, due_on=due,
                     answer=form.answer, answered_at=now if form.answer else None,
                     answered_by_id=actor.id if form.answer and actor.kind == "staff" else None)
    session.add(c)
    session.flush()
    audit.record(session, actor=actor, action="consultation.log", at=now, hall_id=hall.id, consultation_id=c.id,
                 channel=form.channel, answered=bool(form.answer))
    return c


STATUS_LABELS = {"pending": "待答复", "answered": "已答复"}
_NUMBER = re.compile(r"^ZX([0-9]{8})-([0-9]{1,10})$")
_ID_IN_TEXT = re.compile(r"(?<![0-9])\d{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9])1\d{10}(?![0-9])")


def mask_numbers(text: str) -> str:
    """Mask the ID and mobile numbers a visitor typed into a question (220102********1234, 139****5678)."""
    return _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)),
                               _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text))


def number_of(c: Consultation, hall: Hall) -> str | None:
    """The number an online question is looked up by: ZX<local date of asking>-<record id>."""
    return f"ZX{local_time(hall, c.received_at):%Y%m%d}-{c.id}" if c.lookup_hash else None


def _code_key(c_id: int, code: str) -> str:
    return f"consultation-lookup:{c_id}:{code.strip().upper()}"


def check_rate(session: Session, hall: Hall, source: str | None, *, now: datetime, device: str | None) -> None:
    """The online form's limits: per device, per address and per hall, as for the complaint form."""
    check_public_rate(session, hall, Consultation, Consultation.received_at, source, now=now, device=device,
                      noun="咨询")


def ask_online(session: Session, hall: Hall, form: QuestionForm, *, now: datetime, vault: IdentityVault,
               source: str | None, device: str | None) -> tuple[Consultation, str]:
    """Record a question asked on the public form; return it with the look-up code (shown once to the asker)."""
    if form.item_id is not None:
        item = session.get(ServiceItem, form.item_id)
        if item is None or item.hall_id != hall.id:
            raise NotFound("所选事项不在本大厅")
    today = local_time(hall, now).date()
    code = new_lookup_code()
    c = Consultation(hall_id=hall.id, channel="online", item_id=form.item_id, question=mask_numbers(form.question),
                     asker_masked=mask_name(form.asker) if form.asker else "",
                     contact_cipher=vault.encrypt(form.contact) if form.contact else None,
                     contact_masked=mask_contact(form.contact) if form.contact else "",
                     received_at=now, due_on=hall_store.add_working_days(session, hall.id, today,
                                                                         CONSULTATION_REPLY_WORKING_DAYS),
                     answer="", source_hash=source, device_hash=device)
    session.add(c)
    session.flush()
    c.lookup_hash = vault.id_hash(_code_key(c.id, code))
    audit.record(session, actor=Actor(kind="visitor", hall_id=hall.id), action="consultation.ask", at=now,
                 hall_id=hall.id, consultation_id=c.id)
    return c, code


def public_lookup(session: Session, hall: Hall, number: str, code: str | None, *, vault: IdentityVault,
                  now: datetime) -> dict[str, Any]:
    """An online question by its number: the status; with the look-up code also the question and the answer."""
    m = _NUMBER.match((number or "").strip().upper())
    c = session.get(Consultation, int(m.group(2))) if m else None
    if c is None or c.hall_id != hall.id or not c.lookup_hash or number_of(c, hall) != m.group(0):
        raise NotFound("no question with this number")
    ok = bool(code) and len(code) <= 20 and vault.hash_matches(_code_key(c.id, code), c.lookup_hash)
    status = "answered" if c.answered_at else "pending"
    today = local_time(hall, now).date()
    view = {"number": number_of(c, hall), "status": status, "status_label": STATUS_LABELS[status],
            "received_local": local_time(hall, c.received_at).strftime("%Y-%m-%d %H:%M"),
            "due_on": c.due_on.isoformat(), "overdue": c.answered_at is None and today > c.due_on, "verified": ok}
    if ok:
        view["question"] = c.question
        view["answer"] = c.answer or None
        view["answered_local"] = local_time(hall, c.answered_at).strftime("%Y-%m-%d %H:%M") if c.answered_at else None
    return view


def answer(session: Session, c: Consultation, text: str, *, now: datetime, actor: Actor) -> None:
    """Give the reply to a pending question (000 §7.2.2: one clear answer)."""
    if c.answered_at is not None:
        raise WrongState("该咨询已答复", code="already_answered")
    c.answer, c.answered_at = text, now
    c.answered_by_id = actor.id if actor.kind == "staff" else None
    audit.record(session, actor=actor, action="consultation.answer", at=now, hall_id=c.hall_id, consultation_id=c.id)


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {s.id: f"{s.employee_no or s.id} {mask_name(s.display_name)}".strip()
            for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))}


def view(c: Consultation, hall: Hall, *, today: date, names: dict[int, str], items: dict[int, str]) -> dict[str, Any]:
    """One record as pages show it: masked asker and contact, channel in Chinese, overdue flag."""
    answered_day = local_time(hall, c.answered_at).date() if c.answered_at else None
    return {"id": c.id, "number": number_of(c, hall), "channel": c.channel,
            "channel_label": CONSULTATION_CHANNEL_LABELS.get(c.channel, ""),
            "question": c.question, "item": items.get(c.item_id or 0, ""), "asker": c.asker_masked,
            "contact": c.contact_masked, "received_at": iso(c.received_at),
            "received_local": local_time(hall, c.received_at).strftime("%Y-%m-%d %H:%M"),
            "received_by": names.get(c.received_by_id or 0, ""), "due_on": c.due_on.isoformat(),
            "answer": c.answer, "answered_at": iso(c.answered_at),
            "answered_local": local_time(hall, c.answered_at).strftime("%Y-%m-%d %H:%M") if c.answered_at else None,
            "answered_by": names.get(c.answered_by_id or 0, ""),
            "status": "answered" if c.answered_at else "pending",
            "overdue": (answered_day or today) > c.due_on,
            "on_the_spot": c.answered_at is not None and c.answered_at == c.received_at,
            "reply_minutes": round((c.answered_at - c.received_at).total_seconds() / 60) if c.answered_at else None,
            "reply_hours": round((c.answered_at - c.received_at).total_seconds() / 3600, 1) if c.answered_at else None}


def view_one(session: Session, c: Consultation, hall: Hall, *, now: datetime) -> dict[str, Any]:
    """One record with its staff and item names."""
    item = session.get(ServiceItem, c.item_id) if c.item_id else None
    return view(c, hall, today=local_time(hall, now).date(),
                names=_names(session, {c.received_by_id, c.answered_by_id}),
                items={item.id: item.name} if item else {})


def listing(session: Session, hall: Hall, *, now: datetime, status: str | None = None, first: date | None = None,
            last: date | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Pending questions by due date (most urgent first), or all / answered ones newest first."""
    q = select(Consultation).where(Consultation.hall_id == hall.id)
    if status == "pending":
        q = q.where(Consultation.answered_at.is_(None)).order_by(Consultation.due_on, Consultation.id)
    else:
        if status == "answered":
            q = q.where(Consultation.answered_at.is_not(None))
        q = q.order_by(Consultation.id.desc())
    if first is not None and last is not None:
        lo, hi = service_days_span(hall, first, last)
        q = q.where(Consultation.received_at >= lo, Consultation.received_at < hi)
    rows = session.scalars(q.limit(limit)).all()
    names = _names(session, {r.received_by_id for r in rows} | {r.answered_by_id for r in rows})
    item_ids = {r.item_id for r in rows if r.item_id}
    items = dict(session.execute(select(ServiceItem.id, ServiceItem.name).where(ServiceItem.id.in_(item_ids))).all()) \
        if item_ids else {}
    today = local_time(hall, now).date()
    return [view(r, hall, today=today, names=names, items=items) for r in rows]


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def indicators(session: Session, hall: Hall, first: date, last: date, *, now: datetime) -> dict[str, Any]:
    """咨询回复率 and 咨询及时率 over the hall's service days ``first``..``last``, with their definitions."""
    lo, hi = service_days_span(hall, first, last)
    today = local_time(hall, now).date()
    rows = session.execute(select(Consultation.due_on, Consultation.answered_at).where(
        Consultation.hall_id == hall.id, Consultation.received_at >= lo, Consultation.received_at < hi)).all()
    answered = [(due, at) for due, at in rows if at is not None]
    due_or_done = [r for r in rows if r[1] is not None or r[0] <= today]
    on_time = [1 for due, at in answered if local_time(hall, at).date() <= due]
    values = {"reply_rate": _ratio(len(answered), len(rows)), "on_time_rate": _ratio(len(on_time), len(due_or_done))}
    return {"from": first.isoformat(), "to": last.isoformat(),
            "counts": {"received": len(rows), "answered": len(answered), "due_or_answered": len(due_or_done),
                       "answered_on_time": len(on_time), "pending": len(rows) - len(answered)},
            "indicators": [{"key": k, "label": DEFINITIONS[k][0], "definition": DEFINITIONS[k][1], "value": v}
                           for k, v in values.items()]}

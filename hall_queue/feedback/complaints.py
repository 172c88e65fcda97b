"""Complaints and reports (投诉举报, 000 §10; 002 §9.2).

- §10.2: complaints come by phone, online, on site and by letter; the form holds a) the complaint number,
  b) the unit or department complained about, c) the type, d) the name of the person complained about,
  e) the facts and the complainant's request. We add the complainant's name and contact (for the answer),
  the window / item when known, and when it happened.
- §10.1: accept promptly, handle, and answer or explain. Life cycle ``received → handling → answered →
  closed`` (an answered complaint can be reopened); the answer is due within ``ANSWER_WORKING_DAYS`` working
  days of filing (Mon–Fri; the clause says "及时", GB/T 36113 referenced by 002 §9.2.5 sets the procedure; the
  number is our default).
- §10.3: anyone looks up the status by the complaint number; the answer text is shown only with the look-up
  code handed out at filing, so sequential numbers do not expose other people's answers.
- §10.4: corrective measures are recorded with the answer and shown with it.

Personal data (个人信息保护法): the complainant's name and contact and the named person are stored encrypted
(``IdentityVault``) and shown masked; revealing the contact to a handler is a separate, audited action.
"""
from __future__ import annotations

import re
import secrets
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import DomainError, InvalidRequest, NotFound, WrongState
from hall_queue.domain.calendar import local_time
from hall_queue.access.identity import IdentityVault, mask_name, mask_phone
from hall_queue.domain.models import Complaint, Hall, ServiceItem, Staff, Window
from hall_queue.domain.vocabulary import (COMPLAINT_ANSWER_WORKING_DAYS, COMPLAINT_STATUSES, MANAGER_ROLES, PHONE_PATTERN,
                                         ComplaintKind)
from hall_queue.infrastructure import hall_store

ANSWER_WORKING_DAYS = COMPLAINT_ANSWER_WORKING_DAYS
# Abuse limits of the public form: per device (the browser's form session), per client address, and per
# hall as a whole. Many citizens share one address (a city's mobile network, an office behind NAT), so
# the address limit is ten times the device limit: one person cannot close the form for everyone there.
PER_SOURCE_10_MIN = 3
PER_SOURCE_DAY = 10
PER_ADDRESS_10_MIN = 30
PER_ADDRESS_DAY = 100
PER_HALL_HOUR = 200
_LOOKUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_NUMBER = re.compile(r"^TS([0-9]{8})-([0-9]{4,9})$")

KIND_LABELS = {"attitude": "服务态度", "efficiency": "办事效率", "discipline": "工作纪律（吃拿卡要、刁难）",
               "process": "办事流程与材料", "environment": "环境设施", "other": "其他"}
CHANNEL_LABELS = {"online": "网上", "phone": "电话", "on_site": "现场", "letter": "信件"}
STATUS_LABELS = {"received": "已受理", "handling": "处理中", "answered": "已答复", "closed": "已办结"}

_NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
Person = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50,
                                          pattern=r"^[^\x00-\x1f\x7f0-9@]*$")]
Contact = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=100)]


class TooManyRequests(DomainError, status=429, code="too_many_requests"):
    """The public form was sent too often from one device, one address, or by everyone at once (429)."""


class ComplaintForm(BaseModel):
    """The complaint form of 000 §10.2 (the number, a, is assigned on filing)."""

    model_config = ConfigDict(extra="forbid")

    is_report: bool = False  # 举报 (reporting misconduct) rather than 投诉
    kind: ComplaintKind   # c)
    target_unit: Line = ""                                                                     # b)
    window_id: Optional[Annotated[int, Field(ge=1, le=2**31 - 1)]] = None
    item_id: Optional[Annotated[int, Field(ge=1, le=2**31 - 1)]] = None
    target_person: Optional[Person] = None                                                     # d)
    target_staff_no: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32,
                                                      pattern=r"^[A-Za-z0-9-]*$")] = ""
    content: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=2000,
                                              pattern=_NO_CONTROL)]                            # e) facts
    request: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000,
                                              pattern=_NO_CONTROL)] = ""                       # e) request
    occurred_at: Optional[datetime] = None  # local wall time in the hall
    complainant_name: Person
    contact: Contact

    @field_validator("contact")
    @classmethod
    def _contact(cls, v: str) -> str:
        return check_contact(v)

    @field_validator("occurred_at")
    @classmethod
    def _naive(cls, v: Optional[datetime]) -> Optional[datetime]:
        return v.replace(tzinfo=None, microsecond=0) if v is not None else None


def check_contact(v: str) -> str:
    """A contact the hall can answer at: a mobile number, a landline or an e-mail address."""
    if re.fullmatch(r"1[0-9]{10}", v) or re.fullmatch(r"0[0-9]{2,3}-?[0-9]{7,8}", v) or \
            re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}", v):
        return v
    raise ValueError("give a mobile number, a landline (e.g. 0431-88886666) or an e-mail address")


def mask_contact(contact: str) -> str:
    if "@" in contact:
        user, domain = contact.split("@", 1)
        return user[:1] + "***@" + domain
    digits = contact.replace("-", "")
    return mask_phone(digits) if len(digits) >= 11 else digits[:3] + "****" + digits[-2:]


def new_lookup_code() -> str:
    """A look-up code for the public: 8 letters and digits, no 0/O or 1/I to misread."""
    return "".join(secrets.choice(_LOOKUP_ALPHABET) for _ in range(8))


def format_number(day: date, seq: int) -> str:
    return f"TS{day:%Y%m%d}-{seq:04d}"


def _lookup_hash(vault: IdentityVault, number: str, code: str) -> str:
    return vault.id_hash(f"complaint-lookup:{number}:{code.strip().upper()}")


def source_hash(vault: IdentityVault, address: str) -> str:
    return vault.id_hash(f"complaint-source:{address}")


def device_hash(vault: IdentityVault, device: str | None, address: str) -> str:
    """The device a filing comes from: its form session's id, or (none sent) its address alone."""
    return vault.id_hash(f"complaint-device:{device}" if device else f"complaint-device-of:{address}")


def check_rate(session: Session, hall: Hall, source: str | None, *, now: datetime, device: str | None = None) -> None:
    """Refuse a public filing from a device, an address (or to a hall) that files too often."""
    check_public_rate(session, hall, Complaint, Complaint.filed_at, source, now=now, device=device, noun="投诉")


def check_public_rate(session: Session, hall: Hall, model: Any, at: Any, source: str | None, *, now: datetime,
                      device: str | None, noun: str) -> None:
    """The limits of a public form over ``model`` rows dated by ``at`` (complaints, online questions)."""
    def count(since: datetime, *conds) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(at > since, *conds)) or 0)
    if device is not None:
        if count(now - timedelta(minutes=10), model.device_hash == device) >= PER_SOURCE_10_MIN or \
                count(now - timedelta(days=1), model.device_hash == device) >= PER_SOURCE_DAY:
            raise TooManyRequests(f"本设备提交{noun}过于频繁，请稍后再试或致电大厅")
    if source is not None:
        limits = (PER_SOURCE_10_MIN, PER_SOURCE_DAY) if device is None else (PER_ADDRESS_10_MIN, PER_ADDRESS_DAY)
        if count(now - timedelta(minutes=10), model.source_hash == source) >= limits[0] or \
                count(now - timedelta(days=1), model.source_hash == source) >= limits[1]:
            raise TooManyRequests(f"本网络地址提交{noun}过于频繁，请稍后再试或致电大厅")
    if count(now - timedelta(hours=1), model.hall_id == hall.id, model.channel == "online") >= PER_HALL_HOUR:
        raise TooManyRequests(f"{noun}提交繁忙，请稍后再试或致电大厅")


def file_complaint(session: Session, hall: Hall, form: ComplaintForm, *, channel: str, now: datetime,
                   vault: IdentityVault, actor: Actor | None, source: str | None = None,
                   device: str | None = None) -> tuple[Complaint, str]:
    """Register a complaint; return it with the look-up code (shown once to the complainant)."""
    if channel not in CHANNEL_LABELS:
        raise InvalidRequest(f"channel must be one of {', '.join(CHANNEL_LABELS)}")
    if form.window_id is not None:
        w = session.get(Window, form.window_id)
        if w is None or w.hall_id != hall.id:
            raise NotFound(f"window {form.window_id} not found in this hall")
    if form.item_id is not None:
        it = session.get(ServiceItem, form.item_id)
        if it is None or it.hall_id != hall.id:
            raise NotFound(f"service item {form.item_id} not found in this hall")
    local_now = local_time(hall, now)
    if form.occurred_at is not None and form.occurred_at > local_now + timedelta(minutes=5):
        raise InvalidRequest("occurred_at is in the future")
    day = local_now.date()
    code = new_lookup_code()
    complaint = Complaint(
        hall_id=hall.id, filed_day=day, channel=channel, is_report=form.is_report, target_unit=form.target_unit,
        window_id=form.window_id, item_id=form.item_id, kind=form.kind,
        target_person_cipher=vault.encrypt(form.target_person) if form.target_person else None,
        target_person_masked=mask_name(form.target_person) if form.target_person else None,
        target_staff_no=form.target_staff_no, content=form.content, request=form.request,
        occurred_at=form.occurred_at, complainant_name_cipher=vault.encrypt(form.complainant_name),
        complainant_name_masked=mask_name(form.complainant_name), contact_cipher=vault.encrypt(form.contact),
        contact_masked=mask_contact(form.contact), source_hash=source, device_hash=device, status="received", filed_at=now,
        due_on=hall_store.add_working_days(session, hall.id, day, ANSWER_WORKING_DAYS), answer="", measures="", internal_note="")
    for _ in range(20):
        seq = int(session.scalar(select(func.max(Complaint.seq)).where(Complaint.hall_id == hall.id,
                                                                       Complaint.filed_day == day)) or 0) + 1
        complaint.seq = seq
        complaint.number = format_number(day, seq)
        complaint.lookup_hash = _lookup_hash(vault, complaint.number, code)
        try:
            with session.begin_nested():
                session.add(complaint)
                session.flush()
            break
        except IntegrityError:
            # Another server took this number first (PostgreSQL); take the next one.
            continue
    else:
        raise DomainError("could not allocate a complaint number; please retry", code="busy")
    audit.record(session, actor=actor or audit.SYSTEM, action="complaint.file", at=now, hall_id=hall.id,
                 complaint_id=complaint.id, number=complaint.number, channel=channel)
    return complaint, code


def is_overdue(c: Complaint, hall: Hall, now: datetime) -> bool:
    return c.status in ("received", "handling") and local_time(hall, now).date() > c.due_on


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat(timespec="seconds") + "Z" if dt is not None else None


def _local(hall: Hall, dt: datetime | None) -> str | None:
    return local_time(hall, dt).strftime("%Y-%m-%d %H:%M") if dt is not None else None


def public_view(c: Complaint, hall: Hall, *, with_answer: bool, now: datetime) -> dict[str, Any]:
    """What the complainant sees by number (000 §10.3); the answer only with the look-up code."""
    view = {"number": c.number, "status": c.status, "status_label": STATUS_LABELS[c.status],
            "kind": c.kind, "kind_label": KIND_LABELS[c.kind], "filed_at": _iso(c.filed_at),
            "filed_local": _local(hall, c.filed_at), "answered_local": _local(hall, c.answered_at),
            "due_on": c.due_on.isoformat(), "answered_at": _iso(c.answered_at), "closed_at": _iso(c.closed_at),
            "overdue": is_overdue(c, hall, now), "verified": with_answer}
    if with_answer:
        view["answer"] = c.answer or None
        view["measures"] = c.measures or None
    return view


def staff_view(c: Complaint, hall: Hall, *, now: datetime, names: dict[int, str] | None = None) -> dict[str, Any]:
    """What a hall manager sees: every field of the form, personal data masked."""
    names = names or {}
    return {
        "id": c.id, "hall_id": c.hall_id, "number": c.number, "channel": c.channel,
        "channel_label": CHANNEL_LABELS[c.channel], "is_report": c.is_report, "kind": c.kind,
        "kind_label": KIND_LABELS[c.kind], "target_unit": c.target_unit, "window_id": c.window_id,
        "item_id": c.item_id, "target_person_masked": c.target_person_masked, "target_staff_no": c.target_staff_no,
        "target_staff_id": c.target_staff_id, "target_staff": names.get(c.target_staff_id) if c.target_staff_id else None,
        "content": c.content, "request": c.request,
        "occurred_at": c.occurred_at.isoformat(timespec="minutes") if c.occurred_at else None,
        "complainant_masked": c.complainant_name_masked, "contact_masked": c.contact_masked,
        "status": c.status, "status_label": STATUS_LABELS[c.status], "filed_at": _iso(c.filed_at),
        "filed_local": _local(hall, c.filed_at), "handling_local": _local(hall, c.handling_at), "due_on": c.due_on.isoformat(), "overdue": is_overdue(c, hall, now),
        "handler_id": c.handler_id, "handler": names.get(c.handler_id) if c.handler_id else None,
        "handling_at": _iso(c.handling_at), "answer": c.answer, "measures": c.measures,
        "answered_at": _iso(c.answered_at), "closed_at": _iso(c.closed_at), "internal_note": c.internal_note,
    }


def staff_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Label staff by employee number and masked name (never the full name)."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {s.id: f"{s.employee_no or s.id} {mask_name(s.display_name)}".strip()
            for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))}


def find_by_number(session: Session, hall: Hall, number: str) -> Complaint | None:
    number = (number or "").strip().upper()
    if not _NUMBER.match(number):
        return None
    return session.scalar(select(Complaint).where(Complaint.hall_id == hall.id, Complaint.number == number))


def lookup(session: Session, hall: Hall, number: str, code: str | None, *, vault: IdentityVault,
           now: datetime) -> dict[str, Any]:
    """Look a complaint up by number (000 §10.3); a matching look-up code also reveals the answer."""
    c = find_by_number(session, hall, number)
    if c is None:
        raise NotFound("no complaint with this number")
    # hash_matches also accepts a code hashed under a previous data key (codes cannot be re-hashed on rotation).
    ok = bool(code) and len(code) <= 20 and vault.hash_matches(f"complaint-lookup:{c.number}:{code.strip().upper()}",
                                                               c.lookup_hash)
    return public_view(c, hall, with_answer=ok, now=now)


def send_lookup_code(session: Session, hall: Hall, number: str, code: str, phone: str, *, vault: IdentityVault,
                     notifier: Any, now: datetime) -> None:
    """Send a complaint's number and look-up code to the complainant's phone, through the SMS outbox.

    Only whoever shows the right code may send it (the code was just shown to them), once per complaint
    (the outbox's dedup key), so the form cannot be turned into an SMS cannon.
    """
    if not re.fullmatch(PHONE_PATTERN, (phone or "").strip()):
        raise InvalidRequest("请填写11位手机号码", code="invalid_phone")
    if not lookup(session, hall, number, code, vault=vault, now=now)["verified"]:
        raise NotFound("no complaint with this number and look-up code")
    c = find_by_number(session, hall, number)
    notifier.send(session, hall_id=hall.id, phone_cipher_or_phone=phone.strip(), kind="complaint_code",
                  text=f"【{hall.name}】您的投诉举报已受理，受理编号{c.number}，查询码{code.strip().upper()}，"
                       f"请妥善保存，凭此查询办理状态和答复。",
                  dedup_key=f"complaint:{c.id}:lookup_code", now=now)
    audit.record(session, actor=Actor(kind="visitor", hall_id=hall.id), action="complaint.code_sms", at=now,
                 hall_id=hall.id, complaint=c.number)


def _handler(session: Session, c: Complaint, actor: Actor, handler_id: int | None) -> int:
    hid = handler_id or actor.id
    staff = session.get(Staff, hid) if hid else None
    if staff is None or not staff.active or (staff.hall_id is not None and staff.hall_id != c.hall_id):
        raise NotFound(f"staff {hid} not found in this hall")
    if staff.role not in MANAGER_ROLES:
        raise InvalidRequest("a complaint is handled by a manager (专人负责, 000 §10.2)")
    return staff.id


def start_handling(session: Session, c: Complaint, *, handler_id: int | None, now: datetime, actor: Actor) -> None:
    """Take a received (or reopen an answered) complaint into handling, with its handler."""
    if c.status not in ("received", "handling", "answered"):
        raise WrongState(f"complaint {c.number} is {c.status}")
    c.handler_id = _handler(session, c, actor, handler_id)
    reopened = c.status == "answered"
    c.status = "handling"
    c.handling_at = c.handling_at or now
    audit.record(session, actor=actor, action="complaint.reopen" if reopened else "complaint.handle", at=now,
                 hall_id=c.hall_id, complaint_id=c.id, handler_id=c.handler_id)


def answer(session: Session, c: Complaint, *, text: str, measures: str = "", now: datetime, actor: Actor) -> None:
    """Answer the complainant (000 §10.1) and record corrective measures (§10.4)."""
    text, measures = (text or "").strip(), (measures or "").strip()
    if c.status not in ("received", "handling"):
        raise WrongState(f"complaint {c.number} is {c.status}; reopen it to answer again")
    if not 5 <= len(text) <= 4000 or len(measures) > 4000:
        raise InvalidRequest("the answer needs 5 to 4000 characters (measures at most 4000)")
    if c.handler_id is None:
        c.handler_id = _handler(session, c, actor, None)
    c.handling_at = c.handling_at or now
    c.answer, c.measures = text, measures
    c.status = "answered"
    c.answered_at = now
    audit.record(session, actor=actor, action="complaint.answer", at=now, hall_id=c.hall_id, complaint_id=c.id)


def close(session: Session, c: Complaint, *, now: datetime, actor: Actor) -> None:
    """Close an answered complaint."""
    if c.status != "answered":
        raise WrongState(f"complaint {c.number} is {c.status}; only an answered complaint can be closed")
    c.status = "closed"
    c.closed_at = now
    audit.record(session, actor=actor, action="complaint.close", at=now, hall_id=c.hall_id, complaint_id=c.id)


def update(session: Session, c: Complaint, changes: dict[str, Any], *, now: datetime, actor: Actor) -> None:
    """Link the staff member concerned or keep an internal note."""
    if "target_staff_id" in changes:
        sid = changes["target_staff_id"]
        if sid is not None:
            staff = session.get(Staff, sid)
            if staff is None or staff.hall_id != c.hall_id:
                raise NotFound(f"staff {sid} not found in this hall")
        c.target_staff_id = sid
    if "internal_note" in changes:
        c.internal_note = (changes["internal_note"] or "").strip()[:4000]
    audit.record(session, actor=actor, action="complaint.update", at=now, hall_id=c.hall_id, complaint_id=c.id,
                 fields=sorted(changes))


def reveal_contact(session: Session, c: Complaint, *, vault: IdentityVault, now: datetime, actor: Actor) -> str:
    """Decrypt the complainant's contact for the handler's call-back; the reveal is audited."""
    audit.record(session, actor=actor, action="complaint.contact_reveal", at=now, hall_id=c.hall_id,
                 complaint_id=c.id)
    return vault.decrypt(c.contact_cipher)


# A manager's list shows the newest complaints first; older ones are reached by their number.
LIST_LIMIT = 500


def list_complaints(session: Session, hall: Hall, *, status: str | None = None, now: datetime) -> list[dict[str, Any]]:
    """The hall's complaints for its managers, newest first, optionally of one status (the API and the page)."""
    q = select(Complaint).where(Complaint.hall_id == hall.id)
    if status in COMPLAINT_STATUSES:
        q = q.where(Complaint.status == status)
    rows = list(session.scalars(q.order_by(Complaint.id.desc()).limit(LIST_LIMIT)))
    names = staff_names(session, {r.handler_id for r in rows} | {r.target_staff_id for r in rows})
    return [staff_view(c, hall, now=now, names=names) for c in rows]

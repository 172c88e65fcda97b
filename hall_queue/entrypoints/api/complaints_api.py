"""Complaints API (投诉举报, 000 §10): public filing and look-up by number, handling by hall managers."""
from __future__ import annotations

from typing import Annotated, Optional

from flask import g, request, session
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from hall_queue.domain import vocabulary as V
from hall_queue.feedback import complaints as K
from hall_queue.domain.models import COMPLAINT_STATUSES, Complaint, Hall
from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.api import replays
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.web_session import client_ip
from hall_queue.entrypoints.api.base import MANAGERS, choice_arg, get_hall, get_row, now, operation, write
from hall_queue.entrypoints.api.registry import OPERATIONS
from hall_queue.entrypoints.web_session import DEVICE_KEY

TAGS = ("complaints",)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordIn(K.ComplaintForm):
    """A complaint taken by phone, on site or by letter and entered by staff (000 §10.2)."""

    channel: V.ComplaintChannel = "phone"


class HandleIn(In):
    handler_id: Optional[Annotated[int, Field(ge=1, le=2**31 - 1)]] = None


class AnswerIn(In):
    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=4000)]
    measures: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""


class ComplaintPatch(In):
    target_staff_id: Optional[Annotated[int, Field(ge=1, le=2**31 - 1)]] = None
    internal_note: Optional[Annotated[str, StringConstraints(max_length=4000)]] = None


# The public form page gives each browser a device id in its signed session (hall_admin/manage.py);
# filings are limited per device and, ten times more loosely, per client address (complaints.py).


def client_source() -> str:
    return K.source_hash(runtime().vault, client_ip() or "unknown")


def client_device() -> str:
    device = session.get(DEVICE_KEY)
    return K.device_hash(runtime().vault, device if isinstance(device, str) else None, client_ip() or "unknown")


def public_filing(hall_id: int, check_rate, file, *, kind: str, form: BaseModel,
                  key: str | None) -> tuple[dict, int]:
    """Write what a public form sent (a complaint, an online question): refuse a device or an address that sends
    too often (``check_rate``), then ``file(session, hall, source, device)`` stores it and returns the answer.
    A retry with the same ``key`` gets the first answer again with 200 (``replays.once``); the first is a 201."""
    source, device = client_source(), client_device()

    def do(s: Session):
        hall = get_hall(s, hall_id)
        check_rate(s, hall, source, now=now(), device=device)
        return file(s, hall, source, device), []
    answer, replayed = replays.once(do, kept=replays.visitor(f"{kind}:{hall_id}"), key=key,
                                    payload=form.model_dump_json())
    return answer, 200 if replayed else 201


def public_lookup(hall_id: int, lookup) -> dict:
    """Look a public filing up by the ``number`` query argument; the ``code`` one also shows what is private."""
    rt = runtime()
    with rt.db.read() as s:
        hall = get_hall(s, hall_id)
        return lookup(s, hall, request.args.get("number", "")[:30], request.args.get("code"), vault=rt.vault,
                      now=now())


def file_public(hall_id: int, form: K.ComplaintForm, key: str | None) -> tuple[dict, int]:
    """File an online complaint from the public form or API; return number and look-up code, and the status."""
    def file(s: Session, hall, source: str, device: str) -> dict:
        c, code = K.file_complaint(s, hall, form, channel="online", now=now(), vault=runtime().vault, actor=None,
                                   source=source, device=device)
        return {"number": c.number, "lookup_code": code, "due_on": c.due_on.isoformat(), "status": c.status}
    return public_filing(hall_id, K.check_rate, file, kind="complaint", form=form, key=key)


@operation("/halls/<int:hall_id>/complaints", "POST", roles=("public",),
           summary="File a complaint online (000 §10.2)", body=K.ComplaintForm, status=201, tags=TAGS,
           errors=(429,), headers=replays.IDEMPOTENCY)
def complaint_file(hall_id: int, body: K.ComplaintForm):
    return file_public(hall_id, body, replays.header_key())


@operation("/halls/<int:hall_id>/complaints/status", "GET", roles=("public",),
           summary="Look a complaint up by its number (000 §10.3)", tags=TAGS)
def complaint_status(hall_id: int):
    return public_lookup(hall_id, K.lookup)


OPERATIONS[-1].query.update({"number": {"type": "string"}, "code": {"type": "string"}})


@operation("/halls/<int:hall_id>/complaints/record", "POST", roles=MANAGERS,
           summary="Record a complaint received by phone, on site or by letter", body=RecordIn, status=201, tags=TAGS)
def complaint_record(hall_id: int, body: RecordIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        form = K.ComplaintForm.model_validate(body.model_dump(exclude={"channel"}))
        c, code = K.file_complaint(s, hall, form, channel=body.channel, now=now(), vault=runtime().vault,
                                   actor=g.actor)
        return {"id": c.id, "number": c.number, "lookup_code": code, "due_on": c.due_on.isoformat()}, []
    return write(do), 201


@operation("/halls/<int:hall_id>/complaints", "GET", roles=MANAGERS, summary="List the hall's complaints",
           response=S.ListOut, tags=TAGS)
def complaint_list(hall_id: int):
    status = choice_arg("status", COMPLAINT_STATUSES)
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        return {"items": K.list_complaints(s, hall, status=status, now=now())}


OPERATIONS[-1].query.update({"status": {"type": "string", "enum": list(COMPLAINT_STATUSES)}})


def _view(s: Session, c: Complaint) -> dict:
    hall = s.get(Hall, c.hall_id)
    return K.staff_view(c, hall, now=now(), names=K.staff_names(s, {c.handler_id, c.target_staff_id}))


@operation("/complaints/<int:complaint_id>", "GET", roles=MANAGERS, summary="Read a complaint", tags=TAGS)
def complaint_get(complaint_id: int):
    with runtime().db.read() as s:
        return _view(s, get_row(s, Complaint, complaint_id, "complaint"))


def _act(complaint_id: int, fn) -> dict:
    def do(s: Session):
        c = get_row(s, Complaint, complaint_id, "complaint")
        fn(s, c)
        s.flush()
        return _view(s, c), []
    return write(do)


@operation("/complaints/<int:complaint_id>/handle", "POST", roles=MANAGERS,
           summary="Take a complaint into handling", body=HandleIn, tags=TAGS)
def complaint_handle(complaint_id: int, body: HandleIn):
    return _act(complaint_id, lambda s, c: K.start_handling(s, c, handler_id=body.handler_id, now=now(),
                                                            actor=g.actor))


@operation("/complaints/<int:complaint_id>/answer", "POST", roles=MANAGERS,
           summary="Answer a complaint with corrective measures", body=AnswerIn, tags=TAGS)
def complaint_answer(complaint_id: int, body: AnswerIn):
    return _act(complaint_id, lambda s, c: K.answer(s, c, text=body.answer, measures=body.measures, now=now(),
                                                    actor=g.actor))


@operation("/complaints/<int:complaint_id>/close", "POST", roles=MANAGERS, summary="Close an answered complaint",
           tags=TAGS)
def complaint_close(complaint_id: int):
    return _act(complaint_id, lambda s, c: K.close(s, c, now=now(), actor=g.actor))


@operation("/complaints/<int:complaint_id>", "PATCH", roles=MANAGERS,
           summary="Link the staff concerned or keep an internal note", body=ComplaintPatch, tags=TAGS)
def complaint_update(complaint_id: int, body: ComplaintPatch):
    changes = body.model_dump(exclude_unset=True)
    return _act(complaint_id, lambda s, c: K.update(s, c, changes, now=now(), actor=g.actor))


@operation("/complaints/<int:complaint_id>/contact", "POST", roles=MANAGERS,
           summary="Reveal the complainant's contact for a call-back (audited)", tags=TAGS)
def complaint_contact(complaint_id: int):
    def do(s: Session):
        c = get_row(s, Complaint, complaint_id, "complaint")
        return {"contact": K.reveal_contact(s, c, vault=runtime().vault, now=now(), actor=g.actor)}, []
    return write(do)

"""Consultation records API (咨询, 000 §7; 002 §9.1): staff log questions and answers; managers read the rates;
anyone asks online (000 §7.4) and reads the answer by number and look-up code."""
from __future__ import annotations

from flask import g, request
from sqlalchemy.orm import Session

from hall_queue.bootstrap import runtime
from hall_queue.domain.models import Consultation, Hall
from hall_queue.domain.vocabulary import CONSULTATION_STATUSES
from hall_queue.entrypoints.api import replays
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.api.base import MANAGERS, STAFF, choice_arg, get_hall, get_row, now, operation, write
from hall_queue.entrypoints.api.complaints_api import public_filing, public_lookup
from hall_queue.entrypoints.api.registry import OPERATIONS
from hall_queue.entrypoints.api.stats_api import over_period, parse_query
from hall_queue.feedback import consultations as C

TAGS = ("consultations",)
PERIOD = {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}}


def _one(s: Session, c: Consultation) -> dict:
    return C.view_one(s, c, s.get(Hall, c.hall_id), now=now())


@operation("/halls/<int:hall_id>/consultations", "POST", roles=STAFF, body=C.ConsultationIn, status=201, tags=TAGS,
           summary="Log a question (walk-up, phone, letter or online) with its answer or a promised reply date")
def consultation_log(hall_id: int, body: C.ConsultationIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        c = C.log(s, hall, body, now=now(), actor=g.actor, vault=runtime().vault)
        return _one(s, c), []
    return write(do), 201


@operation("/halls/<int:hall_id>/consultations", "GET", roles=STAFF, response=S.ListOut, tags=TAGS,
           summary="List questions: pending ones by due date, or all / answered ones newest first")
def consultation_list(hall_id: int):
    status = choice_arg("status", CONSULTATION_STATUSES)
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        first = last = None
        if request.args.get("from") or request.args.get("to"):
            q = parse_query(hall, request.args)
            first, last = q.date_from, q.date_to
        return {"items": C.listing(s, hall, now=now(), status=status,
                                   first=first, last=last)}


OPERATIONS[-1].query.update({"status": {"type": "string", "enum": list(CONSULTATION_STATUSES)}, **PERIOD})


@operation("/consultations/<int:consultation_id>/answer", "POST", roles=STAFF, body=C.ReplyIn, tags=TAGS,
           summary="Answer a pending question")
def consultation_answer(consultation_id: int, body: C.ReplyIn):
    def do(s: Session):
        c = get_row(s, Consultation, consultation_id, "consultation")
        C.answer(s, c, body.answer, now=now(), actor=g.actor)
        s.flush()
        return _one(s, c), []
    return write(do)


@operation("/halls/<int:hall_id>/consultation-indicators", "GET", roles=MANAGERS, response=S.Out, tags=TAGS,
           summary="Read 咨询回复率 and 咨询及时率 with their definitions")
def consultation_indicators(hall_id: int):
    return over_period(hall_id, C.indicators)


OPERATIONS[-1].query.update(PERIOD)


def ask_online(hall_id: int, form: C.QuestionForm, key: str | None) -> tuple[dict, int]:
    """Record a question from the public form or API; return its number and look-up code, and the status."""
    def file(s: Session, hall, source: str, device: str) -> dict:
        c, code = C.ask_online(s, hall, form, now=now(), vault=runtime().vault, source=source, device=device)
        return {"number": C.number_of(c, hall), "lookup_code": code, "due_on": c.due_on.isoformat()}
    return public_filing(hall_id, C.check_rate, file, kind="question", form=form, key=key)


@operation("/halls/<int:hall_id>/consultations/ask", "POST", roles=("public",), body=C.QuestionForm, status=201,
           tags=TAGS, errors=(429,), summary="Ask a question online (000 §7.4); returns a number and a look-up code",
           headers=replays.IDEMPOTENCY)
def consultation_ask(hall_id: int, body: C.QuestionForm):
    return ask_online(hall_id, body, replays.header_key())


@operation("/halls/<int:hall_id>/consultations/status", "GET", roles=("public",), response=S.Out, tags=TAGS,
           summary="Look an online question up by its number; the look-up code also shows the answer")
def consultation_status(hall_id: int):
    return public_lookup(hall_id, C.public_lookup)


OPERATIONS[-1].query.update({"number": {"type": "string"}, "code": {"type": "string"}})

"""Supervision API (issue 18): the audit viewer and chain check (004 §8.4), violation indicators (000 §12.3.5,
002 §11.3.5), the leadership indicators (000 §12.3.4, 002 §11.3.4), and the public corrective measures (000 §10.4)."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from flask import current_app, g, request
from pydantic import StringConstraints
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.bootstrap import runtime
from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.vocabulary import MAX_ID
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.api.base import MANAGERS, get_hall, now, operation, write
from hall_queue.entrypoints.api.registry import OPERATIONS
from hall_queue.entrypoints.api.stats_api import over_period
from hall_queue.feedback import measures
from hall_queue.floor import leadership, supervision
from hall_queue.floor.statistics import StatsError

TAGS = ("supervision",)
PERIOD = {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}}


def _int(name: str) -> int | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as e:
        raise InvalidRequest(f"{name} must be a whole number", code="validation_error") from e
    if not 0 < value <= MAX_ID:
        raise InvalidRequest(f"{name} is out of range", code="validation_error")
    return value


def _date(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError as e:
        raise InvalidRequest(f"{name} must be a date YYYY-MM-DD", code="validation_error") from e
    if not date(2000, 1, 1) <= day <= date(2099, 12, 31):
        raise InvalidRequest(f"{name} must lie between 2000-01-01 and 2099-12-31", code="validation_error")
    return day


@operation("/halls/<int:hall_id>/audit-log", "GET", roles=MANAGERS, response=S.ListOut, tags=TAGS,
           summary="Search the audit log by staff, window, action and time, newest first")
def audit_log(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        first, last = _date("from"), _date("to")
        return supervision.search(s, hall, staff_id=_int("staff_id"), window_id=_int("window_id"),
                                  action=(request.args.get("action") or "")[:40] or None, first=first, last=last,
                                  before_id=_int("before"), limit=min(_int("limit") or supervision.PAGE_SIZE, 500))


OPERATIONS[-1].query.update({"staff_id": {"type": "integer"}, "window_id": {"type": "integer"},
                             "action": {"type": "string", "maxLength": 40}, "before": {"type": "integer"},
                             "limit": {"type": "integer", "minimum": 1, "maximum": 500}, **PERIOD})


@operation("/halls/<int:hall_id>/audit-chain", "GET", roles=MANAGERS, response=S.Out, tags=TAGS,
           summary="Verify the audit log's hash chain (the newest links; ?full=1 all of it) and say the result")
def audit_chain(hall_id: int):
    key = audit.chain_key(current_app.config["DATA_KEY"])
    with runtime().db.read() as s:
        get_hall(s, hall_id)
        if request.args.get("full") == "1":
            return supervision.chain_summary(audit.verify(s, key).as_dict())
        report, total = audit.verify_tail(s, key, supervision.CHAIN_TAIL_LINKS)
        return supervision.chain_summary(report.as_dict(), total=total)


OPERATIONS[-1].query.update({"full": {"type": "string", "enum": ["0", "1"]}})


@operation("/halls/<int:hall_id>/violations", "GET", roles=MANAGERS, response=S.Out, tags=TAGS,
           summary="Read the violation indicators (empty posts, overdue cases, results not handed over, refusals)")
def violations(hall_id: int):
    return over_period(hall_id, supervision.violations)


OPERATIONS[-1].query.update(PERIOD)


@operation("/halls/<int:hall_id>/leadership", "GET", roles=MANAGERS, response=S.Out, tags=TAGS,
           summary="Read every efficiency indicator month by month, with definitions")
def leadership_indicators(hall_id: int):
    months = _int("months") or 12
    raw = request.args.get("to")
    last_month = None
    if raw:
        try:
            last_month = date.fromisoformat(raw[:7] + "-01")
        except ValueError as e:
            raise InvalidRequest("to must be a month YYYY-MM", code="validation_error") from e
    if not 1 <= months <= leadership.MAX_MONTHS:
        raise InvalidRequest(f"months must lie between 1 and {leadership.MAX_MONTHS}", code="validation_error")
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        try:
            return leadership.compute(s, hall, now=now(), months=months, last_month=last_month)
        except StatsError as e:
            raise InvalidRequest(str(e), code="validation_error") from e


OPERATIONS[-1].query.update({"months": {"type": "integer", "minimum": 1, "maximum": leadership.MAX_MONTHS},
                             "to": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$"}})


@operation("/halls/<int:hall_id>/published-measures", "GET", roles=("public",), response=S.ListOut, tags=TAGS,
           summary="Read the hall's published corrective measures (anonymised, newest first)")
def published_measures(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        return {"items": measures.published(s, hall, vault=runtime().vault)}


class WithholdIn(S.In):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


@operation("/halls/<int:hall_id>/measures", "GET", roles=MANAGERS, response=S.ListOut, tags=TAGS,
           summary="List every publishable corrective measure as published, with its source and whether it is withheld")
def measures_for_managers(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        return {"items": measures.for_managers(s, hall, vault=runtime().vault)}


@operation("/halls/<int:hall_id>/measures/<source>/<int:source_id>/withhold", "POST", roles=MANAGERS,
           body=WithholdIn, response=S.Out, tags=TAGS,
           summary="Take a published corrective measure off the public page, with a reason (audited)")
def measure_withhold(hall_id: int, source: str, source_id: int, body: WithholdIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        row = measures.withhold(s, hall, source=source, source_id=source_id, reason=body.reason, actor=g.actor,
                                now=now())
        return {"source": row.source, "source_id": row.source_id, "withheld": True, "reason": row.reason}, []
    return write(do)


@operation("/halls/<int:hall_id>/measures/<source>/<int:source_id>/republish", "POST", roles=MANAGERS,
           response=S.Out, tags=TAGS, summary="Put a withheld corrective measure back on the public page (audited)")
def measure_republish(hall_id: int, source: str, source_id: int):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        measures.republish(s, hall, source=source, source_id=source_id, actor=g.actor, now=now())
        return {"source": source, "source_id": source_id, "withheld": False}, []
    return write(do)

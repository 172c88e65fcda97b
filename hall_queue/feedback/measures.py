"""Published corrective measures (000 §10.4 应公布相关纠正措施), anonymised for a public page.

What is published: the measures of every closed complaint that recorded some (``Complaint.measures``) and
the fix of every closed bad-rating rectification (``Rectification.fix``, 003 §10.4), newest first, with the
month-day it was closed and what kind of problem it answered. Never the complaint number, the look-up code,
the complainant, the person complained about, the window's clerk or the visitor's own words.

The measures are free text written by managers, so before publishing the text is scrubbed: every name the
hall knows in connection with the case (the complainant and the person named, decrypted for the purpose,
and every staff member of the hall) is replaced, staff employee numbers are blotted out, and every run of six or more letters and digits holding a
digit (phone numbers, ID numbers, look-up codes, acceptance and complaint numbers) is blotted out.

A manager may still withhold a published measure (the scrub cannot know every way a text singles someone
out), with a reason, and re-publish it later; both are audited (004 §8.4) and the public page and API leave
a withheld measure out.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.access.identity import IdentityVault
from hall_queue.domain.calendar import local_time
from hall_queue.domain.clock import iso
from hall_queue.domain.errors import Forbidden, InvalidRequest, NotFound, WrongState
from hall_queue.domain.models import Complaint, Hall, Rating, Rectification, Staff, WithheldMeasure
from hall_queue.domain.vocabulary import MEASURE_SOURCES, RATING_LABELS
from hall_queue.feedback.complaints import KIND_LABELS

MAX_PUBLISHED = 100
# Numbers and codes that could single a person out: 6+ letters/digits with at least one digit (mobile and ID
# numbers, 8-character look-up codes, TS… complaint numbers, acceptance numbers); e-mail addresses.
_CODES = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{4,}[A-Za-z0-9]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
BLOT = "＊＊＊"
STAFF_WORD = "工作人员"
PERSON_WORD = "群众"


def scrub(text: str, *, people: list[str], staff: list[str], numbers: list[str] = ()) -> str:
    """Remove names, numbers and codes from a measures text (``numbers``: staff employee numbers)."""
    out = _EMAIL.sub(BLOT, text)
    for no in sorted({n for n in numbers if n and len(n) >= 3}, key=len, reverse=True):
        out = re.sub(rf"(?<![A-Za-z0-9]){re.escape(no)}(?![A-Za-z0-9])", BLOT, out)
    out = _CODES.sub(lambda m: BLOT if any(ch.isdigit() for ch in m.group(0)) else m.group(0), out)
    # Longest first, so "张三丰" goes before a colleague called "张三".
    for name in sorted({n for n in staff if len(n) >= 2}, key=len, reverse=True):
        out = out.replace(name, STAFF_WORD)
    for name in sorted({n for n in people if n and len(n) >= 2}, key=len, reverse=True):
        out = out.replace(name, PERSON_WORD)
    return out.strip()


def _decrypt(vault: IdentityVault, cipher: str | None) -> str:
    if not cipher:
        return ""
    try:
        return vault.decrypt(cipher)
    except Exception:  # noqa: BLE001 - a value under a retired key: nothing to replace, the regexes still run
        return ""


def _withheld(session: Session, hall: Hall) -> dict[tuple[str, int], WithheldMeasure]:
    return {(w.source, w.source_id): w
            for w in session.scalars(select(WithheldMeasure).where(WithheldMeasure.hall_id == hall.id))}


def published(session: Session, hall: Hall, *, vault: IdentityVault, limit: int = MAX_PUBLISHED) -> list[dict[str, Any]]:
    """The hall's corrective measures for the public page, newest first, anonymised; withheld ones left out."""
    withheld = _withheld(session, hall)
    entries = [e for e in _entries(session, hall, vault=vault, limit=limit + len(withheld))
               if (e["source"], e["source_id"]) not in withheld]
    return [{k: v for k, v in e.items() if k != "source_id"} for e in entries[:limit]]


def for_managers(session: Session, hall: Hall, *, vault: IdentityVault, limit: int = MAX_PUBLISHED) -> list[dict[str, Any]]:
    """Every publishable measure as the public would read it, with its source and whether it is withheld."""
    withheld = _withheld(session, hall)
    out = []
    for e in _entries(session, hall, vault=vault, limit=limit):
        w = withheld.get((e["source"], e["source_id"]))
        out.append({**e, "withheld": w is not None, "withheld_reason": w.reason if w else None,
                    "withheld_at": iso(w.withheld_at) if w else None})
    return out


def _publishable(session: Session, hall: Hall, source: str, source_id: int) -> bool:
    if source == "complaint":
        c = session.get(Complaint, source_id)
        return c is not None and c.hall_id == hall.id and c.status == "closed" and c.measures != ""
    r = session.get(Rectification, source_id)
    return r is not None and r.hall_id == hall.id and r.status == "closed" and r.fix != ""


def withhold(session: Session, hall: Hall, *, source: str, source_id: int, reason: str, actor: Actor,
             now: datetime) -> WithheldMeasure:
    """Take a published measure off the public page (e.g. the scrub missed something), with a reason; audited."""
    if not actor.is_manager:
        raise Forbidden("only hall managers withhold published measures")
    if source not in MEASURE_SOURCES or not _publishable(session, hall, source, source_id):
        raise NotFound(f"no published measure {source} {source_id} in this hall")
    if not reason.strip():
        raise InvalidRequest("state why the measure is withheld", code="reason_required")
    if session.scalar(select(WithheldMeasure.id).where(WithheldMeasure.source == source,
                                                       WithheldMeasure.source_id == source_id)) is not None:
        raise WrongState(f"measure {source} {source_id} is already withheld", code="already_withheld")
    row = WithheldMeasure(hall_id=hall.id, source=source, source_id=source_id, reason=reason.strip()[:500],
                          withheld_by_id=actor.id, withheld_at=now)
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as e:  # withheld by another manager at the same moment
        raise WrongState(f"measure {source} {source_id} is already withheld", code="already_withheld") from e
    audit.record(session, actor=actor, action="measure.withhold", at=now, hall_id=hall.id, source=source,
                 source_id=source_id, reason=row.reason)
    return row


def republish(session: Session, hall: Hall, *, source: str, source_id: int, actor: Actor, now: datetime) -> None:
    """Put a withheld measure back on the public page; audited."""
    if not actor.is_manager:
        raise Forbidden("only hall managers re-publish measures")
    row = session.scalar(select(WithheldMeasure).where(WithheldMeasure.hall_id == hall.id,
                                                       WithheldMeasure.source == source,
                                                       WithheldMeasure.source_id == source_id))
    if row is None:
        raise WrongState(f"measure {source} {source_id} is not withheld", code="not_withheld")
    session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="measure.republish", at=now, hall_id=hall.id, source=source,
                 source_id=source_id, withheld_reason=row.reason)


def _entries(session: Session, hall: Hall, *, vault: IdentityVault, limit: int) -> list[dict[str, Any]]:
    """Every closed complaint's measures and closed rectification's fix, scrubbed, newest first, with its id."""
    rows = session.execute(select(Staff.display_name, Staff.employee_no).where(Staff.hall_id == hall.id)).all()
    staff, numbers = [r[0] for r in rows], [r[1] for r in rows]
    entries: list[tuple[datetime, dict[str, Any]]] = []
    complaints = session.scalars(select(Complaint).where(Complaint.hall_id == hall.id, Complaint.status == "closed",
                                                         Complaint.measures != "")
                                 .order_by(Complaint.closed_at.desc()).limit(limit)).all()
    for c in complaints:
        # The person complained about is a member of staff (000 §10.2 d), named as such.
        text = scrub(c.measures, people=[_decrypt(vault, c.complainant_name_cipher)],
                     staff=staff + [_decrypt(vault, c.target_person_cipher)], numbers=numbers + [c.target_staff_no])
        if text:
            entries.append((c.closed_at, {"source": "complaint", "source_id": c.id,
                                          "source_label": "举报处理" if c.is_report else "投诉处理",
                                          "topic": KIND_LABELS.get(c.kind, "其他"), "measures": text}))
    rects = session.execute(select(Rectification, Rating.score).join(Rating, Rating.id == Rectification.rating_id)
                            .where(Rectification.hall_id == hall.id, Rectification.status == "closed",
                                   Rectification.fix != "")
                            .order_by(Rectification.closed_at.desc()).limit(limit)).all()
    for r, score in rects:
        text = scrub(r.fix, people=[], staff=staff, numbers=numbers)
        if text:
            entries.append((r.closed_at, {"source": "rectification", "source_id": r.id, "source_label": "差评整改",
                                          "topic": f"服务评价“{RATING_LABELS.get(score, '')}”", "measures": text}))
    entries.sort(key=lambda e: e[0] or datetime.min, reverse=True)
    return [{**entry, "closed_on": local_time(hall, at).date().isoformat() if at else None}
            for at, entry in entries[:limit]]

"""Published corrective measures (000 §10.4 应公布相关纠正措施), anonymised for a public page.

What is published: the measures of every closed complaint that recorded some (``Complaint.measures``) and
the fix of every closed bad-rating rectification (``Rectification.fix``, 003 §10.4), newest first, with the
month-day it was closed and what kind of problem it answered. Never the complaint number, the look-up code,
the complainant, the person complained about, the window's clerk or the visitor's own words.

The measures are free text written by managers, so before publishing the text is scrubbed: every name the
hall knows in connection with the case (the complainant and the person named, decrypted for the purpose,
and every staff member of the hall) is replaced, staff employee numbers are blotted out, and every run of six or more letters and digits holding a
digit (phone numbers, ID numbers, look-up codes, acceptance and complaint numbers) is blotted out.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access.identity import IdentityVault
from hall_queue.domain.calendar import local_time
from hall_queue.domain.models import Complaint, Hall, Rating, Rectification, Staff
from hall_queue.domain.vocabulary import RATING_LABELS
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


def published(session: Session, hall: Hall, *, vault: IdentityVault, limit: int = MAX_PUBLISHED) -> list[dict[str, Any]]:
    """The hall's corrective measures for the public page, newest first, anonymised."""
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
            entries.append((c.closed_at, {"source": "complaint", "source_label": "举报处理" if c.is_report else "投诉处理",
                                          "topic": KIND_LABELS.get(c.kind, "其他"), "measures": text}))
    rects = session.execute(select(Rectification, Rating.score).join(Rating, Rating.id == Rectification.rating_id)
                            .where(Rectification.hall_id == hall.id, Rectification.status == "closed",
                                   Rectification.fix != "")
                            .order_by(Rectification.closed_at.desc()).limit(limit)).all()
    for r, score in rects:
        text = scrub(r.fix, people=[], staff=staff, numbers=numbers)
        if text:
            entries.append((r.closed_at, {"source": "rectification", "source_label": "差评整改",
                                          "topic": f"服务评价“{RATING_LABELS.get(score, '')}”", "measures": text}))
    entries.sort(key=lambda e: e[0] or datetime.min, reverse=True)
    return [{**entry, "closed_on": local_time(hall, at).date().isoformat() if at else None}
            for at, entry in entries[:limit]]

"""API of the hall screens: the notices (公告) managers put on them. Thin adapters (STYLE rule 6)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from flask import g
from pydantic import Field, StringConstraints
from sqlalchemy.orm import Session

from hall_queue.floor import notices
from hall_queue.domain.models import Notice
from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.api.base import MANAGERS, STAFF, get_hall, get_row, now, operation, write
from hall_queue.entrypoints.api.schemas import In, ListOut, Out


class NoticeIn(In):
    """A line of text for the hall screen's notice strip; ``expires_at`` in ISO 8601 (UTC if no offset)."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=notices.MAX_TEXT)]
    expires_at: datetime | None = None


class NoticeOut(Out):
    id: int
    hall_id: int
    text: str
    active: bool
    created_at: str
    expires_at: str | None


class NoticeRemovedOut(Out):
    ok: bool
    notice: Annotated[dict, Field(description="the notice as it is now (inactive)")]


def _naive_utc(dt: datetime | None) -> datetime | None:
    # The database keeps naive UTC (clock.py); an offset-free value is read as UTC like every answer.
    if dt is None or dt.tzinfo is None:
        return dt
    return dt.astimezone(UTC).replace(tzinfo=None)


@operation("/halls/<int:hall_id>/notices", "GET", roles=STAFF + ("screen",), summary="List the hall's active notices",
           response=ListOut, tags=("screens",))
def list_notices(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        return {"items": [notices.notice_view(n) for n in notices.active_notices(s, hall.id, now=now())]}


@operation("/halls/<int:hall_id>/notices", "POST", roles=MANAGERS, summary="Post a notice to the hall screens",
           body=NoticeIn, response=NoticeOut, status=201, tags=("screens",))
def post_notice(hall_id: int, body: NoticeIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        notice, events = notices.post_notice(s, hall, text=body.text, expires_at=_naive_utc(body.expires_at),
                                             now=now(), actor=g.actor)
        return notices.notice_view(notice), events
    return write(do)


@operation("/notices/<int:notice_id>", "DELETE", roles=MANAGERS, summary="Remove a notice from the hall screens",
           response=NoticeRemovedOut, tags=("screens",))
def delete_notice(notice_id: int):
    def do(s: Session):
        notice = get_row(s, Notice, notice_id, "notice")
        events = notices.remove_notice(s, notice, now=now(), actor=g.actor)
        return {"ok": True, "notice": notices.notice_view(notice)}, events
    return write(do)

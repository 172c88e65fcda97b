"""Hall notices (公告): short lines managers put on the hall screen; every change goes to the hall room.

Notices are public information for visitors in the hall, so they are plain text (no markup) of at
most 200 characters; a notice stays until a manager removes it or its ``expires_at`` passes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import Forbidden, InvalidRequest, WrongState
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Hall, Notice
from hall_queue.queueing.presenters import iso

log = logging.getLogger("onevisit.notices")

MAX_TEXT = 200
# A screen scrolls every active notice in turn; more than this and visitors never see the last one.
MAX_ACTIVE = 20


@dataclass(frozen=True)
class NoticeChanged(DomainEvent):
    """The hall's active notices changed; ``payload.notices`` is the whole new list."""

    name = "notice_changed"


def notice_view(n: Notice) -> dict[str, Any]:
    return {"id": n.id, "hall_id": n.hall_id, "text": n.text, "active": n.active, "created_at": iso(n.created_at),
            "expires_at": iso(n.expires_at)}


def active_notices(session: Session, hall_id: int, *, now: datetime) -> list[Notice]:
    """Return the hall's notices that are active and not expired at ``now``, oldest first."""
    return list(session.scalars(
        select(Notice).where(Notice.hall_id == hall_id, Notice.active.is_(True),
                             or_(Notice.expires_at.is_(None), Notice.expires_at > now))
        .order_by(Notice.created_at, Notice.id)))


def snapshot_notices(session: Session, hall_id: int, *, now: datetime) -> list[dict[str, Any]]:
    """Return active notice views for a snapshot; a database without the table yields none.

    A hall screen must keep showing calls even when the database has not been migrated for
    notices yet, so the read runs in a savepoint and a missing table only costs the notices.
    """
    try:
        with session.begin_nested():
            return [notice_view(n) for n in active_notices(session, hall_id, now=now)]
    except (OperationalError, ProgrammingError) as e:
        log.warning("notices unavailable (run `onevisit init` to migrate): %s", type(e.orig).__name__)
        return []


def _changed(session: Session, hall_id: int, now: datetime, action: str, notice: Notice) -> NoticeChanged:
    return NoticeChanged(hall_id, {"action": action, "notice": notice_view(notice),
                                   "notices": [notice_view(n) for n in active_notices(session, hall_id, now=now)]})


def post_notice(session: Session, hall: Hall, *, text: str, expires_at: datetime | None, now: datetime,
                actor: Actor) -> tuple[Notice, list[DomainEvent]]:
    """Put a notice on the hall's screens (managers)."""
    if not actor.is_manager:
        raise Forbidden("only managers post notices")
    text = " ".join((text or "").split())  # one line: a marquee has no room for line breaks
    if not text:
        raise InvalidRequest("a notice needs text", code="text_required")
    if len(text) > MAX_TEXT:
        raise InvalidRequest(f"a notice has at most {MAX_TEXT} characters", code="text_too_long")
    if expires_at is not None and expires_at <= now:
        raise InvalidRequest("expires_at must be in the future", code="expires_in_past")
    if len(active_notices(session, hall.id, now=now)) >= MAX_ACTIVE:
        raise WrongState(f"a hall shows at most {MAX_ACTIVE} notices; remove one first", code="too_many_notices")
    notice = Notice(hall_id=hall.id, text=text, active=True, created_at=now, expires_at=expires_at,
                    created_by_id=actor.id if actor.kind == "staff" else None)
    session.add(notice)
    session.flush()
    audit.record(session, actor=actor, action="notice.post", at=now, hall_id=hall.id, notice_id=notice.id)
    return notice, [_changed(session, hall.id, now, "posted", notice)]


def remove_notice(session: Session, notice: Notice, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Take a notice off the screens (managers); removing it twice changes nothing."""
    if not actor.is_manager:
        raise Forbidden("only managers remove notices")
    if not notice.active:
        return []
    notice.active = False
    notice.removed_at = now
    audit.record(session, actor=actor, action="notice.remove", at=now, hall_id=notice.hall_id, notice_id=notice.id)
    session.flush()
    return [_changed(session, notice.hall_id, now, "removed", notice)]

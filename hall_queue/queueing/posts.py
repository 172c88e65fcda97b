"""Windows and their posts: sign in/out, pause/resume, open/close, and A/B cover (AB岗).

"政务服务各环节应实行两个岗位之间顶岗或互为备岗的工作制度，即AB岗制，不得空岗、缺位" (002 §6.9;
000 §6.5 顶岗补位). When a window's clerk signs out, or pauses longer than the hall's threshold,
the window's other post-holder (its B clerk when A leaves, its A clerk when B leaves) is asked to
cover: if they are signed in at another open, unpaused window that covers nobody else, that window
serves both posts and screens show "X号窗口由Y号窗口顶岗". If no one can, the open window is an
empty post: managers get an alert and the empty minutes are recorded.

Concurrency: who covers whom is decided over several windows at once (a sign-in takes over empty posts, a
sign-out hands its covered posts back, the duty round covers what it found empty), so every service here
that changes a post first takes the hall's post lock (``_hold_posts``), then reads the windows. Under
PostgreSQL's READ COMMITTED a clerk could otherwise sign in between the duty round's read and its cover,
leaving the window signed in *and* covered (issue 19's ``window_covered``). SQLite's ``BEGIN IMMEDIATE``
already runs these transactions one at a time; the same code runs on both.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from hall_queue.domain.vocabulary import QUEUE_ROLES
from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.queueing.calling import ticket_in_hand, validate_rules
from hall_queue.domain.errors import Forbidden, InvalidRequest, NotFound, WrongState
from hall_queue.domain.events import (AlertCleared, AlertRaised, DomainEvent, PostCovered, PostRestored, PostUncovered, WindowStatusChanged)
from hall_queue.domain.models import (Alert, AuditEvent, Hall, PostInterval, Queue, Staff, Window, WindowQueue,
                                      WINDOW_KINDS)
from hall_queue.domain import calendar
from hall_queue.infrastructure import hall_store
from hall_queue.queueing.estimates import queue_stats_due
from hall_queue.queueing.presenters import iso, window_status


# One row per hall, so there is no lock order to get wrong. FOR NO KEY UPDATE: the foreign-key checks of rows
# that reference the hall (tickets, audit events) take KEY SHARE, which this does not block.
_HOLD_POSTS = select(Hall.id).where(Hall.id == bindparam("hall_id")).with_for_update(key_share=True)


def _hold_posts(session: Session, hall_id: int) -> None:
    """Take the hall's post lock until commit, and read again any window this transaction read before it.

    Post changes of one hall then run one at a time on PostgreSQL, each on the windows as the previous one
    left them; on SQLite the transaction already holds the writer lock and the statement is a plain read.
    """
    session.flush()
    session.execute(_HOLD_POSTS, {"hall_id": hall_id})
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Window):
            session.expire(obj)


def _status_event(session: Session, window: Window) -> WindowStatusChanged:
    held = ticket_in_hand(session, window)
    covered_by = session.get(Window, window.covered_by_id) if window.covered_by_id else None
    status = window_status(window)
    if status == "idle" and held is not None:
        status = "serving"
    payload = {"window": {"id": window.id, "number": window.number, "name": window.name, "status": status,
                          "is_open": window.is_open, "clerk_name": window.clerk.display_name if window.clerk else None,
                          "clerk_post": window.clerk_post, "pause_reason": window.pause_reason,
                          "covered_by_id": window.covered_by_id,
                          "covered_by_number": covered_by.number if covered_by else None,
                          "ticket_number": held.number if held else None}}
    return WindowStatusChanged(window.hall_id, payload, window_ids=(window.id,))


def _with_queue_figures(session: Session, hall_id: int, events: list[DomainEvent]) -> list[DomainEvent]:
    """Append the figures of every queue whose staffed windows these events changed.

    A queue's "暂无窗口办理" and its estimate depend on how many open windows are staffed or covered, so a
    sign-in, sign-out, cover or opening changes them as surely as a call does (issue 21: tiles stayed
    "暂无窗口办理" after a clerk signed in). Read after commit by ``fill_queue_stats``.
    """
    window_ids: set[int] = set()
    for e in events:
        if isinstance(e, WindowStatusChanged):
            window_ids.add(e.payload["window"]["id"])
        elif isinstance(e, (PostCovered, PostUncovered, PostRestored)):
            window_ids.add(e.payload["window_id"])
    if not window_ids:
        return events
    queue_ids = sorted(set(session.scalars(select(WindowQueue.queue_id).where(WindowQueue.window_id.in_(window_ids)))))
    if queue_ids:
        events.append(queue_stats_due(hall_id, *queue_ids))
    return events


def _open_interval(session: Session, window: Window, kind: str) -> PostInterval | None:
    return session.scalar(select(PostInterval).where(PostInterval.window_id == window.id, PostInterval.kind == kind,
                                                     PostInterval.ended_at.is_(None)))


def _close_intervals(session: Session, window: Window, now: datetime) -> bool:
    closed = False
    for iv in session.scalars(select(PostInterval).where(PostInterval.window_id == window.id,
                                                         PostInterval.ended_at.is_(None))):
        iv.ended_at = now
        closed = True
    for alert in session.scalars(select(Alert).where(Alert.window_id == window.id, Alert.kind == "empty_post",
                                                     Alert.cleared_at.is_(None))):
        alert.cleared_at = now
    return closed


def _can_absorb(session: Session, w: Window, other: Window) -> bool:
    """A covering window must be open, staffed, unpaused, not itself covered and cover nobody else yet."""
    if w.id == other.id or not w.is_open or w.clerk_id is None or w.paused_at is not None or w.covered_by_id:
        return False
    return session.scalar(select(Window.id).where(Window.covered_by_id == w.id).limit(1)) is None


def _backup_clerks(window: Window, absent_id: int | None) -> list[int]:
    # A and B back each other up (互为备岗): whoever is absent, the other one is asked.
    pair = [window.a_clerk_id, window.b_clerk_id]
    return [c for c in pair if c is not None and c != absent_id]


def arrange_cover(session: Session, window: Window, *, absent_id: int | None, now: datetime,
                  actor: Actor) -> list[DomainEvent]:
    """Ask the window's other post-holder to cover it; failing that, raise an empty-post alert."""
    if not window.is_open or window.covered_by_id is not None:
        return []
    for clerk_id in _backup_clerks(window, absent_id):
        at = session.scalar(select(Window).where(Window.clerk_id == clerk_id))
        if at is not None and _can_absorb(session, at, window):
            return cover_post(session, window, at, now=now, actor=actor)
    if _open_interval(session, window, "empty") is not None:
        return []
    return _raise_empty(session, window, since=now, now=now, actor=actor, msg=f"{window.number}号窗口空岗：A、B岗均不在岗")


def _raise_empty(session: Session, window: Window, *, since: datetime, now: datetime, actor: Actor,
                 msg: str) -> list[DomainEvent]:
    """Record the window's post as empty from ``since`` and alert managers (002 §6.9 不得空岗)."""
    session.add(PostInterval(hall_id=window.hall_id, window_id=window.id, kind="empty", started_at=since))
    alert = Alert(hall_id=window.hall_id, kind="empty_post", window_id=window.id, subject=f"window {window.number}",
                  message=msg, raised_at=now)
    session.add(alert)
    session.flush()
    audit.record(session, actor=actor, action="post.empty", at=now, hall_id=window.hall_id, window_id=window.id)
    return [PostUncovered(window.hall_id, {"window_id": window.id, "window_number": window.number, "message": msg},
                          window_ids=(window.id,)),
            AlertRaised(window.hall_id, {"id": alert.id, "kind": "empty_post", "window_id": window.id,
                                         "message": msg, "raised_at": iso(now)}),
            _status_event(session, window)]


def cover_post(session: Session, window: Window, by: Window, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Let window ``by`` serve ``window``'s post as well (顶岗); tickets aimed at ``window`` follow."""
    if window.hall_id != by.hall_id:
        raise NotFound(f"window {by.id} not found in this hall")
    if not _can_absorb(session, by, window):
        raise WrongState(f"window {by.number} cannot cover now (closed, paused, unstaffed or already covering)",
                         code="cannot_cover")
    _close_intervals(session, window, now)
    window.covered_by_id = by.id
    session.add(PostInterval(hall_id=window.hall_id, window_id=window.id, kind="cover", covering_window_id=by.id,
                             started_at=now))
    audit.record(session, actor=actor, action="post.cover", at=now, hall_id=window.hall_id, window_id=window.id,
                 by_window=by.id)
    msg = f"{window.number}号窗口由{by.number}号窗口顶岗"
    return [PostCovered(window.hall_id, {"window_id": window.id, "window_number": window.number,
                                         "covered_by_id": by.id, "covered_by_number": by.number, "message": msg},
                        window_ids=(window.id, by.id)),
            _status_event(session, window), _status_event(session, by)]


def _restore(session: Session, window: Window, now: datetime, actor: Actor) -> list[DomainEvent]:
    """End this window's cover or empty post because its own clerk is back."""
    had_cover = window.covered_by_id is not None
    ended = _close_intervals(session, window, now)
    window.covered_by_id = None
    if not (had_cover or ended):
        return []
    audit.record(session, actor=actor, action="post.restore", at=now, hall_id=window.hall_id, window_id=window.id)
    return [PostRestored(window.hall_id, {"window_id": window.id, "window_number": window.number},
                         window_ids=(window.id,))]


def _release_covered(session: Session, coverer: Window, now: datetime, actor: Actor) -> list[DomainEvent]:
    """A window that stops serving hands back the posts it covered; each looks for cover again."""
    events: list[DomainEvent] = []
    for w in session.scalars(select(Window).where(Window.covered_by_id == coverer.id)).all():
        _close_intervals(session, w, now)
        w.covered_by_id = None
        session.flush()
        absent = w.clerk_id if w.clerk_id is not None else None
        events += arrange_cover(session, w, absent_id=absent, now=now, actor=actor) or [_status_event(session, w)]
    return events


def _require_self_or_manager(window: Window, actor: Actor) -> None:
    if actor.is_manager or actor.is_system:
        return
    if actor.kind != "staff" or window.clerk_id != actor.id:
        raise Forbidden(f"you are not signed in at window {window.number}")


def sign_in(session: Session, window: Window, staff: Staff, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Sign ``staff`` in at ``window`` as its A or B clerk."""
    _hold_posts(session, window.hall_id)
    if not staff.active:
        raise Forbidden(f"staff account {staff.username} is disabled")
    if staff.role == "clerk" and staff.id not in (window.a_clerk_id, window.b_clerk_id):
        raise Forbidden(f"{staff.display_name} is neither the A nor the B clerk of window {window.number}",
                        code="not_assigned")
    if staff.hall_id is not None and staff.hall_id != window.hall_id:
        raise Forbidden("this staff member belongs to another hall")
    if not window.is_open:
        raise WrongState(f"window {window.number} is closed", code="window_closed")
    elsewhere = session.scalar(select(Window).where(Window.clerk_id == staff.id))
    if elsewhere is not None and elsewhere.id != window.id:
        raise WrongState(f"already signed in at window {elsewhere.number}; sign out there first",
                         code="signed_in_elsewhere")
    if window.clerk_id is not None and window.clerk_id != staff.id:
        raise WrongState(f"window {window.number} already has a clerk signed in", code="window_taken")
    window.clerk_id = staff.id
    window.clerk = staff
    window.clerk_post = "A" if staff.id == window.a_clerk_id else "B" if staff.id == window.b_clerk_id else None
    window.signed_in_at = now
    window.paused_at = None
    window.pause_reason = None
    audit.record(session, actor=actor, action="window.sign_in", at=now, hall_id=window.hall_id, window_id=window.id,
                 staff_id=staff.id, post=window.clerk_post)
    events = _restore(session, window, now, actor)
    session.flush()
    events.append(_status_event(session, window))
    # A clerk arriving may be the backup an empty post was waiting for (not a window nobody held today).
    hall = session.get(Hall, window.hall_id)
    for empty in _empty_posts(session, window.hall_id):
        if empty.id != window.id and staff.id in (empty.a_clerk_id, empty.b_clerk_id) \
                and _can_absorb(session, window, empty) and _held_since_opening(session, hall, empty, now):
            events += cover_post(session, empty, window, now=now, actor=actor)
    return _with_queue_figures(session, window.hall_id, events)


def sign_out(session: Session, window: Window, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Sign the window's clerk out; the post is covered by its backup or raised as empty."""
    _hold_posts(session, window.hall_id)
    _require_self_or_manager(window, actor)
    if window.clerk_id is None:
        raise WrongState(f"no clerk is signed in at window {window.number}", code="not_signed_in")
    held = ticket_in_hand(session, window)
    if held is not None:
        raise WrongState(f"ticket {held.number} is still in hand; finish or transfer it before signing out",
                         code="ticket_in_hand")
    leaving = window.clerk_id
    audit.record(session, actor=actor, action="window.sign_out", at=now, hall_id=window.hall_id, window_id=window.id,
                 staff_id=leaving)
    _close_intervals(session, window, now)
    window.covered_by_id = None
    window.clerk_id = None
    window.clerk = None
    window.clerk_post = None
    window.signed_in_at = None
    window.paused_at = None
    window.pause_reason = None
    session.flush()
    # Hand back covered posts only once this window is unstaffed: otherwise a covered post whose backup is
    # the leaving clerk would pick this very window as its cover again (A and B both gone, yet no empty post).
    events = _release_covered(session, window, now, actor)
    events += arrange_cover(session, window, absent_id=leaving, now=now, actor=actor)
    events.append(_status_event(session, window))
    return _with_queue_figures(session, window.hall_id, events)


def pause(session: Session, window: Window, *, reason: str, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Pause service with a reason (暂停服务); a long pause is covered by the backup clerk."""
    _hold_posts(session, window.hall_id)
    _require_self_or_manager(window, actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("a pause needs a reason", code="reason_required")
    if window.clerk_id is None:
        raise WrongState(f"no clerk is signed in at window {window.number}", code="not_signed_in")
    if window.paused_at is not None:
        raise WrongState(f"window {window.number} is already paused", code="already_paused")
    held = ticket_in_hand(session, window)
    if held is not None:
        raise WrongState(f"ticket {held.number} is still in hand; finish or transfer it before pausing",
                         code="ticket_in_hand")
    window.paused_at = now
    window.pause_reason = reason
    audit.record(session, actor=actor, action="window.pause", at=now, hall_id=window.hall_id, window_id=window.id,
                 reason=reason)
    events = _release_covered(session, window, now, actor)
    hall = session.get(Hall, window.hall_id)
    if hall.pause_cover_after_s <= 0:
        events += arrange_cover(session, window, absent_id=window.clerk_id, now=now, actor=actor)
    events.append(_status_event(session, window))
    return events


def resume(session: Session, window: Window, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Resume service after a pause; any cover of this post ends."""
    _hold_posts(session, window.hall_id)
    _require_self_or_manager(window, actor)
    if window.paused_at is None:
        raise WrongState(f"window {window.number} is not paused", code="not_paused")
    window.paused_at = None
    window.pause_reason = None
    audit.record(session, actor=actor, action="window.resume", at=now, hall_id=window.hall_id, window_id=window.id)
    events = _restore(session, window, now, actor)
    session.flush()
    events.append(_status_event(session, window))
    return events


def set_open(session: Session, window: Window, is_open: bool, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """Open or close a window for service (managers)."""
    if not (actor.is_manager or actor.is_system):
        raise Forbidden("only managers open and close windows")
    _hold_posts(session, window.hall_id)
    if window.is_open == is_open:
        return []
    window.is_open = is_open
    audit.record(session, actor=actor, action="window.open" if is_open else "window.close", at=now,
                 hall_id=window.hall_id, window_id=window.id)
    events: list[DomainEvent] = []
    if not is_open:
        events += _release_covered(session, window, now, actor)
        _close_intervals(session, window, now)
        window.covered_by_id = None
    elif window.clerk_id is None:
        session.flush()
        events += arrange_cover(session, window, absent_id=None, now=now, actor=actor)
    session.flush()
    events.append(_status_event(session, window))
    return _with_queue_figures(session, window.hall_id, events)


def force_cover(session: Session, window: Window, by: Window, *, now: datetime, actor: Actor) -> list[DomainEvent]:
    """A manager makes window ``by`` cover ``window`` (e.g. the B clerk is at an unusual window)."""
    if not actor.is_manager:
        raise Forbidden("only managers force a cover")
    _hold_posts(session, window.hall_id)
    if window.covered_by_id is not None:
        raise WrongState(f"window {window.number} is already covered", code="already_covered")
    if window.clerk_id is not None and window.paused_at is None:
        raise WrongState(f"window {window.number} is staffed and serving", code="staffed")
    return _with_queue_figures(session, window.hall_id, cover_post(session, window, by, now=now, actor=actor))


def check_posts(session: Session, hall: Hall, *, now: datetime) -> list[DomainEvent]:
    """Periodic duty: cover long pauses and retry cover for empty posts (runs every few seconds)."""
    _hold_posts(session, hall.id)
    events: list[DomainEvent] = _end_empty_posts_at_closing(session, hall, now=now)
    threshold = timedelta(seconds=hall.pause_cover_after_s)
    for w in session.scalars(select(Window).where(Window.hall_id == hall.id, Window.is_open.is_(True),
                                                  Window.covered_by_id.is_(None)).order_by(Window.number)).all():
        if w.clerk_id is not None and w.paused_at is not None and now - w.paused_at >= threshold:
            events += arrange_cover(session, w, absent_id=w.clerk_id, now=now, actor=audit.SYSTEM)
    events += _never_staffed(session, hall, now=now)
    # An empty post may now find its backup free (e.g. the B clerk resumed after a pause). A window nobody
    # signed into today is left to the managers (安排顶岗): covering it would tie its partner up all day.
    for w in _empty_posts(session, hall.id):
        if not _held_since_opening(session, hall, w, now):
            continue
        for clerk_id in _backup_clerks(w, None):
            at = session.scalar(select(Window).where(Window.clerk_id == clerk_id))
            if at is not None and _can_absorb(session, at, w):
                events += cover_post(session, w, at, now=now, actor=audit.SYSTEM)
                break
    return _with_queue_figures(session, hall.id, events)


def _opening_around(session: Session, hall: Hall, at: datetime) -> tuple[datetime, datetime] | None:
    """The hall's opening interval (start, end; UTC) that ``at`` falls in, or None outside opening hours."""
    return calendar.opening_around(hall, at, hall_store.calendar_lookup(session, hall.id))


def _opened_at(session: Session, hall: Hall, now: datetime) -> datetime | None:
    """When the hall's current opening interval began (UTC), or None while the hall is closed.

    Never before the current service day began: a hall open round the clock has been open for days, but
    its posts are counted, and its clerks' sign-ins looked for, from the start of the day (its day boundary),
    as in a hall that opens in the morning."""
    around = _opening_around(session, hall, now)
    return max(around[0], calendar.service_day_start(hall, now)) if around else None


def _end_empty_posts_at_closing(session: Session, hall: Hall, *, now: datetime) -> list[DomainEvent]:
    """不得空岗 (002 §6.9) holds in opening hours: an empty post still open when the hall closed ends at the
    closing time of the opening it began in (its alert goes with it), so the night is never counted as
    empty-post minutes in the statistics. The next opening starts a new one if nobody signs in."""
    events: list[DomainEvent] = []
    for iv in session.scalars(select(PostInterval).where(PostInterval.hall_id == hall.id, PostInterval.kind == "empty",
                                                         PostInterval.ended_at.is_(None))).all():
        around = _opening_around(session, hall, iv.started_at)
        closed_at = around[1] if around else iv.started_at
        if closed_at > now:
            continue
        iv.ended_at = closed_at
        for alert in session.scalars(select(Alert).where(Alert.window_id == iv.window_id, Alert.kind == "empty_post",
                                                         Alert.cleared_at.is_(None))):
            alert.cleared_at = closed_at
            events.append(AlertCleared(hall.id, {"id": alert.id, "kind": alert.kind, "window_id": alert.window_id}))
    return events


def _never_staffed(session: Session, hall: Hall, *, now: datetime) -> list[DomainEvent]:
    """A window open for service that nobody signed into is an empty post too, counted from opening
    time (or from when its post was last held today), once the clerks' sign-in grace
    (``pause_cover_after_s``) has passed. 002 §6.9 "不得空岗"."""
    opened = _opened_at(session, hall, now)
    if opened is None or now - opened < timedelta(seconds=hall.pause_cover_after_s):
        return []
    events: list[DomainEvent] = []
    for w in session.scalars(select(Window).where(Window.hall_id == hall.id, Window.is_open.is_(True),
                                                  Window.clerk_id.is_(None), Window.covered_by_id.is_(None))
                             .order_by(Window.number)).all():
        if _open_interval(session, w, "empty") is not None:
            continue
        # Not before the post was last held, its clerk left, or the window was opened.
        marks = [session.scalar(select(func.max(PostInterval.ended_at)).where(PostInterval.window_id == w.id)),
                 session.scalar(select(func.max(AuditEvent.at)).where(
                     AuditEvent.window_id == w.id, AuditEvent.action.in_(("window.sign_out", "window.open"))))]
        since = max([opened] + [m for m in marks if m is not None])
        if now - since < timedelta(seconds=hall.pause_cover_after_s):
            continue
        began = calendar.local_time(hall, since)
        # Past midnight (a hall open round the clock) the start lies on the day before: say which day.
        local = began.strftime("%H:%M") if began.date() == calendar.local_time(hall, now).date() \
            else f"{began.month}月{began.day}日 {began:%H:%M}"
        events += _raise_empty(session, w, since=since, now=now, actor=audit.SYSTEM,
                               msg=f"{w.number}号窗口空岗：开放办理但无人签到（{local}起）")
    return events


def _held_since_opening(session: Session, hall: Hall, window: Window, now: datetime) -> bool:
    """Whether someone signed in at the window since the hall's current opening (or ever, while closed)."""
    opened = _opened_at(session, hall, now)
    q = select(AuditEvent.id).where(AuditEvent.window_id == window.id, AuditEvent.action == "window.sign_in")
    if opened is not None:
        q = q.where(AuditEvent.at >= opened)
    return session.scalar(q.limit(1)) is not None


def _empty_posts(session: Session, hall_id: int) -> list[Window]:
    """Open windows whose post is recorded empty right now (someone left and no backup came)."""
    return list(session.scalars(
        select(Window).join(PostInterval, PostInterval.window_id == Window.id)
        .where(Window.hall_id == hall_id, Window.is_open.is_(True), Window.covered_by_id.is_(None),
               PostInterval.kind == "empty", PostInterval.ended_at.is_(None)).order_by(Window.number)))


def check_window_clerk(session: Session, hall_id: int, staff_id: int) -> Staff:
    """Return the staff member who may be a window's A or B clerk (AB岗): active staff of the window's hall."""
    staff = session.get(Staff, staff_id)
    if staff is None or staff.hall_id != hall_id:
        raise NotFound(f"staff {staff_id} not found in this hall")
    if not staff.active:
        raise InvalidRequest(f"staff {staff.username} is disabled", code="staff_disabled")
    return staff


def configure_window(session: Session, window: Window, *, queues: list[dict[str, Any]] | None = None,
                     call_rules: list[dict[str, Any]] | None = None, kind: str | None = None,
                     a_clerk_id: int | None = None, b_clerk_id: int | None = None, now: datetime,
                     actor: Actor) -> list[DomainEvent]:
    """Change what a window serves, how it calls, its kind or its A/B clerks (managers)."""
    if not actor.is_manager:
        raise Forbidden("only managers configure windows")
    _hold_posts(session, window.hall_id)  # its A and B clerks are who covers it
    if kind is not None:
        if kind not in WINDOW_KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(WINDOW_KINDS)}")
        window.kind = kind
    if queues is not None:
        seen = set()
        new = []
        for rank, q in enumerate(queues):
            queue = session.get(Queue, q["queue_id"])
            if queue is None or queue.hall_id != window.hall_id:
                raise NotFound(f"queue {q['queue_id']} not found in this hall")
            if queue.id in seen:
                raise InvalidRequest(f"queue {queue.prefix} listed twice")
            seen.add(queue.id)
            role = q.get("role", "primary")
            if role not in QUEUE_ROLES:
                raise InvalidRequest(f"queue role must be one of {', '.join(QUEUE_ROLES)}")
            new.append(WindowQueue(queue_id=queue.id, rank=rank, role=role))
        window.served.clear()
        session.flush()
        window.served.extend(new)
    if call_rules is not None:
        window.call_rules = validate_rules(call_rules)
    for attr, value in (("a_clerk_id", a_clerk_id), ("b_clerk_id", b_clerk_id)):
        if value is not None:
            check_window_clerk(session, window.hall_id, value)
            setattr(window, attr, value)
    if window.a_clerk_id is not None and window.a_clerk_id == window.b_clerk_id:
        raise InvalidRequest("the A and B clerk of a window must be two different people")
    audit.record(session, actor=actor, action="window.configure", at=now, hall_id=window.hall_id, window_id=window.id)
    session.flush()
    return [_status_event(session, window)]

"""API of the kiosk area: scanned pages on tickets, kiosk device health, green-channel revocation.

Also registers the server-side "three or fewer ahead" phone alert on the runtime's event listeners.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Literal, Optional

from flask import Response, g, request
from pydantic import StringConstraints
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .. import attachments, audit
from ..audit import Actor
from ..errors import Forbidden, NotFound, WrongState
from ..events import (AlertRaised, DomainEvent, QueueStatsChanged, TicketCalled, TicketFinished, TicketRequeued,
                      TicketTransferred)
from ..models import AccessToken, Alert, DeviceStatus, Hall, Notification, Ticket, TicketAttachment, Window
from ..notifier import Notifier, notifier_for
from ..presenters import iso, ticket_view
from ..runtime import runtime
from ..ticketing import queue_stats
from . import schemas as S
from .base import STAFF, bp, get_hall, get_row, now, operation, write
from .registry import OPERATIONS

log = logging.getLogger("onevisit.kiosk")

DEVICE_LABELS = {"idcard": "身份证阅读器", "printer": "小票打印机", "scanner": "高拍仪"}
REASON_LABELS = {"paper_out": "缺纸", "paper_near_end": "纸将用尽", "cover_open": "纸仓盖未关",
                 "offline": "离线", "no_answer": "无响应", "printer_error": "故障", "printer_unavailable": "无法连接",
                 "printer_no_answer": "无响应", "printer_offline": "离线", "printer_io": "通信故障",
                 "port": "无法连接", "sam_fault": "模块故障", "frame_timeout": "无画面"}


# ---------------------------------------------------------------- schemas

class DeviceHealthIn(S.In):
    device: Literal["idcard", "printer", "scanner"]
    state: Literal["online", "offline", "fault"]
    reason: Optional[Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]] = None


class RevokeGreenIn(S.In):
    reason: S.ShortText


class AttachmentOut(S.Out):
    id: int
    ticket_id: int
    position: int
    content_type: str
    url: str


class DeviceStatusOut(S.Out):
    device: str
    state: str
    alert_id: Optional[int] = None


# ---------------------------------------------------------------- events

@dataclass(frozen=True)
class AlertCleared(DomainEvent):
    """A device fault (or other alert) ended; dashboards drop it."""

    name = "alert_cleared"


@dataclass(frozen=True)
class TicketGreenRevoked(DomainEvent):
    """A clerk or manager took a ticket out of the green channel (绿色通道) for misuse."""

    name = "ticket_green_revoked"


# ---------------------------------------------------------------- services (no Flask below this line until views)

def report_device_health(session: Session, hall: Hall, token: AccessToken, *, device: str, state: str,
                         reason: str | None, now_, actor: Actor) -> tuple[DeviceStatus, list[DomainEvent]]:
    """Record a kiosk device's health; a fault raises one device_fault alert, recovery clears it."""
    status = session.scalar(select(DeviceStatus).where(DeviceStatus.token_id == token.id,
                                                       DeviceStatus.device == device))
    if status is None:
        status = DeviceStatus(hall_id=hall.id, token_id=token.id, device=device, state=state, updated_at=now_)
        session.add(status)
    previous = status.state if status.id is not None else None
    status.state, status.reason, status.updated_at = state, reason, now_
    alert = session.get(Alert, status.alert_id) if status.alert_id else None
    if alert is not None and alert.cleared_at is not None:
        alert = None
    events: list[DomainEvent] = []
    if state == "online":
        if alert is not None:
            alert.cleared_at = now_
            status.alert_id = None
            audit.record(session, actor=actor, action="device.recovered", at=now_, hall_id=hall.id, device=device)
            events.append(AlertCleared(hall.id, {"id": alert.id, "kind": alert.kind, "subject": alert.subject,
                                                 "cleared_at": iso(now_)}))
        session.flush()
        return status, events
    kiosk = token.name or f"取号机{token.id}"
    what = REASON_LABELS.get(reason or "", reason or ("离线" if state == "offline" else "故障"))
    message = f"{kiosk}：{DEVICE_LABELS[device]}{what}"
    if alert is None:
        alert = Alert(hall_id=hall.id, kind="device_fault", subject=f"kiosk:{token.id}:{device}"[:100],
                      message=message[:500], raised_at=now_)
        session.add(alert)
        session.flush()
        status.alert_id = alert.id
        audit.record(session, actor=actor, action="device.fault", at=now_, hall_id=hall.id, device=device,
                     state=state, reason=reason)
    elif alert.message != message or previous != state:
        alert.message = message[:500]
    else:
        session.flush()
        return status, events
    session.flush()
    events.append(AlertRaised(hall.id, {"id": alert.id, "kind": "device_fault", "window_id": None,
                                        "subject": alert.subject, "message": alert.message,
                                        "raised_at": iso(alert.raised_at), "device": device, "state": state,
                                        "reason": reason}))
    return status, events


def revoke_green(session: Session, ticket: Ticket, *, reason: str, now_, actor: Actor) -> list[DomainEvent]:
    """Move a green-channel ticket back to ordinary priority (the clerk found the claim unfounded)."""
    if ticket.priority_class != "green":
        raise WrongState(f"ticket {ticket.number} is not in the green channel", code="not_green")
    if ticket.status not in ("waiting", "called", "serving"):
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; only an open ticket can be changed")
    if not actor.is_manager:
        window = session.get(Window, ticket.window_id) if ticket.window_id else None
        if window is None or window.clerk_id != actor.id:
            raise Forbidden("only the clerk holding the ticket at the window, or a manager, may revoke green channel")
    previous = ticket.green_reason
    ticket.priority_class, ticket.green_reason = "ordinary", None
    detail = dict(ticket.outcome_detail or {})
    detail["green_revoked"] = {"reason": reason, "previous": previous, "at": iso(now_)}
    ticket.outcome_detail = detail
    audit.record(session, actor=actor, action="ticket.revoke_green", at=now_, hall_id=ticket.hall_id,
                 ticket_id=ticket.id, window_id=ticket.window_id, previous=previous, reason=reason)
    hall = session.get(Hall, ticket.hall_id)
    events: list[DomainEvent] = [TicketGreenRevoked(ticket.hall_id, {"ticket": ticket_view(ticket), "reason": reason},
                                                    window_ids=(ticket.window_id,) if ticket.window_id else ())]
    if ticket.status == "waiting":
        events.append(QueueStatsChanged(ticket.hall_id, {"queues": [queue_stats(session, hall, ticket.queue)]}))
    return events


NEAR_TURN_AHEAD = 3
NEAR_TURN_EVENTS = (TicketCalled, TicketFinished, TicketRequeued, TicketTransferred, TicketGreenRevoked)


_NEAR_TURN_HEADS = (select(Ticket.id, Ticket.phone_cipher.is_not(None))
                    .where(Ticket.queue_id == bindparam("queue_id"), Ticket.status == "waiting")
                    .order_by(Ticket.queue_key, Ticket.id).limit(NEAR_TURN_AHEAD + 1))


def _near_turn_key(ticket: Ticket) -> str:
    return f"near_turn:{ticket.origin_ticket_id or ticket.id}"


def near_turn_due(session: Session, queue_id: int) -> list[tuple[int, Ticket]]:
    """Return (people ahead, ticket) for waiting visitors with a phone, three or fewer ahead, not yet told."""
    # Runs after every call: look at plain rows first, load tickets only when someone left a phone.
    heads = session.connection().execute(_NEAR_TURN_HEADS, {"queue_id": queue_id}).all()
    if not any(has_phone for _, has_phone in heads):
        return []
    first = session.scalars(select(Ticket).where(Ticket.id.in_([i for i, _ in heads]))
                            .order_by(Ticket.queue_key, Ticket.id)).all()
    due = [(ahead, t) for ahead, t in enumerate(first) if t.phone_cipher]
    if not due:
        return []
    sent = set(session.scalars(select(Notification.dedup_key).where(
        Notification.dedup_key.in_([_near_turn_key(t) for _, t in due]))))
    return [(ahead, t) for ahead, t in due if _near_turn_key(t) not in sent]


def notify_near_turn(session: Session, queue_id: int, notifier: Notifier, *, now_) -> int:
    """Queue one SMS for each waiting visitor with a phone who now has three or fewer ahead.

    The notifier's ``dedup_key`` (one per ticket) makes it go out once however often this runs.
    """
    queued = 0
    for ahead, ticket in near_turn_due(session, queue_id):
        hall = session.get(Hall, ticket.hall_id)
        text = (f"【{hall.name}】您的号码 {ticket.number} 前面还有 {ahead} 人，请回到大厅留意叫号。"
                if ahead else f"【{hall.name}】您的号码 {ticket.number} 马上就到，请回到大厅留意叫号。")
        notifier.send(session, hall_id=ticket.hall_id, phone_cipher_or_phone=ticket.phone_cipher, kind="near_turn",
                      text=text, dedup_key=_near_turn_key(ticket), now=now_)
        queued += 1
    return queued


@bp.record_once
def _listen_for_calls(state) -> None:
    """After each call (and anything else that moves a queue), alert visitors whose turn is near."""
    app = state.app
    rt = runtime(app)

    def on_event(event: DomainEvent) -> None:
        if not isinstance(event, NEAR_TURN_EVENTS):
            return
        ticket = event.payload.get("ticket") or {}
        queue_id = ticket.get("queue_id")
        if not isinstance(queue_id, int):
            return
        # Most calls concern nobody who left a phone: look first, take the write lock only when needed.
        with rt.db.read() as s:
            if not near_turn_due(s, queue_id):
                return
        notifier = notifier_for(app)
        rt.db.run_write(lambda s: notify_near_turn(s, queue_id, notifier, now_=rt.clock.now()))

    rt.listeners.append(on_event)


# ---------------------------------------------------------------- views: scanned pages

@operation("/tickets/<int:ticket_id>/attachments", "POST", roles=("kiosk",), summary="Attach a scanned page",
           response=AttachmentOut, status=201, tags=("kiosk",))
def upload_attachment(ticket_id: int):
    data = request.get_data(cache=False)
    content_type = request.mimetype or ""
    page_size = (request.args.get("page_size") or "custom")[:20]

    def do(s: Session):
        t = get_row(s, Ticket, ticket_id, "ticket")
        page = attachments.attach_page(s, t, data=data, content_type=content_type, page_size_name=page_size,
                                       now=now(), actor=g.actor, token_id=g.token_id)
        return attachments.attachment_view(page), []
    return write(do)


OPERATIONS[-1].query["page_size"] = {"type": "string", "enum": list(attachments.PAGE_SIZE_NAMES)}


@operation("/tickets/<int:ticket_id>/attachments", "GET", roles=STAFF + ("kiosk",),
           summary="List a ticket's scanned pages", response=S.ListOut, tags=("kiosk",))
def list_attachments(ticket_id: int):
    # Only the clerks of the window holding the ticket and managers (or the kiosk); every look audited.
    def do(s: Session):
        t = get_row(s, Ticket, ticket_id, "ticket")
        if g.actor.kind == "staff":
            if not attachments.may_read(s, t, g.actor):
                raise Forbidden("only the clerks of the window holding this ticket, or a manager, may see its pages")
            attachments.record_read(s, t, g.actor, now=now(), attachment_id=None)
        return {"items": [attachments.attachment_view(p) for p in attachments.ticket_pages(s, t)]}, []
    return write(do)


@operation("/tickets/<int:ticket_id>/attachments/<int:attachment_id>", "GET", roles=STAFF,
           summary="Fetch one scanned page image", tags=("kiosk",))
def get_attachment(ticket_id: int, attachment_id: int):
    def do(s: Session):
        t = get_row(s, Ticket, ticket_id, "ticket")
        if not attachments.may_read(s, t, g.actor):
            raise Forbidden("only the clerks of the window holding this ticket, or a manager, may see its pages")
        page = s.get(TicketAttachment, attachment_id)
        if page is None or page not in attachments.ticket_pages(s, t):
            raise NotFound(f"attachment {attachment_id} not found on ticket {ticket_id}")
        attachments.record_read(s, t, g.actor, now=now(), attachment_id=page.id)
        return (page.data, page.content_type), []
    data, content_type = write(do)
    resp = Response(data, mimetype=content_type)
    # Personal documents: never kept by a shared browser or proxy cache.
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


# ---------------------------------------------------------------- views: device health

@operation("/halls/<int:hall_id>/device-health", "POST", roles=("kiosk",), summary="Report a kiosk device's health",
           body=DeviceHealthIn, response=DeviceStatusOut, tags=("kiosk",))
def post_device_health(hall_id: int, body: DeviceHealthIn):
    def do(s: Session):
        hall = get_hall(s, hall_id)
        token = s.get(AccessToken, g.token_id)
        status, events = report_device_health(s, hall, token, device=body.device, state=body.state,
                                              reason=body.reason, now_=now(), actor=g.actor)
        return _status_view(status), events
    return write(do)


@operation("/halls/<int:hall_id>/device-health", "GET", roles=STAFF, summary="List kiosk devices' health",
           response=S.ListOut, tags=("kiosk",))
def list_device_health(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        rows = s.execute(select(DeviceStatus, AccessToken.name).join(AccessToken, AccessToken.id == DeviceStatus.token_id)
                         .where(DeviceStatus.hall_id == hall.id).order_by(DeviceStatus.token_id, DeviceStatus.device))
        return {"items": [{**_status_view(st), "kiosk": name} for st, name in rows]}


def _status_view(st: DeviceStatus) -> dict:
    return {"device": st.device, "state": st.state, "reason": st.reason, "updated_at": iso(st.updated_at),
            "alert_id": st.alert_id, "token_id": st.token_id}


# ---------------------------------------------------------------- views: green channel

@operation("/tickets/<int:ticket_id>/revoke-green", "POST", roles=STAFF, summary="Revoke a ticket's green channel",
           body=RevokeGreenIn, response=S.TicketOut, tags=("calling",))
def post_revoke_green(ticket_id: int, body: RevokeGreenIn):
    def do(s: Session):
        t = get_row(s, Ticket, ticket_id, "ticket")
        events = revoke_green(s, t, reason=body.reason, now_=now(), actor=g.actor)
        return ticket_view(t), events
    return write(do)

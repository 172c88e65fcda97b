"""API of the kiosk area: scanned pages on tickets, kiosk device health, green-channel revocation.

Thin adapters: the rules are in ``queueing.attachments``, ``queueing.device_health`` and
``queueing.green_channel``.
"""
from __future__ import annotations

import logging
from typing import Annotated, Optional

from flask import Response, g, request
from pydantic import StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.domain import vocabulary as V
from hall_queue.queueing import attachments, device_health, green_channel
from hall_queue.domain.errors import Forbidden, NotFound
from hall_queue.domain.models import AccessToken, DeviceStatus, Ticket, TicketAttachment
from hall_queue.queueing.presenters import iso, ticket_view
from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.api.base import STAFF, get_hall, get_row, now, operation, write
from hall_queue.entrypoints.api.registry import OPERATIONS

log = logging.getLogger("onevisit.kiosk")



class DeviceHealthIn(S.In):
    device: V.DeviceKind
    state: V.DeviceState
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
        status, events = device_health.report_device_health(s, hall, token, device=body.device, state=body.state,
                                              reason=body.reason, now=now(), actor=g.actor)
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
        events = green_channel.revoke_green(s, t, reason=body.reason, now=now(), actor=g.actor)
        return ticket_view(t), events
    return write(do)

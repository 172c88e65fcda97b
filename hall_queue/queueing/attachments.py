"""Scanned pages attached to a ticket: the visitor pre-submits materials at the kiosk, the clerk sees them.

One set of materials handed in once (003 §3.8, 000 §6.9): pages the visitor scans while waiting
reach the window with the ticket, so the clerk can check them before the visitor sits down.
Pages are stored with the ticket (one row per page) so every server process can serve them.
"""
from __future__ import annotations

import hashlib
import io
from datetime import datetime

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain.errors import InvalidRequest, WrongState
from hall_queue.domain.models import OPEN_STATUSES, Ticket, TicketAttachment, Window
from hall_queue.queueing.presenters import iso

CONTENT_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG"}
MAX_PAGES_PER_TICKET = 20
MAX_PAGE_BYTES = 4 * 1024 * 1024
MAX_PAGE_PIXELS = 40_000_000  # an A4 page at 600 dpi is 35 Mpx; more is not a scanned page
PAGE_SIZE_NAMES = ("A4", "A5", "Letter", "ID-1", "custom")


def _image_size(data: bytes, content_type: str) -> tuple[int, int]:
    """Return (width, height) after checking the bytes really are an image of the declared type."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != CONTENT_TYPES[content_type]:
                raise InvalidRequest(f"the body is {im.format}, not {content_type}", code="bad_image")
            width, height = im.size
            if width * height > MAX_PAGE_PIXELS:
                raise InvalidRequest("the page image is too large", code="bad_image")
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InvalidRequest(f"the body is not a readable {content_type} image", code="bad_image") from e
    return width, height


def check_page(data: bytes, content_type: str, page_size_name: str) -> tuple[int, int, str]:
    """Check a scanned page's bytes; return its width, height and page size name (unknown ones: custom)."""
    if content_type not in CONTENT_TYPES:
        raise InvalidRequest(f"send the page as {' or '.join(CONTENT_TYPES)}", code="unsupported_media_type")
    if not data:
        raise InvalidRequest("the page image is empty", code="bad_image")
    if len(data) > MAX_PAGE_BYTES:
        raise InvalidRequest(f"a page may have at most {MAX_PAGE_BYTES} bytes", code="bad_image")
    width, height = _image_size(data, content_type)
    return width, height, page_size_name if page_size_name in PAGE_SIZE_NAMES else "custom"


def page_columns(data: bytes, checked: tuple[int, int, str], *, content_type: str, last_position: int | None,
                 now: datetime, token_id: int | None) -> dict:
    """The columns of a stored scanned page, a ticket's or a case's: the image ``check_page`` passed as
    ``checked``, its place after ``last_position``, its digest, and who uploaded it when."""
    width, height, page_size_name = checked
    return {"position": (last_position or 0) + 1, "content_type": content_type, "width": width, "height": height,
            "page_size_name": page_size_name, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "data": data, "uploaded_at": now, "uploaded_by_token_id": token_id}


def attach_page(session: Session, ticket: Ticket, *, data: bytes, content_type: str, page_size_name: str,
                now: datetime, actor: Actor, token_id: int | None) -> TicketAttachment:
    """Store one scanned page with an open ticket, after the pages already attached."""
    if ticket.status not in OPEN_STATUSES:
        raise WrongState(f"ticket {ticket.number} is {ticket.status}; pages attach to open tickets only")
    checked = check_page(data, content_type, page_size_name)
    count = session.scalar(select(func.count()).select_from(TicketAttachment)
                           .where(TicketAttachment.ticket_id == ticket.id)) or 0
    if count >= MAX_PAGES_PER_TICKET:
        raise WrongState(f"a ticket takes at most {MAX_PAGES_PER_TICKET} pages", code="too_many_pages")
    last = session.scalar(select(func.max(TicketAttachment.position)).where(TicketAttachment.ticket_id == ticket.id))
    page = TicketAttachment(hall_id=ticket.hall_id, ticket_id=ticket.id,
                            **page_columns(data, checked, content_type=content_type, last_position=last, now=now,
                                           token_id=token_id))
    session.add(page)
    session.flush()
    audit.record(session, actor=actor, action="ticket.attach_page", at=now, hall_id=ticket.hall_id,
                 ticket_id=ticket.id, position=page.position, bytes=len(data))
    return page


def ticket_pages(session: Session, ticket: Ticket) -> list[TicketAttachment]:
    """Return the ticket's pages in scanning order (for every leg of a transferred ticket)."""
    origin = ticket.origin_ticket_id or ticket.id
    legs = select(Ticket.id).where((Ticket.id == origin) | (Ticket.origin_ticket_id == origin))
    return list(session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id.in_(legs))
                                .order_by(TicketAttachment.ticket_id, TicketAttachment.position)))


def attachment_view(page: TicketAttachment) -> dict:
    """Return what the clerk console lists about a page (the image itself is fetched separately)."""
    return {"id": page.id, "ticket_id": page.ticket_id, "position": page.position,
            "content_type": page.content_type, "width": page.width, "height": page.height,
            "page_size_name": page.page_size_name, "size_bytes": page.size_bytes, "sha256": page.sha256,
            "uploaded_at": iso(page.uploaded_at), "url": f"/api/v1/tickets/{page.ticket_id}/attachments/{page.id}"}


def may_read(session: Session, ticket: Ticket, actor: Actor) -> bool:
    """Whether ``actor`` may see the ticket's scanned pages (issue 13, finding 5).

    Managers of the hall may; a clerk only while the ticket is at a window whose post they hold: the
    clerk signed in there or its A/B clerks (a clerk covering the post reads what the visitor handed in).
    The kiosk that uploaded them may list them (not fetch the images).
    """
    if actor.is_manager:
        return True
    if actor.kind != "staff" or ticket.window_id is None:
        return False
    window = session.get(Window, ticket.window_id)
    return window is not None and actor.id in (window.clerk_id, window.a_clerk_id, window.b_clerk_id)


def record_read(session: Session, ticket: Ticket, actor: Actor, *, now: datetime, attachment_id: int | None) -> None:
    """Audit one look at a ticket's pages: the list (``attachment_id`` None) or one page image."""
    audit.record(session, actor=actor, action="ticket.read_pages" if attachment_id is None else "ticket.read_page",
                 at=now, hall_id=ticket.hall_id, ticket_id=ticket.id, window_id=ticket.window_id,
                 attachment_id=attachment_id)

"""Upload to the provincial 好差评 platform (国办发〔2019〕51号; 003 §10.4 via DB32/T 4660; 004 §8.5).

Each rating, later its rectification result, and every re-opening in between (the rater not satisfied with
the answer, kind ``reopened``) becomes one JSON message in the outbox
(``infrastructure.outbox``, channel ``province``) written in the rating's own transaction, when the hall has
set the platform's URL. The duties loop POSTs it HMAC-signed with the hall's platform secret, retrying with
back-off while the platform is down; messages of one rating go out in order. The body carries what the
platforms file a rating under — case number, item code and version, implementation-list code, 12-digit
region code, department, channel, level and reasons, applicant type, masked ID, clerk, times — and no name
or full ID number.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hall_queue.access.identity import IdentityVault
from hall_queue.domain.clock import iso
from hall_queue.domain.models import (
    Case,
    Department,
    Rating,
    RatingSettings,
    Rectification,
    ServiceItem,
    Staff,
    Ticket,
    WebhookDelivery,
)
from hall_queue.domain.vocabulary import PROVINCE_SCHEMA_VERSION, RATING_LABELS
from hall_queue.infrastructure import outbox
from hall_queue.infrastructure.db import Database
from hall_queue.infrastructure.webhooks import post_signed

CHANNEL = "province"
# The platforms' channel words: 评价器 on the window's pad, 扫码 from the slip's QR.
CHANNEL_NAMES = {"pad": "评价器", "qr": "二维码"}


def _settings(session: Session, hall_id: int) -> RatingSettings | None:
    row = session.get(RatingSettings, hall_id)
    return row if row is not None and row.province_url else None


def _item(session: Session, rating: Rating, case: Case | None) -> ServiceItem | None:
    if case is not None and case.item_id is not None:
        return session.get(ServiceItem, case.item_id)
    ticket = session.get(Ticket, rating.ticket_id)
    return ticket.items[0] if ticket is not None and ticket.items else None


def rating_payload(session: Session, rating: Rating, region_code: str) -> dict[str, Any]:
    """The rating as the platform files it (masked: no name, no full ID number)."""
    from hall_queue.feedback.ratings import LOW_REASONS

    ticket = session.get(Ticket, rating.ticket_id)
    case = session.get(Case, rating.case_id) if rating.case_id else None
    item = _item(session, rating, case)
    dept_id = (case.department_id if case else None) or (item.department_id if item else None)
    dept = session.get(Department, dept_id) if dept_id else None
    clerk = session.get(Staff, rating.clerk_id) if rating.clerk_id else None
    return {
        "case_number": case.acceptance_no if case else None,
        "service_item": {"code": item.code, "version": item.code_version, "name": item.name} if item else None,
        "implementation_code": item.implementation_code if item else None,
        "region_code": region_code,
        "department": {"code": dept.code, "name": dept.name} if dept else None,
        "channel": rating.channel, "channel_name": CHANNEL_NAMES.get(rating.channel, rating.channel),
        "level": rating.score, "level_name": RATING_LABELS[rating.score],
        "reasons": [{"code": r, "name": LOW_REASONS.get(r, r)} for r in rating.reasons or []],
        "comment": rating.comment,
        "applicant_type": "natural_person" if rating.real_name else "anonymous",
        "masked_id": ticket.masked_id if ticket else None,
        "clerk": {"employee_no": clerk.employee_no, "name": clerk.display_name} if clerk else None,
        "times": {"issued_at": iso(ticket.issued_at) if ticket else None,
                  "service_started_at": iso(ticket.started_at or ticket.called_at) if ticket else None,
                  "service_finished_at": iso(ticket.finished_at) if ticket else None,
                  "rated_at": iso(rating.rated_at)},
        "excluded": rating.excluded,
    }


def rectification_payload(case: Rectification) -> dict[str, Any]:
    return {"status": case.status, "deadline": iso(case.deadline), "fix": case.fix, "fixed_at": iso(case.fixed_at),
            "feedback": case.feedback, "feedback_at": iso(case.feedback_at), "closed_at": iso(case.closed_at),
            "rater_answer": case.rater_answer, "reopened": case.reopened,
            "on_time": case.closed_at is not None and case.closed_at <= case.deadline}


def _enqueue(session: Session, rating: Rating, kind: str, body: dict[str, Any], message_id: str,
             settings: RatingSettings, now: datetime) -> None:
    message = {"schema_version": PROVINCE_SCHEMA_VERSION, "message_id": message_id, "kind": kind,
               "hall_rating_id": rating.id, "sent_for": iso(now), **body}
    outbox.enqueue(session, hall_id=rating.hall_id, channel=CHANNEL, ordering_key=f"rating:{rating.id}",
                   message_id=message_id, url=settings.province_url,
                   body=json.dumps(message, ensure_ascii=False, sort_keys=True), now=now)


def enqueue_rating(session: Session, rating: Rating, rectification: Rectification | None, *, now: datetime) -> None:
    """Queue the new rating for the platform (in the rating's transaction), when the hall uploads."""
    settings = _settings(session, rating.hall_id)
    if settings is None:
        return
    body = {"rating": rating_payload(session, rating, settings.region_code),
            "rectification": rectification_payload(rectification) if rectification else None}
    _enqueue(session, rating, "rating", body, f"rating-{rating.id}", settings, now)


def enqueue_rectification(session: Session, case: Rectification, *, now: datetime,
                          kind: str = "rectification") -> None:
    """Queue a rectification update after its rating: its result (closed, or taken out by an upheld appeal),
    or ``kind="reopened"`` when the rater was not satisfied with the answer and the case runs again."""
    settings = _settings(session, case.hall_id)
    if settings is None:
        return
    rating = session.get(Rating, case.rating_id)
    sent = session.scalar(select(func.count()).select_from(WebhookDelivery)
                          .where(WebhookDelivery.ordering_key == f"rating:{rating.id}"))
    body = {"rating": rating_payload(session, rating, settings.region_code),
            "rectification": rectification_payload(case)}
    _enqueue(session, rating, kind, body, f"{kind}-{case.id}-{sent}", settings, now)


def deliver_due(db: Database, vault: IdentityVault, *, now: datetime, post: outbox.Poster = post_signed,
                limit: int = outbox.BATCH) -> outbox.OutboxReport:
    """Send the due uploads, signed with each hall's platform secret; failures are retried with back-off."""
    def secret_of(s: Session, hall_id: int) -> str | None:
        row = s.get(RatingSettings, hall_id)
        return vault.decrypt(row.province_secret_cipher) if row is not None and row.province_secret_cipher else None
    return outbox.deliver_due(db, CHANNEL, secret_of, now=now, post=post, limit=limit)

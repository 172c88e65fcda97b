"""Retention: erase visitors' personal data and scanned pages once they are no longer needed.

个人信息保护法 §19: personal information is kept no longer than the purpose needs. The queue system's
purpose ends with the visit; the case file itself is archived by the e-archive platform (000 §8.1.7,
§9.8.1: electronic materials are archived under DB22/T 2871.3), not here. None of the five standards
sets a figure for the queue system's own copies, so the period is configurable
(``ONEVISIT_RETENTION_DAYS``, default 180 days: two quarters of statistics and complaint follow-up).

What a purge does to records whose visit ended before the cut-off (``now - days``):

* scanned pages (``TicketAttachment``): deleted (the image bytes live in the row, so no file is left);
* tickets: encrypted ID/phone and the masked name/ID are cleared; ``id_hash`` (a keyed hash of the ID
  number, which anyone holding the key can test a guess against) is replaced by a random pseudonym
  shared by the same person's tickets purged in the same run, so the one-visit rate (002 §11.3.4 f)
  of old periods keeps its figure while no ID number can be matched to it any more;
* appointments (ended ones): encrypted name/ID/phone and their masked forms emptied, ``id_hash``
  pseudonymised as above, any left-over claim row deleted;
* complaints (closed ones): complainant's name and contact, the complained-about person's name and
  the filing address hash erased (the complaint's content, answer and measures stay: 000 §10.4);
* consultations (answered ones): the asker's masked name, the contact and the online form's address and device
  hashes erased (the question and the answer stay, for 咨询回复率 / 及时率);
* the SMS outbox: sent or failed messages deleted; login attempts (user names, addresses) deleted.

Counts, times, outcomes, ratings and the audit log stay, so every statistic keeps working.
Each purge that erased something writes one ``retention.purge`` audit event with the counts.
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    OPEN_STATUSES,
    Appointment,
    AppointmentClaim,
    Complaint,
    Consultation,
    IdempotentReply,
    LoginAttempt,
    Notification,
    PublicReply,
    Ticket,
    TicketAttachment,
)

log = logging.getLogger("onevisit.retention")
DEFAULT_RETENTION_DAYS = 180
MIN_RETENTION_DAYS = 1
# Rows erased per table and call: the duty loop calls again, so a backlog drains without a long lock.
BATCH = 2000
# Erased id_hash values start with this; a real keyed hash is 64 hex digits and never does.
PSEUDONYM_PREFIX = "anon:"
SYSTEM = Actor("system")
PUBLIC_REPLY_KEPT = timedelta(hours=24)  # the first answer a retried public write replays (api/replays.py)
# An integration's outbox may retry for days (a weekend outage at the other end): its case writes' answers last a week.
INTEGRATION_REPLY_KEPT = timedelta(days=7)


def retention_days(environ: Any = None) -> int:
    """The configured retention period in days (``ONEVISIT_RETENTION_DAYS``; at least one day)."""
    raw = (environ if environ is not None else os.environ).get("ONEVISIT_RETENTION_DAYS", "")
    if not raw.strip():
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw)
    except ValueError as e:
        raise ValueError(f"ONEVISIT_RETENTION_DAYS must be a whole number of days, not {raw!r}") from e
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"ONEVISIT_RETENTION_DAYS must be at least {MIN_RETENTION_DAYS}")
    return days


@dataclass
class PurgeReport:
    cutoff: datetime
    pages: int = 0
    tickets: int = 0
    appointments: int = 0
    complaints: int = 0
    consultations: int = 0
    notifications: int = 0
    login_attempts: int = 0
    replies: int = 0  # kept first answers to retried writes, past PUBLIC_REPLY_KEPT or INTEGRATION_REPLY_KEPT

    @property
    def total(self) -> int:
        return (self.pages + self.tickets + self.appointments + self.complaints + self.consultations
                + self.notifications + self.login_attempts + self.replies)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cutoff"] = self.cutoff.isoformat()
        return out


def _pseudonyms() -> Any:
    """Map each real id_hash to one random pseudonym (same person → same pseudonym within a run)."""
    seen: dict[str, str] = {}

    def pseudonym(id_hash: str | None) -> str | None:
        if id_hash is None or id_hash.startswith(PSEUDONYM_PREFIX):
            return id_hash
        if id_hash not in seen:
            seen[id_hash] = PSEUDONYM_PREFIX + secrets.token_hex(16)
        return seen[id_hash]

    return pseudonym


def purge_expired(session: Session, now: datetime, *, days: int = DEFAULT_RETENTION_DAYS, dry_run: bool = False,
                  batch: int = BATCH) -> PurgeReport:
    """Erase personal data and scanned pages of visits that ended more than ``days`` ago.

    Idempotent: erased rows no longer match. ``dry_run`` counts what would be erased and changes nothing.
    """
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"retention must be at least {MIN_RETENTION_DAYS} day")
    cutoff = now - timedelta(days=days)
    report = PurgeReport(cutoff=cutoff)
    pseudonym = _pseudonyms()

    page_ids = list(session.scalars(select(TicketAttachment.id).where(TicketAttachment.uploaded_at < cutoff)
                                    .order_by(TicketAttachment.id).limit(batch)))
    report.pages = len(page_ids)
    if page_ids and not dry_run:
        session.execute(delete(TicketAttachment).where(TicketAttachment.id.in_(page_ids)))

    tickets = session.execute(
        select(Ticket.id, Ticket.id_hash).where(
            Ticket.issued_at < cutoff, Ticket.status.not_in(OPEN_STATUSES),
            or_(Ticket.id_cipher.is_not(None), Ticket.phone_cipher.is_not(None), Ticket.masked_name.is_not(None),
                Ticket.masked_id.is_not(None),
                (Ticket.id_hash.is_not(None) & Ticket.id_hash.not_like(PSEUDONYM_PREFIX + "%"))))
        .order_by(Ticket.id).limit(batch)).all()
    report.tickets = len(tickets)
    if not dry_run:
        for ticket_id, id_hash in tickets:
            session.execute(update(Ticket).where(Ticket.id == ticket_id).values(
                id_cipher=None, phone_cipher=None, masked_name=None, masked_id=None, id_hash=pseudonym(id_hash)))

    appointments = session.execute(
        select(Appointment.id, Appointment.id_hash).where(
            func.coalesce(Appointment.ended_at, Appointment.slot_end) < cutoff,
            Appointment.status.not_in(ACTIVE_APPOINTMENT_STATUSES),
            or_(Appointment.id_cipher != "", Appointment.name_cipher != "", Appointment.phone_cipher != "",
                Appointment.id_hash.not_like(PSEUDONYM_PREFIX + "%")))
        .order_by(Appointment.id).limit(batch)).all()
    report.appointments = len(appointments)
    if appointments and not dry_run:
        session.execute(delete(AppointmentClaim).where(
            AppointmentClaim.appointment_id.in_([a for a, _ in appointments])))
        for appointment_id, id_hash in appointments:
            session.execute(update(Appointment).where(Appointment.id == appointment_id).values(
                name_cipher="", id_cipher="", phone_cipher="", masked_name="", masked_id="", masked_phone="",
                id_hash=pseudonym(id_hash)))

    complaint_ids = list(session.scalars(
        select(Complaint.id).where(
            Complaint.status == "closed", Complaint.closed_at < cutoff,
            or_(Complaint.contact_cipher != "", Complaint.complainant_name_cipher.is_not(None),
                Complaint.target_person_cipher.is_not(None), Complaint.source_hash.is_not(None)))
        .order_by(Complaint.id).limit(batch)))
    report.complaints = len(complaint_ids)
    if complaint_ids and not dry_run:
        session.execute(update(Complaint).where(Complaint.id.in_(complaint_ids)).values(
            complainant_name_cipher=None, complainant_name_masked=None, contact_cipher="", contact_masked="",
            target_person_cipher=None, target_person_masked=None, source_hash=None))

    consultation_ids = list(session.scalars(
        select(Consultation.id).where(
            Consultation.answered_at.is_not(None), Consultation.answered_at < cutoff,
            or_(Consultation.contact_cipher.is_not(None), Consultation.asker_masked != "",
                Consultation.source_hash.is_not(None), Consultation.device_hash.is_not(None)))
        .order_by(Consultation.id).limit(batch)))
    report.consultations = len(consultation_ids)
    if consultation_ids and not dry_run:
        session.execute(update(Consultation).where(Consultation.id.in_(consultation_ids)).values(
            asker_masked="", contact_cipher=None, contact_masked="", source_hash=None, device_hash=None))

    note_ids = list(session.scalars(select(Notification.id).where(
        Notification.created_at < cutoff, Notification.status.in_(("sent", "failed"))).limit(batch)))
    report.notifications = len(note_ids)
    if note_ids and not dry_run:
        session.execute(delete(Notification).where(Notification.id.in_(note_ids)))

    attempt_ids = list(session.scalars(select(LoginAttempt.id).where(LoginAttempt.at < cutoff).limit(batch)))
    report.login_attempts = len(attempt_ids)
    if attempt_ids and not dry_run:
        session.execute(delete(LoginAttempt).where(LoginAttempt.id.in_(attempt_ids)))

    # A retry comes within seconds; a kept answer holds a look-up or booking code, so none outlives its day.
    # A kept answer replays a retry; a visitor's holds a look-up or booking code, so none outlives its term.
    report.replies = 0
    for model, term in ((PublicReply, PUBLIC_REPLY_KEPT), (IdempotentReply, INTEGRATION_REPLY_KEPT)):
        expired = model.created_at < now - term  # a term's worth at most: one statement
        n = session.scalar(select(func.count()).select_from(model).where(expired)) or 0
        report.replies += n
        if n and not dry_run:
            session.execute(delete(model).where(expired))

    if report.total and not dry_run:
        audit.record(session, actor=SYSTEM, action="retention.purge", at=now, hall_id=None, days=days,
                     **{k: v for k, v in report.as_dict().items()})
    return report


def purge_all(run_write: Any, now: datetime, *, days: int, dry_run: bool = False, batch: int = BATCH) -> PurgeReport:
    """Run ``purge_expired`` batch after batch (one transaction each) until nothing is left; sum the counts."""
    total = PurgeReport(cutoff=now - timedelta(days=days))
    while True:
        r = run_write(lambda s: purge_expired(s, now, days=days, dry_run=dry_run, batch=batch))
        for name in ("pages", "tickets", "appointments", "complaints", "consultations", "notifications",
                     "login_attempts", "replies"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        if dry_run or r.total == 0:
            return total

"""Data-key rotation: re-encrypt personal data and re-key every keyed hash under a new ``ONEVISIT_DATA_KEY``.

How an operator rotates (README "Reliability and security"):

1. set ``ONEVISIT_DATA_KEY`` to the new key and ``ONEVISIT_DATA_KEY_PREVIOUS`` to the old one, restart
   the servers: from then on they encrypt and hash with the new key and still read the old ciphertexts
   (``IdentityVault`` decrypts with either key, MultiFernet);
2. run ``onevisit keys rotate --old-key-env ONEVISIT_DATA_KEY_PREVIOUS``: rows are rewritten in batches,
   one transaction per batch, so the hall keeps working; a row already under the new key is skipped,
   so an interrupted run is simply started again;
3. keep ``ONEVISIT_DATA_KEY_PREVIOUS`` while complaints filed before the rotation may still be looked up
   (their look-up codes are known only to the complainant, so their hashes cannot be re-keyed; the
   vault's ``hash_matches`` accepts either key), then remove it.

Keyed hashes: a ticket's or appointment's ``id_hash`` is recomputed from the decrypted ID number (and
the appointment's claim rows follow it); a complaint's ``source_hash`` (the filing address, only used by
the form's one-day rate limit) cannot be recomputed and is cleared; pseudonyms left by the retention
purge are not keyed hashes and stay. The audit hash chain is keyed from the data key too: its links are
checked under the old (or, for events sealed since the restart, the new) key and re-linked under the
new key in one transaction, so ``onevisit audit verify`` passes with the new key alone.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.identity import IdentityVault
from hall_queue.domain.models import (
    Appointment,
    AppointmentClaim,
    AuditEvent,
    Complaint,
    Notification,
    PublicReply,
    Ticket,
)
from hall_queue.access.retention import PSEUDONYM_PREFIX

BATCH = 500
# Every encrypted column, by model; ``id_cipher`` also feeds the row's ``id_hash``.
ENCRYPTED: dict[type, tuple[str, ...]] = {
    Ticket: ("id_cipher", "phone_cipher"),
    Appointment: ("name_cipher", "id_cipher", "phone_cipher"),
    Complaint: ("target_person_cipher", "complainant_name_cipher", "contact_cipher"),
    Notification: ("phone_cipher",),
}


class RotationError(Exception):
    """The rotation cannot go on safely (wrong old key, broken audit chain)."""


@dataclass
class RotationReport:
    rows: dict[str, int] = field(default_factory=dict)  # rows rewritten per table
    fields: int = 0  # ciphertexts re-encrypted
    hashes: int = 0  # keyed hashes recomputed
    cleared_source_hashes: int = 0
    audit_links: int = 0
    undecryptable: int = 0  # ciphertexts neither key opens (reported, left alone)

    def add(self, other: RotationReport) -> None:
        for table, n in other.rows.items():
            self.rows[table] = self.rows.get(table, 0) + n
        for name in ("fields", "hashes", "cleared_source_hashes", "audit_links", "undecryptable"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {"rows": dict(self.rows), "fields": self.fields, "hashes": self.hashes,
                "cleared_source_hashes": self.cleared_source_hashes,
                "audit_links": self.audit_links, "undecryptable": self.undecryptable}


def _rotate_batch(session: Session, model: type, columns: tuple[str, ...], after_id: int, new: IdentityVault,
                  old: IdentityVault, batch: int) -> tuple[int | None, RotationReport]:
    """Rewrite one batch of ``model`` rows with id > ``after_id``; return (last id seen or None: done, counts)."""
    report = RotationReport()
    rows = session.scalars(select(model).where(model.id > after_id).order_by(model.id).limit(batch)).all()
    if not rows:
        return None, report
    for row in rows:
        changed = False
        for col in columns:
            token = getattr(row, col)
            if not token or new.is_current(token):
                continue
            try:
                plain = old.decrypt(token)
            except ValueError:
                report.undecryptable += 1
                continue
            setattr(row, col, new.encrypt(plain))
            report.fields += 1
            changed = True
            if col == "id_cipher" and hasattr(row, "id_hash") and not (row.id_hash or "").startswith(
                    PSEUDONYM_PREFIX):
                fresh = new.id_hash(plain)
                if row.id_hash != fresh:
                    if model is Appointment:
                        session.execute(update(AppointmentClaim).where(AppointmentClaim.appointment_id == row.id)
                                        .values(id_hash=fresh))
                    row.id_hash = fresh
                    report.hashes += 1
        if model is Complaint and row.source_hash is not None:
            row.source_hash = None
            report.cleared_source_hashes += 1
            changed = True
        if changed:
            report.rows[model.__tablename__] = report.rows.get(model.__tablename__, 0) + 1
    session.flush()
    return rows[-1].id, report


def _check_old_key(session: Session, new: IdentityVault, old: IdentityVault) -> None:
    """Refuse to start when the old key does not open a ciphertext that the new key does not open either."""
    for model, columns in ENCRYPTED.items():
        for col in columns:
            column = getattr(model, col)
            for token in session.scalars(select(column).where(column.is_not(None), column != "").limit(50)):
                if new.is_current(token):
                    continue
                try:
                    old.decrypt(token)
                except ValueError:
                    raise RotationError(f"the old key does not decrypt {model.__tablename__}.{col}; "
                                        "check --old-key-env") from None
                return


def relink_audit_chain(session: Session, old_secret: str, new_secret: str) -> int:
    """Check every sealed link under the old or new chain key, then re-link the chain under the new key.

    Runs in the caller's transaction; on PostgreSQL the table is locked so the duty loop cannot seal
    onto a link being rewritten (SQLite write transactions are already exclusive).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE"))
    old_key, new_key = audit.chain_key(old_secret), audit.chain_key(new_secret)
    stored_prev, new_prev, expected, changed = "genesis", "genesis", 1, 0
    for e in session.scalars(select(AuditEvent).where(AuditEvent.chain_seq.is_not(None))
                             .order_by(AuditEvent.chain_seq)).yield_per(1000):
        if e.chain_seq != expected:
            raise RotationError(f"audit chain link {expected} is missing; run `onevisit audit verify` first")
        # A link is genuine under the old key, or the new one (sealed since the servers restarted).
        if e.chain_hash not in (audit._link(old_key, stored_prev, e), audit._link(new_key, stored_prev, e)):
            raise RotationError(f"audit event {e.id} (link {e.chain_seq}) does not verify under either key")
        stored_prev = e.chain_hash
        fresh = audit._link(new_key, new_prev, e)
        if fresh != e.chain_hash:
            e.chain_hash = fresh
            changed += 1
        new_prev, expected = fresh, expected + 1
    return changed


def rotate(run_write: Callable[[Callable[[Session], Any]], Any], *, new_secret: str, old_secret: str,
           batch: int = BATCH, progress: Callable[[str], None] | None = None) -> RotationReport:
    """Re-encrypt every encrypted field and re-key every keyed hash from ``old_secret`` to ``new_secret``.

    ``run_write`` runs one function in one write transaction (``Database.run_write``). Idempotent.
    """
    if not new_secret or not old_secret:
        raise RotationError("both the new and the old key are needed")
    if new_secret == old_secret:
        raise RotationError("the new key equals the old key")
    new, old = IdentityVault(new_secret), IdentityVault(old_secret)
    run_write(lambda s: _check_old_key(s, new, old))
    report = RotationReport()
    for model, columns in ENCRYPTED.items():
        after: int | None = 0
        while after is not None:
            start = after
            # Counted after the commit: run_write may retry a batch after a conflict.
            after, counts = run_write(lambda s, m=model, c=columns, a=start: _rotate_batch(s, m, c, a, new, old,
                                                                                           batch))
            report.add(counts)
        if progress:
            progress(f"{model.__tablename__}: {report.rows.get(model.__tablename__, 0)} rows rewritten")
    report.add(run_write(lambda s: _rotate_replies(s, new, old)))
    report.audit_links = run_write(lambda s: relink_audit_chain(s, old_secret, new_secret))
    return report


def _rotate_replies(session: Session, new: IdentityVault, old: IdentityVault) -> RotationReport:
    """Re-encrypt the kept first answers to visitors' retried writes (``PublicReply``: a day's worth, keyed by
    scope and key rather than an id, so one pass): after the rotation the new key alone must replay them."""
    report = RotationReport()
    for row in session.scalars(select(PublicReply).where(PublicReply.body_cipher != "")):
        if new.is_current(row.body_cipher):
            continue
        try:
            row.body_cipher = new.encrypt(old.decrypt(row.body_cipher))
        except ValueError:
            report.undecryptable += 1
            continue
        report.fields += 1
        report.rows[PublicReply.__tablename__] = report.rows.get(PublicReply.__tablename__, 0) + 1
    return report

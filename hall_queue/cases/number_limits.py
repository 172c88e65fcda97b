"""The limit on look-ups by a typed acceptance number at the kiosk (统一出件, 001 §7.3).

Acceptance numbers run in sequence (``DEMO2026000001``, ``…002``), so a typed number must not become a
way to walk the hall's numbers and learn which results are ready. A look-up (or a handover ticket) by a
typed number alone is counted per device (the kiosk's token, or the staff member) and per client
address (its keyed hash, never the address itself) over ``NUMBER_LOOKUP_WINDOW_S``; past either limit
the answer is 429 with the message the kiosk shows. The receipt's QR code (128 random bits) and the ID
card are not limited: neither can be walked.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from hall_queue.domain.errors import DomainError
from hall_queue.domain.models import LookupHit
from hall_queue.domain.vocabulary import (
    NUMBER_LOOKUP_BUSY_MESSAGE,
    NUMBER_LOOKUP_WINDOW_S,
    NUMBER_LOOKUPS_PER_ADDRESS,
    NUMBER_LOOKUPS_PER_DEVICE,
)


class TooManyLookups(DomainError, status=429, code="too_many_lookups"):
    """A device or address typed too many numbers to look up; it waits (429)."""


def count_number_lookup(session: Session, *, device: str, address: str, now: datetime) -> None:
    """Count one look-up by a typed number; refuse it (429) when the device or the address is over its limit."""
    since = now - timedelta(seconds=NUMBER_LOOKUP_WINDOW_S)
    keys = (("device", device[:64], NUMBER_LOOKUPS_PER_DEVICE), ("address", address[:64], NUMBER_LOOKUPS_PER_ADDRESS))
    for scope, key, limit in keys:
        seen = session.scalar(select(func.count()).select_from(LookupHit)
                              .where(LookupHit.scope == scope, LookupHit.key == key, LookupHit.at > since)) or 0
        if seen >= limit:
            raise TooManyLookups(NUMBER_LOOKUP_BUSY_MESSAGE)
    # Hits older than the window count for nothing: this device's and address's go as new ones come.
    session.execute(delete(LookupHit).where(LookupHit.at <= since, or_(
        *[(LookupHit.scope == scope) & (LookupHit.key == key) for scope, key, _ in keys])))
    session.add_all([LookupHit(scope=scope, key=key, at=now) for scope, key, _ in keys])

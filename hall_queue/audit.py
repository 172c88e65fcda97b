"""Audit log: every staff and device action that changes the hall (004 §8.4)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who asks: a staff member (with role), a device (kiosk/screen/pad), or the system itself."""

    kind: str  # staff | kiosk | screen | pad | system
    id: int | None = None
    role: str | None = None  # admin | manager | clerk for staff
    hall_id: int | None = None
    window_id: int | None = None  # for window-bound devices

    @property
    def is_manager(self) -> bool:
        return self.kind == "staff" and self.role in ("admin", "manager")

    @property
    def is_system(self) -> bool:
        return self.kind == "system"


SYSTEM = Actor(kind="system")


def record(session: Session, *, actor: Actor, action: str, at: datetime, hall_id: int | None,
           ticket_id: int | None = None, window_id: int | None = None, **detail: Any) -> None:
    """Append one audit event to the current transaction."""
    session.add(AuditEvent(hall_id=hall_id, at=at, actor_kind=actor.kind, actor_id=actor.id, action=action,
                           ticket_id=ticket_id, window_id=window_id, detail=detail))

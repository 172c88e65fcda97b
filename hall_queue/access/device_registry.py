"""A hall's registered devices: kiosks, hall screens, window screens and rating pads (issue 13, finding 2).

Each device is one device token (``AccessToken`` of kind kiosk, screen or pad), named, listed,
revocable and rotatable. The token itself is returned once, when the device is registered or its
token rotated; only its SHA-256 is stored, so no listing can ever show it again. Rotation keeps the
device (its id, name and audit trail) and replaces the token: the old one is refused from then on.
A revocation or rotation committed in the serving process takes effect at once; one made by
another process (the ``onevisit device`` command) within the token cache's few seconds (auth.py).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.access.auth import issue_token, new_token, token_digest
from hall_queue.domain.errors import DomainError, InvalidRequest, NotFound
from hall_queue.domain.models import AccessToken, Hall, Window

# role → (token kind, bound to a window)
ROLES: dict[str, tuple[str, bool]] = {"kiosk": ("kiosk", False), "hall_screen": ("screen", False),
                                      "window_screen": ("screen", True), "pad": ("pad", True)}
ROLE_NAMES = {"kiosk": "自助取号机", "hall_screen": "大厅综合屏", "window_screen": "窗口屏", "pad": "评价器"}
DEVICE_KINDS = tuple(sorted({kind for kind, _ in ROLES.values()}))
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


def device_role(row: AccessToken) -> str:
    """The role of a device token: a screen bound to a window is that window's screen."""
    if row.kind == "screen":
        return "window_screen" if row.window_id is not None else "hall_screen"
    return row.kind


def device_view(row: AccessToken, window_numbers: dict[int, int]) -> dict[str, Any]:
    """What a listing shows of a device: never the token, never its hash."""
    return {"id": row.id, "role": device_role(row), "name": row.name, "window_id": row.window_id,
            "window_number": window_numbers.get(row.window_id) if row.window_id else None,
            "created_at": row.created_at.isoformat(), "revoked_at": row.revoked_at.isoformat() if row.revoked_at
            else None, "active": row.revoked_at is None}


def _window_numbers(session: Session, hall_id: int) -> dict[int, int]:
    return dict(session.execute(select(Window.id, Window.number).where(Window.hall_id == hall_id)).all())


def register_device(session: Session, hall: Hall, *, role: str, name: str, window_id: int | None = None,
                    now: datetime, actor: Actor) -> tuple[dict[str, Any], str]:
    """Register a device of the hall; return its listing entry and its token (shown this once)."""
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}", code="validation_error")
    kind, windowed = ROLES[role]
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise InvalidRequest("name: 1 to 100 characters", code="validation_error")
    if windowed:
        window = session.get(Window, window_id) if window_id else None
        if window is None or window.hall_id != hall.id:
            raise NotFound("window not found in this hall")
    elif window_id is not None:
        raise InvalidRequest(f"a {role} belongs to the hall, not to a window", code="validation_error")
    token = issue_token(session, kind=kind, hall_id=hall.id, window_id=window_id if windowed else None, now=now,
                        name=name)
    row = session.scalar(select(AccessToken).where(AccessToken.token_hash == token_digest(token)))
    audit.record(session, actor=actor, action="device.register", at=now, hall_id=hall.id,
                 window_id=row.window_id, device_id=row.id, role=role)
    return device_view(row, _window_numbers(session, hall.id)), token


def list_devices(session: Session, hall: Hall) -> list[dict[str, Any]]:
    """The hall's devices, those in service first, then revoked ones (kept for the record)."""
    rows = session.scalars(select(AccessToken).where(AccessToken.hall_id == hall.id,
                                                     AccessToken.kind.in_(DEVICE_KINDS))
                           .order_by(AccessToken.revoked_at.is_not(None), AccessToken.id)).all()
    numbers = _window_numbers(session, hall.id)
    return [device_view(r, numbers) for r in rows]


def get_device(session: Session, device_id: int) -> AccessToken:
    row = session.get(AccessToken, device_id)
    if row is None or row.kind not in DEVICE_KINDS:
        raise NotFound(f"device {device_id} not found")
    return row


def revoke_device(session: Session, row: AccessToken, *, now: datetime, actor: Actor) -> dict[str, Any]:
    """Take a device out of service: its token is refused from now on (a second call changes nothing)."""
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
        audit.record(session, actor=actor, action="device.revoke", at=now, hall_id=row.hall_id,
                     window_id=row.window_id, device_id=row.id, role=device_role(row))
    return device_view(row, _window_numbers(session, row.hall_id))


def rotate_device(session: Session, row: AccessToken, *, now: datetime, actor: Actor) -> tuple[dict[str, Any], str]:
    """Give a device a new token (shown once); the old one is refused from now on."""
    if row.revoked_at is not None:
        raise DomainError("this device is revoked; register it again", code="device_revoked")
    token = new_token(row.kind)
    row.token_hash = token_digest(token)
    session.flush()
    audit.record(session, actor=actor, action="device.rotate", at=now, hall_id=row.hall_id, window_id=row.window_id,
                 device_id=row.id, role=device_role(row))
    return device_view(row, _window_numbers(session, row.hall_id)), token


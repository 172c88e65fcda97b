"""Staff passwords and bearer tokens (staff logins and device tokens), stored only as hashes."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .audit import Actor
from .errors import Unauthorized
from .models import ROLES, AccessToken, Staff

_hasher = PasswordHasher()
STAFF_TOKEN_TTL = timedelta(hours=12)
DEVICE_KINDS = ("kiosk", "screen", "pad")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_staff(session: Session, *, username: str, password: str, role: str, display_name: str,
                 hall_id: int | None, employee_no: str = "", password_hash: str | None = None) -> Staff:
    """Add a staff member; ``password_hash`` lets a loader reuse one hash for many accounts."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise ValueError(f"username {username!r} is taken")
    staff = Staff(username=username, password_hash=password_hash or hash_password(password), role=role,
                  display_name=display_name,
                  hall_id=hall_id, employee_no=employee_no)
    session.add(staff)
    session.flush()
    return staff


def issue_token(session: Session, *, kind: str, hall_id: int | None, now: datetime, staff_id: int | None = None,
                window_id: int | None = None, name: str = "", ttl: timedelta | None = None) -> str:
    """Create a bearer token and store only its SHA-256; return the token once."""
    token = secrets.token_urlsafe(32)
    session.add(AccessToken(kind=kind, hall_id=hall_id, staff_id=staff_id, window_id=window_id, name=name,
                            token_hash=token_digest(token), created_at=now,
                            expires_at=now + ttl if ttl is not None else None))
    session.flush()
    return token


def login(session: Session, username: str, password: str, *, now: datetime) -> tuple[Staff, str]:
    """Check a staff password and return a fresh 12-hour token."""
    staff = session.scalar(select(Staff).where(Staff.username == username))
    if staff is None or not staff.active or not verify_password(staff.password_hash, password):
        raise Unauthorized("wrong username or password", code="bad_credentials")
    token = issue_token(session, kind="staff", hall_id=staff.hall_id, staff_id=staff.id, now=now,
                        ttl=STAFF_TOKEN_TTL, name=f"login {staff.username}")
    audit.record(session, actor=Actor("staff", staff.id, staff.role, staff.hall_id), action="staff.login", at=now,
                 hall_id=staff.hall_id)
    return staff, token


@dataclass(frozen=True)
class Principal:
    actor: Actor
    token_id: int


def authenticate(session: Session, token: str, *, now: datetime) -> Principal:
    """Resolve a bearer token to the actor it stands for."""
    row = session.scalar(select(AccessToken).where(AccessToken.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise Unauthorized("invalid, expired or revoked token", code="bad_token")
    if row.kind == "staff":
        staff = row.staff
        if staff is None or not staff.active:
            raise Unauthorized("staff account disabled", code="bad_token")
        return Principal(Actor("staff", staff.id, staff.role, staff.hall_id), row.id)
    return Principal(Actor(row.kind, row.id, None, row.hall_id, row.window_id), row.id)


def revoke_token(session: Session, token_id: int, *, now: datetime) -> None:
    row = session.get(AccessToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now

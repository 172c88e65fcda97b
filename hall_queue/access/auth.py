"""Staff passwords and bearer tokens (staff logins and device tokens), stored only as hashes."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.infrastructure.cache import MISSING, TtlCache
from hall_queue.domain.errors import DomainError, Unauthorized
from hall_queue.domain.models import ROLES, AccessToken, LoginAttempt, Staff
from hall_queue.domain.vocabulary import INTEGRATION_TOKEN_KIND

_hasher = PasswordHasher()
STAFF_TOKEN_TTL = timedelta(hours=12)
DEVICE_KINDS = ("kiosk", "screen", "pad")
_TOKEN_PREFIX = {"kiosk": "ki", "screen": "sc", "pad": "pd", "staff": "st", INTEGRATION_TOKEN_KIND: "ap"}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    # surrogatepass: a token holding a lone surrogate (a Socket.IO auth payload may carry one) digests to
    # what no stored token has, so it is refused as unknown instead of failing to encode.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


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


def new_token(kind: str) -> str:
    """A fresh random token of a kind (only its SHA-256 is ever stored)."""
    # A fixed prefix per kind ("ovki_" kiosk, "ovsc_" screen, "ovpd_" rating pad, "ovst_" staff): a
    # token never starts with "-", which a command line (`onevisit kiosk --token …`) would take for
    # an option, and a leaked token is easy to recognise in logs and secret scanners.
    return f"ov{_TOKEN_PREFIX.get(kind, 'xx')}_{secrets.token_urlsafe(32)}"


def issue_token(session: Session, *, kind: str, hall_id: int | None, now: datetime, staff_id: int | None = None,
                window_id: int | None = None, name: str = "", ttl: timedelta | None = None) -> str:
    """Create a bearer token and store only its SHA-256; return the token once."""
    token = new_token(kind)
    session.add(AccessToken(kind=kind, hall_id=hall_id, staff_id=staff_id, window_id=window_id, name=name,
                            token_hash=token_digest(token), created_at=now,
                            expires_at=now + ttl if ttl is not None else None))
    session.flush()
    return token


def check_password(session: Session, username: str, password: str) -> int:
    """Verify a staff password and return the staff id; raise Unauthorized otherwise.

    Run it in a *read* session: the KDF takes tens of milliseconds on purpose, and must not hold
    the write lock that every kiosk and clerk of the hall is waiting on.
    """
    staff = session.scalar(select(Staff).where(Staff.username == username))
    if staff is None or not staff.active or not verify_password(staff.password_hash, password):
        raise Unauthorized("wrong username or password", code="bad_credentials")
    return staff.id


def start_session(session: Session, staff_id: int, *, now: datetime) -> tuple[Staff, str]:
    """Issue a fresh 12-hour token for a staff member whose password was just checked."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise Unauthorized("wrong username or password", code="bad_credentials")
    token = issue_token(session, kind="staff", hall_id=staff.hall_id, staff_id=staff.id, now=now,
                        ttl=STAFF_TOKEN_TTL, name=f"login {staff.username}")
    audit.record(session, actor=Actor("staff", staff.id, staff.role, staff.hall_id), action="staff.login", at=now,
                 hall_id=staff.hall_id)
    return staff, token


def login(session: Session, username: str, password: str, *, now: datetime) -> tuple[Staff, str]:
    """Check a staff password and return a fresh 12-hour token (one session; see check_password)."""
    return start_session(session, check_password(session, username, password), now=now)


@dataclass(frozen=True)
class Principal:
    actor: Actor
    token_id: int


# Every API request resolves its token: one statement built once, staff joined in (see routing.py on why).
_TOKEN = (select(AccessToken.id, AccessToken.kind, AccessToken.hall_id, AccessToken.window_id, AccessToken.expires_at,
                 AccessToken.revoked_at, AccessToken.staff_id, Staff.role, Staff.hall_id, Staff.active)
          .outerjoin(Staff, Staff.id == AccessToken.staff_id)
          .where(AccessToken.token_hash == bindparam("digest")))


# Tokens resolved in the last few seconds, per database (cache.py): a kiosk sends the same token with
# every ticket, and resolving it was a sixth of the cost of issuing one. A revocation, logout or staff
# change committed in this process takes effect at once; one made by another process within the TTL.
PRINCIPAL_TTL_S = 3.0
_principals = TtlCache(PRINCIPAL_TTL_S, {AccessToken.__tablename__, Staff.__tablename__})


def cached_principal(bind: Any, token: str, *, now: datetime) -> Principal | None:
    """The principal of a token authenticated lately through ``bind`` (an engine), if still kept; else None.

    Every kiosk and console request authenticates first: a kept token needs no session (issue 19)."""
    hit = _principals.peek(bind, token_digest(token))
    if hit is not MISSING and (hit[1] is None or hit[1] > now):
        return hit[0]
    return None


def authenticate(session: Session, token: str, *, now: datetime) -> Principal:
    """Resolve a bearer token to the actor it stands for."""
    digest = token_digest(token)
    hit = _principals.get(session, digest)
    if hit is not MISSING and (hit[1] is None or hit[1] > now):
        return hit[0]
    row = session.connection().execute(_TOKEN, {"digest": digest}).first()
    if row is None:
        raise Unauthorized("invalid, expired or revoked token", code="bad_token")
    token_id, kind, hall_id, window_id, expires_at, revoked_at, staff_id, role, staff_hall_id, active = row
    if revoked_at is not None or (expires_at is not None and expires_at <= now):
        raise Unauthorized("invalid, expired or revoked token", code="bad_token")
    if kind == "staff":
        if staff_id is None or role is None or not active:
            raise Unauthorized("staff account disabled", code="bad_token")
        principal = Principal(Actor("staff", staff_id, role, staff_hall_id), token_id)
    else:
        principal = Principal(Actor(kind, token_id, None, hall_id, window_id), token_id)
    _principals.put(session, digest, (principal, expires_at))
    return principal


def revoke_token(session: Session, token_id: int, *, now: datetime) -> None:
    row = session.get(AccessToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


# ---------------------------------------------------------------- login throttling (lock-out)
# Five wrong passwords for one username within 15 minutes lock that username for 15 minutes. A
# hall's clerks often share one outgoing address, so an address is locked only after more failures.
LOGIN_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20


class LockedOut(DomainError, status=429, code="locked_out"):
    """Too many failed logins; the next try waits a few minutes (429)."""


def _norm_user(username: str) -> str:
    return username.strip().lower()[:64]


def _lock_until(session: Session, column, value: str, outcome: str, now: datetime) -> datetime | None:
    started = session.scalar(select(LoginAttempt.at).where(column == value, LoginAttempt.outcome == outcome,
                                                           LoginAttempt.at > now - LOCKOUT)
                             .order_by(LoginAttempt.at.desc()).limit(1))
    return started + LOCKOUT if started is not None else None


def check_login_allowed(session: Session, username: str, ip: str, *, now: datetime) -> None:
    """Refuse a login try while its username or client address is locked out."""
    until = [t for t in (_lock_until(session, LoginAttempt.username, _norm_user(username), "locked_user", now),
                         _lock_until(session, LoginAttempt.ip, ip, "locked_ip", now) if ip else None) if t]
    if until:
        minutes = max(1, int((max(until) - now).total_seconds() + 59) // 60)
        raise LockedOut(f"too many failed logins; try again in {minutes} minute(s)")


def _failures_since(session: Session, column, value: str, since: datetime) -> int:
    """Wrong passwords since ``since``; a check under way ("pending") counts as one until it is settled."""
    return len(session.scalars(select(LoginAttempt.id).where(column == value,
                                                              LoginAttempt.outcome.in_(("failed", "pending")),
                                                              LoginAttempt.at > since)).all())


def _serialise_logins(session: Session, user: str) -> None:
    """Make the reservation of a password check for ``user`` atomic across processes.

    SQLite: every write transaction already starts with BEGIN IMMEDIATE (db.py), one at a time.
    PostgreSQL: a transaction-scoped advisory lock per username.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"onevisit-login:{user}"})


def begin_login_attempt(session: Session, username: str, ip: str, *, now: datetime) -> int:
    """Reserve one password check for ``username`` (a write session); return the attempt's id.

    Raise LockedOut when the username or address is locked, or when wrong passwords and checks under
    way already reach the limit: 40 parallel tries for one username get at most MAX_FAILURES_PER_USER
    password checks (issue 13, finding 7). Settle it with record_login_failure / record_login_success.
    """
    user = _norm_user(username)
    _serialise_logins(session, user)
    check_login_allowed(session, username, ip, now=now)
    since_user = max(t for t in (now - LOGIN_WINDOW, _last(session, LoginAttempt.username, user,
                                                           ("ok", "locked_user"))) if t is not None)
    if _failures_since(session, LoginAttempt.username, user, since_user) >= MAX_FAILURES_PER_USER:
        raise LockedOut("too many failed logins; try again in a few minutes")
    attempt = LoginAttempt(at=now, username=user, ip=ip, outcome="pending")
    session.add(attempt)
    session.flush()
    return attempt.id


def drop_login_attempt(session: Session, attempt_id: int) -> None:
    """Forget a reservation whose password was never checked (a malformed request)."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id, LoginAttempt.outcome == "pending"))


def _settle(session: Session, attempt_id: int | None, outcome: str, staff_id: int | None) -> bool:
    """Turn a reserved attempt into its outcome; False when there was none to settle."""
    if attempt_id is None:
        return False
    row = session.get(LoginAttempt, attempt_id)
    if row is None or row.outcome != "pending":
        return False
    row.outcome, row.staff_id = outcome, staff_id
    return True


def _last(session: Session, column, value: str, outcomes: tuple[str, ...]) -> datetime | None:
    return session.scalar(select(LoginAttempt.at).where(column == value, LoginAttempt.outcome.in_(outcomes))
                          .order_by(LoginAttempt.at.desc()).limit(1))


def record_login_failure(session: Session, username: str, ip: str, *, now: datetime,
                         attempt_id: int | None = None) -> bool:
    """Count a wrong password (audited); start a lock-out when the limit is reached. Return True if locked."""
    user = _norm_user(username)
    staff = session.scalar(select(Staff).where(Staff.username == username))
    actor = Actor("staff", staff.id, staff.role, staff.hall_id) if staff else audit.SYSTEM
    hall_id = staff.hall_id if staff else None
    if not _settle(session, attempt_id, "failed", staff.id if staff else None):
        session.add(LoginAttempt(at=now, username=user, ip=ip, outcome="failed",
                                 staff_id=staff.id if staff else None))
    session.flush()
    audit.record(session, actor=actor, action="staff.login_failed", at=now, hall_id=hall_id, username=user, ip=ip)
    locked = False
    since_user = max(t for t in (now - LOGIN_WINDOW, _last(session, LoginAttempt.username, user,
                                                           ("ok", "locked_user"))) if t is not None)
    if _failures_since(session, LoginAttempt.username, user, since_user) >= MAX_FAILURES_PER_USER:
        session.add(LoginAttempt(at=now, username=user, ip=ip, outcome="locked_user"))
        audit.record(session, actor=actor, action="staff.lockout", at=now, hall_id=hall_id, username=user, ip=ip,
                     scope="username", minutes=int(LOCKOUT.total_seconds() // 60))
        locked = True
    if ip:
        since_ip = max(t for t in (now - LOGIN_WINDOW, _last(session, LoginAttempt.ip, ip, ("locked_ip",)))
                       if t is not None)
        if _failures_since(session, LoginAttempt.ip, ip, since_ip) >= MAX_FAILURES_PER_IP:
            session.add(LoginAttempt(at=now, username=user, ip=ip, outcome="locked_ip"))
            audit.record(session, actor=actor, action="staff.lockout", at=now, hall_id=hall_id, username=user,
                         ip=ip, scope="address", minutes=int(LOCKOUT.total_seconds() // 60))
            locked = True
    return locked


def record_login_success(session: Session, staff: Staff, ip: str, *, now: datetime,
                         attempt_id: int | None = None) -> None:
    """Note a good login: the username's failure count starts again from here."""
    if not _settle(session, attempt_id, "ok", staff.id):
        session.add(LoginAttempt(at=now, username=_norm_user(staff.username), ip=ip, outcome="ok",
                                 staff_id=staff.id))

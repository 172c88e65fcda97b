"""Staff login, one workflow for the API and the login page: throttle, check the password, open a session.

The steps are separate transactions on purpose: the password check is *reserved* first in a write
transaction (so forty parallel tries for one account get at most ``MAX_FAILURES_PER_USER`` checks), the
KDF then runs outside the writer lock (it takes tens of milliseconds by design), and the outcome is
recorded in a last write transaction (a wrong password counts towards the lock-out, a good one opens a
12-hour session).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hall_queue.access.auth import (
    begin_login_attempt,
    check_password,
    drop_login_attempt,
    record_login_failure,
    record_login_success,
    start_session,
)
from hall_queue.domain.clock import Clock
from hall_queue.domain.errors import Unauthorized


class WrongPassword(Unauthorized):
    """The username or password is wrong; ``locked`` tells whether this try started a lock-out."""

    def __init__(self, message: str, *, locked: bool) -> None:
        super().__init__(message, code="bad_credentials")
        self.locked = locked


@dataclass(frozen=True)
class LoggedIn:
    token: str
    staff: dict[str, Any]  # id, username, role, display_name, hall_id

    @property
    def role(self) -> str:
        return self.staff["role"]


def log_in(db: Any, username: str, password: str, ip: str, *, clock: Clock) -> LoggedIn:
    """Log a staff member in; raise ``LockedOut`` (429) or ``WrongPassword`` (401).

    ``db`` is the app's ``infrastructure.db.Database``; ``ip`` the client address as the trusted proxies
    tell it (an attacker's address is locked, not every login behind the same nginx).
    """
    try:
        username.encode()  # a lone surrogate ("\ud800") names no user: answer without asking the database
    except UnicodeEncodeError as e:
        raise WrongPassword("wrong username or password", locked=False) from e
    attempt = db.run_write(lambda s: begin_login_attempt(s, username, ip, now=clock.now()))
    try:
        with db.read() as s:
            staff_id = check_password(s, username, password)
    except Unauthorized as e:
        locked = db.run_write(lambda s: record_login_failure(s, username, ip, now=clock.now(), attempt_id=attempt))
        raise WrongPassword("wrong username or password", locked=locked) from e
    except BaseException:
        db.run_write(lambda s: drop_login_attempt(s, attempt))
        raise

    def open_session(s) -> LoggedIn:
        staff, token = start_session(s, staff_id, now=clock.now())
        record_login_success(s, staff, ip, now=clock.now(), attempt_id=attempt)
        return LoggedIn(token, {"id": staff.id, "username": staff.username, "role": staff.role,
                                "display_name": staff.display_name, "hall_id": staff.hall_id})
    return db.run_write(open_session)

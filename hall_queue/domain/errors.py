"""Typed domain errors; the API turns each into a 4xx with ``{"error": {"code", "message"}}``."""
from __future__ import annotations


class DomainError(Exception):
    """A rule of the hall said no. ``status`` is the HTTP status the API answers with.

    A kind of refusal is declared in one line, ``class SlotFull(DomainError, status=409, code="slot_full")``;
    a subclass that names neither keeps its parent's.
    """

    status = 409
    code = "conflict"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None, **kw: object) -> None:
        super().__init_subclass__(**kw)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class NotFound(DomainError, status=404, code="not_found"):
    """What the request names does not exist (in the caller's hall)."""


class InvalidRequest(DomainError, status=422, code="invalid"):
    """The request breaks a rule of its own fields (a bad value, a missing choice)."""


class WrongState(DomainError, status=409, code="wrong_state"):
    """A transition the ticket or window is not in a state to make (e.g. finishing an uncalled ticket)."""


class Forbidden(DomainError, status=403, code="forbidden"):
    """The caller is known but may not do this."""


class Unauthorized(DomainError, status=401, code="unauthorized"):
    """The caller is not signed in, or its sign-in is no longer valid."""


class QueueClosed(DomainError, status=409, code="queue_closed"):
    """No ticket that cannot be served today: hall closed or daily cap reached."""

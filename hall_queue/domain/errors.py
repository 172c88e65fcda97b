"""Typed domain errors; the API turns each into a 4xx with ``{"error": {"code", "message"}}``."""
from __future__ import annotations


class DomainError(Exception):
    """A rule of the hall said no. ``status`` is the HTTP status the API answers with."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class NotFound(DomainError):
    status = 404
    code = "not_found"


class InvalidRequest(DomainError):
    status = 422
    code = "invalid"


class WrongState(DomainError):
    """A transition the ticket or window is not in a state to make (e.g. finishing an uncalled ticket)."""

    status = 409
    code = "wrong_state"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class QueueClosed(DomainError):
    """No ticket that cannot be served today: hall closed or daily cap reached."""

    status = 409
    code = "queue_closed"

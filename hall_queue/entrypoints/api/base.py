"""Shared pieces of the API modules: the blueprint, the ``operation`` declaration, write helper, lookups."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.domain.vocabulary import MANAGER_ROLES, MAX_ID, STAFF_ROLES
from hall_queue.access.audit import Actor
from hall_queue.access.auth import (
    Principal,
    authenticate,
    cached_principal,
)
from hall_queue.domain.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Hall, Ticket
from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.api.registry import OPERATIONS, Operation, not_json
from hall_queue.entrypoints.web_session import SAFE_METHODS, csrf_matches, session_principal

bp = Blueprint("api", __name__, url_prefix="/api/v1")

STAFF = STAFF_ROLES
MANAGERS = MANAGER_ROLES
def _request_principal() -> Principal:
    """Authenticate by ``Authorization: Bearer`` or, for staff pages, the session cookie (+ X-CSRF-Token)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and header[7:].strip():
        rt = runtime()
        token, at = header[7:].strip(), rt.clock.now()
        kept = cached_principal(rt.db.reader, token, now=at)
        if kept is not None:
            return kept
        with rt.db.read() as s:
            return authenticate(s, token, now=at)
    principal = session_principal() if not header else None
    if principal is None:
        raise Unauthorized("send Authorization: Bearer <token> or log in", code="unauthorized")
    if request.method not in SAFE_METHODS and not csrf_matches(request.headers.get("X-CSRF-Token")):
        raise Forbidden("send the page's CSRF token in X-CSRF-Token", code="csrf_failed")
    return principal


def role_of(actor: Actor) -> str:
    return actor.role if actor.kind == "staff" and actor.role else actor.kind


def _holds_nul(value: Any) -> bool:
    """Whether a JSON value holds U+0000 in a string (a key or a value, at any depth).

    Why: PostgreSQL's text cannot store it — a pause reason or a consultation with one was a 500 there, while SQLite
    took it; no field of the API has a use for it. (The depth is bounded by ``request_limits.MAX_JSON_DEPTH``.)
    """
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def operation(path: str, method: str, *, roles: tuple[str, ...], summary: str, body: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, status: int = 200, tags: tuple[str, ...] = (),
              headers: dict[str, dict[str, Any]] | None = None, errors: tuple[int, ...] = ()):
    """Declare an API operation: route, roles allowed, body schema and answer schema."""

    def deco(fn: Callable[..., Any]):
        @functools.wraps(fn)
        def view(**kwargs: Any):
            if "public" not in roles:
                principal = _request_principal()
                g.actor = principal.actor
                g.token_id = principal.token_id
                if role_of(g.actor) not in roles:
                    raise Forbidden(f"a {role_of(g.actor)} may not {summary[0].lower() + summary[1:]}")
            else:
                g.actor = None
            for name, value in kwargs.items():
                if isinstance(value, int) and not 0 < value <= MAX_ID:
                    raise NotFound(f"{name.removesuffix('_id')} {value} not found")
            if body is not None:
                data = request.get_json(silent=True)
                if data is None:
                    if request.get_data(cache=True).strip():
                        return not_json()
                    data = {}
                if not isinstance(data, dict):
                    return not_json()
                if _holds_nul(data):
                    raise InvalidRequest("text may not contain the NUL character (U+0000)", code="validation_error")
                kwargs["body"] = body.model_validate(data)
            result = fn(**kwargs)
            if isinstance(result, Response):
                return result
            if isinstance(result, tuple):
                return jsonify(result[0]), result[1]
            return jsonify(result), status

        endpoint = fn.__name__
        bp.add_url_rule(path, endpoint, view, methods=[method])
        OPERATIONS.append(Operation(path, method, endpoint, summary, roles, body, response, status, tags,
                                    headers=headers or {}, errors=errors))
        return view

    return deco


def write(fn: Callable[[Session], tuple[Any, list[DomainEvent]]], *, grouped: bool = False,
          issues_only: bool = False) -> Any:
    """Run a domain change in one write transaction, commit, then publish its events.

    ``grouped``: one of the hall's short hot writes (a ticket issued, a call, a finish), which may share its
    commit with others arriving together (PostgreSQL group commit, ``db._WriteGroup``). A long write (an import,
    a bulk change) stays alone: in a group it would hold up every kiosk and clerk of the process.
    ``issues_only``: the write only issues tickets, which leaves the kept wait reads standing (``Database.changes``)."""
    rt = runtime()
    result, events = rt.db.run_write(fn, grouped=grouped, issues_only=issues_only)
    rt.publish(events)
    return result


def now():
    return runtime().clock.now()


def choice_arg(name: str, allowed: tuple[str, ...]) -> str | None:
    """The query argument ``name``, one of ``allowed`` (None when absent or empty): a filter that would silently
    list everything, or nothing, for a typo is a 422 instead."""
    raw = request.args.get(name) or None
    if raw is not None and raw not in allowed:
        raise InvalidRequest(f"{name} must be one of {', '.join(allowed)}", code="validation_error")
    return raw


def get_row(session: Session, model: type, ident: int, what: str, *, hall_of: Callable[[Any], int] | None = None,
            options: tuple = (), load: Callable[[Session, int], Any] | None = None):
    row = load(session, ident) if load is not None else session.get(model, ident, options=options)
    actor: Actor | None = g.get("actor")
    hall_id = hall_of(row) if (row is not None and hall_of) else getattr(row, "hall_id", None)
    if row is None or (actor is not None and actor.hall_id is not None and hall_id != actor.hall_id):
        raise NotFound(f"{what} {ident} not found")
    return row


def get_followed_ticket(session: Session, code: str) -> Ticket:
    """The ticket whose slip carries this follow code (the QR's secret, at most 64 characters)."""
    ticket = session.scalar(select(Ticket).where(Ticket.follow_code == code[:64])) if len(code) <= 64 else None
    if ticket is None:
        raise NotFound("no ticket with this code")
    return ticket


def get_hall(session: Session, hall_id: int) -> Hall:
    hall = session.get(Hall, hall_id)
    actor: Actor | None = g.get("actor")
    if hall is None or (actor is not None and actor.hall_id is not None and actor.hall_id != hall_id):
        raise NotFound(f"hall {hall_id} not found")
    return hall


def get_hall_settings(session: Session, hall_id: int):
    """Like ``get_hall`` but a plain read-only row (halls.hall_settings), for the hot paths."""
    from hall_queue.infrastructure.hall_store import hall_settings

    hall = hall_settings(session, hall_id)
    actor: Actor | None = g.get("actor")
    if hall is None or (actor is not None and actor.hall_id is not None and actor.hall_id != hall_id):
        raise NotFound(f"hall {hall_id} not found")
    return hall


def window_device_guard(window_id: int) -> None:
    actor: Actor | None = g.get("actor")
    if actor is not None and actor.window_id is not None and actor.window_id != window_id:
        raise Forbidden("this device belongs to another window")



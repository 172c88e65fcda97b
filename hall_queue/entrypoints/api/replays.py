"""A retried write is not done twice: sent again with the same ``Idempotency-Key``, it gets the first answer back
(200) instead of a second filing. The one rule for the header, its OpenAPI spec and the replay of a kept answer.

Ticket issue reads the key here too, but its replay is the ticket itself (``queueing/ticketing.py``: the key is a
ticket column, looked up with the number's bump). Other writes keep their first answer in a row of their own:

* a visitor's complaint, online question or booking (``visitor``): the public forms send a one-use token rendered
  with the form as their key, so a double click files once. The first answer holds the look-up or confirmation
  code, so it is kept encrypted, and for a day: a retry comes within seconds, and a key is not a way to read a
  code back later (``PublicReply``, purged by ``access/retention.py``, re-encrypted by ``access/keys.py``);
* an integration token's case write (``integration``): the answer is the case as the token may read it, kept per
  token (``IdempotentReply``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from flask import request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.access.retention import INTEGRATION_REPLY_KEPT, PUBLIC_REPLY_KEPT
from hall_queue.bootstrap import runtime
from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.models import IdempotentReply, PublicReply
from hall_queue.entrypoints.api.base import write

IDEMPOTENCY = {"Idempotency-Key": {"type": "string", "minLength": 1, "maxLength": 100,
                                   "description": "a retry with the same key and body replays the first answer "
                                                  "(200); the same key with another body is refused "
                                                  "(422 idempotency_key_reused)"}}


def header_key() -> str | None:
    """The request's ``Idempotency-Key``, or None; 1 to 100 characters."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 100:
        raise InvalidRequest("Idempotency-Key must be 1 to 100 characters", code="validation_error")
    return key


def form_key(token: str, payload: str) -> str | None:
    """A form's key: its one-use token with what was filled in (the page sent back and edited is a new filing)."""
    token = (token or "").strip()[:40]
    return f"form:{token}:{hashlib.sha256(payload.encode()).hexdigest()[:40]}" if token else None


@dataclass(frozen=True)
class Kept:
    """Where the first answers to one caller's keys are kept, and how."""

    model: type[PublicReply] | type[IdempotentReply]
    owner: dict[str, Any]  # the column naming whose keys these are, first in the row's primary key
    blank: dict[str, Any]  # the answer's columns while the first write runs
    seal: Callable[[Any], dict[str, Any]]  # the answer's columns once it is written
    unseal: Callable[[Any], Any]  # the answer, from its row
    lasts: timedelta | None = None  # older rows of the owner's are cleared on the way (None: kept)


def visitor(scope: str) -> Kept:
    """A visitor's writes in ``scope`` ("complaint:3": the write and the hall), encrypted and kept a day."""
    vault = runtime().vault
    return Kept(PublicReply, {"scope": scope}, {"body_cipher": ""},
                lambda answer: {"body_cipher": vault.encrypt(json.dumps(answer, ensure_ascii=False, default=str))},
                lambda row: json.loads(vault.decrypt(row.body_cipher)), lasts=PUBLIC_REPLY_KEPT)


def integration(token_id: int) -> Kept:
    """An integration token's writes, kept as they were answered, for a week."""
    return Kept(IdempotentReply, {"token_id": token_id}, {"status": 0, "body": {}},
                lambda answer: {"status": 200, "body": answer}, lambda row: row.body, lasts=INTEGRATION_REPLY_KEPT)


def once(do: Callable[[Session], tuple[Any, list]], *, kept: Kept, key: str | None,
         payload: str | bytes) -> tuple[Any, bool]:
    """Run the write ``do`` once per key of ``kept``'s owner: return (answer, replayed).

    The key's row goes in first, so a duplicate arriving at the same moment waits for the first to commit, then
    replays its answer; a first write refused rolls its row back with it, and a retry tries again. The same key
    with another ``payload`` is refused.
    """
    if key is None:
        return write(do), False
    clock = runtime().clock
    digest = hashlib.sha256(payload.encode() if isinstance(payload, str) else payload).hexdigest()
    model, ((column, owner),) = kept.model, kept.owner.items()
    ident = (owner, key)
    replayed = False

    def claim(s: Session):
        nonlocal replayed
        at = clock.now()
        if kept.lasts is not None:
            s.execute(delete(model).where(getattr(model, column) == owner, model.created_at < at - kept.lasts))
        prev = s.get(model, ident)
        if prev is None:
            try:
                with s.begin_nested():
                    s.add(model(**kept.owner, key=key, request_hash=digest, created_at=at, **kept.blank))
            except IntegrityError:  # the same key, in flight: its row is committed now
                prev = s.get(model, ident, populate_existing=True)
        replayed = prev is not None
        if prev is not None:
            if prev.request_hash != digest:
                raise InvalidRequest("this Idempotency-Key was used for another request",
                                     code="idempotency_key_reused")
            return kept.unseal(prev), []
        answer, events = do(s)
        row = s.get(model, ident)
        for name, value in kept.seal(answer).items():
            setattr(row, name, value)
        return answer, events

    return write(claim), replayed

"""A visitor's retried write is not done twice: a complaint, an online question or a booking sent again with the
same ``Idempotency-Key`` gets the first answer back (200) instead of a second filing, as a kiosk's ticket does.

The public forms send a one-use token rendered with the form as their key, so a double click files once. The
first answer (it holds the look-up or confirmation code) is kept encrypted for a day: a retry comes within
seconds, and a key is not a way to read a code back later.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from flask import request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hall_queue.access.retention import PUBLIC_REPLY_KEPT
from hall_queue.bootstrap import runtime
from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.models import PublicReply
from hall_queue.entrypoints.api.base import write

IDEMPOTENCY = {"Idempotency-Key": {"type": "string", "minLength": 1, "maxLength": 100,
                                   "description": "a retry with the same key and body replays the first answer "
                                                  "(200); the same key with another body is refused "
                                                  "(422 idempotency_key_reused)"}}
_REPLAY = "__replay__"


def header_key() -> str | None:
    """The request's ``Idempotency-Key``, or None; 1 to 100 characters (as ticket issue takes it)."""
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


def once(do: Callable[[Session], tuple[Any, list]], *, scope: str, key: str | None,
         payload: str) -> tuple[Any, bool]:
    """Run the write ``do`` once per (``scope``, ``key``): return (answer, replayed).

    The key's row goes in first, so a duplicate arriving at the same moment waits for the first to commit, then
    replays its answer; a first write refused rolls its row back with it, and a retry tries again.
    """
    if key is None:
        return write(do), False
    rt = runtime()
    digest = hashlib.sha256(payload.encode()).hexdigest()

    def claim(s: Session):
        at = rt.clock.now()
        s.execute(delete(PublicReply).where(PublicReply.scope == scope, PublicReply.created_at < at - PUBLIC_REPLY_KEPT))
        prev = s.get(PublicReply, (scope, key))
        if prev is None:
            try:
                with s.begin_nested():
                    s.add(PublicReply(scope=scope, key=key, request_hash=digest, body_cipher="", created_at=at))
            except IntegrityError:  # the same key, in flight: its row is committed now
                prev = s.get(PublicReply, (scope, key), populate_existing=True)
        if prev is not None:
            if prev.request_hash != digest:
                raise InvalidRequest("this Idempotency-Key was used for another request",
                                     code="idempotency_key_reused")
            return {_REPLAY: json.loads(rt.vault.decrypt(prev.body_cipher))}, []
        answer, events = do(s)
        row = s.get(PublicReply, (scope, key))
        row.body_cipher = rt.vault.encrypt(json.dumps(answer, ensure_ascii=False, default=str))
        return answer, events

    result = write(claim)
    if isinstance(result, dict) and _REPLAY in result:
        return result[_REPLAY], True
    return result, False

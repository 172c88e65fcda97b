"""Signed HTTP POSTs of JSON to an external system (the approval system's webhook receiver).

The signature is ``X-OneVisit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; the
receiver recomputes it over the raw body and rejects stale timestamps. ``X-OneVisit-Event`` carries the
event id: delivery is at least once, so a receiver drops an id it has already seen.
"""
from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request


class DeliveryError(Exception):
    """The receiver did not take the event (network error or a non-2xx answer); it will be retried."""


def signature(secret: str, timestamp: int, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: str) -> bool:
    """Check a signature header against the body (for receivers and tests)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        expected = signature(secret, int(parts["t"]), body)
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, header)


def post_signed(url: str, body: str, *, secret: str, event_id: int | str, timestamp: int, timeout_s: float = 5.0) -> None:
    """POST ``body`` to ``url`` signed with ``secret``; raise DeliveryError unless the answer is 2xx."""
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "X-OneVisit-Event": str(event_id),
        "X-OneVisit-Signature": signature(secret, timestamp, body), "User-Agent": "OneVisit-webhooks"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            if not 200 <= resp.status < 300:
                raise DeliveryError(f"HTTP {resp.status}")
    except urllib.error.HTTPError as e:
        raise DeliveryError(f"HTTP {e.code}") from e
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise DeliveryError(str(e)[:200]) from e

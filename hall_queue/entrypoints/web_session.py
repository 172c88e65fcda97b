"""The browser session shared by every page blueprint and the API: staff token and CSRF secret in the signed
session, the client's address as the trusted proxies tell it, and the device id of a public form.

Pages (``hall_admin``, ``kiosk``, ``display``) and the API import these from here, one place.
"""
from __future__ import annotations

import hmac
import secrets

from flask import request, session
from flask.sessions import SecureCookieSessionInterface

from hall_queue.access.audit import Actor
from hall_queue.access.auth import Principal, authenticate
from hall_queue.bootstrap import runtime
from hall_queue.domain.errors import DomainError

# Methods that change nothing: no CSRF token needed.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Staff browser sessions (hall_admin pages): the signed Flask session carries the staff token and a CSRF secret.
SESSION_TOKEN = "staff_token"
SESSION_CSRF = "csrf"


class KeptSerializerSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its serializer built once per key set instead of on every request.

    Flask builds an ``itsdangerous`` serializer each time it opens or saves a session — every request,
    the API's and ``/healthz`` included — a cost the hot paths paid for nothing (issue 19). The serializer
    holds only the keys and settings, so one instance serves every thread; new keys build a new one.
    """

    _kept: tuple = (None, None)

    def get_signing_serializer(self, app):  # noqa: ANN001, ANN201 - Flask's signature
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept_keys, serializer = self._kept
        if kept_keys != keys:
            serializer = super().get_signing_serializer(app)
            self._kept = (keys, serializer)
        return serializer

    def open_session(self, app, request):  # noqa: ANN001, ANN201 - Flask's signature
        # Kiosks, screens and the consoles' API calls send no cookie at all: an empty session without
        # reading the cookie jar (every request pays this, /healthz included; issue 19).
        if "HTTP_COOKIE" not in request.environ:
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)

    def save_session(self, app, session, response):  # noqa: ANN001, ANN201 - Flask's signature
        # An empty session nobody looked at sets, deletes and varies nothing: skip reading seven
        # cookie settings from the config.
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)


def csrf_token() -> str:
    """Return this browser session's CSRF secret, creating it on first use."""
    if SESSION_CSRF not in session:
        session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return session[SESSION_CSRF]


def csrf_matches(sent: str | None) -> bool:
    expected = session.get(SESSION_CSRF)
    return bool(sent) and bool(expected) and hmac.compare_digest(str(sent), str(expected))


def session_principal() -> Principal | None:
    """Resolve the staff session cookie to its principal, or None (no cookie, expired or revoked)."""
    token = session.get(SESSION_TOKEN)
    if not isinstance(token, str) or not token:
        return None
    rt = runtime()
    try:
        with rt.db.read() as s:
            principal = authenticate(s, token, now=rt.clock.now())
    except DomainError:
        return None
    return principal if principal.actor.kind == "staff" else None


def session_actor() -> Actor | None:
    principal = session_principal()
    return principal.actor if principal else None


def client_ip() -> str:
    """The caller's address: behind a reverse proxy, as ONEVISIT_TRUSTED_PROXIES says (entrypoints/trusted_proxies.py)."""
    return (request.remote_addr or "")[:64]


# The public complaint form's device id lives in the form page's signed session (issue 13, finding 6).
DEVICE_KEY = "complaint_device"

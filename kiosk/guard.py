"""Who may speak to a kiosk agent (``/kiosk/agent/…``): the kiosk's own browser, nobody else.

The agent holds a kiosk token and the ID card laid on the reader, so an open agent lets anyone issue
tickets in a visitor's name, send SMS to any number and read the last slip (issue 13, findings 1 and 12).

* **Address**: only the kiosk's own addresses (loopback by default, ``ONEVISIT_KIOSK_ADDRESSES``).
  A request that came through a proxy (``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP``) is refused:
  behind nginx on the same PC every visitor would otherwise look like loopback.
* **Host and Origin** (DNS rebinding): ``Host`` must name the agent itself — ``localhost``,
  ``127.0.0.1`` or ``[::1]`` (with the agent's port when one is given), or the hall's public host for
  the in-process agent — and a browser's ``Origin``, when sent, must be one of those too.
* **Per-boot key** (in-process agent in production): a random key made at start-up, handed to the
  touch page only (an HttpOnly, SameSite=Strict cookie on ``/kiosk/`` plus a ``<meta>`` the page's
  script sends back as ``X-Kiosk-Key``). Every GET needs the cookie or the header, every POST the
  header: another site open in the kiosk's browser can neither read the key nor make the browser send it.
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Request

KEY_COOKIE = "ov_kiosk_key"
KEY_HEADER = "X-Kiosk-Key"
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
DEFAULT_ADDRESSES = ("127.0.0.1", "::1")


class Refused(Exception):
    """The request does not come from the kiosk's own page; ``status`` and ``code`` go to the caller."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def parse_addresses(text: str | None) -> tuple[str, ...]:
    """``"127.0.0.1, ::1"`` → the normalised addresses; raise ValueError on a bad one."""
    if not text or not text.strip():
        return DEFAULT_ADDRESSES
    return tuple(str(ipaddress.ip_address(part.strip())) for part in text.split(",") if part.strip())


def _host_names(public_url: str) -> tuple[str, ...]:
    host = urlsplit(public_url).netloc.lower() if public_url else ""
    return (host,) if host else ()


@dataclass
class AgentGuard:
    """The checks one agent applies to every request (see the module docstring)."""

    addresses: tuple[str, ...] = DEFAULT_ADDRESSES
    port: int | None = None  # the agent's own port: Host must carry it (standalone agent)
    extra_hosts: tuple[str, ...] = ()  # e.g. the hall's public host for the in-process agent
    require_key: bool = False
    key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def allowed_hosts(self) -> set[str]:
        names = {f"{n}:{self.port}" for n in LOOPBACK_NAMES} if self.port else set(LOOPBACK_NAMES)
        return names | {h.lower() for h in self.extra_hosts}

    def _host_ok(self, host: str) -> bool:
        host = host.strip().lower()
        if host in self.allowed_hosts():
            return True
        if self.port is None:  # any port of a loopback name (the in-process agent's port is the server's)
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            return name in LOOPBACK_NAMES
        return False

    def check_origin_and_host(self, request: Request) -> None:
        """Refuse a Host or Origin that is not the agent itself (DNS rebinding)."""
        if not self._host_ok(request.host or ""):
            raise Refused(403, "bad_host", "this agent answers only its own address")
        origin = request.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not self._host_ok(parts.netloc):
                raise Refused(403, "bad_origin", "this agent answers only its own pages")

    def check(self, request: Request) -> None:
        """Apply every check to one agent request; raise Refused."""
        self.check_source(request)
        if self.require_key:
            sent = request.headers.get(KEY_HEADER, "")
            if not sent and request.method in ("GET", "HEAD"):
                sent = request.cookies.get(KEY_COOKIE, "")
            if not sent or not hmac.compare_digest(sent.encode(), self.key.encode()):
                raise Refused(403, "kiosk_key_required", "only the kiosk's own page may use the agent")

    def check_source(self, request: Request) -> None:
        """The request comes straight from the kiosk (address, no proxy, Host, Origin); raise Refused."""
        if any(h in request.headers for h in PROXY_HEADERS):
            raise Refused(403, "proxied", "the kiosk agent is not reachable through a proxy")
        try:
            remote = str(ipaddress.ip_address(request.remote_addr or ""))
        except ValueError:
            remote = ""
        if remote not in self.addresses:
            raise Refused(403, "not_kiosk_address", "the kiosk agent answers only the kiosk itself")
        self.check_origin_and_host(request)


def in_process_guard(*, production: bool, addresses: str | None, public_url: str) -> AgentGuard:
    """The guard of the agent inside the queue server: the key is required in production."""
    return AgentGuard(addresses=parse_addresses(addresses), port=None, extra_hosts=_host_names(public_url),
                      require_key=production)

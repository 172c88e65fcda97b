"""Client addresses behind a reverse proxy (issue 13, finding 6): ``ONEVISIT_TRUSTED_PROXIES``.

Unset (the default), ``X-Forwarded-For`` is never believed: the client is the peer of the TCP
connection. Behind nginx every peer is nginx itself, so the login lock-out and the complaint form's
limit would treat all citizens and clerks as one client; set then either

- a count (``1`` for one nginx): werkzeug's ProxyFix takes the client from the last ``count``
  entries of ``X-Forwarded-For`` (and the scheme from ``X-Forwarded-Proto``); or
- a comma-separated list of proxy addresses or networks (``127.0.0.1,10.0.0.0/8``): a request whose
  peer is one of them has its client taken from ``X-Forwarded-For``, read from the right, skipping
  the listed proxies; a request from any other peer is taken as it is.

The Host header is never taken from the proxy (links use ``ONEVISIT_PUBLIC_URL``).
"""
from __future__ import annotations

import ipaddress
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix


def _networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()]
    except ValueError as e:
        raise ValueError(f"ONEVISIT_TRUSTED_PROXIES: {e}; give a count (1) or addresses/networks") from e


def _is_in(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in n for n in networks)


class ListedProxies:
    """WSGI middleware: believe ``X-Forwarded-For`` only from the listed proxy addresses."""

    def __init__(self, app: Any, networks: list) -> None:
        self.app = app
        self.networks = networks

    def __call__(self, environ: dict, start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        if _is_in(peer, self.networks):
            hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
            while hops and _is_in(hops[-1], self.networks):
                hops.pop()
            if hops:
                environ["werkzeug.proxy_fix.orig_remote_addr"] = peer
                environ["REMOTE_ADDR"] = hops[-1]
        return self.app(environ, start_response)


def wrap(wsgi_app: Any, setting: str | int | None) -> Any:
    """Return ``wsgi_app`` behind the trusted-proxy rule of ``setting`` (unchanged when it is empty)."""
    spec = str(setting or "").strip()
    if not spec or spec == "0":
        return wsgi_app
    if spec.isdigit():
        count = int(spec)
        return ProxyFix(wsgi_app, x_for=count, x_proto=count, x_host=0, x_port=0, x_prefix=0)
    return ListedProxies(wsgi_app, _networks(spec))

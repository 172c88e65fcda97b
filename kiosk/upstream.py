"""The kiosk agent's line to the queue server: it holds the kiosk's device token, the browser never does.

Two transports with one interface: ``HttpUpstream`` for a kiosk PC talking to the hall's server
over the network, ``InProcessUpstream`` for the demo, where the agent lives inside the server
process and calls the same API through the WSGI stack (same auth, validation and errors).
"""
from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from hall_queue.infrastructure.request_limits import loads_limited

DEFAULT_TIMEOUT_S = 5.0
# Answers that mean "the server (or what is in front of it) is not there right now": retry later.
UNAVAILABLE_STATUSES = (502, 503, 504)


class ServerUnreachable(Exception):
    """The queue server did not answer, or the answer was lost on the way (the request may have landed)."""


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: Any  # parsed JSON, or None
    content: bytes = b""
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None

    @property
    def error_message(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("message", ""))
        return f"HTTP {self.status}"


class Upstream(ABC):
    """One interface over both transports: the kiosk's token goes with every request unless ``auth=False``."""

    token: str

    def call(self, method: str, path: str, *, json_body: Any = None, data: bytes | None = None,
             content_type: str | None = None, headers: dict[str, str] | None = None,
             auth: bool = True, timeout: float | None = None) -> UpstreamResponse:
        """Send one request to the queue server.

        :raises ServerUnreachable: when no complete answer came back.
        """
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = f"Bearer {self.token}"
        return self._send(method, path, hdrs, json_body=json_body, data=data, content_type=content_type,
                          timeout=timeout)

    @abstractmethod
    def _send(self, method: str, path: str, headers: dict[str, str], *, json_body: Any, data: bytes | None,
              content_type: str | None, timeout: float | None) -> UpstreamResponse:
        """The transport: HTTP to a remote server, or the app's test client in one process."""


def _parse(status: int, content: bytes, content_type: str) -> UpstreamResponse:
    body = None
    if content and content_type.startswith("application/json"):
        try:
            body = loads_limited(content)
        except ValueError:
            body = None
    return UpstreamResponse(status, body, content, content_type)


class HttpUpstream(Upstream):
    """Talk to a queue server at ``base_url`` with the kiosk's bearer token."""

    def __init__(self, base_url: str, token: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _send(self, method: str, path: str, headers: dict[str, str], *, json_body: Any, data: bytes | None,
              content_type: str | None, timeout: float | None) -> UpstreamResponse:
        if json_body is not None:
            data = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                result = _parse(resp.status, resp.read(), resp.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as e:
            try:
                content = e.read()
            except (OSError, http.client.HTTPException):
                content = b""
            result = _parse(e.code, content, e.headers.get("Content-Type", "") if e.headers else "")
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as e:
            # The query is left out of the message: it may carry an ID number (appointments of a person).
            raise ServerUnreachable(f"{method} {path.split('?', 1)[0]}: {type(e).__name__}: {e}") from e
        if result.status in UNAVAILABLE_STATUSES and result.error_code != "database_unavailable":
            raise ServerUnreachable(f"{method} {path.split('?', 1)[0]}: HTTP {result.status}")
        return result


class InProcessUpstream(Upstream):
    """Call the API of the Flask app this agent runs in (the demo: one process, no network)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token

    def _send(self, method: str, path: str, headers: dict[str, str], *, json_body: Any, data: bytes | None,
              content_type: str | None, timeout: float | None) -> UpstreamResponse:
        client = self.app.test_client()
        kwargs: dict[str, Any] = {"headers": headers}
        if json_body is not None:
            kwargs["json"] = json_body
        elif data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = content_type or "application/octet-stream"
        resp = client.open(path, method=method, **kwargs)
        return _parse(resp.status_code, resp.get_data(), resp.headers.get("Content-Type", ""))

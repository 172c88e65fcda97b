"""What every device kind shares: the error base, health reports and device-URL parsing.

`devices` imports nothing else of OneVisit: drivers know bytes, frames and images, never
tickets or halls (STYLE rules 8-10, 13).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

HealthState = Literal["online", "offline", "fault"]
T = TypeVar("T")


class DeviceError(Exception):
    """Base of every error a device raises; library exceptions are wrapped with ``from``."""

    code = "device"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class UnsupportedDeviceURL(DeviceError):
    code = "bad_url"


@dataclass(frozen=True)
class DeviceHealth:
    """One device's health as the kiosk and the floor dashboard show it."""

    kind: str  # "idcard" | "printer" | "scanner"
    url: str
    state: HealthState
    reason: str | None = None
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "url": self.url, "state": self.state,
                "reason": self.reason, "detail": dict(self.detail)}


@dataclass(frozen=True)
class DeviceURL:
    """A parsed device URL such as ``serial:///dev/ttyUSB0?baud=115200`` or ``escpos-net://10.0.0.5:9100``."""

    raw: str
    scheme: str
    netloc: str
    path: str
    query: dict[str, str]

    @classmethod
    def parse(cls, url: str) -> "DeviceURL":
        """Split a device URL; the last value wins for a repeated query key.

        :raises UnsupportedDeviceURL: when the URL has no scheme.
        """
        parts = urlsplit(url)
        if not parts.scheme:
            raise UnsupportedDeviceURL(f"device URL has no scheme: {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        return cls(raw=url, scheme=parts.scheme.lower(), netloc=parts.netloc, path=parts.path, query=query)

    def int_param(self, key: str, default: int, *, base: int = 10) -> int:
        """Read an integer query parameter; ``base=0`` also takes ``0x82`` and ``0o17``.

        :raises UnsupportedDeviceURL: when the value is not an integer.
        """
        return self._param(key, default, lambda value: int(value, base), "an integer")

    def float_param(self, key: str, default: float) -> float:
        """Read a number query parameter.

        :raises UnsupportedDeviceURL: when the value is not a number.
        """
        return self._param(key, default, float, "a number")

    def _param(self, key: str, default: T, parse: Callable[[str], T], what: str) -> T:
        value = self.query.get(key)
        if value in (None, ""):
            return default
        try:
            return parse(value)
        except ValueError as e:
            raise UnsupportedDeviceURL(f"{key}={value!r} is not {what} in {self.raw!r}") from e

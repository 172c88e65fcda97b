"""Errors of the document camera, all under the shared ``DeviceError`` (STYLE rule 10)."""
from __future__ import annotations

from devices.base import DeviceError


class ScannerError(DeviceError):
    code = "scanner"


class CameraUnavailable(ScannerError):
    """The camera cannot be opened: unplugged, busy, or no such device."""

    code = "offline"


class FrameTimeout(ScannerError):
    """The camera opened but stopped delivering frames."""

    code = "timeout"

"""Document camera (高拍仪): frames in, page observations and scanned pages out.

Frames (ndarrays) stay inside this package; callers get ``PageObservation``, ``ScannedPage``,
``CaptureResult`` and PDF bytes (STYLE rule 13).
"""
from __future__ import annotations

from devices.base import DeviceError, DeviceHealth, UnsupportedDeviceURL
from devices.scanner.camera import Camera, open_camera
from devices.scanner.capture import AutoCapture, CaptureResult, capture_page, observe
from devices.scanner.errors import CameraUnavailable, FrameTimeout, ScannerError
from devices.scanner.page import PageObservation, ScannedPage, make_page, pages_to_pdf

__all__ = [
    "AutoCapture", "Camera", "CameraUnavailable", "CaptureResult", "FrameTimeout", "PageObservation",
    "ScannedPage", "ScannerError", "capture_page", "make_page", "observe", "open_camera", "pages_to_pdf",
    "probe_health",
]


def probe_health(url: str, timeout: float | None = None) -> DeviceHealth:
    """Open the camera, read one frame and report: online, offline (cannot open) or fault.

    :param url: a scanner URL (``camera://0``, ``file:///dir``, ``sim://``).
    :param timeout: seconds to wait for the frame (the URL's ``timeout``, default 2 s, when None);
        a stalled camera becomes "fault", never a hang.
    """
    try:
        camera = open_camera(url)
    except UnsupportedDeviceURL as e:
        return DeviceHealth("scanner", url, "offline", str(e), {"code": e.code})
    except DeviceError as e:
        return DeviceHealth("scanner", url, "offline", str(e), {"code": e.code})
    try:
        frame = camera.read_frame(timeout)
        h, w = frame.shape[:2]
        detail = dict(camera.health().detail)
        detail.update({"width": int(w), "height": int(h)})
        return DeviceHealth("scanner", url, "online", None, detail)
    except DeviceError as e:
        return DeviceHealth("scanner", url, "fault", str(e), {"code": e.code})
    finally:
        camera.close()

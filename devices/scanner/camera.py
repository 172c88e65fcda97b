"""Frame sources: a UVC document camera (高拍仪), a directory of images, and a simulator.

Opened from a URL:

* ``camera://0?width=1920&height=1080&autofocus=1&exposure=auto`` — V4L2 device index 0;
* ``file:///path/to/dir`` — cycles through the images in a directory (or one image file);
* ``sim://?seed=1&width=1920&height=1080&page=A4&moving=6`` — a rendered page on a desk that
  slides into place for ``moving`` frames and then lies still, so auto-capture triggers.

Every source answers ``read_frame`` within its timeout or raises: a camera that vanishes ends in
a clear ``fault`` state, never a hung kiosk.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Protocol

import cv2
import numpy as np

from devices.base import DeviceHealth, DeviceURL, UnsupportedDeviceURL
from devices.scanner.errors import CameraUnavailable, FrameTimeout, ScannerError
from devices.scanner.synth import (
    PAGE_MM,
    make_scene,
    page_quad,
    render_background,
    render_page,
)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_READ_TIMEOUT = 2.0
DEFAULT_OPEN_TIMEOUT = 5.0


class Camera(Protocol):
    """A source of frames. ``read_frame`` stays inside ``devices.scanner`` (STYLE rule 13)."""

    url: str

    def read_frame(self, timeout: float | None = None) -> np.ndarray:
        """Return the next BGR frame.

        :raises FrameTimeout: when no frame arrives within the timeout.
        """
        ...

    def close(self) -> None:
        """Release the device; safe to call twice."""
        ...

    def health(self) -> DeviceHealth:
        """Report the state seen by the last read."""
        ...


class _HealthMixin:
    url: str
    _state: str = "online"
    _reason: str | None = None

    def _detail(self) -> dict:
        return {}

    def health(self) -> DeviceHealth:
        """Report the state seen by the last read."""
        return DeviceHealth(kind="scanner", url=self.url, state=self._state,  # type: ignore[arg-type]
                            reason=self._reason, detail=self._detail())


class UvcCamera(_HealthMixin):
    """A V4L2 camera owned by one reader thread that always holds the newest frame."""

    def __init__(self, url: DeviceURL, *, open_timeout: float = DEFAULT_OPEN_TIMEOUT) -> None:
        """Open the camera and start reading.

        :param url: ``camera://<index>?width=&height=&autofocus=&exposure=&timeout=``.
        :raises CameraUnavailable: when the device cannot be opened in time.
        :raises UnsupportedDeviceURL: when the index or a parameter is malformed.
        """
        self.url = url.raw
        spec = (url.netloc + url.path).strip("/") or "0"
        try:
            self.index = int(spec)
        except ValueError as e:
            raise UnsupportedDeviceURL(f"camera index {spec!r} is not a number in {url.raw!r}") from e
        self.requested = (url.int_param("width", 1920), url.int_param("height", 1080))
        self.autofocus = url.query.get("autofocus")
        self.exposure = url.query.get("exposure")
        self.read_timeout = float(url.query.get("timeout") or DEFAULT_READ_TIMEOUT)
        self.size: tuple[int, int] = (0, 0)
        self.fourcc = ""
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._error: ScannerError | None = None
        self._opened = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.index}", daemon=True)
        self._thread.start()
        # Opening a V4L2 device can itself block on a wedged USB hub; the wait is bounded.
        if not self._opened.wait(open_timeout):
            self._stop.set()
            raise CameraUnavailable(f"camera {self.index} did not open within {open_timeout:.1f} s")
        if self._error is not None:
            raise self._error

    def _configure(self, cap: cv2.VideoCapture) -> None:
        # MJPG must be chosen before the size: V4L2 drivers no longer default to it, and 1080p
        # in uncompressed YUYV exceeds USB 2.0 bandwidth, so the driver would fall back to a
        # small size or a few frames per second.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.requested[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.requested[1])
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not one from a second ago
        if self.autofocus not in (None, ""):
            cap.set(cv2.CAP_PROP_AUTOFOCUS, 1 if self.autofocus in ("1", "true", "on") else 0)
        if self.exposure not in (None, ""):
            if self.exposure == "auto":
                # V4L2_CID_EXPOSURE_AUTO: 3 = aperture priority (auto), 1 = manual.
                cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 3)
            else:
                try:
                    value = float(self.exposure)
                except ValueError as e:
                    raise UnsupportedDeviceURL(f"exposure={self.exposure!r} is not a number or 'auto'") from e
                cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1)
                cap.set(cv2.CAP_PROP_EXPOSURE, value)
        # The driver answers with what it really does, which may differ from what was asked.
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        code = int(cap.get(cv2.CAP_PROP_FOURCC))
        self.fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00")

    def _run(self) -> None:
        cap = None
        try:
            cap = cv2.VideoCapture(self.index, cv2.CAP_V4L2)
            if not cap.isOpened():
                self._error = CameraUnavailable(f"camera {self.index} cannot be opened (unplugged or busy)")
                return
            self._configure(cap)
        except cv2.error as e:
            self._error = CameraUnavailable(f"camera {self.index} failed to open: {e}")
            return
        except ScannerError as e:
            self._error = e
            return
        finally:
            if self._error is not None and cap is not None:
                cap.release()
            self._opened.set()
        misses = 0
        try:
            while not self._stop.is_set():
                ok, frame = cap.read()
                if not ok or frame is None:
                    misses += 1
                    # A few dropped frames happen on a busy USB bus; a run of them means the
                    # camera is gone.
                    if misses >= 5:
                        with self._cond:
                            self._error = FrameTimeout(f"camera {self.index} stopped delivering frames")
                            self._cond.notify_all()
                        return
                    time.sleep(0.02)
                    continue
                misses = 0
                with self._cond:
                    self._frame = frame
                    self._seq += 1
                    self._cond.notify_all()
        finally:
            cap.release()

    def _detail(self) -> dict:
        return {"index": self.index, "width": self.size[0], "height": self.size[1], "fourcc": self.fourcc,
                "frames": self._seq}

    def read_frame(self, timeout: float | None = None) -> np.ndarray:
        """Wait for a frame newer than the last one returned.

        :param timeout: seconds; the URL's ``timeout`` (default 2 s) when None.
        :raises FrameTimeout: when the camera stops or no frame arrives in time.
        :raises ScannerError: after ``close``.
        """
        limit = self.read_timeout if timeout is None else timeout
        with self._cond:
            if self._stop.is_set():
                raise ScannerError("camera is closed", code="closed")
            seen = getattr(self, "_returned", 0)
            got = self._cond.wait_for(lambda: self._seq > seen or self._error is not None, timeout=limit)
            if self._error is not None:
                self._state, self._reason = "fault", str(self._error)
                raise self._error
            if not got or self._frame is None:
                self._state, self._reason = "fault", f"no frame within {limit:.1f} s"
                raise FrameTimeout(f"camera {self.index}: no frame within {limit:.1f} s")
            self._returned = self._seq
            self._state, self._reason = "online", None
            return self._frame

    def close(self) -> None:
        """Stop the reader thread and release the device."""
        self._stop.set()
        # The thread may sit in a blocking read of a vanished device; it is a daemon and
        # releases the capture itself when that read returns.
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=1.0)
        self._state, self._reason = "offline", "closed"


class FileCamera(_HealthMixin):
    """Frames from image files, in name order, round and round."""

    def __init__(self, url: DeviceURL) -> None:
        """List the images.

        :param url: ``file:///dir`` or ``file://relative/dir`` (a single image file works too).
        :raises CameraUnavailable: when the path holds no images.
        """
        self.url = url.raw
        path = (url.netloc + url.path) if url.netloc else url.path
        if os.path.isdir(path):
            self.files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMAGE_SUFFIXES))
        elif os.path.isfile(path):
            self.files = [path]
        else:
            raise CameraUnavailable(f"no such directory or file: {path!r}")
        if not self.files:
            raise CameraUnavailable(f"no images in {path!r}")
        self._next = 0
        self._closed = False

    def read_frame(self, timeout: float | None = None) -> np.ndarray:
        """Decode the next readable image, skipping unreadable files.

        :raises FrameTimeout: when none of the files can be decoded.
        :raises ScannerError: after ``close``.
        """
        if self._closed:
            raise ScannerError("camera is closed", code="closed")
        for _ in range(len(self.files)):
            name = self.files[self._next]
            self._next = (self._next + 1) % len(self.files)
            frame = cv2.imread(name, cv2.IMREAD_COLOR)
            if frame is not None:
                self._state, self._reason = "online", None
                return frame
        self._state, self._reason = "fault", "no readable image"
        raise FrameTimeout(f"none of the {len(self.files)} files in {self.url!r} is a readable image")

    def close(self) -> None:
        """Forget the file list position."""
        self._closed = True
        self._state, self._reason = "offline", "closed"

    def _detail(self) -> dict:
        return {"images": len(self.files)}


class SimCamera(_HealthMixin):
    """A synthetic document camera: a page slides onto a desk, then lies still."""

    def __init__(self, url: DeviceURL) -> None:
        """Lay out the scene.

        :param url: ``sim://?seed=&width=&height=&page=A4|A5|Letter|ID-1|none&moving=&background=
            &blur=&stall_after=&timeout=``; ``page=none`` shows an empty desk, ``stall_after=N``
            stops frames after N (to exercise the fault path).
        :raises UnsupportedDeviceURL: when a parameter is malformed.
        """
        self.url = url.raw
        self.seed = url.int_param("seed", 1)
        self.size = (url.int_param("width", 1920), url.int_param("height", 1080))
        self.moving = url.int_param("moving", 6)
        self.stall_after = url.int_param("stall_after", -1)
        self.read_timeout = float(url.query.get("timeout") or DEFAULT_READ_TIMEOUT)
        self.blur = float(url.query.get("blur") or 0.0)
        kind = url.query.get("page") or "A4"
        if kind != "none" and kind not in PAGE_MM:
            raise UnsupportedDeviceURL(f"page={kind!r}: expected one of {sorted(PAGE_MM)} or 'none'")
        rng = np.random.default_rng(self.seed)
        w, h = self.size
        self.background = render_background(rng, w, h, url.query.get("background") or "wood")
        self.kind = None if kind == "none" else kind
        self.page = None
        self.quad = None
        if self.kind is not None:
            self.page = render_page(rng, self.kind, long_px=max(400, min(1100, h)))
            ph, pw = self.page.shape[:2]
            self.quad = page_quad(rng, w, h, ph / pw)
            # The page arrives from a random direction and decelerates into place.
            ang = rng.uniform(0, 2 * np.pi)
            self.approach = np.array([np.cos(ang), np.sin(ang)]) * 0.12 * w
        self.frames = 0
        self._steady: np.ndarray | None = None
        self._closed = False

    def truth(self) -> np.ndarray | None:
        """Return where the page rests (TL, TR, BR, BL), for tests."""
        return None if self.quad is None else self.quad.copy()

    def read_frame(self, timeout: float | None = None) -> np.ndarray:
        """Render the next frame.

        :raises FrameTimeout: after ``stall_after`` frames, once the timeout has passed.
        :raises ScannerError: after ``close``.
        """
        if self._closed:
            raise ScannerError("camera is closed", code="closed")
        if 0 <= self.stall_after <= self.frames:
            limit = self.read_timeout if timeout is None else timeout
            time.sleep(limit)  # behave as a stalled camera does: nothing comes, then we give up
            self._state, self._reason = "fault", f"no frame within {limit:.1f} s"
            raise FrameTimeout(f"{self.url}: no frame within {limit:.1f} s")
        i = self.frames
        self.frames += 1
        self._state, self._reason = "online", None
        still = i >= self.moving
        if still and self._steady is not None:
            return self._steady.copy()
        quad = None
        if self.quad is not None:
            left = 0.0 if still else ((self.moving - i) / self.moving) ** 2
            quad = self.quad + self.approach * left
        # The same generator seed for every frame keeps lighting and noise identical, so only
        # the page's position changes; a moving page is smeared as by a real exposure.
        scene = make_scene(np.random.default_rng(self.seed + 7919), self.size[0], self.size[1],
                           empty=self.kind is None, quad=quad, page=self.page, bg=self.background,
                           occlusion="none", shadow=False, blur_sigma=self.blur if still else max(self.blur, 2.5),
                           noise_sigma=2.0, jpeg_quality=100)
        if still:
            self._steady = scene.image
            return scene.image.copy()
        return scene.image

    def close(self) -> None:
        """Stop producing frames."""
        self._closed = True
        self._state, self._reason = "offline", "closed"

    def _detail(self) -> dict:
        return {"width": self.size[0], "height": self.size[1], "frames": self.frames, "page": self.kind}


def open_camera(url: str) -> Camera:
    """Open a frame source from its URL.

    :param url: ``camera://0?...``, ``file:///dir`` or ``sim://?...``.
    :raises UnsupportedDeviceURL: for another scheme or a malformed parameter.
    :raises CameraUnavailable: when the device or directory cannot be opened.
    """
    parsed = DeviceURL.parse(url)
    if parsed.scheme in ("camera", "uvc", "v4l2"):
        return UvcCamera(parsed)
    if parsed.scheme == "file":
        return FileCamera(parsed)
    if parsed.scheme == "sim":
        return SimCamera(parsed)
    raise UnsupportedDeviceURL(f"no scanner for {parsed.scheme}:// in {url!r} (camera://, file://, sim://)")

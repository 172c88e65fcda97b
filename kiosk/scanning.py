"""Scanning materials at the kiosk: a camera thread that watches for a steady page and keeps a preview.

The visitor lays a page under the document camera (高拍仪); ``AutoCapture`` takes it once it lies
still, the flattened page waits for the visitor to confirm or retake, and confirmed pages are
attached to the ticket (pre-submission of the one set of materials, 003 §3.8). Frames stay in
this module: the rest of the kiosk sees JPEG bytes and ``ScannedPage`` values (STYLE rule 13).
"""
from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from devices.base import DeviceError, DeviceURL
from devices.scanner import AutoCapture, ScannedPage, open_camera

log = logging.getLogger("onevisit.kiosk.scan")

PREVIEW_WIDTH = 640
FRAME_INTERVAL_S = 0.08  # ~12 frames a second is plenty for a page lying still
MAX_PAGES = 20
# Pages travel to the server in one request each; keep them well under the server's body limit.
UPLOAD_MAX_BYTES = 900 * 1024
UPLOAD_MAX_SIDE = 1754  # A4 at 150 dpi: readable for a clerk, small enough to send quickly


def upload_jpeg(page: ScannedPage) -> bytes:
    """Return the page as a JPEG small enough to upload (re-encoded only when it is too big)."""
    if len(page.image_jpeg) <= UPLOAD_MAX_BYTES and max(page.width, page.height) <= UPLOAD_MAX_SIDE:
        return page.image_jpeg
    with Image.open(io.BytesIO(page.image_jpeg)) as im:
        im = im.convert("RGB")
        im.thumbnail((UPLOAD_MAX_SIDE, UPLOAD_MAX_SIDE))
        for quality in (85, 75, 60, 45):
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=quality)
            if buf.tell() <= UPLOAD_MAX_BYTES:
                break
        return buf.getvalue()


def _preview(frame: np.ndarray, corners, steady: bool) -> bytes:
    """Scale a frame down for the screen and outline the page the camera sees."""
    h, w = frame.shape[:2]
    scale = PREVIEW_WIDTH / float(w)
    small = cv2.resize(frame, (PREVIEW_WIDTH, max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    if corners:
        pts = np.array([[x * scale, y * scale] for x, y in corners], dtype=np.int32)
        cv2.polylines(small, [pts], True, (60, 200, 60) if steady else (0, 190, 255), 4)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return buf.tobytes() if ok else b""


@dataclass
class ScanState:
    active: bool = False
    status: str = "idle"  # idle | no_page | incomplete | moving | blurry | captured | done | error
    message: str = ""
    pending: ScannedPage | None = None
    pages: list[ScannedPage] = field(default_factory=list)


class Scanner:
    """Own the document camera: open it from its URL on demand, run one capture session at a time."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._camera = None
        self._auto = AutoCapture()
        self._lock = threading.Lock()
        self._state = ScanState()
        self._preview = b""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._next_seed = 1
        self.health_state, self.health_reason = ("offline", "not configured") if not url else ("online", None)

    @property
    def is_sim(self) -> bool:
        return bool(self.url) and self.url.startswith("sim:")

    def _open(self) -> None:
        if self._camera is not None:
            return
        url = self.url or ""
        if self.is_sim:
            # Each new placement in the demo is a new sheet sliding under the camera.
            parsed = DeviceURL.parse(url)
            query = dict(parsed.query)
            query["seed"] = str(int(query.get("seed", "1") or 1) + self._next_seed - 1)
            url = "sim://?" + "&".join(f"{k}={v}" for k, v in query.items())
            self._next_seed += 1
        self._camera = open_camera(url)
        self._auto.reset()

    def _close_camera(self) -> None:
        cam, self._camera = self._camera, None
        if cam is not None:
            try:
                cam.close()
            except DeviceError:
                log.warning("closing the camera failed", exc_info=True)

    def start(self) -> None:
        """Begin (or continue) a capture session."""
        if not self.url:
            raise DeviceError("no document camera is configured", code="not_configured")
        with self._lock:
            self._state.active = True
            if self._state.status in ("idle", "error"):
                self._state.status, self._state.message = "no_page", ""
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="kiosk-scanner", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._lock:
                    self._open()
                    camera = self._camera
                frame = camera.read_frame()
            except DeviceError as e:
                log.warning("document camera failed: %s", e)
                with self._lock:
                    self._state.status, self._state.message = "error", e.code
                    self.health_state, self.health_reason = "fault", e.code
                    self._close_camera()
                self._stop.wait(1.0)
                continue
            with self._lock:
                self.health_state, self.health_reason = "online", None
                waiting_for_visitor = self._state.pending is not None
            if waiting_for_visitor:
                # A page is shown for confirmation: keep the preview live but capture nothing new.
                obs_corners = None
                self._preview = _preview(frame, obs_corners, False)
            else:
                result = self._auto.feed(frame)
                self._preview = _preview(frame, result.observation.corners, result.observation.steady)
                with self._lock:
                    if result.status == "captured" and result.page is not None:
                        self._state.pending = result.page
                    self._state.status, self._state.message = result.status, result.message
            self._stop.wait(FRAME_INTERVAL_S)

    def state(self) -> dict:
        """Return what the scan screen shows (no image bytes)."""
        with self._lock:
            st = self._state
            pending = st.pending
            return {"active": st.active, "status": "confirm" if pending is not None else st.status,
                    "pages": len(st.pages), "max_pages": MAX_PAGES,
                    "pending": None if pending is None else {"width": pending.width, "height": pending.height,
                                                            "page_size_name": pending.page_size_name}}

    def preview_jpeg(self) -> bytes:
        return self._preview

    def pending_jpeg(self) -> bytes | None:
        with self._lock:
            return self._state.pending.image_jpeg if self._state.pending is not None else None

    def page_jpeg(self, index: int) -> bytes | None:
        with self._lock:
            pages = self._state.pages
            return pages[index].image_jpeg if 0 <= index < len(pages) else None

    def confirm(self) -> int:
        """Keep the page shown for confirmation; return the number of pages kept."""
        with self._lock:
            if self._state.pending is None:
                raise DeviceError("no page is waiting for confirmation", code="nothing_pending")
            if len(self._state.pages) >= MAX_PAGES:
                raise DeviceError(f"at most {MAX_PAGES} pages", code="too_many_pages")
            self._state.pages.append(self._state.pending)
            self._state.pending = None
            self._state.status = "done"
            self._next_placement()
            return len(self._state.pages)

    def retake(self) -> None:
        """Drop the page shown for confirmation and watch for the page again."""
        with self._lock:
            self._state.pending = None
            self._state.status = "no_page"
            self._auto.reset()
            if self.is_sim:
                self._close_camera()
                self._next_seed -= 1  # the same sheet slides in again

    def _next_placement(self) -> None:
        self._auto.reset()
        if self.is_sim:
            self._close_camera()

    def remove(self, index: int) -> int:
        with self._lock:
            if 0 <= index < len(self._state.pages):
                self._state.pages.pop(index)
            return len(self._state.pages)

    def pages(self) -> list[ScannedPage]:
        with self._lock:
            return list(self._state.pages)

    def stop(self) -> None:
        """End the session (pages are kept until ``clear``); the camera is released."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=3)
        with self._lock:
            self._state.active = False
            self._close_camera()

    def clear(self) -> None:
        """Forget every page (new visitor) and stop."""
        self.stop()
        with self._lock:
            self._state = ScanState()
            self._preview = b""

    def close(self) -> None:
        self.clear()

    def health(self) -> tuple[str, str | None]:
        return self.health_state, self.health_reason

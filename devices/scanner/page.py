"""What leaves the scanner: page observations, cleaned page images and multi-page PDFs.

These dataclasses are the devices boundary for the camera (STYLE rule 13): corners as numbers,
pages as encoded bytes. No ndarray goes past this module's public functions' return values.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from PIL import Image

from devices.scanner.errors import ScannerError
from devices.scanner.geometry import (
    PAGE_SIZES,
    estimate_aspect,
    snap_page_size,
    warp_page,
)

PageMode = Literal["color", "document"]
Corners = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]

SHARPNESS_WIDTH = 800  # pages are measured at one width so one blur threshold fits all sizes
PDF_DPI = 150  # PDF pages are rendered at this resolution; A4 is then 1240 x 1754 pixels
CUSTOM_WIDTH_MM = 210.0  # an unrecognised page is put on a PDF page this wide


@dataclass(frozen=True)
class PageObservation:
    """What the camera sees of a page in one frame."""

    corners: Corners | None  # TL, TR, BR, BL in frame pixels; None when no page is in view
    sharpness: float  # variance of the Laplacian on the flattened page; 0.0 without a page
    steady: bool  # the page has not moved for the required number of frames
    page_size_name: str | None  # "A4", "Letter", "ID-1", "custom"; None without a page
    confidence: float = 0.0  # the detector's confidence in ``corners``, 0..1; 0.0 without a page
    complete: bool = False  # every corner lies inside the frame

    def as_dict(self) -> dict:
        return {"corners": [list(c) for c in self.corners] if self.corners else None,
                "sharpness": round(self.sharpness, 1), "steady": self.steady,
                "page_size_name": self.page_size_name, "confidence": round(self.confidence, 3),
                "complete": self.complete}


@dataclass(frozen=True)
class ScannedPage:
    """One flattened, cleaned page, encoded."""

    image_jpeg: bytes
    mode: PageMode
    width: int
    height: int
    page_size_name: str  # as in PageObservation; "custom" when no known size matched
    image_png: bytes | None = None  # lossless copy, made on request (best for "document" mode)


def corners_tuple(q: np.ndarray) -> Corners:
    """Turn a (4, 2) array into plain rounded tuples."""
    return tuple((round(float(x), 1), round(float(y), 1)) for x, y in np.asarray(q).reshape(4, 2))  # type: ignore[return-value]


def page_aspect(corners: np.ndarray, frame_shape: tuple[int, ...]) -> tuple[float, str]:
    """Return the page's height/width ratio as flattened and its size name.

    A known size's exact aspect replaces the estimate, so an A4 page comes out at 1:1.414.
    """
    h, w = frame_shape[:2]
    aspect = estimate_aspect(corners, (w, h))
    size, landscape = snap_page_size(aspect)
    if size is None:
        return aspect, "custom"
    return (1.0 / size.aspect if landscape else size.aspect), size.name


def sharpness(frame: np.ndarray, corners: np.ndarray) -> float:
    """Return the variance of the Laplacian over the page, flattened to a fixed width.

    :param frame: the BGR frame.
    :param corners: TL, TR, BR, BL.
    """
    aspect, _ = page_aspect(corners, frame.shape)
    flat = warp_page(frame, corners, aspect, max_long_side=int(SHARPNESS_WIDTH * max(aspect, 1.0)))
    if flat.shape[1] > SHARPNESS_WIDTH:
        flat = cv2.resize(flat, (SHARPNESS_WIDTH, max(8, round(flat.shape[0] * SHARPNESS_WIDTH / flat.shape[1]))),
                          interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(flat, cv2.COLOR_BGR2GRAY)
    # Skip the outer 4 %: a slightly loose outline would add the desk edge as false detail.
    mh, mw = max(1, gray.shape[0] // 25), max(1, gray.shape[1] // 25)
    core = gray[mh:-mh, mw:-mw] if gray.shape[0] > 4 * mh and gray.shape[1] > 4 * mw else gray
    return float(cv2.Laplacian(core, cv2.CV_64F).var())


def has_content(frame: np.ndarray, corners: np.ndarray) -> bool:
    """Tell whether the page carries print at all (a blank sheet has no detail to be sharp)."""
    aspect, _ = page_aspect(corners, frame.shape)
    flat = cv2.cvtColor(warp_page(frame, corners, aspect, max_long_side=600), cv2.COLOR_BGR2GRAY).astype(np.float32)
    # Mid frequencies survive a shaky capture; on a blank sheet they are only sensor noise.
    band = cv2.GaussianBlur(flat, (0, 0), 2.0) - cv2.GaussianBlur(flat, (0, 0), 12.0)
    return float(band.std()) > 2.5


def clean_color(flat: np.ndarray) -> np.ndarray:
    """Even out the lighting of a flattened page so its paper comes out white."""
    # The paper is the brightest large structure: a grey closing removes print, a blur smooths
    # what is left into an estimate of the light falling on the page (background normalisation).
    small = cv2.resize(flat, (max(8, flat.shape[1] // 4), max(8, flat.shape[0] // 4)), interpolation=cv2.INTER_AREA)
    k = max(3, (min(small.shape[:2]) // 30) | 1)
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    bg = cv2.GaussianBlur(bg, (0, 0), k)
    bg = cv2.resize(bg, (flat.shape[1], flat.shape[0]), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    out = flat.astype(np.float32) / np.maximum(bg, 1.0) * 245.0
    return np.clip(out, 0, 255).astype(np.uint8)


def clean_document(flat: np.ndarray) -> np.ndarray:
    """Binarise a flattened page for a crisp black-on-white "document" copy."""
    gray = cv2.cvtColor(clean_color(flat), cv2.COLOR_BGR2GRAY)
    block = max(15, (min(gray.shape) // 40) | 1)
    # After normalisation the paper is near 245 everywhere; the adaptive threshold then only has
    # to separate ink from paper locally, which keeps thin strokes and faint stamps.
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 15)


def make_page(frame: np.ndarray, corners: np.ndarray, mode: PageMode = "color", *, png: bool = False,
              jpeg_quality: int = 90) -> ScannedPage:
    """Flatten, clean and encode the page inside ``corners``.

    :param frame: BGR frame the corners were found in.
    :param corners: TL, TR, BR, BL in frame pixels.
    :param mode: "color" (lighting evened out) or "document" (black and white).
    :param png: also keep a lossless PNG copy.
    :raises ScannerError: when the mode is unknown or encoding fails.
    """
    if mode not in ("color", "document"):
        raise ScannerError(f"unknown page mode {mode!r}", code="bad_mode")
    q = np.asarray(corners, dtype=np.float64).reshape(4, 2)
    aspect, name = page_aspect(q, frame.shape)
    flat = warp_page(frame, q, aspect)
    img = clean_color(flat) if mode == "color" else clean_document(flat)
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise ScannerError("could not encode the page as JPEG", code="encode")
    png_bytes = None
    if png:
        ok, buf = cv2.imencode(".png", img)
        if not ok:
            raise ScannerError("could not encode the page as PNG", code="encode")
        png_bytes = buf.tobytes()
    return ScannedPage(image_jpeg=jpg.tobytes(), mode=mode, width=int(img.shape[1]), height=int(img.shape[0]),
                       page_size_name=name, image_png=png_bytes)


def page_size_mm(page: ScannedPage) -> tuple[float, float]:
    """Return the PDF page size (width, height) in millimetres, oriented like the image."""
    sizes = {s.name: s for s in PAGE_SIZES}
    size = sizes.get(page.page_size_name)
    if size is None:
        short, long_ = CUSTOM_WIDTH_MM, CUSTOM_WIDTH_MM * max(page.width, page.height) / max(1, min(page.width, page.height))
    else:
        short, long_ = size.width_mm, size.height_mm
    return (long_, short) if page.width > page.height else (short, long_)


def pages_to_pdf(pages: Sequence[ScannedPage]) -> bytes:
    """Write the pages into one PDF, each page sized to its detected format (A4 → 210 × 297 mm).

    :param pages: at least one scanned page.
    :raises ScannerError: when there are no pages or an image cannot be decoded.
    """
    if not pages:
        raise ScannerError("a PDF needs at least one page", code="no_pages")
    images = []
    for p in pages:
        try:
            im = Image.open(io.BytesIO(p.image_png or p.image_jpeg))
            im.load()
        except OSError as e:
            raise ScannerError(f"page image cannot be decoded: {e}", code="decode") from e
        w_mm, h_mm = page_size_mm(p)
        # Pillow writes every page at one resolution, so each image is resampled to exactly its
        # paper size at PDF_DPI; the MediaBox then comes out in true millimetres.
        target = (max(1, round(w_mm / 25.4 * PDF_DPI)), max(1, round(h_mm / 25.4 * PDF_DPI)))
        im = im.convert("L" if p.mode == "document" else "RGB").resize(target, Image.Resampling.LANCZOS)
        images.append(im)
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=float(PDF_DPI))
    return buf.getvalue()

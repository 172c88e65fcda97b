"""Quadrilateral geometry: corner order, overlap, real aspect ratio, page sizes and the flat warp.

Coordinates are pixel-centre based (pixel (0, 0) covers -0.5..0.5), the OpenCV convention.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PageSize:
    """A paper or card format by its real size in millimetres (portrait: width < height)."""

    name: str
    width_mm: float
    height_mm: float

    @property
    def aspect(self) -> float:
        return self.height_mm / self.width_mm


# ISO 216 A-series pages all share 1:sqrt(2), so aspect alone cannot tell A3 from A5; A4 is the
# hall's everyday form, so it names that aspect (as it does the ICAO 9303 ID-3 passport page,
# 88 x 125 mm, within 0.5 % of it). ISO/IEC 7810 ID-1 is the resident ID card and bank card;
# Letter is for foreign documents.
PAGE_SIZES: tuple[PageSize, ...] = (
    PageSize("A4", 210.0, 297.0),
    PageSize("Letter", 215.9, 279.4),
    PageSize("ID-1", 53.98, 85.6),
)

# Relative aspect difference within which a measured page is snapped to a known size. The
# estimate from a single view carries a few per cent of error from lens and corner noise.
SNAP_TOLERANCE = 0.04


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Order four points as TL, TR, BR, BL (clockwise on screen, starting nearest the top left).

    :param pts: four (x, y) points in any order.
    """
    pts = np.asarray(pts, dtype=np.float64).reshape(4, 2)
    c = pts.mean(axis=0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]
    # After sorting by angle (y down), the order is clockwise on screen; start at the corner with
    # the smallest x + y so that a page rotated by less than 45 degrees keeps its natural TL.
    start = int(np.argmin(pts[:, 0] + pts[:, 1]))
    return np.roll(pts, -start, axis=0)


def quad_area(q: np.ndarray) -> float:
    """Return the area of a simple polygon (shoelace formula)."""
    q = np.asarray(q, dtype=np.float64)
    x, y = q[:, 0], q[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def is_convex(q: np.ndarray) -> bool:
    """Tell whether four points form a strictly convex quadrilateral in the given order."""
    q = np.asarray(q, dtype=np.float64)
    d = np.roll(q, -1, axis=0) - q
    cross = d[:, 0] * np.roll(d, -1, axis=0)[:, 1] - d[:, 1] * np.roll(d, -1, axis=0)[:, 0]
    return bool(np.all(cross > 0) or np.all(cross < 0))


def jaccard(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Return the Jaccard index (IoU) of two convex quadrilaterals; 0 when either is missing."""
    if a is None or b is None:
        return 0.0
    pa = np.asarray(a, dtype=np.float32).reshape(-1, 2)
    pb = np.asarray(b, dtype=np.float32).reshape(-1, 2)
    if not (is_convex(pa) and is_convex(pb)):
        pa = cv2.convexHull(pa).reshape(-1, 2)
        pb = cv2.convexHull(pb).reshape(-1, 2)
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    union = quad_area(pa) + quad_area(pb) - inter
    return float(inter / union) if union > 0 else 0.0


def estimate_aspect(corners: np.ndarray, frame_size: tuple[int, int]) -> float:
    """Estimate the real height/width ratio of the rectangle imaged as ``corners``.

    Follows Zhang & He, "Whiteboard scanning and image enhancement" (2007): the two vanishing
    points give the focal length, which undoes the perspective foreshortening. When the view is
    close to fronto-parallel that focal length is undefined, and the mean side lengths are used.

    :param corners: TL, TR, BR, BL in pixels.
    :param frame_size: (width, height) of the frame, whose centre is taken as the principal point.
    """
    q = np.asarray(corners, dtype=np.float64)
    w_img, h_img = frame_size
    side_w = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    side_h = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    simple = side_h / max(side_w, 1e-9)
    c = np.array([(w_img - 1) / 2.0, (h_img - 1) / 2.0])
    # Zhang & He number the corners m1 TL, m2 TR, m3 BL, m4 BR.
    m1, m2, m4, m3 = (np.append(p - c, 1.0) for p in q)
    d2 = np.dot(np.cross(m2, m4), m3)
    d3 = np.dot(np.cross(m3, m4), m2)
    if abs(d2) < 1e-9 or abs(d3) < 1e-9:
        return float(simple)
    k2 = np.dot(np.cross(m1, m4), m3) / d2
    k3 = np.dot(np.cross(m1, m4), m2) / d3
    n2 = k2 * m2 - m1
    n3 = k3 * m3 - m1
    denom = n2[2] * n3[2]
    f2 = -(n2[0] * n3[0] + n2[1] * n3[1]) / denom if abs(denom) > 1e-12 else -1.0
    diag = float(np.hypot(w_img, h_img))
    # Outside a plausible range the estimate is noise (near fronto-parallel views); assume the
    # ~70 degree diagonal field of view typical of document cameras instead.
    if not (0.3 * diag) ** 2 < f2 < (4.0 * diag) ** 2:
        f2 = (0.7 * diag) ** 2
    num = (n2[0] ** 2 + n2[1] ** 2) / f2 + n2[2] ** 2
    den = (n3[0] ** 2 + n3[1] ** 2) / f2 + n3[2] ** 2
    if num <= 0 or den <= 0:
        return float(simple)
    return float(np.sqrt(den / num))


def snap_page_size(aspect: float, tolerance: float = SNAP_TOLERANCE) -> tuple[PageSize | None, bool]:
    """Find the known page size whose aspect is closest to ``aspect`` (height / width).

    Returns the size and whether the page lies in landscape; the size is None when nothing is
    within ``tolerance`` (relative).
    """
    landscape = aspect < 1.0
    a = 1.0 / aspect if landscape else aspect
    best = min(PAGE_SIZES, key=lambda s: abs(np.log(a / s.aspect)))
    if abs(a / best.aspect - 1.0) <= tolerance:
        return best, landscape
    return None, landscape


def warp_page(frame: np.ndarray, corners: np.ndarray, aspect: float, max_long_side: int = 2480) -> np.ndarray:
    """Warp the page inside ``corners`` to a flat image of height/width ``aspect``.

    The output keeps about the resolution the camera captured (the longer imaged side), capped at
    ``max_long_side`` (A4 at 300 dpi is 2480 x 3508; at 2480 long side it is about 212 dpi).
    """
    q = np.asarray(corners, dtype=np.float64)
    side_w = max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3]))
    side_h = max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1]))
    long_px = min(max(side_w, side_h), float(max_long_side))
    if aspect >= 1:
        out_h, out_w = long_px, long_px / aspect
    else:
        out_w, out_h = long_px, long_px * aspect
    out_w, out_h = max(round(out_w), 8), max(round(out_h), 8)
    dst = np.array([[-0.5, -0.5], [out_w - 0.5, -0.5], [out_w - 0.5, out_h - 0.5], [-0.5, out_h - 0.5]],
                   np.float32)
    H = cv2.getPerspectiveTransform(q.astype(np.float32), dst)
    return cv2.warpPerspective(frame, H, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

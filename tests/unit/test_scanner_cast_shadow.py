"""scan23: the straight edge of a hard cast shadow across a page (a lamp's arm, the visitor's head)
is no side of it; the outline covers the whole page, lit and shaded (a drawn page)."""
from __future__ import annotations

import cv2
import numpy as np

from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080
PAGE = np.array([[620.0, 180.0], [1330.0, 260.0], [1240.0, 1000.0], [540.0, 910.0]])  # TL, TR, BR, BL
DESK = (214.0, 218.0, 222.0)  # BGR: a light grey desk
PAPER = (238.0, 240.0, 242.0)
SHADOW = ((700.0, 0.0), (1100.0, 1080.0))  # the shadow's edge, from the top of the frame to its bottom


def _page_in_shadow(depth: float) -> np.ndarray:
    """A printed page on a desk, everything right of the shadow's edge (across the page and the
    desk, 2 px soft) darkened by ``depth`` (0: no shadow)."""
    rng = np.random.default_rng(23)
    img = np.empty((H, W, 3), np.float32)
    img[:] = DESK
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    img += (8.0 * np.sin(xx / 37.0) * np.sin(yy / 53.0))[..., None]  # the desk's mottle
    cv2.fillConvexPoly(img, np.round(PAGE * 16).astype(np.int32), PAPER, cv2.LINE_AA, 4)
    # Rows of text-like dashes and a picture, drawn in the page's own frame.
    flat = np.full((740, 720, 3), PAPER, np.float32)
    for y in range(60, 700, 34):
        for x in range(50, 660, 70):
            flat[y:y + 12, x:x + int(rng.integers(30, 62))] = 40.0
    flat[420:600, 380:650] = (60.0, 140.0, 200.0)
    src = np.array([[0, 0], [719, 0], [719, 739], [0, 739]], np.float32)
    hom = cv2.getPerspectiveTransform(src, PAGE.astype(np.float32))
    inner = PAGE.mean(0) + 0.97 * (PAGE - PAGE.mean(0))  # a plain margin round the print
    inside = cv2.warpPerspective(np.ones((740, 720), np.float32),
                                 cv2.getPerspectiveTransform(src, inner.astype(np.float32)), (W, H))[..., None]
    img = img * (1 - inside) + cv2.warpPerspective(flat, hom, (W, H)) * inside
    (x0, y0), (x1, y1) = SHADOW
    d = ((yy - y0) * (x1 - x0) - (xx - x0) * (y1 - y0)) / np.hypot(x1 - x0, y1 - y0)
    img *= (1.0 - depth / (1.0 + np.exp(-d / 2.0)))[..., None]
    img = cv2.GaussianBlur(img, (0, 0), 1.0) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_a_page_under_a_cast_shadow_is_found_whole(monkeypatch):
    img = _page_in_shadow(0.6)
    found = detect.find_page(img)
    assert found is not None and jaccard(PAGE, found) >= 0.9
    monkeypatch.setattr(detect, "SCAN23", False)  # before scan23 the lit part was taken for the page
    before = detect.find_page(img)
    assert before is None or jaccard(PAGE, before) < 0.9


def test_a_page_without_a_shadow_is_found_as_before(monkeypatch):
    img = _page_in_shadow(0.0)
    found = detect.find_page(img)
    assert found is not None and jaccard(PAGE, found) >= 0.97
    monkeypatch.setattr(detect, "SCAN23", False)
    assert np.abs(detect.find_page(img) - found).max() < 1e-9

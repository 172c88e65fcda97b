"""Issue 16: the colour-region cue of the page detector (candidates from k-means regions of a
small copy, and the colour change across an outline over a band) on real OpenCV images."""
from __future__ import annotations

import cv2
import numpy as np

from devices.scanner import detect
from devices.scanner.geometry import jaccard
from devices.scanner.synth import make_scene

W, H = 960, 540


def _working(img: np.ndarray) -> tuple[np.ndarray, float]:
    s = detect.WORK_SIZE / max(img.shape[:2])
    small = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb), (3, 3), 0), s


def _page_on_desk(desk=(60, 90, 130), paper=(235, 238, 240), frame_line=True):
    """A light page on a plain brown desk, a printed frame 40 px inside its edge, a dark
    'hand' over its top-right corner."""
    img = np.full((H, W, 3), desk, np.uint8)
    page = np.array([[200.0, 80.0], [700.0, 110.0], [680.0, 470.0], [180.0, 440.0]])
    cv2.fillConvexPoly(img, np.round(page).astype(np.int32), paper, cv2.LINE_AA)
    inner = page + np.array([[40, 40], [-40, 40], [-40, -40], [40, -40]])
    if frame_line:
        cv2.polylines(img, [np.round(inner).astype(np.int32)], True, (40, 40, 40), 2, cv2.LINE_AA)
    cv2.ellipse(img, (760, 60), (150, 60), -30, 0, 360, (120, 150, 200), -1, cv2.LINE_AA)
    rng = np.random.default_rng(4)
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    return img, page, inner


def test_a_region_outline_restores_a_corner_under_a_hand():
    img, page, _ = _page_on_desk()
    ycc8, s = _working(img)
    quads = detect._region_quads(detect._Regions(ycc8))
    assert quads, "the page is a region of its own colour"
    best = max(jaccard(page, (q + 0.5) / s - 0.5) for q in quads)
    # The hidden top-right corner comes back where the two visible sides meet.
    assert best > 0.95


def test_the_band_cue_tells_the_page_from_its_printed_frame():
    img, page, inner = _page_on_desk()
    ycc8, s = _working(img)
    regions = detect._Regions(ycc8)
    sep_page, sep_frame = regions.separation(np.stack([page * s, inner * s]))
    # Paper inside, desk outside the page; paper on both sides of the printed frame.
    assert sep_page > 0.8 and sep_frame < 0.3


def test_a_page_with_a_hidden_corner_is_found_with_its_corner():
    img, page, _ = _page_on_desk()
    found = detect.detect_page(img)
    assert found is not None and jaccard(page, found.corners) > 0.97


def test_detection_is_deterministic():
    # The regions come from a k-means started the same way every time: one frame, one answer
    # (the kiosk waits for the outline to stand still over several frames).
    sc = make_scene(np.random.default_rng(21), W, H, background="wood", occlusion="hand")
    a, b = detect.detect_page(sc.image), detect.detect_page(sc.image.copy())
    assert a is not None and b is not None
    assert np.array_equal(a.corners, b.corners) and a.confidence == b.confidence

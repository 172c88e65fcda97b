"""scan26 corners: a wide lens's barrel distortion bows a page's sides, and its corners are where
the bowed sides meet. When the sides' bows fit one lens about the frame's centre, the edge points
are straightened with it, straight lines met and the corners bowed back (drawn pages under a known
distortion, and plain geometry)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080
C = np.array([(W - 1) / 2.0, (H - 1) / 2.0])
R2 = (W * W + H * H) / 4.0


def _barrel(p: np.ndarray, k: float) -> np.ndarray:
    rel = p - C
    return C + rel * (1.0 + k * (rel * rel).sum(-1, keepdims=True) / R2)


def _photo(page: np.ndarray, k: float, seed: int = 0, blob: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A pale page on a darker, grainy desk seen through a lens with distortion ``k`` (the
    undistorted picture resampled where each distorted pixel comes from), and its true corners."""
    rng = np.random.default_rng(seed)
    m = 300  # the undistorted picture reaches this far past the frame (a lens sees more than its frame)
    img = np.full((H + 2 * m, W + 2 * m, 3), (70.0, 95.0, 120.0), np.float32)
    img += cv2.GaussianBlur(rng.normal(0, 12, img.shape[:2] + (1,)).astype(np.float32), (0, 0), 3)[..., None]
    pg = page + m
    cv2.fillConvexPoly(img, np.round(pg * 16).astype(np.int32), (225, 228, 232), cv2.LINE_AA, 4)
    for y in range(int(pg[:, 1].min()) + 80, int(pg[:, 1].max()) - 80, 40):  # lines of print
        x0 = float(np.interp(y, [pg[0, 1], pg[3, 1]], [pg[0, 0], pg[3, 0]]))
        cv2.line(img, (int(x0) + 80, y), (int(x0) + 420, y), (60, 60, 60), 3)
    if blob:  # a fingertip over the middle of the right side
        mid = (pg[1] + pg[2]) / 2.0
        cv2.ellipse(img, (int(mid[0]) + 10, int(mid[1])), (45, 28), 0, 0, 360, (110, 140, 200), -1, cv2.LINE_AA)
    gy, gx = np.mgrid[0:H, 0:W].astype(np.float64)
    dist = np.stack([gx, gy], -1).reshape(-1, 2)
    und = (detect._undistort(dist, k, W, H) if k else dist).astype(np.float32).reshape(H, W, 2) + m
    img = cv2.remap(img, np.ascontiguousarray(und[..., 0]), np.ascontiguousarray(und[..., 1]), cv2.INTER_LINEAR)
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 2.0, (H, W, 3)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), _barrel(page, k) if k else page


PAGE = np.array([[330.0, 70.0], [1560.0, 95.0], [1545.0, 1000.0], [345.0, 985.0]])  # most of the frame


@pytest.fixture
def bowed() -> tuple[np.ndarray, np.ndarray]:
    return _photo(PAGE, -0.07)


def test_the_corners_of_a_bowed_page_are_where_its_bowed_sides_meet(bowed, monkeypatch):
    img, truth = bowed
    got = detect.find_page(img)
    err = np.linalg.norm(got - truth, axis=1).max()
    monkeypatch.setattr(detect, "SCAN26_CORNERS", False)
    before = detect.find_page(img)
    err_before = np.linalg.norm(before - truth, axis=1).max()
    assert err < 1.5 and err < 0.5 * err_before
    assert jaccard(got, truth) > jaccard(before, truth)


def test_a_corner_outside_the_frame_follows_the_bowed_sides(monkeypatch):
    # The bottom right corner 28 px below the frame: met along the bowed sides, not their tangents.
    page = np.array([[700.0, 200.0], [1800.0, 230.0], [1990.0, 1160.0], [690.0, 1050.0]])
    img, truth = _photo(page, -0.07, seed=1)
    assert truth[2, 1] > H + 20
    got = detect.find_page(img)
    monkeypatch.setattr(detect, "SCAN26_CORNERS", False)
    before = detect.find_page(img)
    assert np.linalg.norm(got[2] - truth[2]) < 0.5 * np.linalg.norm(before[2] - truth[2])
    assert jaccard(got, truth) > 0.985 and jaccard(got, truth) > jaccard(before, truth) + 0.01


def test_a_straight_page_is_left_alone(monkeypatch):
    # No lens distortion (a fingertip over the right side, which the robust fit leaves out): no side
    # bows, the corners are the end lines' as before.
    img, truth = _photo(PAGE, 0.0, seed=2, blob=True)
    got = detect.find_page(img)
    assert jaccard(got, truth) > 0.99
    monkeypatch.setattr(detect, "SCAN26_CORNERS", False)
    assert np.abs(got - detect.find_page(img)).max() < 1e-9


def _curve(a: np.ndarray, b: np.ndarray, bow: float) -> tuple:
    """A side's entry as _refine_side gives it, only its bow and ends used by _lens."""
    return (bow, a, b, None, None, None)


def test_the_lens_is_fitted_to_all_sides_bows():
    q = _barrel(PAGE, -0.05)  # the sides' ends as seen; their bows are the undistorted sides'
    shape = [detect._lens_bow(PAGE[i], PAGE[(i + 1) % 4], C, R2) for i in range(4)]
    curves = [_curve(q[i], q[(i + 1) % 4], -0.05 * shape[i]) for i in range(4)]
    assert detect._lens(curves, W, H) == pytest.approx(-0.05, rel=0.01)
    # One side bent (a finger, a clip), the others straight: no lens does that.
    curves = [_curve(q[i], q[(i + 1) % 4], 6.0 if i == 1 else 0.0) for i in range(4)]
    assert detect._lens(curves, W, H) is None
    # Pincushion (sides bowed inwards) is not taken for a phone's lens.
    curves = [_curve(q[i], q[(i + 1) % 4], 0.05 * shape[i]) for i in range(4)]
    assert detect._lens(curves, W, H) is None


def test_undistort_inverts_distort():
    p = np.array([[10.0, 20.0], [1900.0, 1070.0], [960.0, 540.0]])
    back = detect._undistort(detect._distort(p, -0.06, W, H), -0.06, W, H)
    assert np.abs(back - p).max() < 0.05

"""The third, training-only photo generator (bench/scan_set3.py, scan22): reproducible, and its
labels are a page the trainer can use."""
from __future__ import annotations

import cv2
import numpy as np

from bench.scan_set3 import PAGES, make_photo

W, H = 640, 360


def test_third_set_is_reproducible_per_seed():
    a, b = (make_photo(np.random.default_rng(5), W, H) for _ in range(2))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.corners, b.corners) and a.tags == b.tags
    c = make_photo(np.random.default_rng(6), W, H)
    assert not np.array_equal(a.image, c.image)


def test_third_set_labels_lie_in_sensible_bounds():
    for seed in range(30):
        p = make_photo(np.random.default_rng(seed), W, H)
        assert p.image.shape == (H, W, 3) and p.image.dtype == np.uint8
        if p.corners is None:
            assert p.page == "none"
            continue
        assert p.page in PAGES and p.corners.shape == (4, 2) and np.isfinite(p.corners).all()
        # TL, TR, BR, BL: a convex outline, clockwise on screen.
        e = np.roll(p.corners, -1, axis=0) - p.corners
        assert np.all(e[:, 0] * np.roll(e, -1, axis=0)[:, 1] - e[:, 1] * np.roll(e, -1, axis=0)[:, 0] > 0)
        # Corners may lie outside the frame, not far outside; some page and some desk are in view.
        assert np.all(p.corners > -1.5 * np.array([W, H])) and np.all(p.corners < 2.5 * np.array([W, H]))
        inside = np.zeros((H, W), np.uint8)
        cv2.fillConvexPoly(inside, np.round(p.corners).astype(np.int32), 1)
        assert 0.002 < inside.mean() < 0.99


def test_an_empty_desk_has_no_corners():
    p = make_photo(np.random.default_rng(1), W, H, empty=True)
    assert p.corners is None and p.page == "none"


def test_the_trainer_takes_third_set_photos_with_masks():
    from bench.scan_train import _chunk

    x, y, kind, corners = _chunk(("set3", 700_123, 3, 64, "set3"))
    assert x.shape == (3, 64, 64, 3) and y.shape == (3, 80, 80) and set(kind) == {2}
    # Corners as shares of the frame; a page's mask is set somewhere (NaN rows: no page).
    for m, c in zip(y, corners):
        assert m.any() == bool(np.isfinite(c).all())

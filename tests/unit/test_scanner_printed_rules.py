"""scan18: an outline that runs along rules printed on a document camera's base plate (its A4/A5
outlines) is not the page, nor is one the page-mask network chose over the edges' outline without
a step anywhere along it (set2 photos, which the network misreads, and drawn rules)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from bench.scan_set2 import make_photo
from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080


# Base-plate photos (view "doccam", surface "baseplate") where the network misreads the plate and
# the pick before scan18 ran along its printed outlines; the most the answer is off before scan18.
PLATE_PHOTOS = {
    # An ID card under glare; the network calls the plate inside the printed A5 outline a page, and
    # that outline (rules on all four sides, no step) won.
    "card inside the printed outline": ("idcard", 4, 0.3),
    # A multi-column page; the outline that won ran two of its sides along the printed outline (two
    # rules, one step) and took in plate around the page.
    "page with two sides on the outline": ("multicolumn", 5, 0.3),
    # A multi-column page with a clip, one corner outside the frame; the network agreed far better
    # with an outline along a printed rule than with the page's, and switched to it.
    "the mask's switch to a rule": ("multicolumn", 42, 0.3),
    # A blank page with a finger on it; the outline that won had three sides on the paper's edge
    # and one on the printed outline beyond it.
    "one side on a rule": ("blank", 84, 0.6),
}


@pytest.mark.parametrize(("kind", "seed", "before_at_most"), list(PLATE_PHOTOS.values()), ids=list(PLATE_PHOTOS))
def test_a_page_on_the_plate_is_not_its_printed_outline(monkeypatch, kind, seed, before_at_most):
    photo = make_photo(np.random.default_rng(seed), W, H, kind=kind, view="doccam", surface="baseplate")
    found = detect.find_page(photo.image)
    assert jaccard(photo.corners, found) > 0.99
    assert np.abs(found - photo.corners).max() < 3.0
    # The detector as before scan18: no side is ever found on a printed rule.
    monkeypatch.setattr(detect, "_rule_sides", lambda img, q: ([], 4))
    assert jaccard(photo.corners, detect.find_page(photo.image)) < before_at_most


def _ruled_plate() -> tuple[np.ndarray, np.ndarray]:
    """A light grey plate with a thin dark rectangle printed on it, and that rectangle's corners."""
    rng = np.random.default_rng(1)
    img = np.full((H, W, 3), 205.0, np.float32) + rng.normal(0, 2.0, (H, W, 1)).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    rect = np.array([[400.0, 200.0], [1500.0, 200.0], [1500.0, 950.0], [400.0, 950.0]])
    cv2.polylines(img, [np.round(rect).astype(np.int32)], True, (110, 110, 110), 1, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 0.8), rect


def test_rule_sides_tells_a_printed_rule_from_a_page_edge():
    img, rect = _ruled_plate()
    rules, steps = detect._rule_sides(img, rect)
    assert rules == [0, 1, 2, 3] and steps == 0
    # A few pixels off the rule (a side snapped on the working copy) it is still the rule.
    rules, _ = detect._rule_sides(img, rect + np.array([[-5.0, -4.0], [5.0, -4.0], [5.0, 4.0], [-5.0, 4.0]]))
    assert rules == [0, 1, 2, 3]
    # A page's edge: the surface changes across every side, no rule.
    page = img.copy()
    inner = np.array([[600.0, 300.0], [1300.0, 300.0], [1300.0, 800.0], [600.0, 800.0]])
    cv2.fillConvexPoly(page, np.round(inner).astype(np.int32), (245, 245, 240), cv2.LINE_AA)
    assert detect._rule_sides(page, inner) == ([], 4)
    # Blank plate: neither.
    assert detect._rule_sides(img, inner) == ([], 0)

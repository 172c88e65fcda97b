"""scan18: an outline that runs along rules printed on a document camera's base plate (its A4/A5
outlines) is not the page, nor is one the page-mask network chose over the edges' outline without
a step anywhere along it (set2 photos, which the network misreads, and drawn rules)."""
from __future__ import annotations

import cv2
import numpy as np

from bench.scan_set2 import make_photo
from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080


def _without_rules(monkeypatch):
    """The detector as before scan18: no side is ever found on a printed rule."""
    monkeypatch.setattr(detect, "_rule_sides", lambda img, q: ([], 4))


def _plate_photo(kind: str, seed: int):
    return make_photo(np.random.default_rng(seed), W, H, kind=kind, view="doccam", surface="baseplate")


def test_a_card_on_the_plate_is_not_the_printed_outline_around_it(monkeypatch):
    # An ID card under glare on a base plate; the network calls the plate inside the printed A5
    # outline a page, and that outline (rules on all four sides, no step) won.
    photo = _plate_photo("idcard", 4)
    found = detect.find_page(photo.image)
    assert jaccard(photo.corners, found) > 0.99
    assert np.abs(found - photo.corners).max() < 6.0
    _without_rules(monkeypatch)
    assert jaccard(photo.corners, detect.find_page(photo.image)) < 0.3


def test_a_page_on_the_plate_does_not_take_its_sides_from_the_printed_outline(monkeypatch):
    # A multi-column page on a base plate: the outline that won ran two of its sides along the
    # printed outline (two rules, one step) and took in plate around the page.
    photo = _plate_photo("multicolumn", 5)
    found = detect.find_page(photo.image)
    assert jaccard(photo.corners, found) > 0.99
    assert np.abs(found - photo.corners).max() < 10.0
    _without_rules(monkeypatch)
    assert jaccard(photo.corners, detect.find_page(photo.image)) < 0.3


def test_the_mask_does_not_switch_to_an_outline_along_the_printed_rules(monkeypatch):
    # A multi-column page with a clip, one corner outside the frame, on a base plate: the network
    # agreed far better with an outline running along a printed rule than with the page's, and
    # switched to it.
    photo = _plate_photo("multicolumn", 42)
    found = detect.find_page(photo.image)
    assert jaccard(photo.corners, found) > 0.99
    _without_rules(monkeypatch)
    assert jaccard(photo.corners, detect.find_page(photo.image)) < 0.3


def test_one_side_on_a_rule_yields_to_the_papers_edge(monkeypatch):
    # A blank page with a finger on it on a base plate: the outline that won had three sides on the
    # paper's edge and one on the printed outline beyond it; set aside, the paper's own outline wins.
    photo = _plate_photo("blank", 84)
    found = detect.find_page(photo.image)
    assert jaccard(photo.corners, found) > 0.99
    _without_rules(monkeypatch)
    assert jaccard(photo.corners, detect.find_page(photo.image)) < 0.6


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

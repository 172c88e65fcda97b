"""scan19: a side of the final outline on a band printed on the card (its number line, its photo)
with the same card beyond it moves out onto the card's edge; a card's own edge, with a soft
shadow's ramp or a light desk beyond it, stays (a set2 photo and drawn cards)."""
from __future__ import annotations

import cv2
import numpy as np

from bench.scan_set2 import make_photo
from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080
CARD = np.array([[700.0, 300.0], [1320.0, 300.0], [1320.0, 690.0], [700.0, 690.0]])  # 620 x 390 px


def _card(desk: float, band_top: float | None, shadow_blur: float) -> np.ndarray:
    """A light card on a desk of brightness ``desk`` with a soft drop shadow, and a dark band (a
    number line) 24 px tall from ``band_top`` (none with ``band_top`` None)."""
    rng = np.random.default_rng(2)
    img = np.full((H, W, 3), desk, np.float32)
    alpha = np.zeros((H, W), np.float32)
    cv2.fillConvexPoly(alpha, np.round((CARD + 8.0) * 16).astype(np.int32), 1.0, cv2.LINE_AA, 4)
    img *= (1 - 0.3 * cv2.GaussianBlur(alpha, (0, 0), shadow_blur))[..., None]
    cv2.fillConvexPoly(img, np.round(CARD * 16).astype(np.int32), (214, 212, 210), cv2.LINE_AA, 4)
    if band_top is not None:
        img[int(band_top):int(band_top) + 24, 760:1260] = (95, 95, 100)
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_a_side_on_the_number_line_moves_out_onto_the_cards_edge(monkeypatch):
    # The band's lower edge lies 40 px inside the card's bottom edge; beyond it the same card, then
    # a sharp step down to a darker desk.
    img = _card(desk=150.0, band_top=626.0, shadow_blur=2.0)
    start = CARD.copy()
    start[2:, 1] = 650.0  # the bottom side on the band's lower edge
    moved = detect._settle_sides(img, start)
    assert np.abs(moved - CARD).max() < 1.5
    monkeypatch.setattr(detect, "SCAN19", False)  # before scan19 the side stayed on the band
    assert np.abs(detect._settle_sides(img, start) - start).max() < 1e-9


def test_the_cards_edge_stays_with_a_soft_shadow_beyond_it():
    # A light desk as bright as the card and a wide, soft shadow: beyond the card's edge a ramp, not
    # a paper's edge; a band right inside the edge is the card's, not a sign that the card goes on.
    img = _card(desk=214.0, band_top=None, shadow_blur=12.0)
    img[666:690, 760:1260] = (95, 95, 100)
    assert np.abs(detect._settle_sides(img, CARD) - CARD).max() < 1e-9


def test_a_card_with_its_bottom_side_on_the_number_line_is_found_whole(monkeypatch):
    # set2: an ID card on a white desk seen by a phone, glare on it; before scan19 the outline's
    # bottom side lay on the number line (the card's two bottom corners 40 px off).
    photo = make_photo(np.random.default_rng(10), W, H, kind="idcard", view="phone")
    found = detect.find_page(photo.image)
    assert jaccard(photo.corners, found) > 0.93
    assert np.abs(found[2:] - photo.corners[2:]).max() < 2.0
    monkeypatch.setattr(detect, "SCAN19", False)
    assert jaccard(photo.corners, detect.find_page(photo.image)) < 0.8

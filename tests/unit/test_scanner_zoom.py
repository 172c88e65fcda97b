"""scan26: a small, doubtful outline wholly in the frame (an ID card, a receipt) is looked at again
on a crop of the frame's aspect round it, where the whole frame's outline is one candidate among
the crop's mask outlines, their side-by-side mixtures with it and its completions to a card's
shape (a set2 photo, drawn cards and plain geometry)."""
from __future__ import annotations

import cv2
import numpy as np

from bench.scan_set2 import make_photo
from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080
CARD = np.array([[800.0, 400.0], [1228.0, 400.0], [1228.0, 670.0], [800.0, 670.0]])  # 428 x 270 px: ID-1


def test_a_card_on_the_base_plate_is_found_whole_on_the_zoomed_crop(monkeypatch):
    # set2: an ID card on a document camera's pale base plate; on the whole frame the outline
    # stopped at the card's photo and number row (JI 0.76), on the crop its edges are found.
    photo = make_photo(np.random.default_rng(51), W, H, kind="idcard", view="doccam", surface="baseplate", out="none")
    assert jaccard(photo.corners, detect.find_page(photo.image)) > 0.95
    monkeypatch.setattr(detect, "SCAN26_ZOOM", False)
    assert jaccard(photo.corners, detect.find_page(photo.image)) < 0.8


def test_the_crop_has_the_frames_aspect_and_room_round_the_outline():
    x0, y0, cw, ch = detect._zoom_box(CARD, W, H)
    assert abs(cw / ch - W / H) < 0.01
    assert x0 <= 800 - 0.3 * 428 + 1 and x0 + cw >= 1228 + 0.3 * 428 - 1
    assert y0 < 400 and y0 + ch > 670
    # Near the frame's edge the crop is shifted, not cut, and stays inside the frame.
    x0, y0, cw, ch = detect._zoom_box(CARD + [650.0, 380.0], W, H)
    assert x0 + cw <= W and y0 + ch <= H


def test_no_crop_for_a_page_cut_by_the_frame_or_a_large_page():
    assert detect._zoom_box(CARD - [0.0, 420.0], W, H) is None  # runs out over the top edge
    page = np.array([[300.0, 100.0], [1300.0, 100.0], [1300.0, 1000.0], [300.0, 1000.0]])
    assert detect._zoom_box(page, W, H) is None


def test_mixed_outlines_take_each_side_from_either():
    a = CARD.copy()
    b = CARD.copy()
    b[1:3, 0] += 40.0  # the right side further out
    b[2:, 1] += 30.0  # and the bottom
    got = detect._mixed(a, b)
    assert len(got) == 14
    want = a.copy()
    want[1:3, 0] += 40.0  # the right side of b, the bottom of a
    assert min(np.abs(g - want).max() for g in got) < 1e-6


def _drawn_card() -> np.ndarray:
    """A pale card on a slightly darker desk, a dark number row across it 40 px above its bottom."""
    rng = np.random.default_rng(3)
    img = np.full((H, W, 3), 160.0, np.float32)
    cv2.fillConvexPoly(img, np.round(CARD * 16).astype(np.int32), (205, 200, 198), cv2.LINE_AA, 4)
    img[600:624, 840:1180] = (60, 60, 70)
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_a_card_outline_short_of_its_bottom_is_completed_at_the_cards_shape():
    img = _drawn_card()
    short = CARD.copy()
    short[2:, 1] = 600.0  # stopped at the number row: aspect 428 / 200, no card's
    got = detect._card_completions(img, short)
    assert got
    assert max(jaccard(g, CARD) for g in got) > 0.97


def test_a_frame_no_larger_than_the_working_copy_is_not_zoomed(monkeypatch):
    # Its crop would be searched at the same resolution as the frame: nothing to gain.
    img = cv2.resize(_drawn_card(), (480, 270), interpolation=cv2.INTER_AREA)
    q = CARD / 4.0
    calls = []
    monkeypatch.setattr(detect, "_detect", lambda *a, **k: calls.append(a))
    assert detect._zoom(img, q, 0.5) == (q, 0.5)
    assert not calls


def test_an_answer_on_a_side_of_the_crop_inside_the_frame_is_not_taken(monkeypatch):
    # The crop's answer runs onto the crop's left side, which lies inside the frame: the page may go
    # on beyond the crop, so the whole frame's outline stays.
    img = _drawn_card()
    x0, y0, _cw, _ch = detect._zoom_box(CARD, W, H)
    assert x0 > 0
    cut = CARD - [x0, y0]
    cut[[0, 3], 0] = 0.0
    monkeypatch.setattr(detect, "_detect", lambda crop, hint: (cut, 0.99))
    got, score = detect._zoom(img, CARD, 0.6)
    assert np.array_equal(got, CARD) and score == 0.6
    inside = CARD - [x0, y0] + [5.0, 0.0]
    monkeypatch.setattr(detect, "_detect", lambda crop, hint: (inside, 0.99))
    got, score = detect._zoom(img, CARD, 0.6)
    assert np.allclose(got, CARD + [5.0, 0.0]) and score == 0.99

"""scan25: a side with the page's own print running on beyond it to the frame's edge moves out onto
that edge even where the network agrees a little less; a page whose edge lies a little inside the
frame, the desk beyond, keeps it. A page cut off by the frame is closed at a card's shape only when
its corners are rounded as a card's, at paper's when they are cut square (drawn pages)."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np

from bench.scan_set2 import make_photo
from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080
DESK = 212.0  # a white desk, a little darker than the paper
PAPER = 246.0
RULE_Y = 1030  # a form's printed rule, 50 px above the frame's bottom edge


def _form(paper_ends: float | None, figures_below: bool = True) -> np.ndarray:
    """A near-white form on a white desk running on past the frame's bottom edge (or ending at
    ``paper_ends``), a table's rules and rows of figures on it, one rule at RULE_Y and (with
    ``figures_below``) a row of figures between it and the frame's edge."""
    rng = np.random.default_rng(5)
    img = np.full((H, W, 3), DESK, np.float32)
    bottom = H if paper_ends is None else int(paper_ends)
    img[300:bottom, 700:1260] = PAPER
    for y in (420, 640, 860, RULE_Y):
        img[y:y + 2, 740:1220] = 120.0  # the table's rules, 2 px
    rows = (450, 670, 890) + ((1052,) if figures_below else ())
    for y in rows:
        for x in range(760, 1200, 24):  # a row of figures: blocks with gaps, like text
            img[y:y + 12, x:x + 14] = 90.0
    img = cv2.GaussianBlur(img, (0, 0), 1.0) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


# The page-mask network's agreement with the outline before and after a run-out: it fades near
# the frame's edge, a little less.
DOUBTS = SimpleNamespace(iou=lambda quads: np.array([0.9, 0.87]))
ON_RULE = np.array([[700.0, 300.0], [1260.0, 300.0], [1260.0, RULE_Y + 0.5], [700.0, RULE_Y + 0.5]])


def test_print_beyond_a_rule_moves_the_side_out_although_the_network_doubts(monkeypatch):
    img = _form(paper_ends=None)
    moved, ran = detect._run_out(img, ON_RULE, DOUBTS, (0.25, 0.25))
    assert ran
    assert np.abs(moved[:2] - ON_RULE[:2]).max() < 1e-9  # the top side stays
    assert np.abs(moved[2:, 1] - (H - 0.5)).max() < 1e-6  # the bottom one lies on the frame's edge
    monkeypatch.setattr(detect, "SCAN25", False)  # before scan25 the network's word alone
    assert not detect._run_out(img, ON_RULE, DOUBTS, (0.25, 0.25))[1]


def test_blank_paper_beyond_a_rule_needs_the_network():
    # No print past the rule: nothing says it is the page rather than a desk of the paper's colour.
    img = _form(paper_ends=None, figures_below=False)
    assert not detect._run_out(img, ON_RULE, DOUBTS, (0.25, 0.25))[1]


def test_a_pages_own_edge_near_the_frame_stays_with_the_desk_beyond():
    img = _form(paper_ends=RULE_Y + 1, figures_below=False)
    edge = ON_RULE.copy()
    edge[2:, 1] = RULE_Y + 0.5
    assert not detect._run_out(img, edge, DOUBTS, (0.25, 0.25))[1]


CARD_W = 600.0  # px across a card's long side (85.6 mm): its corners' radius is 22 px


def _cut_off(rounded: bool) -> tuple[np.ndarray, np.ndarray]:
    """A light document on a dark desk, its top running out of the frame, its two lower corners
    rounded as an ID-1 card's or cut square as paper; the photo and the outline the frame shows
    (TL, TR on the frame's top edge, BR, BL)."""
    img = np.full((H, W, 3), 60.0, np.float32)
    x0, x1, y1 = 660, 660 + int(CARD_W), 500
    r = round(3.18 / 85.6 * CARD_W) if rounded else 0
    img[0:y1 - r, x0:x1] = 225.0
    img[0:y1, x0 + r:x1 - r] = 225.0
    if r:
        for cx in (x0 + r, x1 - r - 1):
            cv2.circle(img, (cx, y1 - r - 1), r, (225.0, 225.0, 225.0), -1, cv2.LINE_AA)
    img = np.clip(cv2.GaussianBlur(img, (0, 0), 1.0), 0, 255).astype(np.uint8)
    q = np.array([[x0 - 0.5, -0.5], [x1 - 0.5, -0.5], [x1 - 0.5, y1 - 0.5], [x0 - 0.5, y1 - 0.5]])
    return img, q


def test_rounded_corners_tell_a_card_from_paper():
    card, q = _cut_off(rounded=True)
    assert detect._rounded_corners(card, q, 0) is True
    paper, q = _cut_off(rounded=False)
    assert detect._rounded_corners(paper, q, 0) is False


def test_a_page_cut_square_is_closed_at_paper_not_at_a_card(monkeypatch):
    # The frame shows 0.55 of the near side's length: a card's 54 : 85.6 (0.63) and paper's
    # 1 : sqrt 2 (0.71) both fit; before scan25 the shorter, the card's, was taken.
    img, q = _cut_off(rounded=False)
    q[2:, 1] = 330.0 - 0.5  # the near side 330 px down: 0.55 of the width shown
    img[330:] = 60
    closed = detect._close_cut_page(q, W, H, None, (0.25, 0.25), img)
    length = (closed[2, 1] - closed[1, 1]) / CARD_W
    assert abs(length - 1 / np.sqrt(2)) < 0.01  # A4 the long way across
    monkeypatch.setattr(detect, "SCAN25", False)
    closed = detect._close_cut_page(q, W, H, None, (0.25, 0.25), img)
    assert abs((closed[2, 1] - closed[1, 1]) / CARD_W - 54.0 / 85.6) < 0.01


def test_a_page_cut_off_on_the_base_plate_is_closed_at_a4(monkeypatch):
    # set2: a two-column page on a document camera's base plate, one side out of the frame; its
    # square corners rule out the card's shape the closing took before scan25.
    photo = make_photo(np.random.default_rng(15), W, H, kind="multicolumn", view="doccam", surface="baseplate",
                       out="side")
    assert jaccard(photo.corners, detect.find_page(photo.image)) > 0.96
    monkeypatch.setattr(detect, "SCAN25", False)
    assert jaccard(photo.corners, detect.find_page(photo.image)) < 0.9

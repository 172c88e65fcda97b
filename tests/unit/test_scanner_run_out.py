"""scan20: a side of the final outline on a rule printed across a page that runs on out of the frame
moves out onto the frame's edge; a page that ends before the frame's edge keeps its side. A card's
drop shadow wider than the first search is looked through to the card's edge (drawn pages)."""
from __future__ import annotations

import cv2
import numpy as np

from bench.scan_set2 import make_photo
from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080
DESK = 212.0  # a white desk, a little darker than the paper
PAPER = 246.0
RULE_Y = 1030  # a form's printed rule, 50 px above the frame's bottom edge


def _form(paper_ends: float | None) -> np.ndarray:
    """A near-white form on a white desk, running on past the frame's bottom edge (or ending at
    ``paper_ends``), a table's rules and rows of figures printed on it, one rule at RULE_Y."""
    rng = np.random.default_rng(5)
    img = np.full((H, W, 3), DESK, np.float32)
    bottom = H + 80 if paper_ends is None else paper_ends
    img[300:int(bottom), 700:1260] = PAPER
    for y in (420, 640, 860, RULE_Y):
        img[y:y + 2, 740:1220] = 120.0  # the table's rules, 2 px
    img[300:1080, 900:902] = 150.0  # a column rule (it runs on past the frame too)
    for y in (450, 670, 890, 1052):
        for x in range(760, 1200, 24):  # a row of figures: blocks with gaps, like text
            img[y:y + 12, x:x + 14] = 90.0
    img[int(bottom):, 700:1260] = DESK if paper_ends is not None else img[int(bottom):, 700:1260]
    img = cv2.GaussianBlur(img, (0, 0), 1.0) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


class Mask:
    """The page-mask network's agreement with the outline before and after a run-out."""

    def __init__(self, before: float, after: float) -> None:
        self.before, self.after = before, after

    def iou(self, quads):
        return np.array([self.before, self.after])


AGREES = Mask(0.85, 0.9)
ON_RULE = np.array([[700.0, 300.0], [1260.0, 300.0], [1260.0, RULE_Y + 0.5], [700.0, RULE_Y + 0.5]])


def test_a_side_on_a_rule_with_the_page_beyond_it_moves_out_onto_the_frames_edge():
    img = _form(paper_ends=None)
    moved, ran = detect._run_out(img, ON_RULE, AGREES, (0.25, 0.25))
    assert ran
    assert np.abs(moved[:2] - ON_RULE[:2]).max() < 1e-9  # the top side stays
    assert np.abs(moved[2:, 1] - (H - 0.5)).max() < 1e-6  # the bottom one lies on the frame's edge
    assert np.abs(moved[2:, 0] - ON_RULE[2:, 0]).max() < 1e-6


def test_a_rule_with_the_paper_ending_before_the_frames_edge_stays():
    # The paper's edge 22 px past the rule and the desk beyond it: a step on the way, so the side
    # stays (the page ends in the picture, its edge is for _settle_sides to find).
    img = _form(paper_ends=RULE_Y + 22)
    assert np.abs(detect._run_out(img, ON_RULE, AGREES, (0.25, 0.25))[0] - ON_RULE).max() < 1e-9


def test_a_pages_own_edge_near_the_frame_stays():
    # The paper ends where the outline does: the desk beyond, no printed line.
    img = _form(paper_ends=RULE_Y + 1)
    edge = ON_RULE.copy()
    edge[2:, 1] = RULE_Y + 0.5
    assert np.abs(detect._run_out(img, edge, AGREES, (0.25, 0.25))[0] - edge).max() < 1e-9


def test_the_run_out_needs_the_mask_to_agree():
    img = _form(paper_ends=None)
    disagrees = Mask(0.9, 0.8)  # the network sees desk past the rule
    assert np.abs(detect._run_out(img, ON_RULE, disagrees, (0.25, 0.25))[0] - ON_RULE).max() < 1e-9
    assert np.abs(detect._run_out(img, ON_RULE, None, (0.25, 0.25))[0] - ON_RULE).max() < 1e-9


def test_a_form_cut_off_by_the_frame_runs_out_and_is_closed_at_a4(monkeypatch):
    # set2: a form on a white desk, its bottom 140 px past the frame's edge; before scan20 the
    # outline's bottom side lay on the table's last rule inside the frame.
    photo = make_photo(np.random.default_rng(19), W, H, kind="form", view="doccam", surface="white", out="side")
    found = detect.find_page(photo.image)
    assert jaccard(photo.corners, found) > 0.98
    monkeypatch.setattr(detect, "SCAN20", False)
    assert jaccard(photo.corners, detect.find_page(photo.image)) < 0.8


CARD = np.array([[860.0, 250.0], [990.0, 250.0], [990.0, 460.0], [860.0, 460.0]])  # 130 x 210 px
SHADE = 30.0  # the shadow reaches this far past the card's left side


def _card_with_wide_shadow(shadow: float) -> np.ndarray:
    """An ID card seen from above, a little darker than the light desk, with a drop shadow
    ``SHADE`` px wide to its left darkening the desk by ``shadow``."""
    rng = np.random.default_rng(7)
    img = np.full((H, W, 3), (226.0, 224.0, 220.0), np.float32)
    img[246:464, int(CARD[0, 0] - SHADE):int(CARD[1, 0])] *= 1.0 - shadow
    img[250:460, 860:990] = (200.0, 210.0, 205.0)
    img[420:440, 880:970] = (90.0, 90.0, 90.0)  # the number line
    img = cv2.GaussianBlur(img, (0, 0), 1.5) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_a_side_on_a_wide_shadows_outer_edge_moves_onto_the_cards_edge(monkeypatch):
    img = _card_with_wide_shadow(0.22)
    start = CARD.copy()
    start[[0, 3], 0] -= SHADE  # the left side on the shadow's outer edge
    moved = detect._settle_sides(img, start)
    assert np.abs(moved - CARD).max() < 1.5
    monkeypatch.setattr(detect, "SCAN20", False)  # before scan20 the search stopped inside the shadow
    assert np.abs(detect._settle_sides(img, start) - start).max() < 1e-9


def test_a_wide_faint_shadow_is_not_looked_through():
    # A strip barely darker than the card further in (as a band printed along its edge may be):
    # nothing to look through, the side stays.
    img = _card_with_wide_shadow(0.1)
    start = CARD.copy()
    start[[0, 3], 0] -= SHADE
    assert np.abs(detect._settle_sides(img, start) - start).max() < 1e-9

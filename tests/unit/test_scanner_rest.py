"""scan26 (pages that are not ID cards or receipts): a white page's edge onto its own drop shadow on a
pale desk is a step (not a printed rule), the network's favourite with no edge evidence does not
replace a clean outline it shares a side with, and an outline the network sees no page in gives way
to the one it does (drawn pages and the chooser's own figures)."""
from __future__ import annotations

import cv2
import numpy as np

from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080
PAGE = np.array([[760.0, 170.0], [1300.0, 215.0], [1250.0, 930.0], [690.0, 890.0]])  # TL, TR, BR, BL
DESK = (236.0, 238.0, 240.0)  # BGR: a white desk
PAPER = (244.0, 246.0, 247.0)  # a white page, a shade brighter


def _desk(rng: np.random.Generator) -> np.ndarray:
    img = np.empty((H, W, 3), np.float32)
    img[:] = DESK
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    return img + (4.0 * np.sin(xx / 41.0) * np.sin(yy / 59.0))[..., None]  # the desk's mottle


def _finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    img = cv2.GaussianBlur(img, (0, 0), 1.0) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _white_page(shadow: float) -> np.ndarray:
    """The white page on the white desk, its drop shadow (the outline moved right and down,
    blurred) ``shadow`` grey levels deep: its right and bottom sides show a dark band outside,
    the other two only the faint step from desk to paper."""
    rng = np.random.default_rng(26)
    img = _desk(rng)
    dark = np.zeros((H, W), np.float32)
    cv2.fillConvexPoly(dark, np.round((PAGE + [10.0, 12.0]) * 16).astype(np.int32), 1.0, cv2.LINE_AA, 4)
    img -= (shadow * cv2.GaussianBlur(dark, (0, 0), 6.0))[..., None]
    page = np.zeros((H, W), np.float32)
    cv2.fillConvexPoly(page, np.round(PAGE * 16).astype(np.int32), 1.0, cv2.LINE_AA, 4)
    img = img * (1 - page[..., None]) + np.array(PAPER, np.float32) * page[..., None]
    return _finish(img, rng)


def _ruled_desk() -> np.ndarray:
    """The same desk with a thin grey rule printed along the page's outline (a base plate's A4
    outline) and no page."""
    rng = np.random.default_rng(27)
    img = _desk(rng)
    cv2.polylines(img, [np.round(PAGE * 16).astype(np.int32).reshape(-1, 1, 2)], True, (150.0, 150.0, 150.0),
                  3, cv2.LINE_AA, 4)
    return _finish(img, rng)


def _score_of(img: np.ndarray, quad: np.ndarray) -> float:
    s = detect.WORK_SIZE / W
    small = cv2.resize(img, (round(W * s), round(H * s)), interpolation=cv2.INTER_AREA)
    ycc = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb), (3, 3), 0)
    contrast = detect._contrast_threshold(ycc[..., 0])
    return float(detect._score_quads(ycc.astype(np.float32), [(quad + 0.5) * s - 0.5], contrast)[0][0])


def test_a_white_pages_edge_onto_its_drop_shadow_is_a_step(monkeypatch):
    img = _white_page(60.0)
    assert _score_of(img, PAGE) >= detect.MIN_SCORE
    found = detect.find_page(img)
    assert found is not None and jaccard(PAGE, found) >= 0.95
    monkeypatch.setattr(detect, "SCAN26_REST", False)  # before: the shadow's band passed for a printed rule
    assert _score_of(img, PAGE) < detect.MIN_SCORE


def test_a_thin_printed_rule_is_still_no_page(monkeypatch):
    img = _ruled_desk()
    on = _score_of(img, PAGE)
    monkeypatch.setattr(detect, "SCAN26_REST", False)
    assert on < detect.MIN_SCORE and abs(on - _score_of(img, PAGE)) < 1e-9


def _choice(score, iou, quads):
    """detect._choice on two or more candidates' figures (no region cue; a mask at hand)."""
    score, iou = np.asarray(score, float), np.asarray(iou, float)
    q = np.asarray(quads, float)
    n = len(score)
    area = np.abs(detect._signed_area(q)) / (480 * 270)
    ok = score >= detect.MIN_SCORE
    return detect._choice(score, score + 0.1 * np.sqrt(area), ok, np.ones(n, bool), iou, area, np.zeros(n, int),
                          np.zeros((n, 3)), np.zeros((n, 3)), q, None, object())


PAGE_W = np.array([[300.0, 90.0], [410.0, 70.0], [430.0, 200.0], [320.0, 220.0]])  # working pixels
BLOB = np.array([[60.0, 20.0], [400.0, 10.0], [430.0, 200.0], [60.0, 240.0]])  # runs on from PAGE_W over the desk
FIGURE = np.array([[330.0, 110.0], [390.0, 105.0], [395.0, 150.0], [335.0, 155.0]])  # printed on the page


def test_the_masks_blob_does_not_replace_a_clean_page_it_shares_a_side_with(monkeypatch):
    # The network took the page and the pale plate beside it for one page; the edges' pick, clean
    # all round, shares the blob's right-hand side.
    assert _choice([0.84, 0.0], [0.23, 0.78], [PAGE_W, BLOB]) == (0, False)
    monkeypatch.setattr(detect, "SCAN26_REST", False)
    assert _choice([0.84, 0.0], [0.23, 0.78], [PAGE_W, BLOB]) == (1, True)


def test_a_printed_figure_still_gives_way_to_the_masks_page():
    # A figure on a white page shares no side with the page the network sees: the switch stands.
    assert not detect._share_side(FIGURE, PAGE_W, detect.SWITCH_SAME_LINE)
    assert _choice([1.0, -0.05], [0.09, 0.85], [FIGURE, PAGE_W]) == (1, True)


def test_an_outline_the_mask_sees_no_page_in_gives_way(monkeypatch):
    # A strip of desk between the frame's edge and a faint white page: enough edge evidence, no
    # mask at all; the page the mask sees is there, with too little of its own.
    strip = np.array([[0.0, 111.0], [24.0, 111.0], [29.0, 244.0], [0.0, 243.0]])
    page = np.array([[24.0, 111.0], [186.0, 114.0], [235.0, 257.0], [29.0, 241.0]])
    assert _choice([0.55, -0.05], [0.0, 0.61], [strip, page]) == (1, True)
    monkeypatch.setattr(detect, "SCAN26_REST", False)
    assert _choice([0.55, -0.05], [0.0, 0.61], [strip, page]) == (0, False)


def test_a_border_side_needs_a_neighbour_whose_step_runs_to_it():
    # One outline, side 1 on the frame's border: sides 0 and 2 show their step (True) along their
    # whole length, or only up to the page's corner short of the border.
    n = detect._N_SAMPLES
    vis = np.ones((2, 4, n), bool)
    on_border = np.array([[False, True, False, False]] * 2)
    support = np.ones((2, 4, n), bool)
    short = np.arange(n) < int(0.7 * n)  # the step stops at 70 % of the side's length
    support[1, 0] = short  # side 0 runs from corner 0 to corner 1 (the border side's start) ...
    support[1, 2] = short[::-1]  # ... side 2 from corner 2 (the border side's end) to corner 3
    got = detect._border_unled(support, vis, on_border)
    assert not got[0].any()  # a page cut off by the frame: its sides run out of it
    assert got[1].tolist() == [False, True, False, False]  # a page wholly inside, the desk closed by the border

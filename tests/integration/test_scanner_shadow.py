"""scan16: a card's own drop shadow is not its edge, nor is a form's printed frame the paper's, and
an outline the page-mask network calls partly desk does not win as "the outline around the page"
(real OpenCV images, set2 photos)."""
from __future__ import annotations

import cv2
import numpy as np

from bench.scan_set2 import make_photo
from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080
DESK = (200, 200, 200)  # BGR: a light grey desk
CARD = (185, 178, 212)  # a pinkish card, about as bright as the desk
SHIFT = np.array([13.0, 11.0])  # the shadow's offset (light from the top left)


def _rectangle(centre, size, angle_deg):
    a = np.radians(angle_deg)
    u, v = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    (cx, cy), (w, h) = centre, size
    c = np.array([cx, cy])
    return np.array([c - u * w / 2 - v * h / 2, c + u * w / 2 - v * h / 2, c + u * w / 2 + v * h / 2,
                     c - u * w / 2 + v * h / 2])


def _card(shadow: float, header: str | None, blur: float = 3.0, seed: int = 3):
    """A card 620 x 390 px turned by 7 degrees on a light desk; optionally its soft drop shadow
    (offset by SHIFT, darkening the desk by ``shadow``, blurred by ``blur`` px) and a band 15 %
    darker along its top or bottom edge, as set2's cards have."""
    rng = np.random.default_rng(seed)
    card = _rectangle((900, 520), (620, 390), 7.0)
    img = np.full((H, W, 3), DESK, np.float32)
    if shadow:
        alpha = np.zeros((H, W), np.float32)
        cv2.fillConvexPoly(alpha, np.round((card + SHIFT) * 16).astype(np.int32), 1.0, cv2.LINE_AA, 4)
        alpha = cv2.GaussianBlur(alpha, (0, 0), blur)
        img *= (1 - shadow * alpha)[..., None]
    body = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(body, np.round(card * 16).astype(np.int32), 255, cv2.LINE_AA, 4)
    face = np.zeros((H, W, 3), np.float32)
    face[:] = CARD
    if header:
        # 6 % of the card's height along one long side, darker in the card's own colour.
        a, b, c, d = card if header == "top" else card[[3, 2, 1, 0]]
        strip = np.array([a, b, b + (c - b) * 0.06, a + (d - a) * 0.06])
        band = np.zeros((H, W), np.uint8)
        cv2.fillConvexPoly(band, np.round(strip * 16).astype(np.int32), 255, cv2.LINE_AA, 4)
        face *= (1 - 0.15 * band[..., None] / 255.0)
    a = body[..., None] / 255.0
    img = img * (1 - a) + face * a
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), card


def _meet(p1, p2, q1, q2):
    (ax, ay), (bx, by), (cx, cy) = p2 - p1, q2 - q1, q1 - p1
    return p1 + (p2 - p1) * (cx * by - cy * bx) / (ax * by - ay * bx)


def _on_shadow_edge(card):
    """The card's top and left sides with the right and bottom ones on the shadow's outer edge."""
    tl, tr, br, bl = card
    tr2, br2, bl2 = tr + SHIFT, br + SHIFT, bl + SHIFT
    return np.array([tl, _meet(tl, tr, tr2, br2), _meet(tr2, br2, bl2, br2), _meet(bl2, br2, tl, bl)])


def test_a_side_on_the_shadows_outer_edge_moves_onto_the_cards_edge():
    img, card = _card(shadow=0.4, header=None)
    start = _on_shadow_edge(card)
    assert np.abs(start - card).max() > 10  # the sides start well outside the card
    moved = detect._settle_sides(img, start)
    assert np.abs(moved - card).max() < 1.5


def test_a_side_halfway_up_a_soft_shadows_ramp_moves_onto_the_cards_edge():
    # A light shadow blurred by 10 px: its edge is a ramp some 40 px wide, and the side starts at
    # its middle, where the few pixels just inside are only a little darker than the desk.
    img, card = _card(shadow=0.2, header=None, blur=10.0)
    moved = detect._settle_sides(img, _on_shadow_edge(card))
    assert np.abs(moved - card).max() < 1.5


def test_a_band_printed_along_the_cards_edge_is_not_a_shadow():
    # Darker than the desk and than the card further in, like a shadow, but in the card's hue.
    img, card = _card(shadow=0.0, header="top")
    assert np.array_equal(detect._settle_sides(img, card), card)


def test_the_cards_own_edge_stays_where_it_is():
    img, card = _card(shadow=0.4, header="top")
    assert np.abs(detect._settle_sides(img, card) - card).max() < 1e-9


def test_inside_the_shadow_the_first_rise_is_the_cards_edge_not_its_printed_band():
    # A light shadow over the desk, then the card's darker band, then the card: two rises going
    # inwards, the outer one (the card's edge) the smaller.
    img, card = _card(shadow=0.25, header="bottom")
    moved = detect._settle_sides(img, _on_shadow_edge(card))
    assert np.abs(moved - card).max() < 1.5


def _form(rules: int):
    """A near-white form on a white desk with its printed frame: ``rules`` thin rules 16 px apart,
    the outer one 25 px inside the paper's edge."""
    rng = np.random.default_rng(5)
    img = np.full((H, W, 3), 222, np.float32)
    paper = _rectangle((900, 540), (700, 900), 4.0)
    cv2.fillConvexPoly(img, np.round(paper * 16).astype(np.int32), (236, 238, 240), cv2.LINE_AA, 4)
    frames = [_rectangle((900, 540), (650 - 32 * r, 850 - 32 * r), 4.0) for r in range(rules)]
    for rule in frames:
        cv2.polylines(img, [np.round(rule * 16).astype(np.int32)], True, (110, 110, 110), 1, cv2.LINE_AA, 4)
    img = np.clip(cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)
    return img, paper, frames[0]


def test_a_forms_printed_frame_moves_out_onto_the_papers_edge():
    img, paper, frame = _form(rules=1)
    assert np.abs(detect._settle_sides(img, frame) - paper).max() < 1.5


def test_a_printed_double_rule_is_no_shadow():
    # Dark at the outline, paper further in and beyond, and a clear rise going inwards at the
    # inner rule, as across a shadow; but paper, not a dark strip, up to it: out, not in.
    img, paper, frame = _form(rules=2)
    assert np.abs(detect._settle_sides(img, frame) - paper).max() < 1.5


# What detect_page answered for that photo before scan16 (the networks shipped until scan23, without
# _settle_sides): an outline on the form's printed frame. Since scan24's networks the search itself finds the
# paper's edge there, so the settling is checked from that outline directly.
PRINTED_FRAME_7 = np.array([[545.9, 22.7], [921.6, 67.4], [863.0, 672.0], [482.3, 636.5]])


def test_a_set2_form_on_a_white_desk():
    photo = make_photo(np.random.default_rng(7), W, H, kind="form", view="doccam", surface="white")
    found = detect.detect_page(photo.image)
    assert found is not None and jaccard(photo.corners, found.corners) > 0.99
    assert jaccard(photo.corners, PRINTED_FRAME_7) < 0.9
    settled = detect._settle_sides(photo.image, PRINTED_FRAME_7)
    assert jaccard(photo.corners, settled) > 0.99


def test_a_set2_card_in_its_shadow_on_a_white_desk(monkeypatch):
    photo = make_photo(np.random.default_rng(14), W, H, kind="idcard", view="doccam", surface="white")
    found = detect.detect_page(photo.image)
    assert found is not None and jaccard(photo.corners, found.corners) > 0.98
    monkeypatch.setattr(detect, "_settle_sides", lambda img, corners: corners)
    before = detect.detect_page(photo.image)  # the outline on the shadow's edge, as before scan16
    assert jaccard(photo.corners, before.corners) < 0.9


def test_an_enclosing_outline_the_mask_calls_partly_desk_does_not_win():
    # A blank page (inner) and an outline running on over a white desk past it (outer, twice the
    # area): the same surface on both sides, aligned, well enough scored; the network's mask
    # agrees with the page (0.65) and much less with the outer one (0.35).
    inner = _rectangle((400, 300), (200, 280), 0.0)
    outer = _rectangle((450, 300), (300, 380), 0.0)
    quads = np.stack([inner, outer])
    score, area, n_border = np.array([0.96, 0.78]), np.array([0.25, 0.5]), np.array([0, 0])
    white = np.array([[230.0, 128 * 2.5, 128 * 2.5]] * 2, np.float32)
    pick = detect._outermost(quads, score, area, n_border, white, white, 0, None)
    assert pick == 1  # without the mask: the enclosing outline (a card around its photo)
    assert detect._outermost(quads, score, area, n_border, white, white, 0, None, np.array([0.65, 0.35])) == 0
    # Around a card's photo the mask agrees better with the card: it still wins.
    assert detect._outermost(quads, score, area, n_border, white, white, 0, None, np.array([0.2, 0.8])) == 1

"""scan17: a page with one side cut off by the frame is closed at a known document shape (A-series
paper, an ID-1 card) under the perspective its visible sides imply; other lengths (a receipt) and
pages inside the frame keep their outline (pinhole geometry, and real set2 photos)."""
from __future__ import annotations

import math

import numpy as np

from bench.scan_set2 import make_photo
from devices.scanner import detect
from devices.scanner.geometry import jaccard

W, H = 1920, 1080


def _project(size_mm, tilt_deg, yaw_deg, f_scale=1.0, centre=(0.0, 0.0), dist=700.0):
    """A rectangle of ``size_mm`` seen by a pinhole camera (focal length ``f_scale`` x the frame's
    diagonal, principal point at the centre), tilted about x and y, turned by ``yaw``; TL TR BR BL."""
    wmm, hmm = size_mm
    rect = np.array([[-wmm / 2, -hmm / 2, 0], [wmm / 2, -hmm / 2, 0], [wmm / 2, hmm / 2, 0], [-wmm / 2, hmm / 2, 0]])
    tx, ty = np.radians(tilt_deg)
    yz = np.radians(yaw_deg)
    rz = np.array([[math.cos(yz), -math.sin(yz), 0], [math.sin(yz), math.cos(yz), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(tx), -math.sin(tx)], [0, math.sin(tx), math.cos(tx)]])
    ry = np.array([[math.cos(ty), 0, math.sin(ty)], [0, 1, 0], [-math.sin(ty), 0, math.cos(ty)]])
    p = rect @ (rx @ ry @ rz).T + np.array([centre[0], centre[1], dist])
    f = f_scale * math.hypot(W, H)
    return np.stack([f * p[:, 0] / p[:, 2] + (W - 1) / 2, f * p[:, 1] / p[:, 2] + (H - 1) / 2], axis=1)


def _cut_at_bottom(quad):
    """The part of ``quad`` the frame shows when its bottom side (BR, BL) lies below the frame:
    TL, TR and where the two long sides cross the frame's bottom edge."""
    tl, tr, br, bl = quad
    y = H - 0.5

    def cross(a, b):
        t = (y - a[1]) / (b[1] - a[1])
        return a + t * (b - a)

    assert br[1] > y and bl[1] > y and tl[1] < y and tr[1] < y
    return np.array([tl, tr, cross(tr, br), cross(tl, bl)])


def test_an_a4_page_cut_off_at_the_bottom_is_closed_at_sqrt2():
    page = _project((210, 297), (8, -5), 3, centre=(0, 60))
    shown = _cut_at_bottom(page)
    assert jaccard(page, shown) < 0.93
    closed = detect._close_cut_page(shown, W, H, None, (0.25, 0.25))
    assert np.abs(closed - page).max() < 1.5


def test_an_id_card_cut_off_is_closed_at_its_own_shape():
    card = _project((54, 85.6), (-4, 3), -4, centre=(0, 26), dist=240)
    shown = _cut_at_bottom(card)
    assert jaccard(card, shown) < 0.88
    closed = detect._close_cut_page(shown, W, H, None, (0.25, 0.25))
    assert np.abs(closed - card).max() < 1.5


def test_another_focal_length_still_lands_close():
    # A wider lens than assumed (0.7 x the diagonal), tilted: the far side lands a little off.
    page = _project((210, 297), (10, 5), 5, f_scale=0.7, centre=(0, 60), dist=500)
    shown = _cut_at_bottom(page)
    assert jaccard(page, shown) < 0.94
    assert jaccard(page, detect._close_cut_page(shown, W, H, None, (0.25, 0.25))) > 0.98


def test_a_receipt_and_a_page_inside_the_frame_keep_their_outline():
    receipt = _project((80, 240), (5, 0), 2, centre=(0, 70), dist=330)
    shown = _cut_at_bottom(receipt)
    assert np.array_equal(detect._close_cut_page(shown, W, H, None, (0.25, 0.25)), shown)
    # Seen at a steep angle the shape would hinge on the focal length (a card read as one at 1.0 x
    # the diagonal, as nothing at 0.75 x): the outline stays.
    steep = _cut_at_bottom(_project((54, 85.6), (-12, 6), -4, centre=(0, 26), dist=240))
    assert np.array_equal(detect._close_cut_page(steep, W, H, None, (0.25, 0.25)), steep)
    inside = _project((210, 297), (5, 0), 2, dist=1000)
    assert np.array_equal(detect._close_cut_page(inside, W, H, None, (0.25, 0.25)), inside)
    # A page that reaches only a little past the frame: within ``CUT_CHANGE`` the outline stays.
    short = _project((210, 297), (8, -5), 3, centre=(0, 40))
    shown = _cut_at_bottom(short)
    assert jaccard(short, shown) > 0.96
    assert np.array_equal(detect._close_cut_page(shown, W, H, None, (0.25, 0.25)), shown)


def test_a_set2_form_cut_off_by_the_frame(monkeypatch):
    # A form on a cloth, its bottom cut off by the frame, a clip on it (seed 3 of the side-out draw).
    photo = make_photo(np.random.default_rng(3), W, H, kind="form", out="side")
    assert "side_out" in photo.tags
    found = detect.detect_page(photo.image)
    assert found is not None and jaccard(photo.corners, found.corners) > 0.99
    assert found.corners_outside == 2
    monkeypatch.setattr(detect, "_close_cut_page", lambda q, *args: q)
    before = detect.detect_page(photo.image)  # the outline closed along the frame, as before scan17
    assert jaccard(photo.corners, before.corners) < 0.96

"""Issue 16: the second, independent photo set, corners outside the frame, the detector's
confidence and the kiosk's "lay the whole page in view" instead of a bad crop."""
from __future__ import annotations

import numpy as np
import pytest

from bench.scan_set2 import KINDS, make_photo
from devices.scanner import AutoCapture, observe
from devices.scanner.capture import MIN_CONFIDENCE
from devices.scanner.detect import detect_page
from devices.scanner.geometry import jaccard
from devices.scanner.synth import make_scene

W, H = 960, 540


def _outside(q: np.ndarray, w: int, h: int) -> int:
    return int((~((q[:, 0] >= -0.5) & (q[:, 0] <= w - 0.5) & (q[:, 1] >= -0.5) & (q[:, 1] <= h - 0.5))).sum())


def test_second_set_is_reproducible_and_labelled():
    a = [make_photo(np.random.default_rng(3), W, H) for _ in range(2)]
    b = make_photo(np.random.default_rng(3), W, H)
    assert np.array_equal(a[0].image, b.image) and np.array_equal(a[0].corners, b.corners)
    for kind in KINDS:
        for view in ("doccam", "phone"):
            p = make_photo(np.random.default_rng(11), W, H, kind=kind, view=view)
            h, w = p.image.shape[:2]
            # Phone shots come in portrait, document-camera shots in landscape, same pixel count.
            assert (w, h) == ((W, H) if view == "doccam" else (H, W))
            assert p.kind == kind and p.corners.shape == (4, 2)
            # TL, TR, BR, BL: clockwise on screen, starting nearest the top left.
            e = np.roll(p.corners, -1, axis=0) - p.corners
            assert np.all(e[:, 0] * np.roll(e, -1, axis=0)[:, 1] - e[:, 1] * np.roll(e, -1, axis=0)[:, 0] > 0)
            n_out = _outside(p.corners, w, h)
            assert ("corner_out" in p.tags) == (n_out == 1) and ("side_out" in p.tags) == (n_out > 1)


def test_second_set_draws_the_document_where_the_truth_says():
    # On a dark base plate a paper's inside is far brighter than the plate just outside it.
    checked = 0
    for seed in range(24):
        p = make_photo(np.random.default_rng(seed), W, H, kind="blank", view="doccam", surface="baseplate")
        if "glare" in p.tags or "occluded" in p.tags or _outside(p.corners, W, H):
            continue
        gray = p.image.mean(axis=2)
        c = p.corners.mean(0)
        inner = c + (p.corners - c) * 0.9
        outer = c + (p.corners - c) * 1.08
        ins = [gray[int(y), int(x)] for x, y in inner]
        outs = [gray[int(np.clip(y, 0, H - 1)), int(np.clip(x, 0, W - 1))] for x, y in outer]
        if np.mean(outs) < 100:  # the dark plate (a light one is drawn 30 % of the time)
            assert min(ins) > max(outs) + 40
            checked += 1
    assert checked >= 3


def _corner_out_scene():
    # A page pushed past the right edge of the frame: its top-right corner is 60 px outside.
    quad = np.array([[420.0, 70.0], [1020.0, 130.0], [900.0, 500.0], [330.0, 450.0]])
    return make_scene(np.random.default_rng(5), W, H, page_kind="A4", background="dark", occlusion="none",
                      shadow=False, blur_sigma=0.6, noise_sigma=2.0, quad=quad, jpeg_quality=92)


def test_a_corner_outside_the_frame_is_predicted_where_the_sides_meet():
    sc = _corner_out_scene()
    found = detect_page(sc.image)
    assert found is not None and found.corners_outside == 1
    assert jaccard(sc.corners, found.corners) > 0.97
    outside = found.corners[found.corners[:, 0] > W]
    assert len(outside) == 1 and np.linalg.norm(outside[0] - sc.corners[1]) < 12


def test_the_kiosk_asks_for_the_whole_page_instead_of_cropping_it():
    auto = AutoCapture(steady_frames=2)
    image = _corner_out_scene().image
    results = [auto.feed(image) for _ in range(4)]
    assert all(r.status == "incomplete" and r.page is None for r in results)
    assert results[-1].observation.complete is False and results[-1].observation.corners is not None


def test_a_page_whose_outline_runs_along_the_frame_edge_is_not_captured(monkeypatch):
    """A whole side cut off by the frame gives corners *on* its edge, not outside it: however confident the
    outline, the kiosk asks for the whole page (and a side clear of the edge by a few pixels is captured)."""
    from devices.scanner import capture
    from devices.scanner.capture import side_on_border
    from devices.scanner.detect import PageDetection

    sc = make_scene(np.random.default_rng(8), W, H, page_kind="A4", background="wood", occlusion="none",
                    blur_sigma=0.6)
    on_edge = np.array([[0.0, 60.0], [600.0, 70.0], [590.0, 480.0], [0.4, 470.0]])
    clear = on_edge + [6.0, 0.0]
    assert side_on_border(on_edge, W, H) and not side_on_border(clear, W, H)
    assert side_on_border(np.array([[100.0, 40], [500, 42], [500, H - 1.0], [100, H - 2.0]]), W, H)
    for quad, expected in ((on_edge, ["incomplete", "incomplete"]), (clear, ["moving", "captured"])):
        monkeypatch.setattr(capture, "detect_page", lambda _img, q=quad: PageDetection(q, 0.97, 0))
        auto = AutoCapture(steady_frames=2)
        results = [auto.feed(sc.image) for _ in range(2)]
        assert [r.status for r in results] == expected
        assert results[-1].observation.complete is (expected[-1] == "captured")
        assert observe(sc.image).complete is (expected[-1] == "captured")
        if expected[-1] == "incomplete":
            assert "a side lies on the frame's edge" in results[-1].message


def test_a_clean_page_is_confident_and_complete():
    sc = make_scene(np.random.default_rng(8), W, H, page_kind="A4", background="wood", occlusion="none",
                    blur_sigma=0.6)
    obs = observe(sc.image)
    assert obs.complete and obs.confidence >= MIN_CONFIDENCE
    assert obs.as_dict()["confidence"] == round(obs.confidence, 3)
    auto = AutoCapture(steady_frames=2)
    assert [auto.feed(sc.image).status for _ in range(2)] == ["moving", "captured"]


@pytest.mark.parametrize("threshold, expected", [(0.0, "captured"), (1.01, "incomplete")])
def test_below_the_confidence_threshold_nothing_is_captured(threshold, expected):
    sc = make_scene(np.random.default_rng(9), W, H, page_kind="A5", background="gray", occlusion="none",
                    blur_sigma=0.6)
    auto = AutoCapture(steady_frames=1, min_confidence=threshold)
    assert auto.feed(sc.image).status == expected


def test_empty_desk_has_no_detection():
    sc = make_scene(np.random.default_rng(12), W, H, background="dark", empty=True)
    assert detect_page(sc.image) is None

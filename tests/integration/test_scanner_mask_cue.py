"""The page-mask network (devices/scanner/pagenet.onnx through cv2.dnn) inside the detector."""
from __future__ import annotations

import cv2
import numpy as np

from devices.scanner import detect, pagenet
from devices.scanner.geometry import jaccard
from devices.scanner.synth import make_scene

W, H = 960, 540


def _scene():
    return make_scene(np.random.default_rng(31), W, H, page_kind="A4", background="wood", occlusion="none",
                      blur_sigma=0.6)


def test_the_shipped_model_is_small_and_loads_without_torch():
    assert pagenet.available() and 0 < __import__("os").path.getsize(pagenet.MODEL_PATH) <= 10 * 2**20
    prob = pagenet.page_mask(np.zeros((270, 480, 3), np.uint8))
    side = pagenet.INPUT + 2 * pagenet.PAD
    assert prob.shape == (side, side) and np.all((prob >= 0) & (prob <= 1))


def test_the_mask_covers_the_page_and_not_the_desk():
    sc = _scene()
    prob = pagenet.page_mask(sc.image)
    side = prob.shape[0]
    page = np.zeros((side, side), np.uint8)
    cv2.fillPoly(page, [np.round(pagenet.to_net(sc.corners, W, H) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    core = cv2.erode(page, np.ones((3, 3), np.uint8))
    desk = cv2.dilate(page, np.ones((3, 3), np.uint8)) == 0
    frame = np.zeros_like(page)
    frame[pagenet.PAD:pagenet.PAD + pagenet.INPUT, pagenet.PAD:pagenet.PAD + pagenet.INPUT] = 1
    assert prob[core > 0].mean() > 0.8
    assert prob[desk & (frame > 0)].mean() < 0.2


def test_without_the_model_the_line_and_region_cues_still_find_the_page(monkeypatch):
    sc = _scene()
    with_model = detect.detect_page(sc.image)
    monkeypatch.setattr(pagenet, "MODEL_PATH", "/nonexistent/pagenet.onnx")
    without = detect.detect_page(sc.image)
    assert with_model is not None and without is not None
    assert jaccard(sc.corners, with_model.corners) > 0.97 and jaccard(sc.corners, without.corners) > 0.97


def test_a_clear_page_is_found_on_the_fast_path_without_the_line_search(monkeypatch):
    sc = _scene()

    def no_full_search(*args, **kwargs):
        raise AssertionError("the full search ran on a clear page")

    monkeypatch.setattr(detect, "_full_search", no_full_search)
    found = detect.detect_page(sc.image)
    assert found is not None and jaccard(sc.corners, found.corners) > 0.97
    assert found.confidence >= detect.FAST_SCORE


def test_an_outline_the_edges_do_not_confirm_goes_to_the_full_search(monkeypatch):
    sc = _scene()
    calls = []
    full = detect._full_search

    def spy(*args, **kwargs):
        calls.append(1)
        return full(*args, **kwargs)

    monkeypatch.setattr(detect, "_full_search", spy)
    monkeypatch.setattr(detect, "FAST_SCORE", 1.01)  # no edge score reaches this
    found = detect.detect_page(sc.image)
    assert calls == [1]
    assert found is not None and jaccard(sc.corners, found.corners) > 0.97


def test_no_second_line_search_when_the_mask_agrees_with_the_best_outline(monkeypatch):
    sc = _scene()
    clahe_calls = []
    clahe = detect._clahe

    def spy():
        clahe_calls.append(1)
        return clahe()

    monkeypatch.setattr(detect, "_clahe", spy)
    monkeypatch.setattr(detect, "FAST_SCORE", 1.01)  # the full search always runs
    monkeypatch.setattr(detect, "RETRY_SCORE", 1.01)  # and its best outline always looks doubtful
    found = detect.detect_page(sc.image)
    assert found is not None and jaccard(sc.corners, found.corners) > 0.97
    assert clahe_calls == []
    monkeypatch.setattr(detect, "RETRY_IOU_WITH_MASK", 1.01)  # no agreement is enough: the retry runs
    again = detect.detect_page(sc.image)
    assert clahe_calls == [1] and again is not None and jaccard(sc.corners, again.corners) > 0.97


def test_the_128_pixel_net_runs_only_when_the_64_pixel_mask_does_not_settle_the_frame(monkeypatch):
    from bench.scan_set2 import make_photo

    nets, fast_tries = [], []
    prob, fast_pick = pagenet._prob, detect._fast_pick
    monkeypatch.setattr(pagenet, "_prob", lambda bgr, path, size: nets.append(size) or prob(bgr, path, size))
    monkeypatch.setattr(detect, "_fast_pick", lambda *a: fast_tries.append(1) or fast_pick(*a))

    def detect_counting(image):
        nets.clear()
        fast_tries.clear()
        return detect.detect_page(image)

    # A page on wood: the 64-pixel mask is sure and its outline, snapped, is the answer.
    sc = _scene()
    found = detect_counting(sc.image)
    assert nets == [pagenet.SMALL_INPUT] and len(fast_tries) == 1
    assert found is not None and jaccard(sc.corners, found.corners) > 0.97
    # A form on a white desk under glare: the 64-pixel mask looks sure, but its outline does not
    # pass the fast path; the 128-pixel net is asked and the averaged mask decides.
    ph = make_photo(np.random.default_rng(0), W, H, kind="form", surface="white")
    assert pagenet.doubt(prob(ph.image, pagenet.SMALL_MODEL_PATH, pagenet.SMALL_INPUT)) <= pagenet.GATE_DOUBT
    found = detect_counting(ph.image)
    assert nets == [pagenet.SMALL_INPUT, pagenet.INPUT] and len(fast_tries) == 2
    assert found is not None and jaccard(ph.corners, found.corners) > 0.97
    # A form on a white desk the 64-pixel mask is unsure of: straight to the average.
    ph = make_photo(np.random.default_rng(2), W, H, kind="form", surface="white")
    found = detect_counting(ph.image)
    assert nets == [pagenet.SMALL_INPUT, pagenet.INPUT] and len(fast_tries) == 1
    assert found is not None and jaccard(ph.corners, found.corners) > 0.97

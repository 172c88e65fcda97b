"""The page-mask network's input and coordinates (devices/scanner/pagenet.py), without the model."""
from __future__ import annotations

import numpy as np

from devices.scanner import pagenet


def test_frame_coordinates_round_trip_through_the_padded_square():
    pts = np.array([[-120.0, -40.0], [0.0, 0.0], [1919.0, 1079.0], [2100.5, 530.25]])
    back = pagenet.from_net(pagenet.to_net(pts, 1920, 1080), 1920, 1080)
    assert np.allclose(back, pts)


def test_the_frame_fills_the_middle_of_the_padded_square():
    # The frame's outer pixel edges (-0.5 and size - 0.5) land on the padding's inner edges.
    q = pagenet.to_net(np.array([[-0.5, -0.5], [1919.5, 1079.5]]), 1920, 1080)
    assert np.allclose(q, [[pagenet.PAD - 0.5] * 2, [pagenet.PAD + pagenet.INPUT - 0.5] * 2])


def test_the_input_marks_the_frame_and_leaves_the_padding_empty():
    frame = np.full((1080, 1920, 3), 255, np.uint8)
    x = pagenet.to_tensor(pagenet.net_input(frame))
    side = pagenet.INPUT + 2 * pagenet.PAD
    assert x.shape == (4, side, side) and x.dtype == np.float32
    inner = (slice(pagenet.PAD, pagenet.PAD + pagenet.INPUT),) * 2
    assert np.all(x[3][inner] == 1.0) and x[3].sum() == pagenet.INPUT ** 2
    assert np.allclose(x[:3][(slice(None),) + inner], 0.5) and np.all(x[:3, :pagenet.PAD] == 0)


def test_a_larger_square_keeps_the_same_coordinates_in_proportion():
    pts = np.array([[0.0, 0.0], [1919.0, 1079.0], [-200.0, 500.0]])
    small = pagenet.to_net(pts, 1920, 1080)
    big = pagenet.to_net(pts, 1920, 1080, size=2 * pagenet.INPUT, pad=2 * pagenet.PAD)
    # Pixel centres: (x + 0.5) scales, so the big square's centres are twice the small one's.
    assert np.allclose(big + 0.5, 2 * (small + 0.5))
    assert pagenet.net_input(np.zeros((1080, 1920, 3), np.uint8), 96).shape == (96, 96, 3)


def test_training_masks_at_a_larger_size_keep_the_padding_share():
    from bench.scan_train import _mask_target

    frame = np.array([[-0.5, -0.5], [639.5, -0.5], [639.5, 359.5], [-0.5, 359.5]])
    size = 2 * pagenet.INPUT
    pad = 2 * pagenet.PAD
    m = _mask_target(frame, 640, 360, size)
    assert m.shape == (size + 2 * pad,) * 2
    # The whole frame is the page: the middle square is set, the padding is not.
    assert m[pad + 1:pad + size - 1, pad + 1:pad + size - 1].all()
    assert not m[:pad - 1].any() and not m[:, pad + size + 1:].any()
    assert _mask_target(None, 640, 360, size).sum() == 0

"""The page-mask network: which pixels of a frame (and of a margin around it) are the document.

A small U-Net trained here on generated photos (``bench/scan_train.py``) and shipped as ONNX;
it runs through ``cv2.dnn``, so the detector needs no torch. The frame is squashed to
``INPUT`` pixels square and padded by ``PAD`` on every side; a fourth channel tells the network
what lies inside the frame, and it may extend a page into the padding (a side cut off by the
frame's edge). Coordinates follow the OpenCV pixel-centre convention, as everywhere in
``devices.scanner``.

Two copies of the network run: one on a 64-pixel square, one on a 128-pixel square
(fine-tuned from the first, scan12), and the mask is the average of their answers on the larger
one's grid (scan13). The padding keeps the same share (8/64 = 16/128), so the grids cover the
same square. Each alone misses where the other does not: the 128 one is better on white desks,
the 64 one on a document camera's base plate.
"""
from __future__ import annotations

import os
import threading

import cv2
import numpy as np

INPUT = 128  # the frame, squashed to this many pixels square: the mask's grid (and the trainer's)
PAD = 16  # margin on every side where the network may continue a page past the frame's edge
WIDTHS = (16, 24, 32, 48)  # channels at 1/2, 1/4, 1/8, 1/16 of the padded square
MODEL_PATH = os.path.join(os.path.dirname(__file__), "pagenet128.onnx")  # the network at INPUT
SMALL_INPUT = 64  # the first network's square (padded by 8: the same share)
SMALL_MODEL_PATH = os.path.join(os.path.dirname(__file__), "pagenet.onnx")
SMALL_WEIGHT = 0.5  # its share of the average (held-out seed 31337: 0.4 and 0.6 scored no better)

_local = threading.local()


def available() -> bool:
    """Tell whether the model files are present."""
    return os.path.exists(MODEL_PATH) and os.path.exists(SMALL_MODEL_PATH)


def _net(path: str) -> cv2.dnn.Net:
    # A cv2.dnn.Net is not safe to share between threads: one per thread and file.
    nets = getattr(_local, "nets", None)
    if nets is None:
        nets = _local.nets = {}
    net = nets.get(path)
    if net is None:
        net = nets[path] = cv2.dnn.readNetFromONNX(path)
    return net


def net_input(bgr: np.ndarray, size: int = INPUT) -> np.ndarray:
    """Squash a BGR frame (uint8) to the network's ``size`` x ``size`` square."""
    src = bgr
    # Halvings first, as the detector's own downscale does: cheaper than one large INTER_AREA.
    while src.shape[1] >= 4 * size and src.shape[0] >= 4 * size:
        src = cv2.resize(src, (src.shape[1] // 2, src.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(src, (size, size), interpolation=cv2.INTER_AREA)


def to_tensor(small: np.ndarray) -> np.ndarray:
    """The network's input (4, S, S) float32 from a squashed frame: colour, then inside-the-frame
    (padded by ``PAD``'s share of the frame's side)."""
    size = small.shape[0]
    pad = size * PAD // INPUT
    side = size + 2 * pad
    x = np.zeros((4, side, side), np.float32)
    x[:3, pad:pad + size, pad:pad + size] = small.transpose(2, 0, 1).astype(np.float32) / 255.0 - 0.5
    x[3, pad:pad + size, pad:pad + size] = 1.0
    return x


def to_net(pts: np.ndarray, w: int, h: int, size: int = INPUT, pad: int = PAD) -> np.ndarray:
    """Frame pixel coordinates → padded-square coordinates (of a ``size`` square padded by ``pad``)."""
    s = np.array([size / w, size / h])
    return (np.asarray(pts, np.float64) + 0.5) * s - 0.5 + pad


def from_net(pts: np.ndarray, w: int, h: int) -> np.ndarray:
    """Padded-square coordinates → frame pixel coordinates."""
    s = np.array([INPUT / w, INPUT / h])
    return (np.asarray(pts, np.float64) - PAD + 0.5) / s - 0.5


def page_mask(bgr: np.ndarray) -> np.ndarray:
    """Probability (S, S) float32 that each pixel of the padded square (``INPUT`` + 2 ``PAD``)
    lies on the document: the two networks' answers, brought to that grid and averaged.

    :param bgr: a BGR uint8 frame, any size (the detector passes its working copy).
    :raises cv2.error: when a model file is missing or unreadable.
    """
    side = INPUT + 2 * PAD
    out = np.zeros((side, side), np.float32)
    nets = ((SMALL_MODEL_PATH, SMALL_INPUT, SMALL_WEIGHT), (MODEL_PATH, INPUT, 1.0 - SMALL_WEIGHT))
    for path, size, weight in nets:
        net = _net(path)
        net.setInput(to_tensor(net_input(bgr, size))[None])
        logit = net.forward()[0, 0]
        prob = 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))
        if prob.shape[0] != side:
            # Same square, other pixel size: pixel centres line up under cv2.resize.
            prob = cv2.resize(prob, (side, side), interpolation=cv2.INTER_LINEAR)
        out += weight * prob
    return out

"""The page-mask network: which pixels of a frame (and of a margin around it) are the document.

A small U-Net trained here on generated photos (``bench/scan_train.py``) and shipped as ONNX;
it runs through ``cv2.dnn``, so the detector needs no torch. The frame is squashed to
``INPUT`` pixels square and padded by ``PAD`` on every side; a fourth channel tells the network
what lies inside the frame, and it may extend a page into the padding (a side cut off by the
frame's edge). Coordinates follow the OpenCV pixel-centre convention, as everywhere in
``devices.scanner``.

Two copies of the network: one on a 64-pixel square, one on a 128-pixel square (fine-tuned
from the first, scan12). The padding keeps the same share (8/64 = 16/128), so the grids cover
the same square. Each alone misses where the other does not: the 128 one is better on white
desks, the 64 one on a document camera's base plate. The mask is the average of their answers on the
larger one's grid (scan13). The 128 one costs about three times the 64 one's CPU, so the detector
asks for it only when the 64 one's mask alone did not settle the frame (scan14, ``GATE_DOUBT``
and ``devices.scanner.detect``).
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
GATE_DOUBT = 0.1  # a 64-px mask with more doubt() than this goes straight to the average (seed 31337)

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


def _prob(bgr: np.ndarray, path: str, size: int) -> np.ndarray:
    """One network's probabilities on its own padded square (``size`` + 2 x its padding)."""
    net = _net(path)
    net.setInput(to_tensor(net_input(bgr, size))[None])
    logit = net.forward()[0, 0]
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))


def small_mask(bgr: np.ndarray) -> np.ndarray:
    """The 64-pixel network's probabilities on its own padded square (``SMALL_INPUT`` + 2 x 8)."""
    return _prob(bgr, SMALL_MODEL_PATH, SMALL_INPUT)


def on_grid(prob: np.ndarray) -> np.ndarray:
    """A mask of the padded square at another pixel size, brought to the ``INPUT`` + 2 ``PAD`` grid
    (same square: pixel centres line up under cv2.resize)."""
    side = INPUT + 2 * PAD
    return prob if prob.shape[0] == side else cv2.resize(prob, (side, side), interpolation=cv2.INTER_LINEAR)


def doubt(prob: np.ndarray) -> float:
    """How unsure a mask is: its cells between 0.2 and 0.8 per cell it calls page (a clear page
    on a desk has only its outline's cells there)."""
    mid = np.count_nonzero((prob > 0.2) & (prob < 0.8))
    return mid / max(np.count_nonzero(prob > 0.5), 1)


def page_mask(bgr: np.ndarray, small: np.ndarray | None = None) -> np.ndarray:
    """Probability (S, S) float32 that each pixel of the padded square (``INPUT`` + 2 ``PAD``)
    lies on the document: both networks' answers, averaged on that grid.

    :param bgr: a BGR uint8 frame, any size (the detector passes its working copy).
    :param small: the 64-pixel network's answer for this frame (:func:`small_mask`), if at hand.
    :raises cv2.error: when a model file is missing or unreadable.
    """
    if small is None:
        small = small_mask(bgr)
    return SMALL_WEIGHT * on_grid(small) + (1.0 - SMALL_WEIGHT) * _prob(bgr, MODEL_PATH, INPUT)

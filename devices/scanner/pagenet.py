"""The page-mask network: which pixels of a frame (and of a margin around it) are the document.

A small U-Net trained here on generated photos (``bench/scan_train.py``) and shipped as ONNX;
it runs through ``cv2.dnn``, so the detector needs no torch. The frame is squashed to
``INPUT`` pixels square and padded by ``PAD`` on every side; a fourth channel tells the network
what lies inside the frame, and it may extend a page into the padding (a side cut off by the
frame's edge). Coordinates follow the OpenCV pixel-centre convention, as everywhere in
``devices.scanner``.
"""
from __future__ import annotations

import os
import threading

import cv2
import numpy as np

INPUT = 64  # the frame, squashed to this many pixels square
PAD = 8  # margin on every side where the network may continue a page past the frame's edge
WIDTHS = (16, 24, 32, 48)  # channels at 1/2, 1/4, 1/8, 1/16 of the padded square
MODEL_PATH = os.path.join(os.path.dirname(__file__), "pagenet.onnx")

_local = threading.local()


def available() -> bool:
    """Tell whether the model file is present."""
    return os.path.exists(MODEL_PATH)


def _net() -> cv2.dnn.Net:
    # A cv2.dnn.Net is not safe to share between threads: one per thread.
    net = getattr(_local, "net", None)
    if net is None:
        net = cv2.dnn.readNetFromONNX(MODEL_PATH)
        _local.net = net
    return net


def net_input(bgr: np.ndarray, size: int = INPUT) -> np.ndarray:
    """Squash a BGR frame (uint8) to the network's ``size`` x ``size`` square."""
    src = bgr
    # Halvings first, as the detector's own downscale does: cheaper than one large INTER_AREA.
    while src.shape[1] >= 4 * size and src.shape[0] >= 4 * size:
        src = cv2.resize(src, (src.shape[1] // 2, src.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(src, (size, size), interpolation=cv2.INTER_AREA)


def to_tensor(small: np.ndarray) -> np.ndarray:
    """The network's input (4, S, S) float32 from a squashed frame: colour, then inside-the-frame."""
    side = INPUT + 2 * PAD
    x = np.zeros((4, side, side), np.float32)
    x[:3, PAD:PAD + INPUT, PAD:PAD + INPUT] = small.transpose(2, 0, 1).astype(np.float32) / 255.0 - 0.5
    x[3, PAD:PAD + INPUT, PAD:PAD + INPUT] = 1.0
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
    """Probability (S, S) float32 that each pixel of the padded square lies on the document.

    :param bgr: a BGR uint8 frame, any size (the detector passes its working copy).
    :raises cv2.error: when the model file is missing or unreadable.
    """
    net = _net()
    net.setInput(to_tensor(net_input(bgr))[None])
    logit = net.forward()[0, 0]
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))

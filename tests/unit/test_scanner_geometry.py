"""Corner order, overlap, aspect estimation and page-size snapping."""
from __future__ import annotations

import numpy as np
import pytest

from devices.scanner.geometry import (
    estimate_aspect,
    jaccard,
    order_corners,
    snap_page_size,
)


def test_order_corners_from_any_order():
    q = np.array([[10, 10], [110, 12], [108, 160], [8, 158]], float)
    for perm in ([2, 0, 3, 1], [3, 2, 1, 0], [1, 3, 0, 2]):
        assert np.array_equal(order_corners(q[perm]), q)


def test_jaccard():
    a = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    assert jaccard(a, a) == pytest.approx(1.0)
    assert jaccard(a, a + [5, 0]) == pytest.approx(50 / 150)
    assert jaccard(a, None) == 0.0 and jaccard(None, a) == 0.0


def _project(points_mm, f=1400.0, tilt=0.35, size=(1920, 1080)):
    # A rectangle on a plane tilted about the x axis, seen by a pinhole camera 500 mm away.
    out = []
    for x, y in points_mm:
        yc, zc = y * np.cos(tilt), 500 + y * np.sin(tilt)
        out.append([f * x / zc + size[0] / 2 - 0.5, f * yc / zc + size[1] / 2 - 0.5])
    return np.array(out)


def test_estimate_aspect_undoes_perspective():
    w, h = 210, 297
    q = _project([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    naive = np.linalg.norm(q[3] - q[0]) / np.linalg.norm(q[1] - q[0])
    est = estimate_aspect(q, (1920, 1080))
    assert abs(est - h / w) < 0.02 < abs(naive - h / w)


@pytest.mark.parametrize("aspect, name, landscape", [
    (1.41, "A4", False), (1 / 1.42, "A4", True), (1.59, "ID-1", False), (1.29, "Letter", False), (1.0, None, False),
])
def test_snap(aspect, name, landscape):
    size, land = snap_page_size(aspect)
    assert (size.name if size else None) == name and land == landscape

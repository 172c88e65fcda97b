"""``onevisit devices detect``: page corners for image files, one dict per image."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2

from devices.scanner.detect import detect_page


def detect_images(paths: Iterable[str]) -> Iterator[dict]:
    """Yield ``{"file", "corners"}`` per image; corners TL, TR, BR, BL or None when no page.

    A found page also carries ``confidence`` (0..1) and ``corners_outside`` (corners predicted
    outside the image, where the visible sides meet).

    An image that cannot be read yields ``corners: None`` and an ``error`` with code
    ``unreadable``, and the remaining images are still processed.

    :param paths: image file paths.
    """
    for path in paths:
        try:
            frame = cv2.imread(path, cv2.IMREAD_COLOR)
        except cv2.error as e:  # e.g. a path OpenCV cannot even open
            frame, why = None, str(e)
        else:
            why = "not an image OpenCV can decode, or missing"
        if frame is None:
            yield {"file": path, "corners": None, "error": {"code": "unreadable", "message": f"{path}: {why}"}}
            continue
        found = detect_page(frame)
        if found is None:
            yield {"file": path, "corners": None}
            continue
        yield {"file": path, "corners": [[round(float(x), 1), round(float(y), 1)] for x, y in found.corners],
               "confidence": round(found.confidence, 3), "corners_outside": found.corners_outside}

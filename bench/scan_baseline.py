"""The classic page detector the benchmark compares against: Canny, contours, approxPolyDP.

This is the textbook recipe (largest contour that simplifies to four points) found in most
"build a document scanner with OpenCV" tutorials; it is here only to be measured against.
"""
from __future__ import annotations

import cv2
import numpy as np

from devices.scanner.geometry import order_corners


def baseline_find_page(frame: np.ndarray, work_size: int = 480) -> np.ndarray | None:
    """Return the largest 4-point contour approximation as TL, TR, BR, BL, or None."""
    h, w = frame.shape[:2]
    s = min(1.0, work_size / max(h, w))
    small = cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(gray, 75, 200)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for cnt in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        peri = cv2.arcLength(cnt, True)
        approx = cv2.approxPolyDP(cnt, 0.02 * peri, True)
        if len(approx) == 4 and cv2.contourArea(approx) > 0.015 * small.shape[0] * small.shape[1]:
            q = approx.reshape(4, 2).astype(np.float64)
            return order_corners((q + 0.5) / s - 0.5)
    return None


def otsu_find_page(frame: np.ndarray, work_size: int = 480) -> np.ndarray | None:
    """Second textbook recipe: Otsu threshold, largest bright region, its minimum-area rectangle.

    It finds a white page on a dark desk whatever its outline's straightness, and nothing on a
    white desk; here only to be measured against.
    """
    h, w = frame.shape[:2]
    s = min(1.0, work_size / max(h, w))
    small = cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    cnt = max(contours, key=cv2.contourArea)
    if cv2.contourArea(cnt) < 0.015 * mask.shape[0] * mask.shape[1]:
        return None
    box = cv2.boxPoints(cv2.minAreaRect(cnt)).astype(np.float64)
    return order_corners((box + 0.5) / s - 0.5)

"""A second, independent set of labelled document photos (issue 16), made to judge the page
detector on looks it was not built around.

It shares no code with :mod:`devices.scanner.synth` (the first set): documents are drawn with
OpenCV's primitives and Hershey vector fonts, Latin print in Liberation/DejaVu through Pillow,
and Chinese-looking print as procedural stroke glyphs (no CJK font file); the camera is a pinhole
with barrel distortion; textures are procedural (wood with growth rings, laminate planks, cloth
weave, glass, the document camera's base plate with ruler ticks and printed A4/A5 outlines, a
white desk). What the first set lacks is the point: rounded corners, ID cards (85.6 x 54 mm)
and receipts, near-white forms with thin borders on white desks, corners and whole sides
outside the frame, fingers and clips over corners and edges, glare, motion blur, JPEG at low
quality, phone portrait shots and document-camera top-down views.

Ground truth is the document's four corners (for a rounded card, where its straight sides
meet), in pixel-centre coordinates of the delivered frame, after lens distortion; corners
outside the frame keep their true, outside, position. Each scene is drawn from a
``numpy.random.Generator``: a seed reproduces the set exactly.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Document formats in millimetres (width, height) as they lie in portrait.
DOC_MM = {
    "idcard": (85.6, 54.0),        # ISO/IEC 7810 ID-1, landscape by nature
    "form": (210.0, 297.0),
    "multicolumn": (210.0, 297.0),
    "blank": (210.0, 297.0),
    "receipt": (80.0, 0.0),        # thermal roll; the length is drawn per receipt
}
KINDS = ("idcard", "form", "receipt", "multicolumn", "blank")
KIND_WEIGHTS = (0.24, 0.26, 0.16, 0.22, 0.12)
LATIN_FONTS = (
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
)
HERSHEY = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
           cv2.FONT_HERSHEY_TRIPLEX)


@dataclass(frozen=True)
class Photo:
    """One photo of the second set and its ground truth."""

    image: np.ndarray        # BGR uint8
    corners: np.ndarray      # (4, 2) TL, TR, BR, BL of the document; may lie outside the image
    kind: str                # idcard | form | receipt | multicolumn | blank
    view: str                # doccam | phone
    tags: tuple[str, ...]    # background and the hard parts: occluded, corner_out, side_out, glare, ...


@functools.lru_cache(maxsize=16)
def _latin(path_index: int, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = LATIN_FONTS[path_index % len(LATIN_FONTS)]
    if os.path.exists(path):
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


# -------------------------------------------------------------------------------- print on paper

def _glyph_row(img: np.ndarray, rng: np.random.Generator, x: int, y: int, size: int, n: int,
               ink: tuple[int, int, int], width: int = 1) -> int:
    """Draw ``n`` Chinese-looking glyphs (a few strokes in a square) from (x, y); return the end x."""
    for _ in range(n):
        for _ in range(int(rng.integers(3, 8))):
            kind = rng.random()
            a = np.array([x, y]) + rng.uniform(0.1, 0.9, 2) * size
            if kind < 0.45:   # horizontal stroke
                b = a + np.array([rng.uniform(0.2, 0.7) * size, rng.normal(0, 0.03) * size])
            elif kind < 0.8:  # vertical stroke
                b = a + np.array([rng.normal(0, 0.03) * size, rng.uniform(0.2, 0.7) * size])
            else:             # a falling stroke
                b = a + np.array([rng.choice([-1, 1]) * rng.uniform(0.2, 0.4), rng.uniform(0.2, 0.4)]) * size
            b = (min(max(b[0], x), x + size), min(max(b[1], y), y + size))
            cv2.line(img, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), ink, width, cv2.LINE_AA)
        x += int(size * 1.12)
    return x


def _hershey(img, text, x, y, h, ink, rng, thick=1):
    font = HERSHEY[int(rng.integers(len(HERSHEY)))]
    scale = h / 22.0
    cv2.putText(img, text, (int(x), int(y + h)), font, scale, ink, thick, cv2.LINE_AA)


def _latin_text(img: np.ndarray, rng: np.random.Generator, x: int, y: int, h: int, text: str,
                ink: tuple[int, int, int]) -> np.ndarray:
    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    ImageDraw.Draw(pil).text((x, y), text, font=_latin(int(rng.integers(4)), max(8, h)), fill=ink[::-1])
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def _paper(rng: np.random.Generator, w: int, h: int, level: tuple[float, float] = (232, 252)) -> np.ndarray:
    base = rng.uniform(*level)
    tint = np.array([base - rng.uniform(0, 6), base - rng.uniform(0, 3), base], np.float32)  # a little warm
    fibre = cv2.resize(rng.normal(0, 1.2, (h // 6 + 1, w // 6 + 1)).astype(np.float32), (w, h))
    return cv2.merge([cv2.add(fibre, float(t)) for t in tint]).clip(0, 255).astype(np.uint8)


def _draw_form(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A near-white government form: thin outer frame close to the paper edge, boxes, labels."""
    img = _paper(rng, w, h, (236, 253))
    ink = tuple(int(v) for v in rng.integers(20, 90, 3))
    m = int(w * rng.uniform(0.035, 0.09))
    lw = 1 if rng.random() < 0.7 else 2
    u = w / 210.0  # pixels per millimetre
    _glyph_row(img, rng, w // 2 - int(4.5 * 9 * u), m, int(9 * u), int(rng.integers(6, 10)), ink, 2)
    top = m + int(16 * u)
    cv2.rectangle(img, (m, top), (w - m, h - m), ink, lw, cv2.LINE_AA)
    rows = int(rng.integers(8, 20))
    ys = np.sort(rng.uniform(top, h - m, rows - 1)).astype(int)
    col = int(m + (w - 2 * m) * rng.uniform(0.18, 0.3))
    for yy in ys:
        cv2.line(img, (m, yy), (w - m, yy), ink, lw, cv2.LINE_AA)
    cv2.line(img, (col, top), (col, h - m), ink, lw, cv2.LINE_AA)
    prev = top
    for yy in list(ys) + [h - m]:
        if yy - prev > 7 * u:
            _glyph_row(img, rng, m + int(2 * u), prev + int(2 * u), int(min(5 * u, (yy - prev) * 0.5)),
                       int(rng.integers(2, 5)), ink)
            if rng.random() < 0.6:
                _hershey(img, str(rng.integers(10**5, 10**9)), col + 3 * u, prev + 2 * u,
                         min(5 * u, (yy - prev) * 0.5), ink, rng)
        prev = yy
    if rng.random() < 0.5:  # a red seal
        r = int(20 * u)
        c = (int(w * rng.uniform(0.55, 0.8)), int(h * rng.uniform(0.75, 0.9)))
        cv2.circle(img, c, r, (40, 40, 210), max(2, int(u)), cv2.LINE_AA)
        _glyph_row(img, rng, c[0] - r // 2, c[1] - r // 4, r // 3, 3, (40, 40, 210))
    return img


def _draw_multicolumn(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A printed page in two or three columns of body text, a headline, sometimes a picture."""
    img = _paper(rng, w, h)
    ink = tuple(int(v) for v in rng.integers(0, 50, 3))
    u = w / 210.0
    m = int(rng.uniform(12, 25) * u)
    img = _latin_text(img, rng, m, m, int(8 * u), "BULLETIN  No." + str(rng.integers(1, 99)), ink)
    ncol = int(rng.integers(2, 4))
    gap = int(5 * u)
    cw = (w - 2 * m - (ncol - 1) * gap) // ncol
    lh = int(rng.uniform(3.2, 4.8) * u)
    y0 = m + int(16 * u)
    for c in range(ncol):
        x = m + c * (cw + gap)
        y = y0
        if rng.random() < 0.3 and c == ncol - 1:  # a photo block
            ph = int(cw * rng.uniform(0.5, 0.9))
            block = rng.uniform(40, 200, 3)
            cv2.rectangle(img, (x, y), (x + cw, y + ph), tuple(int(v) for v in block), -1)
            y += ph + lh
        while y < h - m - lh:
            if rng.random() < 0.08:
                y += lh  # paragraph break
                continue
            n = max(1, int(cw / (lh * 1.1) * rng.uniform(0.6, 1.0)))
            _glyph_row(img, rng, x, y, int(lh * 0.8), n, ink)
            y += lh
    return img


def _draw_receipt(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A thermal till receipt: grey-blue print in a monospaced column, dashed rules."""
    img = _paper(rng, w, h, (238, 254))
    ink = (int(rng.uniform(70, 130)),) * 2 + (int(rng.uniform(60, 110)),)
    u = w / 80.0
    m = int(4 * u)
    y = m
    _glyph_row(img, rng, w // 2 - int(12 * u), y, int(5 * u), 4, ink, 2)
    y += int(9 * u)
    while y < h - m - 4 * u:
        if rng.random() < 0.12:
            for xx in range(m, w - m, int(3 * u)):
                cv2.line(img, (xx, y), (xx + int(1.5 * u), y), ink, 1, cv2.LINE_AA)
        else:
            _glyph_row(img, rng, m, y, int(3 * u), int(rng.integers(2, 6)), ink)
            _hershey(img, f"{rng.uniform(1, 999):8.2f}", w - m - 22 * u, y - u, 3 * u, ink, rng)
        y += int(4.5 * u)
    return img


def _draw_idcard(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """The front of a (made-up) resident identity card: tinted guilloche, labels, a portrait."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.array([rng.uniform(185, 235), rng.uniform(195, 235), rng.uniform(205, 245)], np.float32)
    f1, f2 = rng.uniform(0.02, 0.08, 2)
    g = np.sin(xx * f1 + 6 * np.sin(yy * f2)) * np.sin(yy * f1 * 0.7 + 5 * np.cos(xx * f2))
    img = base[None, None, :] + 10 * g[..., None] * np.array([1.0, 0.6, 0.3], np.float32)
    # Print tends to fade towards the card's edge; a blue-grey band near the top is common.
    img[: int(h * 0.06)] *= rng.uniform(0.85, 1.0)
    img = np.clip(img, 0, 255).astype(np.uint8)
    ink = (60, 40, 30)
    u = w / 85.6
    for i in range(5):
        y = int((7 + 8.5 * i) * u)
        _glyph_row(img, rng, int(5 * u), y, int(3.2 * u), 2, (150, 110, 60))
        _glyph_row(img, rng, int(17 * u), y, int(3.2 * u), int(rng.integers(2, 7)), ink)
    _hershey(img, "".join(str(d) for d in rng.integers(0, 10, 18)), 20 * u, 44 * u, 3.5 * u, ink, rng)
    px0, py0, px1, py1 = int(58 * u), int(8 * u), int(80 * u), int(36 * u)
    face = np.array([rng.uniform(150, 220), rng.uniform(150, 210), rng.uniform(140, 200)])
    cv2.rectangle(img, (px0, py0), (px1, py1), tuple(int(v) for v in face * 0.9), -1)
    cv2.ellipse(img, ((px0 + px1) // 2, int(20 * u)), (int(6 * u), int(8 * u)), 0, 0, 360,
                (120, 150, 190), -1, cv2.LINE_AA)
    cv2.ellipse(img, ((px0 + px1) // 2, py1), (int(10 * u), int(8 * u)), 0, 180, 360, (60, 60, 70), -1,
                cv2.LINE_AA)
    return img


def render_document(rng: np.random.Generator, kind: str, px_per_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the document image (BGR) and its coverage mask (float, rounded corners anti-aliased)."""
    wmm, hmm = DOC_MM[kind]
    if kind == "receipt":
        hmm = float(rng.uniform(110, 260))
    w, h = max(32, round(wmm * px_per_mm)), max(32, round(hmm * px_per_mm))
    if kind == "idcard":
        img = _draw_idcard(rng, w, h)
    elif kind == "form":
        img = _draw_form(rng, w, h)
    elif kind == "multicolumn":
        img = _draw_multicolumn(rng, w, h)
    elif kind == "receipt":
        img = _draw_receipt(rng, w, h)
    else:
        img = _paper(rng, w, h, (225, 252))
    # Rounded corners: ISO 7810 cards have r = 3.18 mm; paper is cut square, receipts torn.
    radius = 3.18 * px_per_mm if kind == "idcard" else (rng.uniform(0, 1.5) * px_per_mm)
    ss = 4
    mask = np.zeros((h * ss, w * ss), np.uint8)
    r = int(radius * ss)
    if r > 1:
        cv2.rectangle(mask, (r, 0), (w * ss - 1 - r, h * ss - 1), 255, -1)
        cv2.rectangle(mask, (0, r), (w * ss - 1, h * ss - 1 - r), 255, -1)
        for cx, cy in ((r, r), (w * ss - 1 - r, r), (r, h * ss - 1 - r), (w * ss - 1 - r, h * ss - 1 - r)):
            cv2.circle(mask, (cx, cy), r, 255, -1)
    else:
        mask[:] = 255
    if kind == "receipt" and rng.random() < 0.6:
        # A torn bottom edge: small teeth, about a millimetre.
        teeth = np.cumsum(rng.uniform(0.5, 2.0, 400) * px_per_mm * ss)
        teeth = teeth[teeth < w * ss]
        pts = [(0, h * ss - 1)] + [(int(t), int(h * ss - 1 - rng.uniform(0, 1.2) * px_per_mm * ss)) for t in teeth]
        pts += [(w * ss - 1, h * ss - 1)]
        cv2.fillPoly(mask, [np.array(pts + [(w * ss - 1, h * ss + 10), (0, h * ss + 10)], np.int32)], 0)
    cover = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return img, cover


# -------------------------------------------------------------------------------- surfaces

def _smooth_noise(rng, h, w, cell):
    small = rng.normal(0, 1, (max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def render_surface(rng: np.random.Generator, w: int, h: int, style: str) -> np.ndarray:
    """A desk or base plate, float32 BGR."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if style == "wood":
        cx, cy = rng.uniform(-2, 3) * w, rng.uniform(-2, 3) * h
        r = np.sqrt(((xx - cx) * rng.uniform(0.05, 0.3)) ** 2 + (yy - cy) ** 2)
        r += 25 * _smooth_noise(rng, h, w, 60)
        rings = 0.5 + 0.5 * np.sin(r / rng.uniform(6, 18))
        rings = rings ** 3
        base = np.array([rng.uniform(50, 90), rng.uniform(85, 125), rng.uniform(120, 170)], np.float32)
        img = base * (0.8 + 0.3 * rings[..., None]) * (1 + 0.06 * _smooth_noise(rng, h, w, 8)[..., None])
    elif style == "laminate":
        base = rng.uniform(120, 215) * np.array([rng.uniform(0.8, 0.95), rng.uniform(0.9, 1.0), 1.0])
        img = np.broadcast_to(base.astype(np.float32), (h, w, 3)).copy()
        img *= (1 + 0.03 * _smooth_noise(rng, h, w, 3))[..., None]
        plank = rng.uniform(180, 420)
        ang = rng.choice([0.0, np.pi / 2]) + rng.normal(0, 0.02)
        v = -xx * np.sin(ang) + yy * np.cos(ang)
        seam = np.abs(((v + rng.uniform(0, plank)) % plank) - plank / 2) > plank / 2 - 1.2
        img[seam] *= 0.8
    elif style == "cloth":
        period = rng.uniform(3, 9)
        ang = rng.uniform(0, np.pi)
        u = xx * np.cos(ang) + yy * np.sin(ang)
        v = -xx * np.sin(ang) + yy * np.cos(ang)
        weave = np.sin(u * np.pi / period) * np.sign(np.sin(v * np.pi / period))
        base = rng.uniform(30, 200, 3).astype(np.float32)
        img = base * (1 + 0.12 * weave[..., None]) * (1 + 0.05 * _smooth_noise(rng, h, w, 40)[..., None])
    elif style == "glass":
        base = rng.uniform(15, 70, 3).astype(np.float32) + np.array([0, 8, 4], np.float32)
        grad = (xx / w * rng.uniform(-1, 1) + yy / h * rng.uniform(-1, 1)) * rng.uniform(10, 40)
        img = base + grad[..., None]
        for _ in range(int(rng.integers(1, 4))):  # reflected ceiling lights
            c = rng.uniform([0, 0], [w, h])
            s = rng.uniform(30, 200)
            img += rng.uniform(20, 70) * np.exp(-(((xx - c[0]) ** 2) / (2 * s * s) + ((yy - c[1]) ** 2) / (2 * (s * 0.4) ** 2)))[..., None]
    elif style == "baseplate":
        dark = rng.random() < 0.7
        base = rng.uniform(18, 45) if dark else rng.uniform(200, 235)
        img = np.full((h, w, 3), base, np.float32) * (1 + 0.02 * _smooth_noise(rng, h, w, 4))[..., None]
        mark = (base + rng.uniform(60, 140)) if dark else (base - rng.uniform(60, 140))
        mark_c = (float(mark), float(mark), float(mark))
        img8 = img.astype(np.uint8)
        px = rng.uniform(3.0, 6.0)  # pixels per millimetre on the plate
        for i in range(0, int(w / px)):  # ruler ticks along the bottom and one side
            length = 12 if i % 10 == 0 else (7 if i % 5 == 0 else 4)
            x = int(i * px)
            cv2.line(img8, (x, h - 1), (x, h - 1 - int(length * px / 3)), mark_c, 1, cv2.LINE_AA)
            if i % 10 == 0:
                cv2.putText(img8, str(i // 10), (x + 2, h - int(5 * px)), cv2.FONT_HERSHEY_PLAIN, 0.9, mark_c, 1,
                            cv2.LINE_AA)
        for i in range(0, int(h / px)):
            length = 12 if i % 10 == 0 else (7 if i % 5 == 0 else 4)
            y = int(i * px)
            cv2.line(img8, (0, y), (int(length * px / 3), y), mark_c, 1, cv2.LINE_AA)
        # Printed outlines of A4 and A5 (corner marks or full frames) to lay papers on.
        cx, cy = w / 2 + rng.normal(0, 0.05 * w), h / 2 + rng.normal(0, 0.05 * h)
        for mw, mh in ((297, 210), (210, 148)):
            hw, hh = mw * px / 2, mh * px / 2
            pts = np.array([[cx - hw, cy - hh], [cx + hw, cy - hh], [cx + hw, cy + hh], [cx - hw, cy + hh]], np.int32)
            if rng.random() < 0.5:
                cv2.polylines(img8, [pts], True, mark_c, 1, cv2.LINE_AA)
            else:
                for k in range(4):
                    p, q0, q1 = pts[k], pts[(k + 1) % 4], pts[(k - 1) % 4]
                    for q in (q0, q1):
                        e = p + (q - p) * (10 * px / max(np.linalg.norm(q - p), 1))
                        cv2.line(img8, tuple(int(v) for v in p), tuple(int(v) for v in e), mark_c, 2, cv2.LINE_AA)
        img = img8.astype(np.float32)
    else:  # "white" desk: the hardest, a near-white form on it
        base = rng.uniform(205, 240)
        img = np.full((h, w, 3), base, np.float32) * np.array([rng.uniform(0.96, 1.0), rng.uniform(0.98, 1.0), 1.0],
                                                             np.float32)
        img *= (1 + 0.015 * _smooth_noise(rng, h, w, 30))[..., None]
    return np.clip(img, 0, 255).astype(np.float32)


# -------------------------------------------------------------------------------- clutter

def _finger(rng, mask_shape, tip, direction, width):
    """A finger as a capsule from off the page to ``tip``; returns (mask, nail mask)."""
    h, w = mask_shape
    mask = np.zeros((h, w), np.uint8)
    nail = np.zeros((h, w), np.uint8)
    d = direction / (np.linalg.norm(direction) + 1e-9)
    base = tip - d * width * rng.uniform(4, 9)
    cv2.line(mask, tuple(int(v) for v in base), tuple(int(v) for v in tip), 255, int(width), cv2.LINE_AA)
    cv2.circle(mask, tuple(int(v) for v in tip), int(width / 2), 255, -1, cv2.LINE_AA)
    far = base - d * max(h, w)  # the hand continues out of view
    cv2.line(mask, tuple(int(v) for v in far), tuple(int(v) for v in base), 255, int(width * 2.2), cv2.LINE_AA)
    nc = tip - d * width * 0.45
    cv2.ellipse(nail, tuple(int(v) for v in nc), (int(width * 0.32), int(width * 0.45)),
                float(np.degrees(np.arctan2(d[1], d[0]))) + 90, 0, 360, 255, -1, cv2.LINE_AA)
    return mask, nail


def _occlude(rng, img, quad, what):
    """Put fingers or a clip over a corner or an edge of the document; returns the new image."""
    h, w = img.shape[:2]
    k = int(rng.integers(4))
    on_corner = rng.random() < 0.5
    a, b = quad[k], quad[(k + 1) % 4]
    at = a if on_corner else a + (b - a) * rng.uniform(0.2, 0.8)
    centre = quad.mean(0)
    inward = centre - at
    inward /= np.linalg.norm(inward) + 1e-9
    scale = np.sqrt(abs(cv2.contourArea(quad.astype(np.float32))))
    if what == "finger":
        skin = np.array([rng.uniform(110, 170), rng.uniform(140, 190), rng.uniform(180, 240)], np.float32)
        fw = scale * rng.uniform(0.05, 0.09)
        total = np.zeros((h, w), np.float32)
        nails = np.zeros((h, w), np.float32)
        side = np.array([-inward[1], inward[0]])
        for i in range(int(rng.integers(1, 4))):
            tip = at + inward * fw * rng.uniform(0.8, 2.5) + side * fw * 1.05 * (i - 1)
            m, n = _finger(rng, (h, w), tip, inward + rng.normal(0, 0.15, 2), fw)
            total = np.maximum(total, m.astype(np.float32) / 255)
            nails = np.maximum(nails, n.astype(np.float32) / 255)
        shade = 0.75 + 0.25 * cv2.GaussianBlur(total, (0, 0), fw * 0.3)
        col = skin[None, None, :] * shade[..., None]
        col = col * (1 - 0.4 * nails[..., None]) + np.array([200, 205, 230], np.float32) * 0.4 * nails[..., None]
        soft = cv2.GaussianBlur(total, (0, 0), fw * 0.4)
        img *= (1 - 0.35 * np.clip(soft - total, 0, 1))[..., None]  # the finger's shadow
        return img * (1 - total[..., None]) + col * total[..., None]
    # A binder clip (dark body, metal wire handles) or a paper clip (a wire loop).
    mask = np.zeros((h, w), np.uint8)
    n = np.array([-inward[1], inward[0]])
    s = scale * rng.uniform(0.06, 0.12)
    if rng.random() < 0.6:
        body = np.array([at - n * s - inward * s * 0.4, at + n * s - inward * s * 0.4,
                         at + n * s * 0.8 + inward * s * 0.7, at - n * s * 0.8 + inward * s * 0.7])
        cv2.fillPoly(mask, [body.astype(np.int32)], 255, cv2.LINE_AA)
        colour = np.array([rng.uniform(10, 50)] * 3, np.float32) if rng.random() < 0.7 else rng.uniform(30, 200, 3)
        m = mask.astype(np.float32)[..., None] / 255
        img = img * (1 - m) + colour.astype(np.float32) * m
        for sgn in (-1, 1):
            p0 = at + n * s * 0.7 * sgn - inward * s * 0.3
            p1 = p0 - inward * s * rng.uniform(1.0, 1.8) + n * s * 0.2 * sgn
            cv2.line(img, tuple(int(v) for v in p0), tuple(int(v) for v in p1), (200, 200, 205),
                     max(2, int(s * 0.08)), cv2.LINE_AA)
        return img
    loop = (at + inward * s * 0.6)
    cv2.ellipse(img, tuple(int(v) for v in loop), (int(s * 0.35), int(s * 1.3)),
                float(np.degrees(np.arctan2(inward[1], inward[0]))) + 90, 0, 360, (170, 172, 180),
                max(2, int(s * 0.07)), cv2.LINE_AA)
    return img


# -------------------------------------------------------------------------------- camera

def _pose_quad(rng, w, h, doc_wh_mm, view, fill, out):
    """Project the document rectangle through a tilted pinhole camera; return its corners in the
    rectangle's own order (the document's TL, TR, BR, BL), possibly outside the frame."""
    wmm, hmm = doc_wh_mm
    diag = float(np.hypot(w, h))
    if view == "doccam":
        f = diag * rng.uniform(0.9, 1.3)
        tilt = np.radians(rng.normal(0, 2.5, 2))
        yaw = np.radians(rng.normal(0, 8)) + (rng.choice([0, np.pi / 2, np.pi]) if rng.random() < 0.35 else 0)
    else:
        f = diag * rng.uniform(0.75, 1.05)
        tilt = np.radians(np.clip(rng.normal(0, 12, 2), -32, 32))
        yaw = np.radians(rng.normal(0, 10)) + (np.pi / 2 if rng.random() < 0.15 else 0)
    rect = np.array([[-wmm / 2, -hmm / 2, 0], [wmm / 2, -hmm / 2, 0], [wmm / 2, hmm / 2, 0], [-wmm / 2, hmm / 2, 0]])
    cz, sz = np.cos(yaw), np.sin(yaw)
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    cx, sx = np.cos(tilt[0]), np.sin(tilt[0])
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    cy, sy = np.cos(tilt[1]), np.sin(tilt[1])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    p3 = rect @ (rx @ ry @ rz).T
    # Distance that makes the document's longer image extent ``fill`` of the frame's matching side.
    dist = f * max(wmm, hmm) / (fill * max(w, h)) + abs(p3[:, 2]).max()
    for _ in range(4):
        z = p3[:, 2] + dist
        pts = f * p3[:, :2] / z[:, None]
        ext = pts.max(0) - pts.min(0)
        ratio = max(ext[0] / w, ext[1] / h) / fill
        dist *= ratio
    z = p3[:, 2] + dist
    pts = f * p3[:, :2] / z[:, None]
    lo, hi = pts.min(0), pts.max(0)
    centre_in = np.array([(w - 1) / 2, (h - 1) / 2])
    span = hi - lo
    if out == "corner":
        # Push one corner across one edge of the frame, the rest of the document staying in view
        # when it can (the corner farthest out along that axis goes out first).
        axis = int(rng.integers(2))
        size = w if axis == 0 else h
        pts = pts - (lo + hi) / 2 + np.array([(w - 1) / 2, (h - 1) / 2])
        if rng.random() < 0.5:
            k = int(np.argmax(pts[:, axis]))
            pts[:, axis] += size - 0.5 - pts[k, axis] + rng.uniform(0.04, 0.2) * span[axis]
        else:
            k = int(np.argmin(pts[:, axis]))
            pts[:, axis] += -0.5 - pts[k, axis] - rng.uniform(0.04, 0.2) * span[axis]
        other = 1 - axis
        olo, ohi = pts[:, other].min(), pts[:, other].max()
        osize = h if axis == 0 else w
        if ohi - olo < osize - 2:  # slide along the edge, keeping the other axis in view
            pts[:, other] += rng.uniform(-olo + 1, osize - 2 - ohi)
    elif out == "side":
        axis = int(rng.integers(2))
        sgn = rng.choice([-1, 1])
        shift = centre_in - (lo + hi) / 2
        pts = pts + shift
        lo, hi = pts.min(0), pts.max(0)
        if sgn > 0:
            pts[:, axis] += (w if axis == 0 else h) - 0.5 - hi[axis] + rng.uniform(0.05, 0.2) * span[axis]
        else:
            pts[:, axis] += -0.5 - lo[axis] - rng.uniform(0.05, 0.2) * span[axis]
    else:
        room = np.maximum(np.array([w, h]) - span - 8, 0)
        pts = pts - lo + 4 + rng.uniform(0, 1, 2) * room
    return pts


def _screen_order(pts: np.ndarray) -> np.ndarray:
    """TL, TR, BR, BL on screen: clockwise (y down), starting nearest the top left."""
    c = pts.mean(0)
    pts = pts[np.argsort(np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0]))]
    return np.roll(pts, -int(np.argmin(pts[:, 0] + pts[:, 1])), axis=0)


def _barrel(img, quad, k1):
    """Apply radial (barrel, k1 < 0) distortion; return the image and the moved corners."""
    h, w = img.shape[:2]
    c = np.array([(w - 1) / 2, (h - 1) / 2], np.float32)
    rn = np.float32(np.hypot(w, h) / 2)
    k1 = np.float32(k1)

    def forward(p):
        d = (p - c) / rn
        r2 = (d ** 2).sum(-1, keepdims=True)
        return c + (p - c) * (1 + k1 * r2)

    # Inverse map (distorted pixel → undistorted source) by fixed-point iteration.
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist_pts = np.stack([gx, gy], -1)
    und = dist_pts.copy()
    for _ in range(6):
        und = dist_pts - (forward(und) - und).astype(np.float32)
    mx, my = np.ascontiguousarray(und[..., 0]), np.ascontiguousarray(und[..., 1])
    out = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out, forward(quad.astype(np.float32)).astype(np.float64)


SURFACES = ("wood", "laminate", "cloth", "glass", "baseplate", "white")


def make_photo(rng: np.random.Generator, width: int = 1920, height: int = 1080, *, kind: str | None = None,
               view: str | None = None, surface: str | None = None, out: str | None = None) -> Photo:
    """Draw one labelled photo. ``width`` x ``height`` is the landscape frame; phone shots are
    delivered in portrait (height x width), so every frame has the same number of pixels.
    ``out`` ("corner", "side" or "none") forces how much of the page lies outside the frame
    (training on the hard cases); the random draws stay the same either way."""
    kind = kind or str(rng.choice(KINDS, p=KIND_WEIGHTS))
    view = view or ("doccam" if rng.random() < 0.5 else "phone")
    w, h = (width, height) if view == "doccam" else (height, width)
    if surface is None:
        if view == "doccam":
            surface = str(rng.choice(SURFACES, p=(0.1, 0.1, 0.05, 0.05, 0.5, 0.2)))
        else:
            surface = str(rng.choice(SURFACES, p=(0.22, 0.2, 0.16, 0.12, 0.05, 0.25)))
    if kind in ("form", "blank") and rng.random() < 0.35:
        surface = "white"  # near-white paper on a white desk, the case that failed most
    tags = [surface]
    bg = render_surface(rng, w, h, surface)

    wmm, hmm = DOC_MM[kind]
    if kind == "idcard":
        fill = rng.uniform(0.18, 0.45) if view == "doccam" else rng.uniform(0.3, 0.75)
    elif kind == "receipt":
        fill = rng.uniform(0.45, 0.95)
    else:
        fill = rng.uniform(0.55, 0.97)
    r = rng.random()
    if out is None:
        out = "corner" if r < 0.12 else ("side" if r < 0.2 else None)
    elif out == "none":
        out = None
    if out:
        fill = min(1.25, fill * rng.uniform(1.0, 1.3))
    # Render at about twice the imaged resolution, then warp down.
    px_per_mm = float(np.clip(fill * max(w, h) / max(wmm, 80.0) * 1.25, 4, 12))
    doc, cover = render_document(rng, kind, px_per_mm)
    dh, dw = doc.shape[:2]
    quad = _pose_quad(rng, w, h, (dw / px_per_mm, dh / px_per_mm), view, fill, out)
    src = np.array([[-0.5, -0.5], [dw - 0.5, -0.5], [dw - 0.5, dh - 0.5], [-0.5, dh - 0.5]], np.float32)
    H = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    quad = _screen_order(quad)
    # One corner outside the frame, or more (a whole side, or more, cut off).
    n_out = int((~((quad[:, 0] >= -0.5) & (quad[:, 0] <= w - 0.5) & (quad[:, 1] >= -0.5) & (quad[:, 1] <= h - 0.5))).sum())
    if n_out == 1:
        tags.append("corner_out")
    elif n_out > 1:
        tags.append("side_out")
    warped = cv2.warpPerspective(doc, H, (w, h), flags=cv2.INTER_AREA if px_per_mm > 8 else cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(cover, H, (w, h), flags=cv2.INTER_LINEAR)
    img = bg.copy()
    # A soft drop shadow, offset away from the light.
    off = rng.normal(0, 0.006 * max(w, h), 2)
    sh = cv2.warpAffine(alpha, np.float32([[1, 0, off[0]], [0, 1, off[1]]]), (w, h))
    sh = cv2.GaussianBlur(sh, (0, 0), rng.uniform(2, 12))
    img *= (1 - rng.uniform(0.1, 0.45) * sh)[..., None]
    img = img * (1 - alpha[..., None]) + warped.astype(np.float32) * alpha[..., None]
    if rng.random() < 0.25:
        what = "finger" if rng.random() < 0.6 else "clip"
        img = _occlude(rng, img, quad, what)
        tags += ["occluded", what]
    # Light: one broad gradient and a vignette, white balance, exposure.
    yy, xx = np.mgrid[0:h:4, 0:w:4].astype(np.float32)
    lx, ly = rng.uniform(-0.5, 1.5, 2)
    light = 1 - rng.uniform(0, 0.35) * np.hypot(xx / w - lx, yy / h - ly) / 1.5
    light *= 1 - rng.uniform(0, 0.25) * (((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2)
    light = cv2.resize(light, (w, h))
    img *= light[..., None] * rng.uniform(0.8, 1.15) * rng.uniform(0.92, 1.08, 3)[None, None, :].astype(np.float32)
    if rng.random() < (0.45 if kind == "idcard" else 0.2):
        tags.append("glare")
        inside = quad.mean(0) + (quad[int(rng.integers(4))] - quad.mean(0)) * rng.uniform(0, 0.8)
        s = np.sqrt(abs(cv2.contourArea(quad.astype(np.float32)))) * rng.uniform(0.05, 0.25)
        gy, gx = np.mgrid[0:h:4, 0:w:4].astype(np.float32)
        ang = rng.uniform(0, np.pi)
        u = (gx - inside[0]) * np.cos(ang) + (gy - inside[1]) * np.sin(ang)
        v = -(gx - inside[0]) * np.sin(ang) + (gy - inside[1]) * np.cos(ang)
        spot = np.exp(-(u ** 2 / (2 * s * s) + v ** 2 / (2 * (s * rng.uniform(0.3, 1.0)) ** 2)))
        img += (rng.uniform(90, 220) * cv2.resize(spot.astype(np.float32), (w, h)))[..., None]
    if rng.random() < 0.2:
        tags.append("motion")
        length = int(rng.integers(4, 16))
        k = np.zeros((length, length), np.float32)
        ang = rng.uniform(0, np.pi)
        c0 = (length - 1) / 2
        cv2.line(k, (int(c0 - np.cos(ang) * c0), int(c0 - np.sin(ang) * c0)),
                 (int(c0 + np.cos(ang) * c0), int(c0 + np.sin(ang) * c0)), 1.0, 1, cv2.LINE_AA)
        img = cv2.filter2D(img, -1, k / k.sum())
    else:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.3))
    if rng.random() < (0.5 if view == "phone" else 0.25):
        tags.append("distortion")
        img, quad = _barrel(np.clip(img, 0, 255), quad, -rng.uniform(0.02, 0.08))
    # Sensor: shot noise grows with brightness, read noise, chroma noise at quarter resolution.
    img = np.clip(img, 0, 255)
    noise = rng.normal(0, 1, (h, w, 1)).astype(np.float32) * (rng.uniform(1, 3) + 0.012 * img)
    chroma = cv2.resize(rng.normal(0, rng.uniform(0.5, 3), (h // 4, w // 4, 3)).astype(np.float32), (w, h))
    img = np.clip(img + noise + chroma, 0, 255).astype(np.uint8)
    if rng.random() < 0.25:
        tags.append("low_jpeg")
        q = int(rng.integers(15, 40))
    else:
        q = int(rng.integers(70, 95))
    _ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return Photo(image=img, corners=np.asarray(quad, np.float64), kind=kind, view=view, tags=tuple(tags))

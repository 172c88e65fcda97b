"""A third generator of labelled document photos, for TRAINING the page-mask network only (scan22).

Why: fine-tuning on more draws of our two benchmark generators (:mod:`devices.scanner.synth`,
:mod:`bench.scan_set2`) raised their dev seeds but not their held-out seeds (scan21): the network
learns those generators' look. Photos from a generator we do not have are what it must handle, so
this one shares no drawing code with the other two and looks deliberately unlike them: pages made
of random blocks of text-like dashes, colour pictures, form grids, coloured paper, dark printed
borders, laminated cards with specular highlights, small stapled stacks, curled pages (a smooth
non-planar warp), a crease; backgrounds of value noise, blurred colour blobs, tiled floors,
marble, very busy clutter or a desk of the paper's own colour; strong vignetting, coloured light,
hard cast shadows across the page's edge; any rotation, a small page far away or one filling the
frame with its sides outside, wide-angle (barrel or pincushion) distortion, blur, noise and JPEG.

No benchmark draws from it (it is not a test set). Ground truth is the page's four corners in
pixel-centre coordinates of the frame, in screen order (TL, TR, BR, BL), possibly outside the
frame; ``None`` for a frame with no page. A seed reproduces a photo exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAGES = ("text", "colour", "grid", "dark_border", "card", "blank", "strip")
DESKS = ("noise", "blobs", "tiles", "marble", "busy", "paper")


@dataclass(frozen=True)
class Photo3:
    """One photo of the third generator and its ground truth."""

    image: np.ndarray               # BGR uint8
    corners: np.ndarray | None      # (4, 2) TL, TR, BR, BL; None when no page is in the photo
    page: str                       # one of PAGES, or "none"
    tags: tuple[str, ...]           # desk, lighting and camera effects drawn


def _value_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 4) -> np.ndarray:
    """Fractal value noise in [0, 1] (H, W) float32: random grids upsampled bicubically, summed."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    cell = max(h, w) / rng.uniform(2, 6)
    for _ in range(octaves):
        gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
        out += amp * cv2.resize(rng.random((gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
        cell /= 2
    out /= total
    return (out - out.min()) / max(float(np.ptp(out)), 1e-6)


def _colour(rng: np.random.Generator, lo: float = 0, hi: float = 255) -> np.ndarray:
    """A random colour, mostly muted (pulled towards its grey), as real things are."""
    c = rng.uniform(lo, hi, 3)
    return (c.mean() + (c - c.mean()) * rng.uniform(0.15, 1.0) ** 1.5).astype(np.float32)


def desk(rng: np.random.Generator, h: int, w: int, style: str, paper: np.ndarray) -> np.ndarray:
    """A background (H, W, 3) float32 0-255 of one of :data:`DESKS`."""
    if style == "noise":
        n = _value_noise(rng, h, w)[..., None]
        return _colour(rng) * (1 - n) + _colour(rng) * n
    if style == "blobs":  # a defocused colour photo behind the page
        img = np.empty((h, w, 3), np.float32)
        img[:] = _colour(rng)
        for _ in range(int(rng.integers(6, 25))):
            c = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            ax = (int(rng.uniform(0.03, 0.4) * w), int(rng.uniform(0.03, 0.4) * h))
            cv2.ellipse(img, c, ax, float(rng.uniform(0, 180)), 0, 360, _colour(rng).tolist(), -1)
        k = int(rng.uniform(0.01, 0.06) * w) * 2 + 1
        return cv2.GaussianBlur(img, (k, k), 0)
    if style == "tiles":
        side = rng.uniform(0.08, 0.35) * max(h, w)
        a = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u = (xx * np.cos(a) + yy * np.sin(a)) / side
        v = (-xx * np.sin(a) + yy * np.cos(a)) / side
        tile_a, tile_b, grout = _colour(rng), _colour(rng), _colour(rng, 0, 255)
        checker = ((np.floor(u) + np.floor(v)) % 2)[..., None] if rng.random() < 0.5 else 0.0
        img = tile_a * (1 - checker) + tile_b * checker
        g = rng.uniform(0.02, 0.08)
        line = ((u % 1 < g) | (v % 1 < g))[..., None]
        img = np.where(line, grout, img) + 12 * (_value_noise(rng, h, w, 3)[..., None] - 0.5)
        return img.astype(np.float32)
    if style == "marble":
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        f = rng.uniform(2, 8) / max(h, w)
        turb = _value_noise(rng, h, w, 5)
        veins = np.abs(np.sin((xx * f + yy * f * rng.uniform(-1, 1)) * np.pi + rng.uniform(3, 9) * turb))
        veins = (veins ** rng.uniform(0.2, 0.6))[..., None]
        return _colour(rng, 20, 120) * (1 - veins) + _colour(rng, 150, 250) * veins
    if style == "busy":  # cables, papers, pens and packaging: edges and corners everywhere
        img = np.empty((h, w, 3), np.float32)
        img[:] = _colour(rng)
        for _ in range(int(rng.integers(20, 70))):
            col = _colour(rng).tolist()
            p = (int(rng.uniform(-0.1, 1.1) * w), int(rng.uniform(-0.1, 1.1) * h))
            q = (int(rng.uniform(-0.1, 1.1) * w), int(rng.uniform(-0.1, 1.1) * h))
            r = rng.random()
            if r < 0.4:
                cv2.line(img, p, q, col, int(rng.integers(1, 8)), cv2.LINE_AA)
            elif r < 0.8:
                cv2.rectangle(img, p, (p[0] + int(rng.uniform(-0.2, 0.2) * w), p[1] + int(rng.uniform(-0.2, 0.2) * h)),
                              col, -1 if rng.random() < 0.6 else 2)
            else:
                cv2.circle(img, p, int(rng.uniform(0.01, 0.1) * w), col, -1, cv2.LINE_AA)
        return img
    # "paper": a desk in the paper's own colour, a few grey levels off, with a faint texture
    base = paper + rng.normal(0, 4, 3).astype(np.float32)
    return base + rng.uniform(2, 10) * (_value_noise(rng, h, w, 3)[..., None] - 0.5)


def _text_block(img: np.ndarray, rng: np.random.Generator, x0: int, y0: int, x1: int, y1: int, ink) -> None:
    """Lines of dashes of varied length: the texture of print at a distance, any script."""
    lh = max(2, int(rng.uniform(0.008, 0.03) * img.shape[0]))
    gap = max(1, int(lh * rng.uniform(0.4, 1.2)))
    y = y0
    while y + lh <= y1:
        x = x0
        end = x1 - (int(rng.uniform(0, 0.6) * (x1 - x0)) if rng.random() < 0.15 else 0)
        while x < end:
            wd = int(rng.uniform(0.5, 5) * lh)
            cv2.rectangle(img, (x, y + lh // 5), (min(x + wd, end), y + lh - lh // 5), ink, -1)
            x += wd + max(1, int(lh * rng.uniform(0.3, 0.8)))
        y += lh + gap


def page(rng: np.random.Generator, kind: str, w: int, h: int, paper: np.ndarray) -> np.ndarray:
    """A flat page (H, W, 3) float32 of one of :data:`PAGES` on ``paper``."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = paper
    ink = tuple(float(v) for v in _colour(rng, 0, 90))
    m = int(rng.uniform(0.04, 0.12) * min(w, h))
    if kind in ("text", "strip", "dark_border"):
        if kind == "dark_border":  # a black or coloured frame printed to the paper's edge, or near it
            t = int(rng.uniform(0.02, 0.08) * min(w, h))
            off = 0 if rng.random() < 0.5 else int(rng.uniform(0.005, 0.03) * min(w, h))
            cv2.rectangle(img, (off, off), (w - 1 - off, h - 1 - off), _colour(rng, 0, 80).tolist(), t)
            m += t + off
        y = m
        while y < h - m:  # blocks in one or two columns, with headings
            bh = int(rng.uniform(0.05, 0.3) * h)
            cols = 1 if rng.random() < 0.6 else 2
            cw = (w - 2 * m) // cols
            for c in range(cols):
                _text_block(img, rng, m + c * cw + (m // 2 if c else 0), y, m + (c + 1) * cw, min(y + bh, h - m), ink)
            y += bh + int(rng.uniform(0.02, 0.06) * h)
    elif kind == "colour":  # brochure or form with colour pictures and bars
        for _ in range(int(rng.integers(2, 7))):
            x0, y0 = int(rng.uniform(0, 0.7) * w), int(rng.uniform(0, 0.8) * h)
            x1, y1 = min(w - m, x0 + int(rng.uniform(0.15, 0.6) * w)), min(h - m, y0 + int(rng.uniform(0.08, 0.3) * h))
            if x1 <= x0 + 2 or y1 <= y0 + 2:
                continue
            if rng.random() < 0.5:
                n = _value_noise(rng, y1 - y0, x1 - x0, 3)[..., None]
                img[y0:y1, x0:x1] = _colour(rng) * (1 - n) + _colour(rng) * n
            else:
                img[y0:y1, x0:x1] = _colour(rng)
        _text_block(img, rng, m, int(0.6 * h), w - m, h - m, ink)
    elif kind == "grid":  # a table or form ruled in thin lines
        nx, ny = int(rng.integers(2, 6)), int(rng.integers(5, 20))
        xs = np.linspace(m, w - m, nx + 1).astype(int)
        ys = np.linspace(m, h - m, ny + 1).astype(int)
        for x in xs:
            cv2.line(img, (int(x), m), (int(x), h - m), ink, 1)
        for y in ys:
            cv2.line(img, (m, int(y)), (w - m, int(y)), ink, 1)
        for y in ys[:-1]:
            if rng.random() < 0.7:
                _text_block(img, rng, xs[0] + 3, int(y) + 2, xs[1] - 3, int(y) + max(4, (ys[1] - ys[0]) // 2), ink)
    elif kind == "card":  # an ID or bank card: a colour gradient, a picture, a few lines
        g = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        img[:] = paper * (1 - g) + _colour(rng, 60, 255) * g
        px = int(0.06 * w)
        img[int(0.2 * h):int(0.8 * h), px:px + int(0.28 * w)] = _colour(rng, 40, 200)
        _text_block(img, rng, int(0.4 * w), int(0.2 * h), int(0.94 * w), int(0.85 * h), ink)
    # "blank": only the paper
    return img


def _warp_flat(rng: np.random.Generator, img: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Curl a flat page out of its plane: its sides bow by up to 2 % of its size, its corners stay."""
    h, w = alpha.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / max(w - 1, 1), yy / max(h - 1, 1)
    ax, ay = rng.uniform(-0.02, 0.02) * w, rng.uniform(-0.02, 0.02) * h
    mx = xx + ax * np.sin(np.pi * v) * (1 - 2 * u)
    my = yy + ay * np.sin(np.pi * u) * (1 - 2 * v)
    return (cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
            cv2.remap(alpha, mx, my, cv2.INTER_LINEAR, borderValue=0))


def _pose(rng: np.random.Generator, w: int, h: int, aspect: float) -> tuple[np.ndarray, str]:
    """Where the page's corners land in the frame (cyclic order from its own top left), and the scale drawn."""
    scale = str(rng.choice(["far", "normal", "normal", "close", "fill"]))
    share = {"far": (0.2, 0.4), "normal": (0.4, 0.8), "close": (0.8, 1.05), "fill": (1.0, 1.4)}[scale]
    long_side = rng.uniform(*share) * min(w, h) * (rng.uniform(1.0, 1.6) if scale == "fill" else 1.0)
    pw, ph = (long_side, long_side * aspect) if rng.random() < 0.5 else (long_side * aspect, long_side)
    rect = np.array([[-pw, -ph], [pw, -ph], [pw, ph], [-pw, ph]], np.float64) / 2
    # Perspective: each corner pulled in or out along its diagonal, as a tilted camera does.
    d = rng.normal(0, 1, 2)
    tilted = rect * (1 + rng.uniform(0, 0.25) * (rect @ d / (np.linalg.norm(d) * max(pw, ph))))[:, None]
    edges = np.roll(tilted, -1, 0) - tilted
    turns = edges[:, 0] * np.roll(edges, -1, 0)[:, 1] - edges[:, 1] * np.roll(edges, -1, 0)[:, 0]
    if (turns > 0).all():  # still convex (a thin strip pulled hard may not be)
        rect = tilted
    a = rng.uniform(0, 2 * np.pi)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    spread = 0.5 if scale in ("close", "fill") else 0.35
    centre = np.array([w / 2 + rng.uniform(-spread, spread) * w, h / 2 + rng.uniform(-spread, spread) * h])
    if scale == "fill":
        centre = np.array([w / 2, h / 2]) + rng.normal(0, 0.08, 2) * (w, h)
    return rect @ rot.T + centre, scale


def _screen_corners(q: np.ndarray) -> np.ndarray:
    """Corners in screen order TL, TR, BR, BL (clockwise on screen from the one nearest the top left)."""
    c = q.mean(0)
    q = q[np.argsort(np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0]))]
    return np.roll(q, -int(np.argmin(q.sum(1))), axis=0)


def _lens(rng: np.random.Generator, img: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wide-angle barrel (k < 0) or pincushion (k > 0) distortion of the frame and of the corners."""
    h, w = img.shape[:2]
    k = rng.uniform(-0.15, 0.12)
    c = np.array([(w - 1) / 2, (h - 1) / 2])
    f = max(w, h) / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    nx, ny = (xx - c[0]) / f, (yy - c[1]) / f
    s = 1 + k * (nx * nx + ny * ny)
    out = cv2.remap(img, (nx * s * f + c[0]).astype(np.float32), (ny * s * f + c[1]).astype(np.float32),
                    cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # A corner at source point p shows at d with d (1 + k |d|^2) = p: a few fixed-point steps.
    p = (q - c) / f
    d = p.copy()
    for _ in range(30):
        d = p / (1 + k * (d * d).sum(1, keepdims=True))
    if np.abs(d * (1 + k * (d * d).sum(1, keepdims=True)) - p).max() > 1e-3:
        return img, q  # a corner so far out that barrel distortion has no image of it: no lens then
    return out, d * f + c


def make_photo(rng: np.random.Generator, width: int = 640, height: int = 360, *, empty: bool | None = None) -> Photo3:
    """Draw one photo: a page of a random kind on a random desk, lit and photographed badly."""
    w, h = width, height
    tags: list[str] = []
    paper_tone = str(rng.choice(["white", "cream", "coloured", "dark"], p=[0.5, 0.2, 0.2, 0.1]))
    paper = {"white": lambda: np.full(3, rng.uniform(215, 252), np.float32) + rng.normal(0, 3, 3).astype(np.float32),
             "cream": lambda: np.array([rng.uniform(170, 215), rng.uniform(215, 240), rng.uniform(230, 250)], np.float32),
             "coloured": lambda: _colour(rng, 120, 250),
             "dark": lambda: _colour(rng, 20, 110)}[paper_tone]()
    style = str(rng.choice(DESKS, p=[0.2, 0.2, 0.15, 0.15, 0.15, 0.15]))
    frame = desk(rng, h, w, style, paper)
    tags += [style, paper_tone]
    kind, corners = "none", None
    if empty is None:
        empty = bool(rng.random() < 0.03)
    if not empty:
        kind = str(rng.choice(PAGES, p=[0.22, 0.16, 0.14, 0.12, 0.16, 0.1, 0.1]))
        aspect = {"card": 54 / 85.6, "strip": rng.uniform(0.2, 0.4)}.get(kind, rng.uniform(0.6, 1.0))
        for _ in range(20):  # some of the desk in view: a page over the whole frame has no outline
            q, scale = _pose(rng, w, h, aspect)
            inside = np.zeros((h, w), np.uint8)
            cv2.fillConvexPoly(inside, np.round(q).astype(np.int32), 1)
            if 0.004 < inside.mean() < 0.97:
                break
        tags.append(scale)
        side = np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[3] - q[0])
        fw, fh = (int(np.clip(s * rng.uniform(1.0, 1.6), 24, 1400)) for s in side)
        flat = page(rng, kind, fw, fh, paper)
        alpha = np.ones((fh, fw), np.float32)
        if kind == "card" or rng.random() < 0.1:  # rounded corners
            r = int(rng.uniform(0.03, 0.08) * min(fw, fh))
            alpha[:] = 0
            cv2.rectangle(alpha, (r, 0), (fw - 1 - r, fh - 1), 1, -1)
            cv2.rectangle(alpha, (0, r), (fw - 1, fh - 1 - r), 1, -1)
            for cx, cy in ((r, r), (fw - 1 - r, r), (fw - 1 - r, fh - 1 - r), (r, fh - 1 - r)):
                cv2.circle(alpha, (cx, cy), r, 1, -1, cv2.LINE_AA)
        if rng.random() < 0.3:
            flat, alpha = _warp_flat(rng, flat, alpha)
            tags.append("curl")
        if rng.random() < 0.2:  # a crease: one half a little darker
            flat[:, : int(rng.uniform(0.3, 0.7) * fw)] *= rng.uniform(0.85, 0.97)
            tags.append("fold")
        src = np.array([[-0.5, -0.5], [fw - 0.5, -0.5], [fw - 0.5, fh - 0.5], [-0.5, fh - 0.5]], np.float32)
        hom = cv2.getPerspectiveTransform(src, q.astype(np.float32))
        if rng.random() < 0.1:  # a stapled stack: sheets under the top one, a little askew
            for _ in range(int(rng.integers(1, 4))):
                jitter = cv2.getPerspectiveTransform(src, (q + rng.normal(0, 0.012 * max(side), (4, 2))).astype(np.float32))
                under = cv2.warpPerspective(np.ones((fh, fw), np.float32), jitter, (w, h))[..., None]
                frame = frame * (1 - under) + (paper * rng.uniform(0.9, 1.02)) * under
            tags.append("stack")
        shadow = cv2.warpPerspective(alpha, hom, (w, h))
        k = int(rng.uniform(0.005, 0.03) * w) * 2 + 1
        shadow = cv2.GaussianBlur(np.roll(shadow, (int(rng.integers(0, 6)), int(rng.integers(0, 6))), (0, 1)), (k, k), 0)
        frame *= 1 - rng.uniform(0, 0.35) * shadow[..., None]
        a = cv2.warpPerspective(alpha, hom, (w, h))[..., None]
        frame = frame * (1 - a) + cv2.warpPerspective(flat, hom, (w, h), borderMode=cv2.BORDER_REPLICATE) * a
        if rng.random() < 0.1:
            p = q[int(rng.integers(4))] * 0.85 + q.mean(0) * 0.15
            cv2.line(frame, tuple(int(v) for v in p - 4), tuple(int(v) for v in p + 4), (170, 170, 175), 2, cv2.LINE_AA)
        if kind == "card" or rng.random() < 0.15:  # laminate: a specular highlight on the page
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            c = q.mean(0) + rng.uniform(-0.3, 0.3, 2) * side[0]
            s = rng.uniform(0.05, 0.25) * side[0]
            spot = np.exp(-((xx - c[0]) ** 2 + ((yy - c[1]) * rng.uniform(0.5, 2)) ** 2) / (2 * s * s))
            frame += rng.uniform(80, 250) * (spot * a[..., 0])[..., None]
            tags.append("glare")
        corners = q
    # Light: a hard cast shadow across the scene, a coloured light, vignetting.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.35:
        ang = rng.uniform(0, 2 * np.pi)
        off = rng.uniform(-0.3, 0.3) * max(w, h)
        d = (xx - w / 2) * np.cos(ang) + (yy - h / 2) * np.sin(ang) - off
        edge = rng.uniform(0.5, 6)
        frame *= (1 - rng.uniform(0.25, 0.6) / (1 + np.exp(np.clip(-d / edge, -50, 50))))[..., None]
        tags.append("cast_shadow")
    if rng.random() < 0.4:
        frame *= rng.uniform(0.7, 1.2, 3).astype(np.float32)
        tags.append("tinted")
    if rng.random() < 0.5:
        r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
        frame *= (1 - rng.uniform(0.2, 0.7) * r2 ** rng.uniform(0.8, 2))[..., None]
        tags.append("vignette")
    frame *= rng.uniform(0.6, 1.3)
    img = np.clip(frame, 0, 255).astype(np.uint8)
    if rng.random() < 0.35:
        src = corners if corners is not None else np.zeros((4, 2))
        img, lensed = _lens(rng, img, src)
        if lensed is not src:
            tags.append("lens")
            corners = lensed if corners is not None else None
    # Camera: defocus, noise, JPEG.
    if rng.random() < 0.4:
        k = int(rng.integers(1, 4)) * 2 + 1
        img = cv2.GaussianBlur(img, (k, k), 0)
    noisy = img.astype(np.float32) + rng.normal(0, rng.uniform(1, 9), img.shape).astype(np.float32)
    img = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 90))])[1]
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if corners is not None:
        corners = _screen_corners(corners)
    return Photo3(img, corners, kind, tuple(tags))

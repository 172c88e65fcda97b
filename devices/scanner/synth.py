"""Synthetic document photos: a rendered page laid on a desk, with known corners.

Used by the ``sim://`` camera, the tests and ``bench/scan_bench.py``. Every scene is drawn from a
``numpy.random.Generator`` so a seed reproduces it exactly. The variety (backgrounds, lighting,
shadows, occlusion, blur, noise, JPEG) exists so the detector is judged on more than one look.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

# (path, face index) of CJK fonts Debian installs (fonts-wqy-zenhei, fonts-noto-cjk); the first
# present one draws the Chinese text. Noto's .ttc holds Simplified Chinese at index 2.
CJK_FONTS = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
)

# Real page sizes in millimetres, (short side, long side); the renderer draws pages at their true
# aspect so the warp and the page-size snapping can be checked against ground truth.
PAGE_MM = {
    "A4": (210.0, 297.0),
    "A5": (148.0, 210.0),
    "Letter": (215.9, 279.4),
    "ID-1": (53.98, 85.6),
}

_PHRASES = [
    "居民身份证申领登记表", "营业执照", "不动产登记申请书", "社会保险参保登记", "户口迁移证明",
    "申请人姓名", "联系电话", "办理事项", "受理窗口", "证件号码", "经办人签字", "年月日",
    "本人承诺所填写内容真实有效", "政务服务中心", "一窗受理", "材料清单", "审核意见", "同意",
    "Application form", "No. 2024-0381", "Tel 0571-8888", "合计", "备注", "盖章",
]


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.ImageFont:
    # A CJK font may be absent on a bare machine; Pillow's default font then draws the Latin
    # part and boxes for the rest, which still gives the page text-like texture.
    for path, index in CJK_FONTS:
        if os.path.exists(path):
            try:
                return ImageFont.truetype(path, size, index=index)
            except OSError:
                continue
    return ImageFont.load_default(size=size)


def render_page(rng: np.random.Generator, kind: str = "A4", long_px: int = 900,
                landscape: bool = False) -> np.ndarray:
    """Render one page (BGR) with a title, Chinese text, a table and sometimes a seal."""
    short_mm, long_mm = PAGE_MM[kind]
    w, h = round(long_px * short_mm / long_mm), long_px
    if kind == "ID-1":
        return _render_card(rng, w, h, landscape=True)
    tint = rng.integers(236, 256)
    paper = (int(tint), int(tint - rng.integers(0, 8)), int(tint - rng.integers(0, 14)))
    img = Image.new("RGB", (w, h), paper)
    d = ImageDraw.Draw(img)
    ink = tuple(int(v) for v in rng.integers(0, 60, size=3))
    m = int(w * rng.uniform(0.07, 0.12))
    y = m
    title = _font(max(12, int(w * 0.045)))
    d.text((w // 2, y), str(rng.choice(_PHRASES[:12])), font=title, fill=ink, anchor="mt")
    y += int(w * 0.09)
    body = _font(max(9, int(w * rng.uniform(0.022, 0.03))))
    line_h = int(body.size * 1.7)
    for _ in range(int(rng.integers(2, 7))):
        text = "".join(str(p) for p in rng.choice(_PHRASES, size=int(rng.integers(2, 5))))
        d.text((m, y), text, font=body, fill=ink)
        y += line_h
    # A table: the inner ruling makes strong straight lines *inside* the page, which the
    # detector has to tell apart from the page border.
    rows, cols = int(rng.integers(3, 9)), int(rng.integers(2, 5))
    tw, th = w - 2 * m, min(h - y - m, rows * line_h * 1.6)
    if th > 2 * line_h:
        lw = int(rng.integers(1, 3))
        for r in range(rows + 1):
            yy = int(y + r * th / rows)
            d.line([(m, yy), (m + tw, yy)], fill=ink, width=lw)
        for c in range(cols + 1):
            xx = int(m + c * tw / cols)
            d.line([(xx, y), (xx, int(y + th))], fill=ink, width=lw)
        for r in range(rows):
            for c in range(cols):
                if rng.random() < 0.7:
                    d.text((int(m + c * tw / cols + 4), int(y + r * th / rows + 4)),
                           str(rng.choice(_PHRASES)), font=body, fill=ink)
        y = int(y + th + line_h)
    while y < h - m - line_h:
        text = "".join(str(p) for p in rng.choice(_PHRASES, size=int(rng.integers(1, 4))))
        d.text((m, y), text, font=body, fill=ink)
        y += line_h
    if rng.random() < 0.5:
        r = int(w * 0.09)
        cx, cy = int(w * rng.uniform(0.55, 0.8)), int(h * rng.uniform(0.7, 0.88))
        d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(200, 30, 30), width=max(2, r // 12))
        d.text((cx, cy), "专用章", font=_font(max(9, r // 2)), fill=(200, 30, 30), anchor="mm")
    arr = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(np.rot90(arr)) if landscape else arr


def _render_card(rng: np.random.Generator, w: int, h: int, landscape: bool) -> np.ndarray:
    cw, ch = (h, w) if landscape else (w, h)
    base = np.array([rng.uniform(200, 245), rng.uniform(205, 240), rng.uniform(215, 250)])
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    wave = 8 * np.sin(xx / cw * rng.uniform(4, 12) + yy / ch * rng.uniform(2, 6))
    arr = np.clip(base[None, None, :] + wave[..., None], 0, 255).astype(np.uint8)
    img = Image.fromarray(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB))
    d = ImageDraw.Draw(img)
    f = _font(max(9, ch // 12))
    for i, label in enumerate(["姓名", "性别", "出生", "住址", "公民身份号码"]):
        d.text((int(cw * 0.06), int(ch * (0.1 + 0.16 * i))), label + " " + str(rng.choice(_PHRASES)),
               font=f, fill=(40, 40, 60))
    d.rectangle([int(cw * 0.66), int(ch * 0.12), int(cw * 0.93), int(ch * 0.72)], fill=(170, 170, 180))
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def render_background(rng: np.random.Generator, width: int, height: int, style: str | None = None) -> np.ndarray:
    """Render a desk or cloth background (BGR): wood, light desk, dark desk or patterned cloth."""
    style = style or str(rng.choice(["wood", "light", "dark", "cloth", "gray"]))
    sw, sh = max(8, width // 4), max(8, height // 4)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    if style == "wood":
        base = np.array([rng.uniform(60, 130), rng.uniform(90, 160), rng.uniform(140, 210)])
        ang = rng.uniform(-0.3, 0.3)
        u = xx * np.sin(ang) + yy * np.cos(ang)
        noise = cv2.resize(rng.normal(0, 1, (sh // 8 + 2, sw // 8 + 2)).astype(np.float32), (sw, sh))
        grain = np.sin(u * rng.uniform(0.15, 0.5) + noise * 1.2) * 0.5 + 0.5
        fine = cv2.GaussianBlur(rng.normal(0, 1, (sh, sw)).astype(np.float32), (0, 0), sigmaX=8, sigmaY=0.7)
        img = base[None, None, :] * (0.8 + 0.25 * grain[..., None] + 0.05 * fine[..., None])
    elif style == "light":
        base = rng.uniform(175, 235) + rng.normal(0, 6, 3)
        img = base[None, None, :] + 3 * rng.normal(0, 1, (sh, sw, 1))
    elif style == "dark":
        base = rng.uniform(20, 80) + rng.normal(0, 8, 3)
        img = base[None, None, :] + 4 * rng.normal(0, 1, (sh, sw, 1))
    elif style == "gray":
        base = rng.uniform(90, 170) + rng.normal(0, 5, 3)
        img = base[None, None, :] + 4 * rng.normal(0, 1, (sh, sw, 1))
    else:
        c1, c2 = rng.uniform(30, 230, 3), rng.uniform(30, 230, 3)
        period = rng.uniform(6, 30)
        ang = rng.uniform(0, np.pi)
        u = xx * np.cos(ang) + yy * np.sin(ang)
        v = -xx * np.sin(ang) + yy * np.cos(ang)
        if rng.random() < 0.5:
            t = ((np.floor(u / period) + np.floor(v / period)) % 2)[..., None]
        else:
            t = (0.5 + 0.5 * np.sin(u / period * np.pi) * np.sin(v / period * 2.1))[..., None]
        img = c1[None, None, :] * (1 - t) + c2[None, None, :] * t
        img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 1.0)
    img = cv2.resize(np.clip(img, 0, 255).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return img


@dataclass(frozen=True)
class Scene:
    """One synthetic photo and its ground truth."""

    image: np.ndarray  # BGR uint8
    corners: np.ndarray | None  # (4, 2) TL, TR, BR, BL, pixel-centre coordinates; None = no page
    page_kind: str | None
    landscape: bool
    tags: tuple[str, ...]


def page_quad(rng: np.random.Generator, width: int, height: int, aspect: float,
              touch_edge: bool = False) -> np.ndarray:
    """Choose a quadrilateral (TL, TR, BR, BL) for a page of ``aspect`` = h / w.

    The page is a rectangle in 3-D, turned and tilted, seen through a pinhole camera whose
    principal point is the frame centre, so its image is a true perspective view.
    """
    diag = float(np.hypot(width, height))
    c0 = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    for _ in range(200):
        f = rng.uniform(0.6, 1.1) * diag
        area_frac = rng.uniform(0.12, 0.6)
        pw = np.sqrt(area_frac * width * height / aspect)
        ph = pw * aspect
        rect = np.array([[-pw / 2, -ph / 2, 0], [pw / 2, -ph / 2, 0], [pw / 2, ph / 2, 0], [-pw / 2, ph / 2, 0]])
        yaw = rng.uniform(-0.45, 0.45) if rng.random() < 0.85 else rng.uniform(-np.pi, np.pi)
        tx, ty = np.clip(rng.normal(0, np.radians(12), 2), -np.radians(28), np.radians(28))
        rz = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
        rx = np.array([[1, 0, 0], [0, np.cos(tx), -np.sin(tx)], [0, np.sin(tx), np.cos(tx)]])
        ry = np.array([[np.cos(ty), 0, np.sin(ty)], [0, 1, 0], [-np.sin(ty), 0, np.cos(ty)]])
        centre = np.array([rng.uniform(-0.35, 0.35) * width, rng.uniform(-0.35, 0.35) * height, f])
        p3 = rect @ (rx @ ry @ rz).T + centre
        pts = f * p3[:, :2] / p3[:, 2:3] + c0
        lo, hi = pts.min(0), pts.max(0)
        if touch_edge:
            if hi[0] - lo[0] >= width - 4 or hi[1] - lo[1] >= height - 4:
                continue
            # Slide the page in the image until one side nearly touches the frame edge.
            gap = rng.uniform(0.0, 2.0)
            side = rng.integers(4)
            shift = np.zeros(2)
            shift[0] = np.clip(0, -lo[0] + 1, width - 2 - hi[0])
            shift[1] = np.clip(0, -lo[1] + 1, height - 2 - hi[1])
            if side == 0:
                shift[0] = -lo[0] + gap - 0.5
            elif side == 1:
                shift[0] = width - 0.5 - gap - hi[0]
            elif side == 2:
                shift[1] = -lo[1] + gap - 0.5
            else:
                shift[1] = height - 0.5 - gap - hi[1]
            pts = pts + shift
        else:
            margin = 0.02 * width
            if lo[0] < margin or lo[1] < margin or hi[0] > width - margin or hi[1] > height - margin:
                continue
        return _order_tl(pts)
    raise RuntimeError("could not place the page")  # unreachable for sane frame sizes


def _order_tl(pts: np.ndarray) -> np.ndarray:
    """Rotate a clockwise quad so that it starts at the corner nearest the top left."""
    c = pts.mean(0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]  # clockwise in image coordinates (y down)
    start = int(np.argmin(pts[:, 0] + pts[:, 1]))
    return np.roll(pts, -start, axis=0)


def _hand_mask(rng: np.random.Generator, width: int, height: int, at: np.ndarray, toward: np.ndarray,
               size: float) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    d = toward / (np.linalg.norm(toward) + 1e-9)
    n = np.array([-d[1], d[0]])
    palm = at - d * size * 0.9
    cv2.ellipse(mask, tuple(int(v) for v in palm), (int(size * 0.55), int(size * 0.75)),
                float(np.degrees(np.arctan2(d[1], d[0]))) + 90, 0, 360, 255, -1)
    for k in range(4):
        base = palm + n * size * (k - 1.5) * 0.28 + d * size * 0.3
        tip = base + d * size * rng.uniform(0.6, 0.95) + n * rng.normal(0, 0.05 * size)
        cv2.line(mask, tuple(int(v) for v in base), tuple(int(v) for v in tip), 255,
                 max(2, int(size * 0.2)))
        cv2.circle(mask, tuple(int(v) for v in tip), max(1, int(size * 0.1)), 255, -1)
    # The forearm runs out of the frame, as a real hand does.
    far = palm - d * size * 6
    cv2.line(mask, tuple(int(v) for v in palm), tuple(int(v) for v in far), 255, max(2, int(size * 0.9)))
    return mask


def make_scene(rng: np.random.Generator, width: int = 1920, height: int = 1080, *,
               page_kind: str | None = None, background: str | None = None, empty: bool = False,
               occlusion: str | None = None, touch_edge: bool | None = None, shadow: bool | None = None,
               blur_sigma: float | None = None, noise_sigma: float | None = None,
               quad: np.ndarray | None = None, page: np.ndarray | None = None,
               bg: np.ndarray | None = None, jpeg_quality: int | None = None) -> Scene:
    """Compose one photo of a page on a desk with the lighting and clutter a hall camera sees.

    Arguments left as None are drawn at random; pass ``quad``/``page``/``bg`` to re-use a layout
    (the ``sim://`` camera moves one page across frames this way).
    """
    tags: list[str] = []
    if bg is None:
        style = background or str(rng.choice(["wood", "light", "dark", "cloth", "gray"]))
        bg = render_background(rng, width, height, style)
        tags.append(style)
    img = bg.astype(np.float32).copy()
    kind = None
    landscape = False
    corners = None
    if not empty:
        kind = page_kind or str(rng.choice(["A4", "A4", "A4", "A5", "Letter", "ID-1"]))
        if page is None:
            landscape = bool(rng.random() < 0.2)
            long_px = int(rng.integers(700, 1100)) if kind != "ID-1" else int(rng.integers(500, 800))
            page = render_page(rng, kind, long_px=long_px, landscape=landscape and kind != "ID-1")
        ph, pw = page.shape[:2]
        if quad is None:
            te = bool(rng.random() < 0.15) if touch_edge is None else touch_edge
            if te:
                tags.append("edge")
            quad = page_quad(rng, width, height, ph / pw, touch_edge=te)
        corners = np.asarray(quad, dtype=np.float64)
        # Pixel centres of the page image sit at integer coordinates, so its outer boundary runs
        # through -0.5 and size-0.5; mapping those to the quad makes the page edge fall exactly
        # on the ground-truth corners in the same convention.
        src = np.array([[-0.5, -0.5], [pw - 0.5, -0.5], [pw - 0.5, ph - 0.5], [-0.5, ph - 0.5]], np.float32)
        H = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
        warped = cv2.warpPerspective(page, H, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        # Warping an all-ones image the same way gives an anti-aliased coverage mask whose 0.5
        # level lies exactly on the page boundary.
        alpha = cv2.warpPerspective(np.ones((ph, pw), np.float32), H, (width, height),
                                    flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        if rng.random() < 0.5:
            # A faint contact shadow under the paper's edge.
            soft = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(2, 6))
            img *= (1 - 0.25 * np.clip(soft - alpha, 0, 1))[..., None]
        img = img * (1 - alpha[..., None]) + warped.astype(np.float32) * alpha[..., None]
    # Lighting: a smooth gradient and vignette over the whole photo.
    yy, xx = np.mgrid[0:height:8, 0:width:8].astype(np.float32)
    g = rng.uniform(-1, 1, 2)
    light = 1 + rng.uniform(0.0, 0.35) * ((xx / width - 0.5) * g[0] + (yy / height - 0.5) * g[1])
    light *= 1 - rng.uniform(0, 0.35) * (((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2) * 2)
    light = cv2.resize(light, (width, height), interpolation=cv2.INTER_LINEAR)
    img *= light[..., None] * rng.uniform(0.75, 1.1)
    if shadow if shadow is not None else rng.random() < 0.4:
        tags.append("shadow")
        poly = rng.uniform([-0.2 * width, -0.2 * height], [1.2 * width, 1.2 * height], (int(rng.integers(3, 6)), 2))
        sm = np.zeros((height, width), np.float32)
        cv2.fillPoly(sm, [poly.astype(np.int32)], 1.0)
        sm = cv2.GaussianBlur(sm, (0, 0), rng.uniform(6, 40))
        img *= (1 - rng.uniform(0.2, 0.5) * sm)[..., None]
    occ = occlusion if occlusion is not None else (str(rng.choice(["hand", "clip"])) if rng.random() < 0.3 else "none")
    if occ != "none" and corners is not None:
        tags.append(occ)
        k = int(rng.integers(4))
        c = corners[k]
        centre = corners.mean(0)
        size = 0.12 * np.sqrt(cv2.contourArea(corners.astype(np.float32)))
        if occ == "hand":
            skin = np.array([rng.uniform(120, 170), rng.uniform(150, 190), rng.uniform(190, 235)])
            # The palm sits over the corner and the fingers reach onto the page.
            mask = _hand_mask(rng, width, height, c + (centre - c) * rng.uniform(0.15, 0.3),
                              centre - c, size * rng.uniform(1.0, 1.6))
            m = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 1.2)[..., None]
            shade = 1 - 0.3 * cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 15)[..., None]
            img = img * shade * (1 - m) + skin[None, None, :] * m
        else:
            mask = np.zeros((height, width), np.uint8)
            d = (centre - c) / np.linalg.norm(centre - c)
            n = np.array([-d[1], d[0]])
            s = size * rng.uniform(0.6, 1.0)
            body = np.array([c - n * s * 0.6 - d * s * 0.3, c + n * s * 0.6 - d * s * 0.3,
                             c + n * s * 0.6 + d * s * 0.8, c - n * s * 0.6 + d * s * 0.8])
            cv2.fillPoly(mask, [body.astype(np.int32)], 255)
            colour = np.array([rng.uniform(10, 60)] * 3) if rng.random() < 0.6 else rng.uniform(40, 220, 3)
            m = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 1.0)[..., None]
            img = img * (1 - m) + colour[None, None, :] * m
            wire = np.zeros((height, width), np.uint8)
            cv2.ellipse(wire, tuple(int(v) for v in c - d * s * 0.6), (int(s * 0.5), int(s * 0.7)),
                        float(np.degrees(np.arctan2(d[1], d[0]))) + 90, 0, 360, 255, max(2, int(s * 0.06)))
            img[wire > 0] = 190
    sigma = blur_sigma if blur_sigma is not None else float(rng.choice([0, 0.6, 1.0, 1.6, 2.2]))
    if sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    ns = noise_sigma if noise_sigma is not None else rng.uniform(1, 7)
    img += rng.normal(0, ns, (height, width, 1)).astype(np.float32)
    # Auto-exposure: a camera keeps the brightest part of the scene (usually the paper) just
    # below saturation rather than clipping it.
    top = float(np.percentile(img[::8, ::8], 99.5))
    if top > 250:
        img *= 250.0 / top
    out = np.clip(img, 0, 255).astype(np.uint8)
    q = jpeg_quality if jpeg_quality is not None else int(rng.integers(60, 96))
    if q < 100:
        _ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return Scene(image=out, corners=corners, page_kind=kind, landscape=landscape, tags=tuple(tags))

"""Find the document page in a camera frame.

The approach follows what did best at the ICDAR 2015 SmartDoc challenge (page outline
detection): build candidate quadrilaterals from straight edges and score each by the evidence on
its four sides, instead of trusting the largest 4-gon of a contour (the classic baseline, which
fails on low contrast, occluded corners and pages touching the frame edge).

1. Work on a copy downscaled to ``WORK_SIZE`` pixels on its long side (speed).
2. Line segments from LSD (Grompone von Gioi et al., IPOL 2012), merged into long lines.
3. Quadrilaterals from two near-parallel pairs of lines; corners are line intersections, so a
   corner hidden by a hand or a clip is still recovered. The frame border counts as a line, for a
   page touching the edge. Contour 4-gons are added as extra candidates.
4. Each candidate side is scored by the colour step across it (inside vs outside, with one
   polarity all round): a page border is a step, printed table rules and wood grain are not.
5. The winner's sides are re-located at full resolution along their normals with sub-pixel
   peak fitting, and the corners re-intersected.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np

from devices.scanner.geometry import order_corners

WORK_SIZE = 480
MIN_AREA_FRACTION = 0.015  # a page smaller than this share of the frame is not worth scanning
MIN_SCORE = 0.5  # length-weighted share of a quad's outline that must show a consistent step
MIN_SIDE_SUPPORT = 0.2  # each visible side needs this much evidence, whatever is occluded
MAX_LINES = 30
FINE_CANDIDATES = 16
BORDER_COVERAGE = 0.45

_local = threading.local()


def _lsd() -> cv2.LineSegmentDetector:
    # An LSD object keeps scratch buffers, so each thread gets its own.
    det = getattr(_local, "lsd", None)
    if det is None:
        det = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD, 0.8, 0.6, 1.5)
        _local.lsd = det
    return det


def _stretch(gray: np.ndarray) -> np.ndarray:
    """Spread the grey levels of a low-contrast frame over the full range, for line finding."""
    # LSD needs a gradient of a few grey levels per pixel; a white page on a light desk gives
    # less. A global stretch lifts such faint borders without boosting wood grain the way a
    # local equaliser does; the scoring still measures the real colour steps.
    lo, hi = np.percentile(gray[::2, ::2], (1, 99))
    gain = min(3.0, 235.0 / max(float(hi - lo), 1.0))
    if gain <= 1.2:
        return gray
    return cv2.convertScaleAbs(gray, alpha=gain, beta=-gain * float(lo) + 10.0)


def as_bgr8(frame: object) -> np.ndarray | None:
    """Convert any image-like array to 3-channel uint8 BGR; None when it is not an image."""
    try:
        a = np.asarray(frame)
    except Exception:  # noqa: BLE001 - anything that is not array-like simply has no page
        return None
    if a.dtype.kind not in "biuf" or a.size == 0:
        return None
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        return None
    if min(a.shape[:2]) < 16:
        return None
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    elif a.dtype != np.uint8:
        is_float = a.dtype.kind == "f"
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        if is_float and a.max() <= 1.0:
            a = a * 255.0  # float images conventionally hold 0..1
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
    elif a.shape[2] == 4:
        a = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(a)


# --------------------------------------------------------------------------------------------
# lines


class _Lines:
    """Long straight lines, each with its segment coverage as a prefix sum along the line."""

    def __init__(self, centre: np.ndarray, direction: np.ndarray, coverage: np.ndarray,
                 t0: float, border: np.ndarray) -> None:
        self.c = centre  # (M, 2) a point on each line
        self.d = direction  # (M, 2) unit direction
        self.n = np.stack([-direction[:, 1], direction[:, 0]], axis=1)
        self.cum = np.concatenate([np.zeros((len(centre), 1)), np.cumsum(coverage, axis=1)], axis=1)
        self.t0 = t0
        self.border = border
        self.h = np.concatenate([self.n, -(self.n * self.c).sum(1, keepdims=True)], axis=1)

    def covered(self, idx: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
        """Share of each span pa→pb on line idx that segments cover."""
        ta = ((pa - self.c[idx]) * self.d[idx]).sum(-1) - self.t0
        tb = ((pb - self.c[idx]) * self.d[idx]).sum(-1) - self.t0
        lo = np.clip(np.minimum(ta, tb), 0, self.cum.shape[1] - 1)
        hi = np.clip(np.maximum(ta, tb), 0, self.cum.shape[1] - 1)
        rows = idx
        got = self.cum[rows, hi.astype(int)] - self.cum[rows, lo.astype(int)]
        return got / np.maximum(np.abs(tb - ta), 1.0)


def _principal_direction(centred: np.ndarray, wts: np.ndarray) -> np.ndarray:
    # Closed-form total least squares in 2-D: the major axis of the weighted scatter.
    sxx = float((wts * centred[:, 0] ** 2).sum())
    syy = float((wts * centred[:, 1] ** 2).sum())
    sxy = float((wts * centred[:, 0] * centred[:, 1]).sum())
    ang = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    return np.array([np.cos(ang), np.sin(ang)])


def _merge_segments(segs: np.ndarray, shape: tuple[int, int]) -> _Lines:
    h, w = shape
    diag = float(np.hypot(w, h))
    t0 = -diag
    nbins = int(2 * diag) + 2
    p1, p2 = segs[:, :2], segs[:, 2:]
    length = np.linalg.norm(p2 - p1, axis=1)
    d = (p2 - p1) / length[:, None]
    n = np.stack([-d[:, 1], d[:, 0]], axis=1)
    theta = np.arctan2(d[:, 1], d[:, 0]) % np.pi
    # Endpoint distances of every segment j to the line of every segment i.
    r1 = np.abs(np.einsum("ik,ijk->ij", n, p1[None, :, :] - p1[:, None, :]))
    r2 = np.abs(np.einsum("ik,ijk->ij", n, p2[None, :, :] - p1[:, None, :]))
    dth = np.abs(theta[:, None] - theta[None, :])
    dth = np.minimum(dth, np.pi - dth)
    adj = (np.maximum(r1, r2) < 2.0) & (dth < np.radians(4.0))
    order = np.argsort(-length)
    taken = np.zeros(len(segs), bool)
    centres, dirs, covs, supports = [], [], [], []
    for i in order:
        if taken[i]:
            continue
        members = np.flatnonzero(adj[i] & ~taken)
        taken[members] = True
        pts = np.concatenate([p1[members], p2[members]])
        wts = np.concatenate([length[members], length[members]])
        c = (pts * wts[:, None]).sum(0) / wts.sum()
        dd = _principal_direction(pts - c, wts) if len(members) > 1 else d[i]
        ta = (p1[members] - c) @ dd - t0
        tb = (p2[members] - c) @ dd - t0
        row = np.zeros(nbins, np.float32)
        for a, b in zip(np.minimum(ta, tb), np.maximum(ta, tb)):
            row[max(int(a), 0):min(int(np.ceil(b)), nbins)] = 1.0
        centres.append(c)
        dirs.append(dd)
        covs.append(row)
        supports.append(row.sum())
    keep = np.argsort(-np.asarray(supports))[:MAX_LINES]
    centres = [centres[k] for k in keep]
    dirs = [dirs[k] for k in keep]
    covs = [covs[k] for k in keep]
    border = [False] * len(centres)
    # The frame border itself, for a page that touches the edge of the picture.
    for c, dd in (((w / 2 - 0.5, -0.5), (1.0, 0.0)), ((w - 0.5, h / 2 - 0.5), (0.0, 1.0)),
                  ((w / 2 - 0.5, h - 0.5), (1.0, 0.0)), ((-0.5, h / 2 - 0.5), (0.0, 1.0))):
        centres.append(np.array(c))
        dirs.append(np.array(dd))
        covs.append(np.full(nbins, BORDER_COVERAGE, np.float32))
        border.append(True)
    return _Lines(np.array(centres, float), np.array(dirs, float), np.array(covs), t0, np.array(border))


def _line_quads(lines: _Lines, shape: tuple[int, int]) -> np.ndarray:
    """Return candidate quads (Q, 4, 2) from pairs of near-parallel line pairs, best first."""
    h, w = shape
    m = len(lines.c)
    theta = np.arctan2(lines.d[:, 1], lines.d[:, 0]) % np.pi
    iu, ju = np.triu_indices(m, 1)
    dth = np.abs(theta[iu] - theta[ju])
    dth = np.minimum(dth, np.pi - dth)
    sep = np.abs(((lines.c[ju] - lines.c[iu]) * lines.n[iu]).sum(1))
    min_side = 0.08 * min(h, w)
    ok = (dth < np.radians(40)) & (sep > min_side) & ~(lines.border[iu] & lines.border[ju])
    pa, pb = iu[ok], ju[ok]
    if len(pa) < 2:
        return np.zeros((0, 4, 2))
    # Mean direction of each pair via doubled angles (directions are modulo pi).
    phi = np.arctan2(np.sin(2 * theta[pa]) + np.sin(2 * theta[pb]), np.cos(2 * theta[pa]) + np.cos(2 * theta[pb])) / 2
    P, Q = np.triu_indices(len(pa), 1)
    cross = np.abs(phi[P] - phi[Q]) % np.pi
    cross = np.minimum(cross, np.pi - cross)
    a, b, c, e = pa[P], pb[P], pa[Q], pb[Q]
    distinct = (a != c) & (a != e) & (b != c) & (b != e)
    nb = lines.border[a].astype(int) + lines.border[b] + lines.border[c] + lines.border[e]
    sel = distinct & (cross > np.radians(35)) & (nb <= 2)
    a, b, c, e = a[sel], b[sel], c[sel], e[sel]
    if len(a) == 0:
        return np.zeros((0, 4, 2))
    H = lines.h

    def meet(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        p = np.cross(H[x], H[y])
        z = p[:, 2:3]
        z = np.where(np.abs(z) < 1e-9, np.nan, z)
        return p[:, :2] / z

    # Going round a, c, b, e visits the four sides in order.
    corners = np.stack([meet(a, c), meet(c, b), meet(b, e), meet(e, a)], axis=1)
    side_lines = np.stack([c, b, e, a], axis=1)  # line of the side leaving each corner
    finite = np.all(np.isfinite(corners), axis=(1, 2))
    margin = 0.04 * max(h, w)
    inside = np.all((corners[..., 0] > -margin) & (corners[..., 0] < w + margin)
                    & (corners[..., 1] > -margin) & (corners[..., 1] < h + margin), axis=1)
    keep = finite & inside
    corners, side_lines = corners[keep], side_lines[keep]
    if len(corners) == 0:
        return np.zeros((0, 4, 2))
    nxt = np.roll(corners, -1, axis=1)
    edge = nxt - corners
    turn = edge[..., 0] * np.roll(edge, -1, axis=1)[..., 1] - edge[..., 1] * np.roll(edge, -1, axis=1)[..., 0]
    convex = np.all(turn > 0, axis=1) | np.all(turn < 0, axis=1)
    x, y = corners[..., 0], corners[..., 1]
    area = np.abs((x * np.roll(y, -1, axis=1) - y * np.roll(x, -1, axis=1)).sum(1)) / 2
    side_len = np.linalg.norm(edge, axis=2)
    good = convex & (area > MIN_AREA_FRACTION * w * h) & (side_len.min(1) > min_side * 0.8)
    corners, side_lines, side_len = corners[good], side_lines[good], side_len[good]
    if len(corners) == 0:
        return np.zeros((0, 4, 2))
    cov = lines.covered(side_lines.reshape(-1), corners.reshape(-1, 2), np.roll(corners, -1, axis=1).reshape(-1, 2))
    cov = cov.reshape(-1, 4)
    quick = (cov * side_len).sum(1) / side_len.sum(1)
    quick = np.where(cov.min(1) < 0.15, quick * 0.5, quick)
    # Text columns and table cells make many small, well-covered quads inside a page whose own
    # faint border is only partly found; so the large outlines get their own places in the pool.
    area_frac = area[good] / (w * h)
    by_cov = np.argsort(-quick)[:FINE_CANDIDATES]
    by_size = np.argsort(-(quick * np.sqrt(area_frac)))[:FINE_CANDIDATES]
    return corners[np.unique(np.concatenate([by_cov, by_size]))]


def _contour_quads(gray: np.ndarray) -> list[np.ndarray]:
    """Return 4-gons from the bright-region and edge contours (the classic candidates)."""
    h, w = gray.shape
    out: list[np.ndarray] = []
    _, bright = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    edges = cv2.dilate(cv2.Canny(gray, 30, 90), np.ones((3, 3), np.uint8))
    for mask in (bright, edges):
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        contours = sorted(contours, key=cv2.contourArea, reverse=True)[:3]
        for cnt in contours:
            if cv2.contourArea(cnt) < MIN_AREA_FRACTION * w * h:
                break
            hull = cv2.convexHull(cnt)
            peri = cv2.arcLength(hull, True)
            for eps in (0.01, 0.02, 0.04, 0.06):
                approx = cv2.approxPolyDP(hull, eps * peri, True)
                if len(approx) == 4:
                    out.append(approx.reshape(4, 2).astype(np.float64))
                    break
    return out


# --------------------------------------------------------------------------------------------
# scoring


def _sample(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear samples of a float image at (N, 2) points; returns (N, C)."""
    n = len(pts)
    cols = 1024  # remap maps must stay under 32767 in each dimension
    rows = max(1, -(-n // cols))
    m = np.zeros((rows * cols, 2), np.float32)
    m[:n] = pts
    mx = np.ascontiguousarray(m[:, 0].reshape(rows, cols))
    my = np.ascontiguousarray(m[:, 1].reshape(rows, cols))
    s = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return s.reshape(rows * cols, -1)[:n]


# YCrCb is a cheap linear transform (Lab costs 30 times more); its chroma axes are compressed,
# so they are weighted up to count about as much as a brightness step.
_CHROMA_WEIGHT = np.array([1.0, 2.5, 2.5], np.float32)
_N_SAMPLES = 40
_N_EXT = 6

def _contrast_threshold(y: np.ndarray) -> float:
    """Return the least colour step that counts as an edge, from the image's own noise."""
    # Median absolute Laplacian is dominated by flat areas, i.e. by noise (Immerkaer 1996 in
    # spirit); a clean, evenly lit desk then lets a faint white-on-white border count.
    lap = cv2.Laplacian(y, cv2.CV_32F)
    sigma = 1.4826 * float(np.median(np.abs(lap))) / np.sqrt(20.0)
    return float(np.clip(6.0 * sigma, 3.0, 6.0))



def _score_quads(ycc: np.ndarray, quads: list[np.ndarray], contrast: float = 5.0) -> tuple[np.ndarray, ...]:
    """Score each quad by the consistent colour step across its sides.

    Returns the scores, the number of sides on the frame border, and the median colours just
    inside and just outside the observed steps.
    """
    h, w = ycc.shape[:2]
    q = np.asarray(quads, dtype=np.float64)
    nq = len(q)
    q = np.where(_signed_area(q)[:, None, None] < 0, q[:, ::-1], q)  # make every quad clockwise
    a = q
    b = np.roll(q, -1, axis=1)
    t = np.linspace(0.05, 0.95, _N_SAMPLES)
    pts = a[:, :, None, :] + (b - a)[:, :, None, :] * t[None, None, :, None]  # (nq, 4, S, 2)
    d = (b - a) / np.maximum(np.linalg.norm(b - a, axis=2, keepdims=True), 1e-9)
    n_out = np.stack([d[..., 1], -d[..., 0]], axis=-1)  # outward for clockwise on screen (y down)
    n_out = n_out[:, :, None, :]
    offsets = (2.0, 4.0)
    # Past each corner the side's line runs on over the desk for a fifth of its length: a page's
    # border stops at its corners, while checks, stripes and floorboards keep going.
    te = np.concatenate([np.linspace(1.04, 1.2, _N_EXT), np.linspace(-0.2, -0.04, _N_EXT)])
    ext = a[:, :, None, :] + (b - a)[:, :, None, :] * te[None, None, :, None]
    probes = [pts - n_out * o for o in offsets] + [pts + n_out * o for o in offsets]
    probes += [pts - n_out, pts + n_out]  # the step right at the line, for its sharpness
    ext_probes = [ext - n_out * o for o in offsets] + [ext + n_out * o for o in offsets]
    allp = np.concatenate([p.reshape(-1, 2) for p in probes + ext_probes])
    vals = _sample(ycc, allp) * _CHROMA_WEIGHT
    split = len(probes) * nq * 4 * _N_SAMPLES
    ext_vals = vals[split:].reshape(len(ext_probes), nq, 4, 2 * _N_EXT, 3)
    vals = vals[:split].reshape(len(probes), nq, 4, _N_SAMPLES, 3)
    ext_mag = np.linalg.norm((ext_vals[0] + ext_vals[1]) / 2 - (ext_vals[2] + ext_vals[3]) / 2, axis=-1)
    in_frame = (ext[..., 0] > 4) & (ext[..., 0] < w - 5) & (ext[..., 1] > 4) & (ext[..., 1] < h - 5)
    inside = (vals[0] + vals[1]) / 2
    outside = (vals[2] + vals[3]) / 2
    diff = inside - outside
    mag = np.linalg.norm(diff, axis=-1)
    # Paper has a sharp edge; a shadow's edge is a soft ramp over many pixels. Across +-1 px a
    # sharp step (even defocused by ~1 working pixel) shows most of its height, a ramp little.
    near = np.linalg.norm(vals[4] - vals[5], axis=-1)
    sharp = near >= 0.4 * mag
    # Judged against the side's own step, so that wood grain beside a contrasty page is not
    # mistaken for the line running on.
    side_mag = np.median(mag, axis=-1, keepdims=True)
    overshoot = ((ext_mag > np.maximum(contrast, 0.5 * side_mag)) & in_frame).mean(axis=(1, 2))
    sign = np.sign(diff[..., 0])
    # A side lying on the frame border has no outside; it counts where the strip just inside
    # looks like the rest of the page.
    on_border = _on_border(a, b, w, h)
    strong = (mag > contrast) & sharp
    votes = (sign * strong).reshape(nq, -1).sum(1)
    polarity = np.where(votes >= 0, 1.0, -1.0)
    support = strong & (sign == polarity[:, None, None])
    # Typical page colour: the inside of the observed steps on real (non-border) sides.
    real_support = support & ~on_border[..., None]
    ref = np.empty((nq, 3), np.float32)
    for k in range(nq):
        pick = inside[k][real_support[k]]
        ref[k] = np.median(pick, axis=0) if len(pick) else np.inf
    like_page = np.linalg.norm(vals[0] - ref[:, None, None, :], axis=-1) < 14.0
    support = np.where(on_border[..., None], like_page, support)
    side_support = support.mean(-1)
    side_len = np.linalg.norm(b - a, axis=2)
    score = (side_support * side_len).sum(1) / side_len.sum(1)
    visible = np.where(on_border, 1.0, side_support)
    score = np.where(visible.min(1) < MIN_SIDE_SUPPORT, 0.0, score)
    # Border sides are weaker evidence than an observed step.
    score = score - 0.08 * on_border.sum(1) - 0.4 * overshoot
    out_ref = np.empty((nq, 3), np.float32)
    for k in range(nq):
        pick = outside[k][real_support[k]]
        out_ref[k] = np.median(pick, axis=0) if len(pick) else -np.inf
    return score, on_border.sum(1), ref, out_ref


def _signed_area(q: np.ndarray) -> np.ndarray:
    x, y = q[..., 0], q[..., 1]
    return (x * np.roll(y, -1, axis=-1) - y * np.roll(x, -1, axis=-1)).sum(-1) / 2


def _on_border(a: np.ndarray, b: np.ndarray, w: int, h: int, tol: float = 1.5) -> np.ndarray:
    ends = np.stack([a, b], axis=0)
    x, y = ends[..., 0], ends[..., 1]
    left = np.all(x < tol - 0.5, axis=0)
    right = np.all(x > w - 0.5 - tol, axis=0)
    top = np.all(y < tol - 0.5, axis=0)
    bottom = np.all(y > h - 0.5 - tol, axis=0)
    return left | right | top | bottom


# --------------------------------------------------------------------------------------------
# full-resolution refinement


def _line_through(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.cross(np.append(p, 1.0), np.append(q, 1.0))


def _refine_side(img: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float, border: bool) -> np.ndarray | None:
    """Re-locate side a→b (clockwise quad) at full resolution; returns its homogeneous line."""
    length = float(np.linalg.norm(b - a))
    if length < 8 or border:
        return None
    d = (b - a) / length
    n_out = np.array([d[1], -d[0]])
    k = int(np.clip(length / 6, 12, 64))
    t = np.linspace(0.06, 0.94, k)
    pts = a[None, :] + (b - a)[None, :] * t[:, None]
    steps = np.arange(-radius, radius + 0.01, 0.5)
    grid = pts[:, None, :] + n_out[None, None, :] * steps[None, :, None]
    mx = grid[..., 0].astype(np.float32)
    my = grid[..., 1].astype(np.float32)
    prof = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    if prof.ndim == 2:
        prof = prof[..., None]
    # Project colours onto the inside-minus-outside direction: the strongest contrast for this
    # side, whether it is brightness (white page, dark desk) or hue (white page, beige desk).
    q = max(2, len(steps) // 4)
    u = prof[:, :q].mean((0, 1)) - prof[:, -q:].mean((0, 1))
    nu = float(np.linalg.norm(u))
    if nu < 2.0:
        return None
    p = prof @ (u / nu)
    p = cv2.GaussianBlur(p.astype(np.float32), (0, 0), sigmaX=1.0, sigmaY=0.01)
    der = p[:, 2:] - p[:, :-2]  # falls from inside to outside: the edge is the most negative
    idx = np.argmin(der, axis=1)
    peak = -der[np.arange(len(der)), idx]
    valid = (idx > 0) & (idx < der.shape[1] - 1) & (peak > 0.25 * max(np.median(peak), 1e-6)) & (peak > 1.0)
    if valid.sum() < 6:
        return None
    i = idx[valid]
    rows = np.flatnonzero(valid)
    y0, y1, y2 = der[rows, i - 1], der[rows, i], der[rows, i + 1]
    den = y0 - 2 * y1 + y2
    frac = np.where(np.abs(den) > 1e-9, 0.5 * (y0 - y2) / np.where(np.abs(den) > 1e-9, den, 1), 0.0)
    frac = np.clip(frac, -0.5, 0.5)
    off = steps[0] + (i + 1 + frac) * 0.5  # der[j] is centred on steps[j + 1]
    edge_pts = pts[rows] + n_out[None, :] * off[:, None]
    wts = peak[valid]
    for _ in range(3):
        c = (edge_pts * wts[:, None]).sum(0) / wts.sum()
        cov = np.cov((edge_pts - c).T, aweights=wts)
        evals, evecs = np.linalg.eigh(cov)
        dn = evecs[:, 0]  # normal of the best-fit line
        res = np.abs((edge_pts - c) @ dn)
        thr = max(1.0, 2.5 * np.median(res))
        keep = res <= thr
        if keep.all() or keep.sum() < 6:
            break
        edge_pts, wts = edge_pts[keep], wts[keep]
    if len(edge_pts) < 6:
        return None
    dd = np.array([-dn[1], dn[0]])
    if abs(float(dd @ d)) < np.cos(np.radians(4.0)):
        return None
    return _line_through(c, c + dd)


def _refine(img: np.ndarray, corners: np.ndarray, scale: float) -> np.ndarray:
    """Refine corners found on the downscaled image (``scale`` = full / small) at full size."""
    h, w = img.shape[:2]
    q = corners.copy()
    if _signed_area(q) < 0:
        q = q[::-1].copy()
    radius = 1.5 * scale + 2.0
    lines = []
    for k in range(4):
        a, b = q[k], q[(k + 1) % 4]
        border = bool(_on_border(a[None], b[None], w, h, tol=1.0 + 0.5 * scale)[0])
        ln = _refine_side(img, a, b, radius, border)
        if ln is not None:
            # A second pass with a tight window, centred on the first estimate.
            a2, b2 = _project_onto(ln, a), _project_onto(ln, b)
            ln2 = _refine_side(img, a2, b2, 2.5, False)
            ln = ln2 if ln2 is not None else ln
        lines.append(ln if ln is not None else _line_through(a, b))
    out = np.empty_like(q)
    for k in range(4):
        p = np.cross(lines[(k - 1) % 4], lines[k])
        if abs(p[2]) < 1e-12:
            out[k] = q[k]
            continue
        cand = p[:2] / p[2]
        out[k] = cand if np.linalg.norm(cand - q[k]) < 3 * radius else q[k]
    return out


def _project_onto(line: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Project point p onto a homogeneous line."""
    n = line[:2]
    nn = float(n @ n)
    return p - n * (float(n @ p) + line[2]) / nn


# --------------------------------------------------------------------------------------------


def _outermost(quads: list[np.ndarray], score: np.ndarray, area: np.ndarray, n_border: np.ndarray,
               inside: np.ndarray, outside: np.ndarray, best: int) -> int:
    # A card's photo, a form's boxed table or a figure is a well-supported rectangle in its own
    # right; when an almost as well supported outline encloses it, that outline is the page.
    inner = np.asarray(quads[best], dtype=np.float32)
    choice = best
    for k in np.argsort(-score):
        if score[k] < max(MIN_SCORE + 0.1, score[best] - 0.35):
            break
        # Well larger only: a slightly larger quad around the page is a side on a hand or shadow.
        if area[k] < 1.5 * area[choice] or n_border[k] > n_border[choice]:
            continue
        # What surrounds the inner outline must be the outer one's own surface (the card around
        # its photo), not desk that a false outer quad happens to take in.
        if not np.linalg.norm(outside[choice] - inside[k]) < 20.0:
            continue
        outer = np.asarray(quads[k], dtype=np.float32).reshape(-1, 1, 2)
        if all(cv2.pointPolygonTest(outer, (float(x), float(y)), True) > -1.0 for x, y in inner):
            choice = int(k)
            inner = np.asarray(quads[k], dtype=np.float32)
    return choice


def find_page(frame: object) -> np.ndarray | None:
    """Find the page in a frame; return its corners (4, 2) as TL, TR, BR, BL, or None.

    :param frame: an image array (BGR, BGRA or grey; any numeric dtype).
    """
    img = as_bgr8(frame)
    if img is None:
        return None
    h, w = img.shape[:2]
    s = min(1.0, WORK_SIZE / max(h, w))
    if s < 1.0:
        sw, sh = max(16, int(round(w * s))), max(16, int(round(h * s)))
        small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
    else:
        sw, sh, small = w, h, img
    sx, sy = sw / w, sh / h
    ycc8 = cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb)
    ycc8 = cv2.GaussianBlur(ycc8, (3, 3), 0)
    gray = ycc8[..., 0]
    segs = _lsd().detect(_stretch(gray))[0]
    quads: list[np.ndarray] = []
    if segs is not None:
        segs = segs.reshape(-1, 4).astype(np.float64)
        length = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
        min_len = max(6.0, 0.03 * min(sw, sh))
        segs = segs[length >= min_len]
        segs = segs[np.argsort(-np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1]))[:250]]
        if len(segs):
            quads.extend(_line_quads(_merge_segments(segs, (sh, sw)), (sh, sw)))
    quads.extend(_contour_quads(gray))
    if not quads:
        return None
    score, n_border, inside, outside = _score_quads(ycc8.astype(np.float32), quads, _contrast_threshold(gray))
    area = np.array([abs(_signed_area(q)) for q in quads]) / (sw * sh)
    # Among near-equal evidence prefer the larger outline: a page over its own printed frame.
    final = score + 0.1 * np.sqrt(area)
    best = int(np.argmax(final))
    if score[best] < MIN_SCORE:
        return None
    best = _outermost(quads, score, area, n_border, inside, outside, best)
    small_q = np.asarray(quads[best], dtype=np.float64)
    full_q = (small_q + 0.5) / np.array([sx, sy]) - 0.5
    refined = _refine(img, full_q, 1.0 / min(sx, sy))
    return order_corners(refined)

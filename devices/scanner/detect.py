"""Find the document page in a camera frame.

The approach follows what did best at the ICDAR 2015 SmartDoc challenge (page outline
detection): build candidate quadrilaterals from straight edges and score each by the evidence on
its four sides, instead of trusting the largest 4-gon of a contour (the classic baseline, which
fails on low contrast, occluded corners and pages touching the frame edge).

1. Work on a copy downscaled to ``WORK_SIZE`` pixels on its long side (speed).
2. Line segments from LSD (Grompone von Gioi et al., IPOL 2012), each with the polarity and size
   of its colour step, merged into long lines. A line's strength counts one polarity: a page
   border is brighter on the same side all along, the rows of checked cloth alternate.
3. Quadrilaterals from two near-parallel pairs of lines; corners are line intersections, so a
   corner hidden by a hand or a clip is still recovered. The frame border counts as a line, for a
   page touching the edge. Thousands of these are ranked by segment coverage and a sparse look at
   the colour step across their sides; contour 4-gons are added as extra candidates.
4. The best few dozen are scored densely by the colour step across each side (inside vs outside,
   one polarity all round, sharp rather than a shadow's ramp, not running on past the corners).
   When nothing scores well (a faint border in shadow) the line search is repeated on a locally
   equalised copy.
5. The winner's sides are re-located at full resolution along their normals with sub-pixel
   peak fitting, and the corners re-intersected.

A page-mask network (:mod:`devices.scanner.pagenet`, when its model file is present) adds one
candidate, its mask's outline (which may run past the frame's edge), and ranks every candidate
also by its overlap with the mask: document vs desk judged over the whole outline, not a few
pixels either side of it.
"""
from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from devices.scanner import pagenet
from devices.scanner.geometry import order_corners

WORK_SIZE = 480
MIN_AREA_FRACTION = 0.015  # a page smaller than this share of the frame is not worth scanning
MIN_SCORE = 0.5  # length-weighted share of a quad's outline that must show a consistent step
MIN_SIDE_SUPPORT = 0.2  # each visible side needs this much evidence, whatever is occluded
MAX_LINES = 30  # longest merged lines that quads are built from (the frame border adds four)
FINE_CANDIDATES = 16  # quads per ranking (evidence, evidence x size, both) given the dense score
N_PRESCREEN = 300  # quads per coverage ranking that get the sparse colour-step look
BORDER_COVERAGE = 0.45
RETRY_SCORE = 0.8  # below this the best outline is doubtful and a second line search is made
OUTSIDE_MARGIN = 0.15  # corners up to this share of the frame's long side outside it are predicted
FAR_OFFSET = 7.0  # working pixels: a page's step persists this far, a printed line's does not
PERSIST = 0.3  # share of a side's step still seen FAR_OFFSET away for it to count as a step
OUTER_DROP = 0.35  # an enclosing outline may score this much less than the best and still win
OUTER_AREA = 1.6  # ... if it is at least this much larger (a card around its photo, a page around a column)
OUTER_IOU_LOSS = 0.1  # ... and, with the mask, agrees with it at most this much less than the enclosed one
# A side of the final outline on the page's own drop shadow or on a rule printed on it is moved
# onto the paper's edge (scan16, _settle_sides; set on the tuning seeds set2 31337 and 11).
# Full-resolution pixels and grey levels.
SHADOW_DEPTH = 0.15  # share of the shorter side searched inwards for the paper's edge
SHADOW_WIDE = 0.25  # ... and for a shadow still dark that far in, as wide as this share (scan20) ...
SHADOW_OUT = 5.0  # pixels outside a side where the desk is looked at
SHADOW_BAND = 8  # pixels inside a side where the shadow's strip is looked for
SHADOW_DARK = 8.0  # grey levels the shadow's strip is darker than both the desk and the paper
SHADOW_WIDE_DARK = 2 * SHADOW_DARK  # ... if it is this much darker than the desk and the card (print is paler)
SHADOW_HUE = 0.004  # most change of chromaticity (B, G, R shares) from the desk to the strip
SHADOW_FIRST = 0.4  # the outermost rise at least this share of the steepest is the paper's edge
_SHADOW_T = np.linspace(0.1, 0.9, 11)  # where along a side its profile is sampled (the median of these)
PRINT_REACH = 0.12  # share of the shorter side searched outwards from a printed rule for the paper's edge
PRINT_SAME = 6.0  # colour distance within which the two sides of a rule are one paper
PRINT_DARK = 15.0  # grey levels a rule is darker than the paper on both sides
PRINT_STEP = 4.0  # least colour step from the paper to the desk
REGION_SIZE = 160  # long side of the small copy the region cue compares colour bands on
REGION_TOP = 12  # best candidates (line evidence and size) that get the region cue
REGION_WEIGHT = 0.3  # how much the region cue moves a candidate's rank
CONTAIN_SLACK = 3.0  # working pixels an enclosed outline's corner may stick out of the enclosing one
SAME_SURFACE_OVERLAP = 0.6  # Bhattacharyya overlap of two bands' colours that makes them one surface
MASK_WEIGHT = 1.5  # how much agreement with the page-mask network moves a candidate's rank
MASK_TURN = 10.0  # degrees a side of the mask's coarse outline may turn when snapped to an edge
MASK_ONLY_IOU = 0.88  # a candidate the mask agrees with this well may win on weaker edge evidence ...
MASK_ONLY_SCORE = 0.3  # ... down to this edge score (a white page on a white desk)
MASK_REJECT_IOU = 0.0  # with the mask at hand, a winner it agrees with less than this is no page
# The mask overrules the edges (set on the tuning seeds set2 11 and synth 77; README, scan10): a
# white page on a white desk, a clip across a side or glare leave a side too little edge
# evidence, and the search then takes a small inner block (a card's portrait, a column) or
# nothing at all, while the network sees the whole page.
MASK_RESCUE_IOU = 0.6  # with no outline good enough, the one the mask agrees with best, from this agreement
RETRY_IOU_WITH_MASK = MASK_ONLY_IOU  # no second line search when the best outline agrees this well with the mask
MASK_SWITCH_IOU = 0.7  # ... and instead of the chosen outline, one the mask agrees with this well ...
MASK_SWITCH_GAIN = 0.1  # ... and this much better than with the chosen one,
MASK_SWITCH_GAIN_CLEAN = 0.3  # ... or this much when the chosen one shows a clean step nearly all round
#                               (FAST_SCORE): a card's crisp edge in shadow against a doubtful mask
FAST_PATH = True  # try the network's snapped outline first, the full search only when it is doubtful
# Set on the tuning seeds (set2 11, synth 77; README): every outline there that passed all three
# was within 1 % JI of the full search's answer.
FAST_SCORE = 0.95  # least edge score of the snapped outline for the fast path
FAST_IOU = 0.75  # ... and least agreement with the mask (Mask.iou)
FAST_DOUBT = 0.25  # ... and most undecided mask (Mask.doubt)
FAST_RESNAP = 3.0  # working pixels per "network pixel" for the second, tighter snap (radius 6.5 px)
REGION_TIGHT = False  # the region outlines get one snap, not the tight second one (scan15)
RESNAP_TIGHT = False  # nor does the fast path's re-snap: both are candidates, the winner is refined again
USE_REGIONS_WITH_MASK = True  # the k-means region cue as well as the mask (slower, more exact: README)
OUTERMOST_WITH_MASK = True  # ... and the "enclosing outline wins" rule
# A page with a side cut off by the frame (scan17): closed at a known document shape.
PAPER_ASPECTS = (math.sqrt(2.0), 1.0 / math.sqrt(2.0))  # A-series paper
CARD_ASPECTS = (85.6 / 54.0, 54.0 / 85.6)  # an ID-1 card, 85.6 x 54 mm
DOC_ASPECTS = PAPER_ASPECTS + CARD_ASPECTS
CARD_RADIUS = 3.18  # mm: an ID-1 card's corners are rounded so; paper is cut square (scan25)
CORNER_PROBE = 0.25  # share of a card's corner radius from the corner along its bisector that is off a card
CORNER_SURE = 0.35  # share of the way from the desk's colour to the paper's within which the probe is either
CORNER_CONTRAST = 30.0  # least colour distance of the paper from the desk for a corner to be looked at
CUT_TOL = 2.0  # working pixels: a corner this close to the frame's edge, or past it, is on it
CUT_REACH = 0.3  # the page runs on past the frame by at most this share of its visible length
CUT_CHANGE = 0.08  # the shape is used only when it moves the far side by this share of the length
CUT_IOU_LOSS = 0.05  # ... and the mask agrees with it at most this much less than with the outline
CUT_FOCALS = (0.75, 1.3)  # ... and the same shape follows with these focal lengths (x the diagonal)
RULE_NEAR = 8  # full-frame pixels (at 1920 wide) from a side where a printed rule is looked for (scan18)
RULE_FLANK = (4, 8)  # ... and the offsets either side of it where the surface is compared
RULE_DARK = 20.0  # grey levels a rule differs from the surface around it, less the step across it
RULE_STEP = 8.0  # most colour step from one side of the window to the other: one surface
RULE_TRIES = 6  # picks on printed rules set aside in turn (each with its rule's other outlines)
RULE_SAME_LINE = 2.0  # working pixels: a side this close to a rule at both ends runs along it
BAND_REACH = 0.2  # share of the shorter side searched outwards from a printed band for the paper's edge (scan19)
BAND_SAME = 12.0  # colour distance within which the paper beyond a side is the paper inside another
BAND_SHARP = 2.0  # px either side of the paper's edge beyond a band within which half its step lies
SCAN19 = True  # the printed-band rule of _settle_sides (False: the detector before scan19, for tests and benches)
RUNOUT_REACH = 0.2  # share of the shorter side within which the frame's edge lies beyond a printed line (scan20)
RUNOUT_INK = 3  # pixels either side within which a place beyond the line counts its brightest colour
RUNOUT_LINE = 5.0  # grey levels the printed line is darker than the paper on both sides of it
RUNOUT_STEP = 8.0  # most colour change beyond the line, on the way to the frame's edge, ...
RUNOUT_STEP_PX = 6  # ... within this many pixels (a page's edge is sharper, lighting drifts slower)
SCAN20 = True  # the run-out and wide-shadow rules (False: the detector before scan20, for tests and benches)
# A side on a cast shadow's edge (scan23, _cast_shadow; set on set3 seeds 999 and 4242).
SHADOW_LOG_RATIO = 0.2  # least |log| of the brightness ratio across a side for it to be a shadow's edge
SHADOW_Y0 = 8.0  # grey levels added to both sides' brightness (dark desks, sensor offset)
SHADOW_CHROMA = 10.0  # most weighted chroma not explained by one brightness factor
SHADOW_SAME = 0.4  # the run-on's log ratio within this share of the side's
SCAN23 = True  # the cast-shadow rule (False: the detector before scan23, for tests and benches)
# The page's own print runs on to the frame's edge (scan25, _run_out; set on set2 seeds 3001, 4242, 11, 5151).
RUNOUT_PRINT_DARK = 40.0  # grey levels below the paper that a pixel of print is (noise and a desk's grain are not)
RUNOUT_PRINT_SHARE = 0.004  # least share of print in the strip beyond the side ...
RUNOUT_PAPER_ROWS = 0.8  # ... on ways across it that are mostly paper along this share of the side
RUNOUT_PRINT_INSIDE = 0.2  # ... and at least this share of the print in as wide a strip inside it
RUNOUT_IOU_LOSS = 0.05  # most the network may agree less with the moved outline, the page seen beyond
RUNOUT_MEDIAN = 9  # pixels of the way beyond the side in its running median ...
RUNOUT_STEP_SOFT = 16.0  # ... which changes by no more than this within RUNOUT_STEP_PX (print seen beyond)
SCAN25 = True  # the run-out on the page's print or colour (False: the detector before scan25, for tests and benches)
# A small document wholly in the frame (an ID card, a receipt) is searched again on a crop around it
# (scan26, _zoom; set on set2 seeds 3001, 4242, 11, 5151): on the 480-px working copy and the
# network's 128-px grid a card 500 px wide gets some 30 mask cells, and the search stops at its
# printed band, photo or number row. On the crop (the frame's aspect, so the network sees what it
# was trained on) the whole frame's outline is one candidate among the crop's own.
ZOOM_MARGIN = 0.3  # share of the outline's larger extent added round it for the crop
ZOOM_MAX_CROP = 0.6  # zoom only when the crop is at most this share of the frame's width
ZOOM_INSET = -0.002  # share of the frame's long side the outline's corners keep inside it (a page cut off is not zoomed)
ZOOM_SCORE = FAST_SCORE  # zoom only when the whole frame's edge score is below this (a doubtful outline)
ZOOM_EDGE = 2.0  # working pixels of the crop: an answer's corner this close to a cut edge of the crop is cut
ZOOM_MIX = True  # ... and the outlines that take each side from it or from one of the crop's mask outlines
ZOOM_CARD = True  # the crop's candidates include the whole frame's outline completed to a card's shape
ZOOM_CARD_TOL = 0.1  # ... when a side lies this share or more short of the shape's place
ZOOM_CARD_REACH = 2.5  # ... and less than this many times as far out
ZOOM_CARD_RADIUS = 0.1  # share of the completed side's distance within which its edge is looked for
SCAN26_ZOOM = True  # the zoomed second look (False: the detector before scan26, for tests and benches)
CUT_CARD_SHORT = 1.25  # a card's shape may lie up to this factor short of where the frame shows it end (scan26) ...
CUT_CARD_BACK = 1.1  # ... when the outline runs past the frame's edge by at most this factor (the mask's guess)
CUT_CARD_CHANGE = 0.03  # least share of the length a card's far side is moved by
CUT_MASK_SEEN = 0.5  # least agreement of the network with a page closed at paper's or an unknown shape
CORNER_SIDE = 0.4  # scan26: the probe nearer the desk's colour than this share of the way to the paper's is off a card
# scan26: a cut-off card (rounded corners) is closed at the ID-1 shape nearest to what the frame shows, also
# pulling back the mask's run past the frame; a corner probe darker than the desk votes "card"; no closing at a
# guessed shape where the network hardly sees the page (a receipt closed as a card: 0.94 -> 0.75); the focal lengths
# of CUT_FOCALS need the same shape, not the same size of move. Dev seeds 77 -> 72 below 0.90 of 1,200, no photo
# worse by 0.005 or more. (False: the detector before scan26, for tests and benches.)
SCAN26_CUT = True
# Pages that are not ID cards or receipts (scan26, set on set2 seeds 3001, 4242, 11, 5151: 77 -> 73
# below 0.90 on the detector before the zoom and the card closing, 66 -> 63 with them; a receipt's
# printed band also passes for a drop shadow, 3001/263 0.94 -> 0.83; synth 77 unchanged): a white
# page's edge onto its own drop shadow on a pale desk is a step, not a printed rule (_drop_shadow);
# the network's blob that ran on from a clean page over a pale base plate does not replace it
# (_switch_backed); an outline the network sees no page in gives way to the one it does; a side on
# the frame's border that no neighbour's step leads to is desk, not a cut (_border_unled).
SWITCH_MIN_SCORE = 0.3  # the mask's favourite with less edge evidence than this ...
SWITCH_KEEP_SCORE = 0.8  # ... does not replace a pick with at least this much (scan26)
SWITCH_SAME_LINE = 3.0  # working pixels: a side this close to another's line at both ends runs along it
DROP_SHADOW_DARK = 20.0  # grey levels a page's drop shadow is darker than the paper next to it ...
DROP_SHADOW_KEEP = 0.5  # ... of which this share still 4 working pixels out (a printed rule is thinner)
MASK_OFF_IOU = 0.05  # a pick the mask agrees with less than this, not clean all round, gives way to its rescue
BORDER_LED_END = 0.2  # share of a side's visible samples next to a side on the frame's border ...
BORDER_LED_SUPPORT = 0.3  # ... that must show its step for the border side to close a cut page
BORDER_UNLED_PENALTY = 0.2  # score taken off per border side no side leads to
SCAN26_REST = True  # these four rules (False: the detector before them, for tests and benches)
# A phone's lens bows a page's sides (barrel distortion) and the true corners are where the bowed
# sides meet. The ends of a side were each fitted with a straight line through 40 % of it, whose
# run-on to the corner misses the curve's, most for a corner outside the frame. When the sides'
# bows fit one lens's distortion about the frame's centre, the corners are found by straightening
# the sides' edge points with it, meeting straight lines and bowing the corners back
# (scan26 corners, _lens_corners; figures in the README's set2 section).
CURVE_SPAN = (0.1, 0.9)  # shares of a side fitted (a card's rounded corners stay out of the fit)
CURVE_BOW = 2.0  # full-frame pixels the lens must bow some side by (its sagitta) to be used (1.0 let
# noise through: two synth 77 pages with 1.2 px "bows" lost a little) ...
CURVE_BOW_MAX = 0.03  # ... and no side bows more than this share of its length (more is no lens's doing)
CURVE_AGREE_PX = 1.0  # pixels each side's bow may differ from one lens's fitted to all sides ...
CURVE_AGREE = 0.35  # ... or this share of the largest bow the lens gives them
CURVE_OUT_MOVE = 0.1  # share of the distance between its neighbours a corner outside the frame may move
SCAN26_CORNERS = True  # the curved sides' corners (False: the straight end lines, as before)

_local = threading.local()


def _lsd() -> cv2.LineSegmentDetector:
    # An LSD object keeps scratch buffers, so each thread gets its own.
    det = getattr(_local, "lsd", None)
    if det is None:
        det = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD, 0.8, 0.6, 1.5)
        _local.lsd = det
    return det


def _clahe() -> cv2.CLAHE:
    # Like the LSD object, one per thread.
    det = getattr(_local, "clahe", None)
    if det is None:
        det = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(6, 6))
        _local.clahe = det
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
                 t0: float, border: np.ndarray, shape: tuple[int, int]) -> None:
        self.c = centre  # (M, 2) a point on each line
        self.d = direction  # (M, 2) unit direction
        self.n = np.stack([-direction[:, 1], direction[:, 0]], axis=1)
        # coverage is (2, M, bins): segments brighter on the +n side, then on the -n side.
        zeros = np.zeros((2, len(centre), 1))
        self.cum = np.concatenate([zeros, np.cumsum(coverage, axis=2)], axis=2)
        self.t0 = t0
        self.border = border
        self.h = np.concatenate([self.n, -(self.n * self.c).sum(1, keepdims=True)], axis=1)
        self.vis_lo, self.vis_hi = _visible_range(centre, direction, shape)
        self.vis_lo, self.vis_hi = self.vis_lo - t0, self.vis_hi - t0

    def covered(self, side: np.ndarray, prev: np.ndarray, nxt: np.ndarray, at: np.ndarray,
                inner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Share of each side on line ``side``, between its meetings with lines ``prev`` and
        ``nxt``, covered by segments brighter towards ``inner`` (returned first) and by
        segments darker towards it. ``at[i, j]`` is where line j meets line i, along line i."""
        nb = self.cum.shape[2]
        # (Gathers from flat arrays: numpy's fancy indexing of a 2-D table costs several times more.)
        m = at.shape[1]
        at_flat = at.ravel()
        ta, tb = at_flat.take(side * m + prev), at_flat.take(side * m + nxt)
        # (np.clip's own overhead is most of its cost on these arrays; the same figures.)
        lo = np.minimum(np.maximum(np.minimum(ta, tb), 0), nb - 1).astype(np.intp) + side * nb
        hi = np.minimum(np.maximum(np.maximum(ta, tb), 0), nb - 1).astype(np.intp) + side * nb
        flat = self.cum.reshape(2, -1)
        got_plus = flat[0].take(hi) - flat[0].take(lo)
        got_minus = flat[1].take(hi) - flat[1].take(lo)
        # (A 2-D dot product written out: a reduction over an axis of two costs ten times more.)
        cx, cy, nx, ny = (np.ascontiguousarray(v).take(side) for v in (self.c[:, 0], self.c[:, 1], self.n[:, 0], self.n[:, 1]))
        plus = (inner[..., 0] - cx) * nx + (inner[..., 1] - cy) * ny >= 0
        # Only the part of a side inside the frame can show segments: a side that runs out of
        # the picture (a corner outside the frame) is judged on what is visible of it.
        seen = (np.minimum(np.maximum(ta, tb), self.vis_hi.take(side)) - np.maximum(np.minimum(ta, tb), self.vis_lo.take(side)))
        span = np.maximum(seen, 1.0)
        unseen = seen < 0.2 * np.abs(tb - ta)
        a_cov = np.where(unseen, 0.3, np.where(plus, got_plus, got_minus) / span)
        b_cov = np.where(unseen, 0.3, np.where(plus, got_minus, got_plus) / span)
        return a_cov, b_cov


def _principal_direction(centred: np.ndarray, wts: np.ndarray) -> np.ndarray:
    # Closed-form total least squares in 2-D: the major axis of the weighted scatter.
    sxx = float((wts * centred[:, 0] ** 2).sum())
    syy = float((wts * centred[:, 1] ** 2).sum())
    sxy = float((wts * centred[:, 0] * centred[:, 1]).sum())
    ang = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    return np.array([np.cos(ang), np.sin(ang)])


def _segment_steps(ycc: np.ndarray, segs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each segment's polarity (+1: brighter on the left of p1→p2, y down) and the size
    of its colour step."""
    p1, p2 = segs[:, :2], segs[:, 2:]
    d = (p2 - p1) / np.maximum(np.linalg.norm(p2 - p1, axis=1, keepdims=True), 1e-9)
    n = np.stack([-d[:, 1], d[:, 0]], axis=1)
    t = np.array([0.25, 0.5, 0.75])
    pts = p1[:, None, :] + (p2 - p1)[:, None, :] * t[None, :, None]
    left = (pts + 2.0 * n[:, None, :]).reshape(-1, 2)
    right = (pts - 2.0 * n[:, None, :]).reshape(-1, 2)
    vals = _sample(ycc, np.concatenate([left, right])) * _CHROMA_WEIGHT
    k = len(segs)
    diff = (vals[: 3 * k] - vals[3 * k:]).reshape(k, 3, 3).mean(1)
    return np.where(diff[:, 0] >= 0, 1.0, -1.0), np.linalg.norm(diff, axis=1)


def _merge_segments(segs: np.ndarray, shape: tuple[int, int], polarity: np.ndarray,
                    weight: np.ndarray) -> _Lines:
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
    # (Written out per coordinate: the same figures as einsum("ik,ijk->ij", ...), five times faster.)
    nx, ny = n[:, 0, None], n[:, 1, None]
    x1, y1, x2, y2 = p1[:, 0], p1[:, 1], p2[:, 0], p2[:, 1]
    r1 = np.abs(nx * (x1[None, :] - x1[:, None]) + ny * (y1[None, :] - y1[:, None]))
    r2 = np.abs(nx * (x2[None, :] - x1[:, None]) + ny * (y2[None, :] - y1[:, None]))
    dth = np.abs(theta[:, None] - theta[None, :])
    dth = np.minimum(dth, np.pi - dth)
    adj = (np.maximum(r1, r2) < 2.0) & (dth < np.radians(4.0))
    order = np.argsort(-length)
    gid = np.full(len(segs), -1)
    seeds: list[int] = []
    for i in order:
        if gid[i] >= 0:
            continue
        gid[adj[i] & (gid < 0)] = len(seeds)
        seeds.append(int(i))
    lw = length * weight
    plus = polarity * (n * n[np.asarray(seeds)][gid]).sum(1) >= 0
    sup_a = np.bincount(gid, lw * plus, minlength=len(seeds))
    sup_b = np.bincount(gid, lw * ~plus, minlength=len(seeds))
    rough = np.maximum(sup_a, sup_b) + 0.3 * np.minimum(sup_a, sup_b)
    # Only the best-supported groups can become lines; the exact coverage is worked out for them.
    centres, dirs, covs, supports = [], [], [], []
    # Each group's members in index order, by one stable sort (not a scan of gid per group).
    by_group = np.argsort(gid, kind="stable")
    bounds = np.searchsorted(gid[by_group], np.arange(len(seeds) + 1)).tolist()
    for g in np.argsort(-rough)[:MAX_LINES + 10].tolist():
        i, members = seeds[g], by_group[bounds[g]:bounds[g + 1]]
        pts = np.concatenate([p1[members], p2[members]])
        wts = np.concatenate([length[members], length[members]])
        c = (pts * wts[:, None]).sum(0) / wts.sum()
        dd = _principal_direction(pts - c, wts) if len(members) > 1 else d[i]
        ta = (p1[members] - c) @ dd - t0
        tb = (p2[members] - c) @ dd - t0
        # Coverage is kept apart by polarity: a page's border is brighter on the same side all
        # along, while the rows of a checked cloth or a floor's boards alternate.
        row = np.zeros((2, nbins), np.float32)
        nl = np.array([-dd[1], dd[0]])
        side = np.where(polarity[members] * (n[members] @ nl) >= 0, 0, 1)
        for a, b, sd, wt in zip(np.minimum(ta, tb), np.maximum(ta, tb), side, weight[members]):
            lo, hi = max(int(a), 0), min(int(np.ceil(b)), nbins)
            row[sd, lo:hi] = np.maximum(row[sd, lo:hi], wt)
        centres.append(c)
        dirs.append(dd)
        covs.append(row)
        tot = row.sum(1)
        supports.append(tot.max() + 0.3 * tot.min())
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
        covs.append(np.full((2, nbins), BORDER_COVERAGE, np.float32))
        border.append(True)
    return _Lines(np.array(centres, float), np.array(dirs, float), np.stack(covs, axis=1), t0, np.array(border),
                  (h, w))


def _visible_range(c: np.ndarray, d: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Parameter range (t along ``c + t d``) of each line inside the frame; empty: lo > hi."""
    h, w = shape
    lo = np.full(len(c), -np.inf)
    hi = np.full(len(c), np.inf)
    for k, size in ((0, w), (1, h)):
        dk = d[:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = (-0.5 - c[:, k]) / dk
            t2 = (size - 0.5 - c[:, k]) / dk
        par = np.abs(dk) < 1e-12
        inside = (c[:, k] >= -0.5) & (c[:, k] <= size - 0.5)
        lo = np.where(par, np.where(inside, lo, np.inf), np.maximum(lo, np.minimum(t1, t2)))
        hi = np.where(par, np.where(inside, hi, -np.inf), np.minimum(hi, np.maximum(t1, t2)))
    return lo, hi


def _line_quads(lines: _Lines, shape: tuple[int, int], ycc: np.ndarray | None = None,
                contrast: float = 5.0) -> np.ndarray:
    """Return candidate quads (Q, 4, 2) from pairs of near-parallel line pairs.

    With ``ycc`` (the working image) and ``contrast``, the well-covered quads are also looked at
    for a colour step across their sides before the best are kept.
    """
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
    # Every pairwise intersection once; a quad's corners are then looked up, not computed.
    H = lines.h
    X = np.cross(H[:, None, :], H[None, :, :])
    z = X[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        X = X[..., :2] / z[..., None]
    # Corners may lie well outside the frame: a page pushed past its edge still has two visible
    # sides that meet where its corner is.
    margin = OUTSIDE_MARGIN * max(h, w)
    usable = ((np.abs(z) > 1e-9) & (X[..., 0] > -margin) & (X[..., 0] < w + margin)
              & (X[..., 1] > -margin) & (X[..., 1] < h + margin))
    # Pairs of pairs as a matrix: crossing, four distinct lines, at most two frame-border
    # sides and all four corners near the frame.
    # The angle x between the pairs' directions has cos 2x = cos(2 phi_p - 2 phi_q).
    c2, s2 = np.cos(2 * phi), np.sin(2 * phi)
    crossing = c2[:, None] * c2[None, :] + s2[:, None] * s2[None, :] < np.cos(np.radians(70))
    nbp = lines.border[pa].astype(np.int8) + lines.border[pb]
    ok = ((crossing & (nbp[:, None] + nbp[None, :] <= 2)
           & (pa[:, None] != pa[None, :]) & (pa[:, None] != pb[None, :])
           & (pb[:, None] != pa[None, :]) & (pb[:, None] != pb[None, :]))
          & usable.take(pa, 0).take(pa, 1) & usable.take(pb, 0).take(pa, 1)
          & usable.take(pb, 0).take(pb, 1) & usable.take(pa, 0).take(pb, 1))
    P, Q = np.nonzero(ok)
    upper = P < Q
    P, Q = P[upper], Q[upper]
    a, b, c, e = pa[P], pb[P], pa[Q], pb[Q]
    if len(a) == 0:
        return np.zeros((0, 4, 2))
    # Going round a, c, b, e visits the four sides in order. (x and y apart, and the convex
    # ones kept before area and side lengths: tens of thousands of quads, the same figures.)
    cx, cy = X[..., 0].ravel(), X[..., 1].ravel()
    at_corner = [a * m + c, c * m + b, b * m + e, e * m + a]
    xs = np.stack([cx.take(k) for k in at_corner], axis=1)
    ys = np.stack([cy.take(k) for k in at_corner], axis=1)
    side_lines = np.stack([c, b, e, a], axis=1)  # line of the side leaving each corner
    nxt = [1, 2, 3, 0]
    ex, ey = xs[:, nxt] - xs, ys[:, nxt] - ys
    turn = ex * ey[:, nxt] - ey * ex[:, nxt]
    keep = np.flatnonzero(np.all(turn > 0, axis=1) | np.all(turn < 0, axis=1))
    xs, ys, ex, ey, side_lines = xs[keep], ys[keep], ex[keep], ey[keep], side_lines[keep]
    area = np.abs((xs * ys[:, nxt] - ys * xs[:, nxt]).sum(1)) / 2
    side_len = np.sqrt(ex * ex + ey * ey)
    good = (area > MIN_AREA_FRACTION * w * h) & (side_len.min(1) > min_side * 0.8)
    corners = np.stack([xs[good], ys[good]], axis=-1)
    side_lines, side_len, area = side_lines[good], side_len[good], area[good]
    if len(corners) == 0:
        return np.zeros((0, 4, 2))
    with np.errstate(invalid="ignore"):
        at = np.nan_to_num(((X - lines.c[:, None, :]) * lines.d[:, None, :]).sum(-1) - lines.t0)
    cov_b, cov_d = lines.covered(side_lines, side_lines[:, [3, 0, 1, 2]], side_lines[:, [1, 2, 3, 0]], at,
                                 corners.mean(1)[:, None, :])
    quick = None
    # The page is either brighter than its surroundings all round or darker all round.
    for cov in (cov_b, cov_d):
        qk = (cov * side_len).sum(1) / side_len.sum(1)
        qk = np.where(cov.min(1) < 0.15, qk * 0.5, qk)
        quick = qk if quick is None else np.maximum(quick, qk)
    # Text columns and table cells make many small, well-covered quads inside a page whose own
    # faint border is only partly found; so the large outlines get their own places in the pool.
    area_frac = area / (w * h)
    if ycc is not None:
        # Segment coverage alone misses a border that LSD found only in pieces (under a
        # shadow, beside a hand); a sparse look at the colour step across the sides of the
        # better-covered quads decides.
        pre = np.unique(np.concatenate([_top(quick, N_PRESCREEN), _top(quick * np.sqrt(area_frac), N_PRESCREEN)]))
        corners, quick, area_frac = corners[pre], quick[pre], area_frac[pre]
        steps = _step_support(ycc, corners, lines.border[side_lines[pre]], contrast)
        quick = 0.35 * quick + 0.65 * steps
    # A third ranking between the two: on a checked cloth every check is a perfect little quad
    # and the frame-border outlines are large, and the page must beat both.
    by_cov = _top(quick, FINE_CANDIDATES)
    by_size = _top(quick * np.sqrt(area_frac), FINE_CANDIDATES)
    by_both = _top(quick * quick * np.sqrt(area_frac), FINE_CANDIDATES)
    return corners[np.unique(np.concatenate([by_cov, by_size, by_both]))]


_N_PRE = 8  # points per side in the sparse look


def _top(v: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values (unordered)."""
    return np.arange(len(v)) if len(v) <= k else np.argpartition(-v, k)[:k]


def _step_support(ycc: np.ndarray, q: np.ndarray, border: np.ndarray, contrast: float) -> np.ndarray:
    """Cheap evidence for many quads (nq, 4, 2): length-weighted share of a few points per side
    that show a colour step of one polarity all round; frame-border sides count half."""
    nq = len(q)
    a, b = q, q[:, [1, 2, 3, 0]]  # (np.roll without its overhead)
    t = (np.arange(_N_PRE) + 0.5) / _N_PRE
    pts = a[:, :, None, :] + (b - a)[:, :, None, :] * t[None, None, :, None]
    side_len = np.linalg.norm(b - a, axis=2)
    d = (b - a) / np.maximum(side_len[..., None], 1e-9)
    n = np.stack([d[..., 1], -d[..., 0]], axis=-1)[:, :, None, :]
    inner = q.mean(1)[:, None, None, :]
    inward = (inner[..., 0] - pts[..., 0]) * n[..., 0] + (inner[..., 1] - pts[..., 1]) * n[..., 1] > 0
    n = np.where(inward[..., None], -n, n)  # make n point outwards
    probes = [pts - 2.5 * n, pts + 2.5 * n, pts - FAR_OFFSET * n, pts + FAR_OFFSET * n]
    vals = _sample(ycc, np.concatenate([p.reshape(-1, 2) for p in probes])) * _CHROMA_WEIGHT
    vals = vals.reshape(4, nq, 4, _N_PRE, 3)
    diff = vals[0] - vals[1]
    far = vals[2] - vals[3]
    mag2 = _sq3(diff)
    # A step, not a printed line: the difference persists a few pixels further out.
    strong = (mag2 > contrast * contrast) & (_sq3(far) > PERSIST * PERSIST * mag2)
    sign = diff[..., 0] > 0
    h, w = ycc.shape[:2]
    vis = _in_frame(probes[2], w, h) & _in_frame(probes[3], w, h)
    nvis = vis.sum(-1)
    seen = nvis >= 2
    best = None
    for pol in (sign, ~sign):
        sup = (strong & pol & vis).sum(-1) / np.maximum(nvis, 1)
        sup = np.where(border | ~seen, 0.5, sup)
        sc = (sup * side_len).sum(1) / side_len.sum(1)
        sc = np.where(sup.min(1) < 0.15, sc * 0.5, sc)
        best = sc if best is None else np.maximum(best, sc)
    return best


def _sq3(v: np.ndarray) -> np.ndarray:
    """Squared length of each colour (last axis of 3): ``(v * v).sum(-1)`` to the last bit, at a
    third of its cost."""
    a, b, c = v[..., 0], v[..., 1], v[..., 2]
    return a * a + b * b + c * c


def _norm3(v: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(v, axis=-1)`` of colours (last axis of 3), to the last bit."""
    return np.sqrt(_sq3(v))


def _in_frame(p: np.ndarray, w: int, h: int, pad: float = 0.5) -> np.ndarray:
    return (p[..., 0] >= pad) & (p[..., 0] <= w - 1 - pad) & (p[..., 1] >= pad) & (p[..., 1] <= h - 1 - pad)


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
_CHROMA_ZERO = 128.0 * _CHROMA_WEIGHT[1:]  # weighted Cr, Cb of a grey
_N_SAMPLES = 40
_N_EXT = 6
_T_SIDE = np.linspace(0.05, 0.95, _N_SAMPLES)  # where each side is sampled, and its run-ons past the corners
_T_EXT = np.concatenate([np.linspace(1.04, 1.2, _N_EXT), np.linspace(-0.2, -0.04, _N_EXT)])

def _contrast_threshold(y: np.ndarray) -> float:
    """Return the least colour step that counts as an edge, from the image's own noise."""
    # Median absolute Laplacian is dominated by flat areas, i.e. by noise (Immerkaer 1996 in
    # spirit); a clean, evenly lit desk then lets a faint white-on-white border count.
    lap = cv2.Laplacian(y, cv2.CV_32F)
    sigma = 1.4826 * float(_median(np.abs(lap[::2, ::2]).ravel())) / np.sqrt(20.0)
    return float(np.clip(6.0 * sigma, 3.0, 6.0))



def _score_quads(ycc: np.ndarray, quads: list[np.ndarray], contrast: float = 5.0) -> tuple[np.ndarray, ...]:
    """Score each quad by the consistent colour step across its sides.

    Returns the scores, the number of sides on the frame border, the median colours just
    inside and just outside the observed steps, and whether a side lies on a cast shadow's edge.
    """
    h, w = ycc.shape[:2]
    q = np.asarray(quads, dtype=np.float64)
    nq = len(q)
    q = np.where(_signed_area(q)[:, None, None] < 0, q[:, ::-1], q)  # make every quad clockwise
    a = q
    b = q[:, [1, 2, 3, 0]]  # (np.roll without its overhead)
    t = _T_SIDE
    pts = a[:, :, None, :] + (b - a)[:, :, None, :] * t[None, None, :, None]  # (nq, 4, S, 2)
    d = (b - a) / np.maximum(np.linalg.norm(b - a, axis=2, keepdims=True), 1e-9)
    n_out = np.stack([d[..., 1], -d[..., 0]], axis=-1)  # outward for clockwise on screen (y down)
    n_out = n_out[:, :, None, :]
    offsets = (2.0, 4.0)
    # Past each corner the side's line runs on over the desk for a fifth of its length: a page's
    # border stops at its corners, while checks, stripes and floorboards keep going.
    te = _T_EXT
    ext = a[:, :, None, :] + (b - a)[:, :, None, :] * te[None, None, :, None]
    probes = [pts - n_out * o for o in offsets] + [pts + n_out * o for o in offsets]
    probes += [pts - n_out, pts + n_out]  # the step right at the line, for its sharpness
    probes += [pts - n_out * FAR_OFFSET, pts + n_out * FAR_OFFSET]  # a step persists, a line does not
    ext_probes = [ext - n_out * o for o in offsets] + [ext + n_out * o for o in offsets]
    allp = np.concatenate([p.reshape(-1, 2) for p in probes + ext_probes])
    vals = _sample(ycc, allp) * _CHROMA_WEIGHT
    split = len(probes) * nq * 4 * _N_SAMPLES
    ext_vals = vals[split:].reshape(len(ext_probes), nq, 4, 2 * _N_EXT, 3)
    vals = vals[:split].reshape(len(probes), nq, 4, _N_SAMPLES, 3)
    ext_diff = (ext_vals[0] + ext_vals[1]) / 2 - (ext_vals[2] + ext_vals[3]) / 2
    in_frame = (ext[..., 0] > 4) & (ext[..., 0] < w - 5) & (ext[..., 1] > 4) & (ext[..., 1] < h - 5)
    # A line running on keeps the same step along the run-on; texture (checks, grain) gives
    # steps that change sign and colour, so they are averaged over each run-on first.
    ext_diff = ext_diff.reshape(nq, 4, 2, _N_EXT, 3)
    ext_mag = _norm3(ext_diff.mean(3))  # (nq, 4, 2)
    in_frame = in_frame.reshape(nq, 4, 2, _N_EXT)
    ext_seen = in_frame.sum(3) >= 2  # (a run-on leaving the frame: its samples there repeat the frame's edge)
    in_frame = in_frame.all(3)
    inside = (vals[0] + vals[1]) / 2
    outside = (vals[2] + vals[3]) / 2
    diff = inside - outside
    mag = _norm3(diff)
    # Paper has a sharp edge; a shadow's edge is a soft ramp over many pixels. Across +-1 px a
    # sharp step (even defocused by ~1 working pixel) shows most of its height, a ramp little.
    near = _norm3(vals[4] - vals[5])
    sharp = near >= 0.4 * mag
    # A printed frame line (a form's border, the outlines on a document camera's base plate)
    # has the same colour on both sides a few pixels away; a page's edge does not.
    persists = _norm3(vals[6] - vals[7]) >= np.maximum(PERSIST * mag, 0.8 * contrast)
    if SCAN26_REST:
        persists |= _drop_shadow(vals, mag)
    vis = _in_frame(probes[6], w, h) & _in_frame(probes[7], w, h)  # pts -+ n_out * FAR_OFFSET
    nvis = vis.sum(-1)
    unseen = nvis < 0.2 * _N_SAMPLES  # a side (almost) wholly outside the frame
    # Judged against the side's own step, so that wood grain beside a contrasty page is not
    # mistaken for the line running on.
    # (np.median along the last axis, without its overhead: the mean of the two middle values.)
    mid = np.partition(mag, (_N_SAMPLES // 2 - 1, _N_SAMPLES // 2), axis=-1)
    side_mag = (mid[..., _N_SAMPLES // 2 - 1:_N_SAMPLES // 2] + mid[..., _N_SAMPLES // 2:_N_SAMPLES // 2 + 1]) / 2
    overshoot = ((ext_mag > np.maximum(contrast, 0.5 * side_mag)) & in_frame).mean(axis=(1, 2))
    sign = np.sign(diff[..., 0])
    # A side lying on the frame border has no outside; it counts where the strip just inside
    # looks like the rest of the page.
    on_border = _on_border(a, b, w, h)
    strong = (mag > contrast) & sharp & persists & vis
    votes = (sign * strong).reshape(nq, -1).sum(1)
    polarity = np.where(votes >= 0, 1.0, -1.0)
    support = strong & (sign == polarity[:, None, None])
    # Typical page colour: the inside of the observed steps on real (non-border) sides.
    real_support = support & ~on_border[..., None]
    ref = _masked_median(inside, real_support, np.inf)
    like_page = _norm3(vals[0] - ref[:, None, None, :]) < 14.0
    support = np.where(on_border[..., None], like_page, support)
    side_support = np.where(on_border, support.mean(-1), (support & vis).sum(-1) / np.maximum(nvis, 1))
    shadowed = np.zeros(nq, bool)
    if SCAN23:
        # A cast shadow's edge across the page is no side of it (scan23).
        on_shadow = _cast_shadow(inside, outside, ext_vals, ext_seen) & ~on_border
        side_support = np.where(on_shadow, 0.0, side_support)
        shadowed = on_shadow.any(1)
    side_len = np.linalg.norm(b - a, axis=2)
    # Judged on what the frame shows of each side; a side outside the frame is left out.
    seen_len = side_len * np.where(on_border, 1.0, nvis / _N_SAMPLES)
    score = (side_support * seen_len).sum(1) / np.maximum(seen_len.sum(1), 1e-9)
    visible = np.where(on_border | unseen, 1.0, side_support)
    score = np.where(visible.min(1) < MIN_SIDE_SUPPORT, 0.0, score)
    # Border sides are weaker evidence than an observed step; a side wholly outside the frame
    # is a guess; so, a little, is every corner outside it.
    corner_out = ~_in_frame(q, w, h, pad=-2.0)
    score = (score - 0.08 * on_border.sum(1) - 0.15 * unseen.sum(1) - 0.03 * corner_out.sum(1)
             - 0.4 * overshoot)
    if SCAN26_REST:
        score = score - BORDER_UNLED_PENALTY * _border_unled(support, vis, on_border).sum(1)
    out_ref = _masked_median(outside, real_support, -np.inf)
    return score, on_border.sum(1), ref, out_ref, shadowed


def _border_unled(support: np.ndarray, vis: np.ndarray, on_border: np.ndarray) -> np.ndarray:
    """Which sides (nq, 4) on the frame's border neither side meeting them leads to (scan26).

    A page cut off by the frame shows its two sides running out of the picture, each with its
    step up to the frame's edge. An outline closed by the frame's border round a page wholly
    inside it (the pale desk between the page and the edge passes for paper) has sides whose step
    stops at the page's corners, short of the border: judged on the last ``BORDER_LED_END`` of
    each neighbour's visible samples towards the border side, which must show the step on at
    least ``BORDER_LED_SUPPORT`` of them for one neighbour at least."""
    n = vis.sum(-1, keepdims=True)
    rank = np.cumsum(vis, axis=-1)
    tail = vis & (rank > (1.0 - BORDER_LED_END) * n)
    head = vis & (rank <= np.maximum(BORDER_LED_END * n, 1))
    share_tail = (support & tail).sum(-1) / np.maximum(tail.sum(-1), 1)
    share_head = (support & head).sum(-1) / np.maximum(head.sum(-1), 1)
    # Side k's neighbours: side k - 1 ends where it starts, side k + 1 starts where it ends.
    led_before = ~np.roll(on_border, 1, axis=1) & (np.roll(share_tail, 1, axis=1) >= BORDER_LED_SUPPORT)
    led_after = ~np.roll(on_border, -1, axis=1) & (np.roll(share_head, -1, axis=1) >= BORDER_LED_SUPPORT)
    return on_border & ~led_before & ~led_after


def _drop_shadow(vals: np.ndarray, mag: np.ndarray) -> np.ndarray:
    """Where a side's step is a white page's edge onto its own drop shadow on a pale desk (scan26):
    the desk a few pixels further out is as bright as the paper again, so the step does not
    persist as far as FAR_OFFSET, as a printed rule's does not; but the dark band outside is wide,
    still most of the step's depth 4 pixels out, and only outside (the paper is the brighter side)."""
    y_in, y_out2, y_out4 = vals[1][..., 0], vals[2][..., 0], vals[3][..., 0]
    return ((y_in - y_out4 >= DROP_SHADOW_KEEP * (y_in - y_out2)) & (y_in - y_out2 >= DROP_SHADOW_DARK)
            & (mag >= DROP_SHADOW_DARK))


def _cast_shadow(inside: np.ndarray, outside: np.ndarray, ext_vals: np.ndarray, ext_seen: np.ndarray) -> np.ndarray:
    """Which sides (nq, 4) lie on the edge of a cast shadow rather than on the page's (scan23).

    A shadow scales the light and keeps the colour: across its edge the darker side is the lit
    side's colour times one factor (Y and the chroma offsets of YCrCb alike), and the edge runs
    on, straight, past the outline's corners with the same factor, over the page and the desk.
    A page's own edge changes the colour, or, white on a grey desk, stops at its corners.
    ``inside``/``outside``: (nq, 4, S, 3) weighted colours either side of each side;
    ``ext_vals``: the four run-on probes (4, nq, 4, 2 * _N_EXT, 3); ``ext_seen``: (nq, 4, 2).
    """
    def ratio(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # log brightness ratio b / a and the chroma that one factor does not explain
        k = (b[..., 0] + SHADOW_Y0) / (a[..., 0] + SHADOW_Y0)
        ca, cb = a[..., 1:] - _CHROMA_ZERO, b[..., 1:] - _CHROMA_ZERO
        return np.log(k), _norm2(cb - k[..., None] * ca)

    lr, resid = ratio(np.median(inside, axis=2), np.median(outside, axis=2))  # (nq, 4)
    nq = len(inside)
    e_in = ((ext_vals[0] + ext_vals[1]) / 2).reshape(nq, 4, 2, _N_EXT, 3)
    e_out = ((ext_vals[2] + ext_vals[3]) / 2).reshape(nq, 4, 2, _N_EXT, 3)
    lr_e, resid_e = ratio(np.median(e_in, axis=3), np.median(e_out, axis=3))  # (nq, 4, 2)
    scaled = (np.abs(lr) > SHADOW_LOG_RATIO) & (resid < SHADOW_CHROMA)
    runs_on = (ext_seen & (np.abs(lr_e - lr[..., None]) < SHADOW_SAME * np.abs(lr[..., None]))
               & (resid_e < SHADOW_CHROMA))
    return scaled & runs_on.any(-1)


def _norm2(v: np.ndarray) -> np.ndarray:
    return np.sqrt(v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1])


def _masked_median(vals: np.ndarray, mask: np.ndarray, empty: float) -> np.ndarray:
    """Per-quad median colour of vals (nq, 4, S, 3) where mask (nq, 4, S); ``empty`` if none."""
    nq = len(vals)
    v = np.where(mask[..., None], vals, np.inf).reshape(nq, -1, 3)
    v.sort(axis=1)
    k = mask.reshape(nq, -1).sum(1)
    lo = np.maximum((k - 1) // 2, 0)[:, None, None]
    hi = np.maximum(k // 2, 0)[:, None, None]
    lo_v = np.take_along_axis(v, np.broadcast_to(lo, (nq, 1, 3)), axis=1)[:, 0]
    hi_v = np.take_along_axis(v, np.broadcast_to(hi, (nq, 1, 3)), axis=1)[:, 0]
    med = (lo_v + hi_v) / 2
    return np.where((k > 0)[:, None], med, empty).astype(np.float32)


def _signed_area(q: np.ndarray) -> np.ndarray:
    x, y = q[..., 0], q[..., 1]
    nxt = [1, 2, 3, 0]  # np.roll(.., -1) of four corners, without its overhead
    return (x * y[..., nxt] - y * x[..., nxt]).sum(-1) / 2


def _on_border(a: np.ndarray, b: np.ndarray, w: int, h: int, tol: float = 1.5) -> np.ndarray:
    ends = np.stack([a, b], axis=0)
    x, y = ends[..., 0], ends[..., 1]
    # On the border, not beyond it: a side wholly outside the frame is unseen, not a border side.
    left = np.all(np.abs(x + 0.5) < tol, axis=0)
    right = np.all(np.abs(x - (w - 0.5)) < tol, axis=0)
    top = np.all(np.abs(y + 0.5) < tol, axis=0)
    bottom = np.all(np.abs(y - (h - 0.5)) < tol, axis=0)
    return left | right | top | bottom


def _side_on_border(a: np.ndarray, b: np.ndarray, w: int, h: int, tol: float) -> bool:
    """:func:`_on_border` for one side, in plain floats (the refinement asks it side by side)."""
    ax, ay, bx, by = float(a[0]), float(a[1]), float(b[0]), float(b[1])
    r, btm = w - 0.5, h - 0.5
    return ((abs(ax + 0.5) < tol and abs(bx + 0.5) < tol) or (abs(ax - r) < tol and abs(bx - r) < tol)
            or (abs(ay + 0.5) < tol and abs(by + 0.5) < tol) or (abs(ay - btm) < tol and abs(by - btm) < tol))


# --------------------------------------------------------------------------------------------
# region cue: does the colour change across the outline, over a band, not just at a line?


class _Regions:
    """Quantised colours of a small copy of the frame, to compare the bands just inside and just
    outside an outline.

    The line evidence looks a few pixels either side of a side; wood grain, a shadow's edge or a
    form's printed frame pass that test. Over a wider band a page still differs from the desk
    around it (colour and texture), whereas a printed frame has paper on both sides and an
    outline that strays onto the desk has desk on both sides for part of its length.
    """

    def __init__(self, ycc8: np.ndarray) -> None:
        h, w = ycc8.shape[:2]
        s = min(1.0, REGION_SIZE / max(h, w))
        self.scale = s
        tiny = cv2.resize(ycc8, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
        self.shape = tiny.shape[:2]
        self.tiny = tiny
        y = np.minimum(tiny[..., 0].astype(np.int32) // 24, 10)
        cr = np.clip((tiny[..., 1].astype(np.int32) - 96) // 8, 0, 7)
        cb = np.clip((tiny[..., 2].astype(np.int32) - 96) // 8, 0, 7)
        self.labels = (y * 64 + cr * 8 + cb).ravel()
        self.n_bins = 11 * 64
        self._canvas = np.zeros(self.shape, np.uint8)

    def bands(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Colour histograms (normalised) of a band just inside and a band just outside a quad
        (clockwise, working-image pixels); None when too little of either is in the frame."""
        q = (np.asarray(q, np.float64) + 0.5) * self.scale - 0.5
        width = float(np.clip(0.12 * np.sqrt(abs(_signed_area(q))), 2.0, 8.0))
        rings = [_offset_quad(q, o) for o in (width + 1.0, 1.0, -1.0, -(width + 1.0))]
        if any(r is None for r in rings):
            return None
        canvas = self._canvas
        canvas[:] = 0
        for r, v in zip(rings, (2, 0, 1, 0)):
            cv2.fillConvexPoly(canvas, np.round(r * 16).astype(np.int32), v, cv2.LINE_8, 4)
        flat = canvas.ravel()
        inner = np.bincount(self.labels[flat == 1], minlength=self.n_bins).astype(np.float64)
        outer = np.bincount(self.labels[flat == 2], minlength=self.n_bins).astype(np.float64)
        ni, no = inner.sum(), outer.sum()
        if ni < 8 or no < 8:
            return None
        return inner / ni, outer / no

    def separation(self, quads: np.ndarray) -> np.ndarray:
        """1 - Bhattacharyya overlap of the colours in a band inside and a band outside each quad:
        near 1 for a page on a desk, near 0 for a line drawn on one surface. Bands outside the
        frame are not seen; too little seen gives 0.5."""
        out = np.full(len(quads), 0.5)
        for i, q in enumerate(quads):
            got = self.bands(q)
            if got is not None:
                out[i] = 1.0 - float(np.sqrt(got[0] * got[1]).sum())
        return out

    def same_surface(self, inner: np.ndarray, outer: np.ndarray) -> bool:
        """Tell whether what lies around ``inner`` looks like the inside of ``outer`` (a card
        around its photo) by their colour histograms, which glare and print do not upset the
        way they do a median colour."""
        a, b = self.bands(inner), self.bands(outer)
        if a is None or b is None:
            return False
        # ... and more like it than like what lies outside ``outer``: a false outline on the
        # desk around the page has desk both around the page and outside itself.
        like_in = float(np.sqrt(a[1] * b[0]).sum())
        like_out = float(np.sqrt(a[1] * b[1]).sum())
        return like_in >= SAME_SURFACE_OVERLAP and like_in > like_out + 0.1


REGION_K = 4  # colour clusters of the small copy


def _region_quads(regions: _Regions) -> list[np.ndarray]:
    """Return outlines of colour regions (k-means on the small copy), in working-image pixels.

    A page whose border LSD finds only in pieces (a hand over one side, grain along another)
    is still a region of its own colour; the four longest sides of its hull meet at its
    corners, even at one hidden under a finger.
    """
    h, w = regions.shape
    pix = regions.tiny.reshape(-1, 3).astype(np.float32) * _CHROMA_WEIGHT
    # Deterministic k-means (the same frame always gives the same regions): started from
    # brightness quantiles, fitted on every fourth pixel, then every pixel labelled once.
    fit = pix[::4]
    centres = np.percentile(fit, np.linspace(8, 92, REGION_K), axis=0, method="nearest").astype(np.float32)
    for _ in range(6):
        lab = _nearest_centre(fit, centres)
        counts = np.bincount(lab, minlength=REGION_K)
        for c in range(3):
            sums = np.bincount(lab, fit[:, c], minlength=REGION_K)
            centres[:, c] = np.where(counts > 0, sums / np.maximum(counts, 1), centres[:, c])
    lab = _nearest_centre(pix, centres)
    lab = lab.reshape(h, w)
    ring = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    border_share = np.bincount(ring, minlength=REGION_K) / len(ring)
    masks = [lab == k for k in range(REGION_K)]
    # Everything unlike the desk (the colours that fill most of the frame's edge) together: a
    # page, its print and its photo.
    masks.append(~np.isin(lab, np.flatnonzero(border_share > 0.25)))
    out: list[np.ndarray] = []
    kernel = np.ones((3, 3), np.uint8)
    min_area = MIN_AREA_FRACTION * h * w
    back = 1.0 / regions.scale
    for m in masks:
        m8 = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE, kernel)
        m8 = cv2.morphologyEx(m8, cv2.MORPH_OPEN, kernel)
        contours, _ = cv2.findContours(m8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for cnt in sorted(contours, key=cv2.contourArea, reverse=True)[:2]:
            a = cv2.contourArea(cnt)
            if a < min_area or a > 0.9 * h * w:
                break
            hull = cv2.convexHull(cnt)
            # Solid regions only: a page is convex, the desk's grain and a cloth's pattern are not.
            if a < 0.75 * cv2.contourArea(hull):
                continue
            for q in _hull_quads(hull.reshape(-1, 2).astype(np.float64)):
                out.append((q + 0.5) * back - 0.5)
    return out


def _nearest_centre(pix: np.ndarray, centres: np.ndarray) -> np.ndarray:
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2, and |x|^2 is the same for every centre.
    return np.argmin((centres * centres).sum(1)[None, :] - 2.0 * (pix @ centres.T), axis=1)


def _dedupe(quads: list[np.ndarray], tol: float) -> list[np.ndarray]:
    """Drop quads whose corners all lie within ``tol`` of an earlier one's."""
    kept: list[np.ndarray] = []
    for q in quads:
        if not any(np.abs(q - k).max() < tol for k in kept):
            kept.append(q)
    return kept


def _hull_quads(hull: np.ndarray) -> list[np.ndarray]:
    """Quads fitted to a convex hull: its 4-gon approximation, or where the four longest sides
    of a 5- or 6-gon meet (a cut-off corner restored)."""
    peri = cv2.arcLength(hull.astype(np.float32).reshape(-1, 1, 2), True)
    found = []
    for eps in (0.015, 0.03, 0.05):
        poly = cv2.approxPolyDP(hull.astype(np.float32).reshape(-1, 1, 2), eps * peri, True).reshape(-1, 2)
        n = len(poly)
        if n == 4:
            found.append(poly.astype(np.float64))
            break
        if n in (5, 6):
            e = np.roll(poly, -1, axis=0) - poly
            keep = np.sort(np.argsort(-np.linalg.norm(e, axis=1))[:4])
            lines = [_line_through(poly[k].astype(np.float64), poly[(k + 1) % n].astype(np.float64)) for k in keep]
            corners = []
            for k in range(4):
                p = _meet(lines[k - 1], lines[k])
                if abs(p[2]) < 1e-9:
                    break
                corners.append(p[:2] / p[2])
            if len(corners) == 4:
                found.append(np.array(corners))
            break
    return found


def _offset_quad(q: np.ndarray, dist: float) -> np.ndarray | None:
    """Move each side of a clockwise (on screen) quad ``dist`` outwards; None if it turns over."""
    # In plain floats, corner by corner (the same operations as on arrays, a tenth of the cost).
    pts = [(float(x), float(y)) for x, y in q]
    dirs, moved = [], []
    for k in range(4):
        (ax, ay), (bx, by) = pts[k], pts[(k + 1) % 4]
        dx, dy = bx - ax, by - ay
        length = math.sqrt(dx * dx + dy * dy)
        if length < 1e-6:
            return None
        dx, dy = dx / length, dy / length
        dirs.append((dx, dy))
        moved.append((ax + dy * dist, ay + -dx * dist))
    # Corner k is where side k-1 meets side k.
    out = []
    for k in range(4):
        (px, py), (dx, dy) = moved[k], dirs[k]
        (ppx, ppy), (dpx, dpy) = moved[k - 1], dirs[k - 1]
        den = dpx * dy - dpy * dx
        if abs(den) < 1e-9:
            return None
        t = ((px - ppx) * dy - (py - ppy) * dx) / den
        out.append((ppx + dpx * t, ppy + dpy * t))
    # Still the same way round and not collapsed: its sides keep their directions.
    for k in range(4):
        (rx, ry), (sx, sy), (dx, dy) = out[k], out[(k + 1) % 4], dirs[k]
        if (sx - rx) * dx + (sy - ry) * dy < 1.0:
            return None
    return np.array(out)


# --------------------------------------------------------------------------------------------
# full-resolution refinement


def _meet(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two homogeneous 3-vectors (the point where two lines meet)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _line_through(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    # (p, 1) x (q, 1), written out: np.cross costs more than the whole of this.
    return np.array([p[1] - q[1], q[0] - p[0], p[0] * q[1] - p[1] * q[0]])


@functools.lru_cache(maxsize=256)
def _side_samples(k: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Where a side is sampled (``k`` shares of its length) and the offsets across it: the same few
    arrays over and over, made once (read-only)."""
    t = np.linspace(0.06, 0.94, k)
    steps = np.arange(-radius, radius + 0.01, 0.5)
    t.flags.writeable = steps.flags.writeable = False
    return t, steps


def _median(v: np.ndarray):
    """``np.median`` of a 1-D array without NaNs (the same value and type), at a fraction of its
    overhead: the detector takes thousands of small medians per frame."""
    n = len(v)
    k = n // 2
    if n % 2:
        return np.partition(v, k)[k]
    part = np.partition(v, (k - 1, k))
    return (part[k - 1] + part[k]) / 2


def _refine_side(img: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float, border: bool,
                 ends: bool = False, max_turn: float = 4.0):
    """Re-locate side a→b (clockwise quad) at full resolution; returns its homogeneous line, or
    with ``ends`` (line, line through its first 40 %, line through its last 40 %, the side's bow
    (:func:`_bow`), the segment's ends and its edge points, their weights and shares along it, or
    None), or None."""
    if border:
        return None
    d = b - a
    length = math.sqrt(d[0] * d[0] + d[1] * d[1])
    if length < 8:
        return None
    d = d / length
    n_out = np.array([d[1], -d[0]])
    k = int(min(max(length / 6, 12), 64))
    t, steps = _side_samples(k, radius)
    pts = a[None, :] + (b - a)[None, :] * t[:, None]
    mx = (pts[:, 0, None] + n_out[0] * steps[None, :]).astype(np.float32)
    my = (pts[:, 1, None] + n_out[1] * steps[None, :]).astype(np.float32)
    prof = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    if prof.ndim == 2:
        prof = prof[..., None]
    # Project colours onto the inside-minus-outside direction: the strongest contrast for this
    # side, whether it is brightness (white page, dark desk) or hue (white page, beige desk).
    q = max(2, len(steps) // 4)
    m = len(prof) * q  # (np.add.reduce / m is .mean() to the last bit, without its overhead)
    u = np.add.reduce(prof[:, :q], axis=(0, 1)) / m - np.add.reduce(prof[:, -q:], axis=(0, 1)) / m
    nu = float(np.sqrt(u @ u))
    if nu < 2.0:
        return None
    p = prof @ (u / nu)
    p = cv2.GaussianBlur(p if p.dtype == np.float32 else p.astype(np.float32), (0, 0), sigmaX=1.0, sigmaY=0.01)
    der = p[:, 2:] - p[:, :-2]  # falls from inside to outside: the edge is the most negative
    idx = np.argmin(der, axis=1)
    peak = -der.min(axis=1)  # (the value at idx)
    valid = (idx > 0) & (idx < der.shape[1] - 1) & (peak > 0.25 * max(_median(peak), 1e-6)) & (peak > 1.0)
    rows = np.flatnonzero(valid)
    if len(rows) < 6:
        return None
    i = idx[rows]
    at = rows * der.shape[1] + i  # flat gathers: fancy indexing of a 2-D array costs more
    flat = der.ravel()
    y0, y1, y2 = flat.take(at - 1), flat.take(at), flat.take(at + 1)
    den = y0 - 2 * y1 + y2
    safe = np.abs(den) > 1e-9
    frac = np.where(safe, 0.5 * (y0 - y2) / np.where(safe, den, 1), 0.0)
    frac = np.minimum(np.maximum(frac, -0.5), 0.5)  # np.clip, without its overhead
    off = steps[0] + (i + 1 + frac) * 0.5  # der[j] is centred on steps[j + 1]
    edge_pts = pts[rows] + n_out[None, :] * off[:, None]
    wts = peak[rows]
    full = _fit_line(edge_pts, wts, d, max_turn)
    if not ends or full is None:
        return full
    # Each end on its own: a lens's barrel distortion bows a long side, and its corners are where
    # the ends of the bowed sides meet, not where their average lines do.
    tv = t[rows]
    curve = None
    if SCAN26_CORNERS:
        bow = _bow(edge_pts, wts, tv, a, d, length)
        curve = None if bow is None else (bow, a, b, edge_pts, wts, tv)
    return (full, _fit_line(edge_pts[tv < 0.4], wts[tv < 0.4], d), _fit_line(edge_pts[tv > 0.6], wts[tv > 0.6], d),
            curve)


def _bow(edge_pts: np.ndarray, wts: np.ndarray, tv: np.ndarray, a: np.ndarray, d: np.ndarray,
         length: float) -> float | None:
    """How far the middle of a parabola fitted across side ``a`` + s ``d`` (edge points at shares
    ``tv`` of ``length``) bows out of its chord (pixels, outwards positive), or None when too few
    points agree or it bows implausibly much (scan26 corners)."""
    use = (tv >= CURVE_SPAN[0]) & (tv <= CURVE_SPAN[1])
    if int(np.count_nonzero(use)) < 12 or not (tv[use] < 0.35).any() or not (tv[use] > 0.65).any():
        return None
    rel = edge_pts[use] - a[None, :]
    u = (rel @ d) / length  # along the side, 0 .. 1
    v = rel @ np.array([d[1], -d[0]])  # across it, outwards
    w = wts[use].astype(np.float64)
    for _ in range(3):
        # Weighted least squares v = c0 + c1 u + c2 u^2 by its normal equations, written out (a
        # general solver's overhead is most of the cost on three unknowns).
        u2 = u * u
        wu, wu2 = w * u, w * u2
        s0, s1, s2, s3, s4 = float(w.sum()), float(wu.sum()), float(wu2.sum()), float(wu2 @ u), float(wu2 @ u2)
        t0, t1, t2 = float(w @ v), float(wu @ v), float(wu2 @ v)
        # (Cramer's rule on the symmetric 3 x 3 system)
        m00, m01, m02 = s2 * s4 - s3 * s3, s2 * s3 - s1 * s4, s1 * s3 - s2 * s2
        det = s0 * m00 + s1 * m01 + s2 * m02
        if abs(det) < 1e-9 * max(s0, 1e-9) ** 3:
            return None
        c0 = (t0 * m00 + t1 * m01 + t2 * m02) / det
        c1 = (t0 * m01 + t1 * (s0 * s4 - s2 * s2) + t2 * (s1 * s2 - s0 * s3)) / det
        c2 = (t0 * m02 + t1 * (s1 * s2 - s0 * s3) + t2 * (s0 * s2 - s1 * s1)) / det
        res = np.abs(c0 + c1 * u + c2 * u2 - v)
        keep = res <= max(1.0, 2.5 * float(_median(res)))
        if int(np.count_nonzero(keep)) < 12:
            return None
        if keep.all():
            break
        u, v, w = u[keep], v[keep], w[keep]
    bow = -c2 / 4.0  # the sagitta: the parabola's middle off its chord, outwards
    return None if abs(bow) > CURVE_BOW_MAX * length else bow


def _lens_bow(a: np.ndarray, b: np.ndarray, c: np.ndarray, r2: float) -> float:
    """How far segment a→b (clockwise round a page) would bow out of its chord (outwards
    positive) under radial distortion p + (p - c) |p - c|^2 / r2 about the frame's centre ``c``:
    the shape of a lens's bowing, its size (k) left to be fitted."""
    f = [(p - c) * float((p - c) @ (p - c)) / r2 for p in (a, (a + b) / 2.0, b)]
    e = b - a
    n_out = np.array([e[1], -e[0]]) / max(float(np.hypot(e[0], e[1])), 1e-9)
    return float((f[1] - (f[0] + f[2]) / 2.0) @ n_out)


def _lens(curves: list, w: int, h: int) -> float | None:
    """The barrel distortion k (p_d = c + (p - c)(1 + k |p - c|^2 / R^2), R the frame's half
    diagonal) that bows the seen sides (:func:`_refine_side`'s curves) as they are, or None when
    they bow too little or each in its own way (a finger, a clip or glare bends one side, a lens
    bends them all, each as much as its place in the frame says)."""
    seen = [cv for cv in curves if cv is not None]
    if len(seen) < 2 or max(abs(cv[0]) for cv in seen) < 0.5 * CURVE_BOW:  # (no side bows: no lens)
        return None
    c = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    r2 = (w * w + h * h) / 4.0
    g = np.array([_lens_bow(cv[1], cv[2], c, r2) for cv in seen])
    b = np.array([cv[0] for cv in seen])
    gg = float(g @ g)
    if gg < 1e-12:
        return None
    k = float(g @ b) / gg
    for _ in range(2):
        # The bows' shape is the undistorted sides': a distorted side lies nearer the centre, where
        # the lens bends less, and its shape alone overstates k (by some 15 % at k = -0.08).
        if k >= 0:
            break
        ends = _undistort(np.array([p for cv in seen for p in (cv[1], cv[2])]), k, w, h)
        g = np.array([_lens_bow(ends[2 * i], ends[2 * i + 1], c, r2) for i in range(len(seen))])
        gg = float(g @ g)
        if gg < 1e-12:
            return None
        k = float(g @ b) / gg
    pred = k * g
    if k >= 0 or float(np.abs(pred).max()) < CURVE_BOW:  # barrel only (a phone's, a document camera's wide lens)
        return None
    if float(np.abs(b - pred).max()) > max(CURVE_AGREE_PX, CURVE_AGREE * float(np.abs(pred).max())):
        return None
    return k


def _undistort(p: np.ndarray, k: float, w: int, h: int) -> np.ndarray:
    """Points (n, 2) of the frame as a lens without :func:`_lens`'s distortion ``k`` would show them."""
    c = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    r2 = (w * w + h * h) / 4.0
    rel = p - c
    u = rel.copy()
    for _ in range(4):
        u = rel / (1.0 + k * (u * u).sum(-1, keepdims=True) / r2)
    return c + u


def _distort(p: np.ndarray, k: float, w: int, h: int) -> np.ndarray:
    """Points (n, 2) as a lens with :func:`_lens`'s distortion ``k`` shows them (:func:`_undistort`'s inverse)."""
    c = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    r2 = (w * w + h * h) / 4.0
    rel = p - c
    return c + rel * (1.0 + k * (rel * rel).sum(-1, keepdims=True) / r2)


def _lens_corners(q: np.ndarray, curves: list, w: int, h: int) -> np.ndarray | None:
    """Where the bowed sides of the clockwise outline ``q`` meet (nan where a side is not seen):
    each side's edge points straightened by the lens's distortion (:func:`_lens`), a straight line
    fitted through them, the lines met and the meeting point bowed back (scan26 corners); None
    when no lens distortion is seen."""
    k = _lens(curves, w, h)
    if k is None:
        return None
    lines = []
    for cv in curves:
        if cv is None:
            lines.append(None)
            continue
        _bw, a, b, pts, wts, tv = cv
        use = (tv >= CURVE_SPAN[0]) & (tv <= CURVE_SPAN[1])
        und = _undistort(np.concatenate([pts[use], np.stack([a, b])]), k, w, h)
        d = und[-1] - und[-2]
        lines.append(_fit_line(und[:-2], wts[use], d / max(float(np.hypot(d[0], d[1])), 1e-9)))
    out = np.full_like(q, np.nan)
    for j in range(4):
        before, after = lines[(j - 1) % 4], lines[j]
        if before is None or after is None:
            continue
        m = _meet(before, after)
        if abs(m[2]) > 1e-12:
            out[j] = _distort((m[:2] / m[2])[None, :], k, w, h)[0]
    return out


def _fit_line(edge_pts: np.ndarray, wts: np.ndarray, d: np.ndarray, max_turn: float = 4.0) -> np.ndarray | None:
    """Robust weighted total-least-squares line through edge points; None when too few agree or
    the line turns more than ``max_turn`` degrees from direction ``d``."""
    if len(edge_pts) < 6:
        return None
    # The coordinates as two flat arrays and the sums as dot products: the detector fits
    # thousands of these small lines per frame, and numpy's per-call overhead was most of it.
    x, y = edge_pts[:, 0].copy(), edge_pts[:, 1].copy()
    wts = wts.astype(np.float64)
    for _ in range(3):
        sw = float(wts.sum())
        cx, cy = float(wts @ x) / sw, float(wts @ y) / sw
        dx, dy = x - cx, y - cy
        wdx = wts * dx
        # The major axis of the weighted scatter (as _principal_direction).
        ang = 0.5 * math.atan2(2.0 * float(wdx @ dy), float(wdx @ dx) - float((wts * dy) @ dy))
        ux, uy = math.cos(ang), math.sin(ang)
        res = np.abs(dy * ux - dx * uy)  # distance from the line
        thr = max(1.0, 2.5 * float(_median(res)))
        keep = res <= thr
        n_keep = int(np.count_nonzero(keep))
        if n_keep == len(keep) or n_keep < 6:
            break
        x, y, wts = x[keep], y[keep], wts[keep]
    if abs(ux * float(d[0]) + uy * float(d[1])) < math.cos(math.radians(max_turn)):
        return None
    # The line through (cx, cy) and one step along it (_line_through written out).
    return np.array([-uy, ux, cx * (cy + uy) - cy * (cx + ux)])


def _refine(img: np.ndarray, corners: np.ndarray, scale: float, fine: bool = True,
            max_turn: float = 4.0, tight: bool = True, lens: bool = True) -> np.ndarray:
    """Refine corners found on the downscaled image (``scale`` = full / small) at full size;
    ``fine`` also fits each end of a side on its own (for a side bowed by the lens); a side may
    turn by up to ``max_turn`` degrees. ``lens`` lets the corners follow a lens's bow about
    ``img``'s centre (False on a zoomed crop: the lens is centred on the frame, not the crop)."""
    h, w = img.shape[:2]
    q = corners.copy()
    if _signed_area(q) < 0:
        q = q[::-1].copy()
    radius = 1.5 * scale + 2.0
    lines, starts, stops, curves = [], [], [], []
    for k in range(4):
        a, b = q[k], q[(k + 1) % 4]
        border = _side_on_border(a, b, w, h, 1.0 + 0.5 * scale)
        seg = _clip_segment(a, b, w, h, pad=radius + 2.0)
        if not fine:
            ln = None if seg is None else _refine_side(img, seg[0], seg[1], radius, border, max_turn=max_turn)
            start = stop = None
        else:
            got = None if seg is None else _refine_side(img, seg[0], seg[1], radius, border, ends=True)
            ln, start, stop, curve = got if got is not None else (None, None, None, None)
            curves.append(curve)
        if ln is not None and tight:
            # A second pass with a tight window, centred on the first estimate.
            seg2 = _clip_segment(_project_onto(ln, a), _project_onto(ln, b), w, h, pad=4.5)
            ln2 = None if seg2 is None else _refine_side(img, seg2[0], seg2[1], 2.5, False)
            ln = ln2 if ln2 is not None else ln
        # An end line only counts where that end of the side is seen (not clipped by the frame).
        near = 0.1 * np.linalg.norm(b - a)
        seen_a = seg is not None and np.linalg.norm(seg[0] - a) < near
        seen_b = seg is not None and np.linalg.norm(seg[1] - b) < near
        lines.append(ln if ln is not None else _line_through(a, b))
        starts.append(start if seen_a else None)
        stops.append(stop if seen_b else None)
    bowed = _lens_corners(q, curves, w, h) if fine and lens and SCAN26_CORNERS else None
    out = np.empty_like(q)
    for k in range(4):
        cands = []
        before, after = stops[(k - 1) % 4], starts[k]
        if before is not None and after is not None:
            cands.append(_meet(before, after))
        cands.append(_meet(lines[(k - 1) % 4], lines[k]))
        out[k] = q[k]
        for p in cands:
            if abs(p[2]) < 1e-12:
                continue
            cand = p[:2] / p[2]
            if np.linalg.norm(cand - q[k]) < 3 * radius:
                out[k] = cand
                break
        if bowed is not None and not np.isnan(bowed[k, 0]):
            # (a corner outside the frame may move further: the lens bends its sides most there)
            reach = 3 * radius if _in_frame(q[k:k + 1], w, h)[0] else CURVE_OUT_MOVE * float(
                np.linalg.norm(q[(k + 1) % 4] - q[(k - 1) % 4]))
            if np.linalg.norm(bowed[k] - out[k]) < reach:
                out[k] = bowed[k]
    return out


def _one_way_round(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The outline with its corners in the order that puts each side's outward normal at
    (dy, -dx), each side's vector (corner k to k + 1) and length."""
    q = corners.copy()
    if _signed_area(q) < 0:
        q = q[::-1].copy()
    e = q[[1, 2, 3, 0]] - q
    return q, e, np.sqrt((e * e).sum(1))


def _settle_sides(img: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Move a side of the final outline that runs along the page's drop shadow or along a rule
    printed on it onto the paper's edge (scan16).

    * **Drop shadow.** A card a little darker than the desk casts a shadow darker than both: its
      outer edge is then a step of the right polarity all round and often the stronger one, so
      the search and the refinement may take it for the card's edge. Across such a side the
      strip just inside is darker than the desk outside *and* than the card further in, and has
      the desk's hue; the card's edge is the first clear rise in brightness going inwards from
      it. (A soft shadow's edge is a ramp many pixels wide and the side may lie anywhere on it:
      the strip is the darkest few pixels within ``SHADOW_BAND`` of the side.)
      A shadow still dark ``SHADOW_DEPTH`` in (a card lifted off the desk, a low light) is looked
      through to ``SHADOW_WIDE`` when it is ``SHADOW_WIDE_DARK`` darker than the desk and than the
      card there: a band printed along the card's edge is paler than that (scan20).
    * **Printed rule.** On a white desk a form's printed frame is a far clearer outline than the
      paper's own edge a few millimetres further out. Across such a side a thin dark line has
      the same paper on both sides; the paper's edge is the first offset beyond it from which
      the colour stays the desk's.
    """
    h, w = img.shape[:2]
    q, e, lens = _one_way_round(corners)
    depth = int(min(max(SHADOW_DEPTH * float(lens.min()), 12.0), 40.0))
    reach = int(min(max(PRINT_REACH * float(lens.min()), 12.0), 80.0))
    sides = []
    for k in range(4):
        a, b = q[k], q[(k + 1) % 4]
        if lens[k] < 16 or _side_on_border(a, b, w, h, 2.0):
            continue
        seg = _clip_segment(a, b, w, h, pad=depth + 2.0)
        if seg is None or float(np.linalg.norm(seg[1] - seg[0])) < 0.4 * float(lens[k]):
            continue
        d = e[k] / lens[k]
        n_out = np.array([d[1], -d[0]])
        pts = seg[0][None, :] + (seg[1] - seg[0])[None, :] * _SHADOW_T[:, None]
        sides.append((k, pts, n_out))
    if not sides:
        return corners
    # First a cheap look at every side at once, in one row of samples (cv2.remap takes several
    # times longer over a 2-D map of scattered points): the paper deep inside (3), the strip
    # and the rule (-8 .. 1), the desk or the paper beyond a rule (2 .. 5).
    wide = int(min(max(SHADOW_WIDE * float(lens.min()), 12.0), 64.0))
    look = np.array([-depth, -depth + 2, -depth + 4] + list(range(-SHADOW_BAND, 6)) + [-wide, -wide + 2, -wide + 4],
                    np.float64)
    z = 3 + SHADOW_BAND  # look[z] == 0
    nt = len(_SHADOW_T)
    mx = np.concatenate([(pts[:, 0, None] + n[0] * look[None, :]).ravel() for _, pts, n in sides])
    my = np.concatenate([(pts[:, 1, None] + n[1] * look[None, :]).ravel() for _, pts, n in sides])
    prof = cv2.remap(img, mx[None, :].astype(np.float32), my[None, :].astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE).reshape(len(sides), nt, len(look), 3)
    col = np.partition(prof.astype(np.float32), nt // 2, axis=1)[:, nt // 2]  # the median along each side
    lum = col.mean(-1)
    deep, out = lum[:, :3].mean(1), lum[:, z + 2:z + 6:2].mean(1)
    nb = SHADOW_BAND
    run3 = (lum[:, 3:1 + nb] + lum[:, 4:2 + nb] + lum[:, 5:3 + nb]) / 3.0  # the strip: the darkest three
    band = run3.min(1)
    shadow = (band < out - SHADOW_DARK) & (band < deep - SHADOW_DARK)
    # A shadow wider than the search (a card lifted off the desk, low light): still dark at the
    # search's depth, the card further in (scan20).
    wide_shadow = np.zeros(len(sides), bool)
    if SCAN20:
        deep_w = lum[:, -3:].mean(1)
        wide_shadow = ~shadow & (band < out - SHADOW_WIDE_DARK) & (deep < out - SHADOW_WIDE_DARK) & (
            band < deep_w - SHADOW_WIDE_DARK)
        shadow |= wide_shadow
    inside, beyond = col[:, z - 6:z - 2].mean(1), col[:, z + 3:z + 6].mean(1)
    line = lum[:, z - 1:z + 2].min(1)
    rule = (_norm3(inside - beyond) <= PRINT_SAME) & (line < np.minimum(inside.mean(-1), beyond.mean(-1)) - PRINT_DARK)
    # A printed band (a card's number line, its photo, a header) inside the side with the paper
    # just beyond it: the same paper as just inside another side, lighter than the band (scan19).
    band_in = np.zeros(len(sides), bool)
    if SCAN19 and len(sides) > 1:
        for i in range(len(sides)):
            others = np.delete(inside, i, axis=0)
            band_in[i] = (inside[i].mean() < beyond[i].mean() - PRINT_DARK
                          and float(_norm3(others - beyond[i]).min()) <= BAND_SAME)
    band_in &= ~rule
    if not (shadow.any() or rule.any() or band_in.any()):
        return corners
    band_reach = int(min(max(BAND_REACH * float(lens.min()), 12.0), 120.0))
    lines = [_line_through(q[k], q[(k + 1) % 4]) for k in range(4)]
    moved = False
    for i, (k, pts, n_out) in enumerate(sides):
        # (A rule's line is a dark strip too: the shadow's tests tell them apart.)
        shift = _shadow_shift(img, pts, n_out, wide if wide_shadow[i] else depth) if shadow[i] else None
        if shift is None and rule[i] and np.all(_in_frame(pts + n_out * reach, w, h, pad=2.0)):  # desk seen
            shift = _rule_shift(img, pts, n_out, reach, (inside[i] + beyond[i]) / 2)
        if shift is None and band_in[i] and np.all(_in_frame(pts + n_out * band_reach, w, h, pad=2.0)):
            shift = _rule_shift(img, pts, n_out, band_reach, beyond[i])
            if shift is not None and not _sharp_step(img, pts, n_out, band_reach, beyond[i], shift,
                                                     BAND_SHARP, PRINT_DARK):
                shift = None
        if shift is None:
            continue
        a2, b2 = q[k] + n_out * shift, q[(k + 1) % 4] + n_out * shift
        seg2 = _clip_segment(a2, b2, w, h, pad=4.5)
        ln2 = None if seg2 is None else _refine_side(img, seg2[0], seg2[1], 2.5, False)
        lines[k] = ln2 if ln2 is not None else _line_through(a2, b2)
        moved = True
    if not moved:
        return corners
    out_q = np.empty_like(q)
    for k in range(4):
        p = _meet(lines[(k - 1) % 4], lines[k])
        out_q[k] = p[:2] / p[2] if abs(p[2]) > 1e-12 else q[k]
    return out_q


def _across(img: np.ndarray, pts: np.ndarray, n_out: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """Median colour (offsets, 3) across a side at ``offs`` along its outward normal."""
    mx = (pts[:, 0, None] + n_out[0] * offs[None, :]).astype(np.float32).reshape(1, -1)
    my = (pts[:, 1, None] + n_out[1] * offs[None, :]).astype(np.float32).reshape(1, -1)
    prof = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    nt = len(pts)
    return np.partition(prof.reshape(nt, len(offs), 3).astype(np.float32), nt // 2, axis=0)[nt // 2]


def _shadow_shift(img: np.ndarray, pts: np.ndarray, n_out: np.ndarray, depth: int) -> float | None:
    """How far outwards (negative: inwards) the paper's edge lies from a side on its drop
    shadow's edge; None when the dark strip is no shadow (:func:`_settle_sides`)."""
    offs = np.arange(-depth, SHADOW_OUT + 0.01, 1.0)
    i0 = depth  # offs[i0] == 0
    col = _across(img, pts, n_out, offs)
    lum = col.mean(-1)
    # A shadow darkens the desk and keeps its hue; a darker strip printed along a card's edge
    # (its header band) has the card's own.
    cb, co = col[i0 - 3:i0].mean(0), col[i0 + 2:].mean(0)
    if float(np.abs(cb / max(float(cb.sum()), 1.0) - co / max(float(co.sum()), 1.0)).max()) > SHADOW_HUE:
        return None
    out, deep = float(lum[i0 + 2:].mean()), float(lum[:5].mean())
    rise = lum[:-2] - lum[2:]  # brighter inwards, centred on offs[1:-1]
    lo, hi = 3, i0 - 3  # between the deep part and the strip
    if hi <= lo:
        return None
    # The first clear rise going inwards: past it may lie a darker band printed along the card's
    # edge, then the card itself.
    r = rise[lo - 1:hi - 1]
    top = float(r.max())
    if top < 0.5 * SHADOW_DARK:
        return None
    peak = (r >= SHADOW_FIRST * top) & (r >= np.concatenate([r[1:], [-np.inf]])) & (
        r >= np.concatenate([[-np.inf], r[:-1]]))
    j = lo + int(np.flatnonzero(peak)[-1])
    # A shadow is dark all across; a printed rule (an outline that is a form's frame, not its
    # edge) has paper beyond it, up to the next rule.
    if float(_median(lum[j + 1:i0])) > min(out, deep) - 0.5 * SHADOW_DARK:
        return None
    return float(offs[j])


def _sharp_step(img: np.ndarray, pts: np.ndarray, n_out: np.ndarray, reach: int, surface: np.ndarray,
                shift: float, half: float = 4.0, least: float = RULE_STEP) -> bool:
    """Whether the step ``shift`` px out from a side (:func:`_rule_shift`) is a paper's edge: a clear
    step (``least`` or more) from ``surface`` to a colour that stays, at least half of it within
    ``half`` px either side (a
    plate's or desk's uneven light, or a soft shadow's ramp, passes for a faint, gradual step, a
    ruler's tick for one at the end of the search)."""
    if shift > reach - 8:
        return False
    c = _across(img, pts, n_out, np.array([shift - half, shift + half, reach - 1.0]))
    jump, total = c[1] - c[0], c[2] - surface
    return float(total @ total) >= least ** 2 and float(jump @ total) >= 0.5 * float(total @ total)


def _rule_shift(img: np.ndarray, pts: np.ndarray, n_out: np.ndarray, reach: int,
                paper: np.ndarray) -> float | None:
    """How far outwards the paper's edge lies from a side on a rule printed on it; None when the
    colour beyond never settles on something else (:func:`_settle_sides`)."""
    offs = np.arange(3.0, reach + 0.01, 1.0)
    col = _across(img, pts, n_out, offs)
    u = col[-4:].mean(0) - paper  # towards the desk's colour, far beyond the rule
    nu = float(np.sqrt(u @ u))
    if nu < PRINT_STEP:
        return None
    past = (col - paper) @ (u / nu) > 0.5 * nu
    stays = np.flip(np.logical_and.accumulate(np.flip(past)))  # the desk from here on
    if not stays.any():
        return None
    return float(offs[int(np.flatnonzero(stays)[0])]) - 0.5


def _clip_segment(a: np.ndarray, b: np.ndarray, w: int, h: int, pad: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The part of segment a→b at least ``pad`` inside the frame (Liang-Barsky); None if none."""
    t0, t1 = 0.0, 1.0
    d = b - a
    for k, size in ((0, w), (1, h)):
        lo, hi = pad - 0.5, size - 0.5 - pad
        if abs(d[k]) < 1e-12:
            if not lo <= a[k] <= hi:
                return None
            continue
        u1, u2 = (lo - a[k]) / d[k], (hi - a[k]) / d[k]
        t0, t1 = max(t0, min(u1, u2)), min(t1, max(u1, u2))
    if t1 - t0 <= 0:
        return None
    return a + d * t0, a + d * t1


def _project_onto(line: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Project point p onto a homogeneous line."""
    n = line[:2]
    nn = float(n @ n)
    return p - n * (float(n @ p) + line[2]) / nn


# --------------------------------------------------------------------------------------------


def _same_surface(a: np.ndarray, b: np.ndarray) -> bool:
    """Tell whether two weighted YCrCb colours can be one surface, partly in shadow."""
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    if np.linalg.norm(a - b) < 20.0:
        return True
    # A shadow over part of a card scales its colour: brightness changes, the chroma relative
    # to brightness does not.
    ya, yb = max(float(a[0]), 1.0), max(float(b[0]), 1.0)
    chroma_a = (a[1:] / _CHROMA_WEIGHT[1:] - 128.0) / ya
    chroma_b = (b[1:] / _CHROMA_WEIGHT[1:] - 128.0) / yb
    return 0.4 < ya / yb < 2.5 and bool(np.all(np.abs(chroma_a - chroma_b) < 0.025))


def _side_angles(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64).reshape(4, 2)
    e = q[[1, 2, 3, 0]] - q
    return np.arctan2(e[:, 1], e[:, 0]) % np.pi


def _aligned(outer: np.ndarray, inner: np.ndarray, tol_deg: float = 15.0) -> bool:
    """Tell whether every side of ``outer`` runs nearly parallel to some side of ``inner``."""
    diff = np.abs(_side_angles(outer)[:, None] - _side_angles(inner)[None, :])
    diff = np.minimum(diff, np.pi - diff)
    return bool(np.all(diff.min(1) < np.radians(tol_deg)))


def _outermost(quads: list[np.ndarray], score: np.ndarray, area: np.ndarray, n_border: np.ndarray,
               inside: np.ndarray, outside: np.ndarray, best: int, regions: _Regions,
               iou: np.ndarray | None = None) -> int:
    # A card's photo, a form's boxed table or a figure is a well-supported rectangle in its own
    # right; when an almost as well supported outline encloses it, that outline is the page.
    inner = np.asarray(quads[best], dtype=np.float32)
    choice = best
    for k in np.argsort(-score):
        if score[k] < max(MIN_SCORE + 0.1, score[best] - OUTER_DROP):
            break
        # Well larger only: a slightly larger quad around the page is a side on a hand, a shadow
        # or the desk's grain (a card is six times its photo, a form at least twice its table).
        # (One side more on the frame border is allowed: a card pushed against the frame's edge
        # around its photo.)
        if area[k] < OUTER_AREA * area[choice] or n_border[k] > n_border[choice] + 1:
            continue
        # With the page-mask network at hand, the enclosing outline must not take in what the
        # network calls desk: around a card's photo it agrees better with the card, while an
        # outline running on over a white desk past a blank page agrees less (scan16).
        if iou is not None and iou[k] < iou[choice] - OUTER_IOU_LOSS:
            continue
        # What surrounds the inner outline must be the outer one's own surface (the card around
        # its photo), not desk that a false outer quad happens to take in.
        if not (_same_surface(outside[choice], inside[k]) or regions.same_surface(quads[choice], quads[k])):
            continue
        # A card and its photo, a form and its table, share one plane and its axes; an outline
        # of desk grain or shadow around the page runs at whatever angle it likes.
        if not _aligned(quads[k], inner):
            continue
        outer = np.asarray(quads[k], dtype=np.float32).reshape(-1, 1, 2)
        # (A little slack: a photo printed close to the card's edge, bowed by the lens.)
        if all(cv2.pointPolygonTest(outer, (float(x), float(y)), True) > -CONTAIN_SLACK for x, y in inner):
            choice = int(k)
            inner = np.asarray(quads[k], dtype=np.float32)
    return choice


def _line_candidates(ycc_f: np.ndarray, gray: np.ndarray, contrast: float) -> list[np.ndarray]:
    """Return quads built from the straight lines LSD finds in ``gray``."""
    sh, sw = gray.shape
    segs = _lsd().detect(gray)[0]
    if segs is None:
        return []
    segs = segs.reshape(-1, 4).astype(np.float64)
    length = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    segs = segs[length >= max(6.0, 0.03 * min(sw, sh))]
    if not len(segs):
        return []
    pol, step = _segment_steps(ycc_f, segs)
    # Faint segments count for less: wood grain and cloth texture against a page border.
    wt = np.clip(step / (4.0 * contrast), 0.25, 1.0)
    length = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    keep = np.argsort(-length * wt)[:250]
    lines = _merge_segments(segs[keep], (sh, sw), pol[keep], wt[keep])
    return list(_line_quads(lines, (sh, sw), ycc_f, contrast))


@dataclass(frozen=True)
class PageDetection:
    """A page outline and how sure the detector is of it."""

    corners: np.ndarray  # (4, 2) TL, TR, BR, BL in frame pixels; may lie outside the frame
    confidence: float  # 0..1: the length-weighted share of the outline showing one clean step,
    #                    less what was guessed (sides outside the frame or on its border)
    corners_outside: int  # how many corners lie outside the frame (predicted, not seen)


def find_page(frame: object) -> np.ndarray | None:
    """Find the page in a frame; return its corners (4, 2) as TL, TR, BR, BL, or None.

    A corner outside the frame (or under a hand) is predicted where the visible sides meet, so
    the result may lie partly outside the image.

    :param frame: an image array (BGR, BGRA or grey; any numeric dtype).
    """
    found = detect_page(frame)
    return None if found is None else found.corners


def detect_page(frame: object) -> PageDetection | None:
    """Find the page in a frame with a confidence value; None when no outline is good enough.

    :param frame: an image array (BGR, BGRA or grey; any numeric dtype).
    """
    img = as_bgr8(frame)
    if img is None:
        return None
    found = _detect(img)
    if found is None:
        return None
    refined, score = found
    if SCAN26_ZOOM:
        refined, score = _zoom(img, refined, score)
    h, w = img.shape[:2]
    outside = int((~_in_frame(refined, w, h, pad=-1.0)).sum())
    return PageDetection(refined, float(np.clip(score, 0.0, 1.0)), outside)


def _working(img: np.ndarray) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray, np.ndarray, float]:
    """The working copy of ``img`` (``WORK_SIZE`` on its long side), its scale (x, y), its blurred
    YCrCb (8-bit), luma and float copies and its contrast threshold."""
    h, w = img.shape[:2]
    s = min(1.0, WORK_SIZE / max(h, w))
    if s < 1.0:
        sw, sh = max(16, round(w * s)), max(16, round(h * s))
        # Two halvings first where the frame allows (1920 -> 960 -> 480): INTER_AREA at a
        # factor of two costs half what it does at four, for the same picture.
        src = img
        while src.shape[1] >= 2 * sw and src.shape[0] >= 2 * sh and max(src.shape[:2]) > 2 * WORK_SIZE:
            src = cv2.resize(src, (src.shape[1] // 2, src.shape[0] // 2), interpolation=cv2.INTER_AREA)
        small = cv2.resize(src, (sw, sh), interpolation=cv2.INTER_AREA)
    else:
        sw, sh, small = w, h, img
    sx, sy = sw / w, sh / h
    ycc8 = cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb)
    ycc8 = cv2.GaussianBlur(ycc8, (3, 3), 0)
    gray = ycc8[..., 0]
    ycc_f = ycc8.astype(np.float32)
    contrast = _contrast_threshold(gray)
    return small, sx, sy, ycc8, gray, ycc_f, contrast


def _detect(img: np.ndarray, hint: np.ndarray | None = None) -> tuple[np.ndarray, float] | None:
    """:func:`detect_page`'s search on one picture: the outline (frame pixels) and its edge score.
    ``hint``, an outline in ``img``'s pixels, is one more candidate for both the fast path and the
    full search (scan26: the whole frame's answer, ranked again on a zoomed crop)."""
    h, w = img.shape[:2]
    small, sx, sy, ycc8, gray, ycc_f, contrast = _working(img)
    mask, pick, seen = None, None, None
    extra = [] if hint is None else [(hint + 0.5) * np.array([sx, sy]) - 0.5]
    if pagenet.available():
        # The 64-pixel network first: when its mask alone gives the fast path's answer, the
        # 128-pixel one (three times its CPU) is not needed; otherwise the two are averaged and
        # everything is decided on that mask (scan14). A doubtful 64-pixel mask goes there at once.
        first = pagenet.small_mask(small)
        if FAST_PATH and hint is None and pagenet.doubt(first) <= pagenet.GATE_DOUBT:
            seen = _Mask(small, pagenet.on_grid(first))
            pick = _fast_pick(small, ycc_f, contrast, seen)
        if pick is None:
            mask = seen = _Mask(small, pagenet.page_mask(small, first))
            if extra:
                extra = _zoom_candidates(small, mask, extra[0])
            pick = _fast_pick(small, ycc_f, contrast, mask, extra) if FAST_PATH else None
    if pick is None:
        pick = _full_search(small, ycc8, ycc_f, gray, contrast, mask, img, extra)
    if pick is None:
        return None
    small_q, score = pick
    full_q = (small_q + 0.5) / np.array([sx, sy]) - 0.5
    refined = order_corners(_settle_sides(img, _refine(img, full_q, 1.0 / min(sx, sy), lens=hint is None)))
    ran_out = False
    if SCAN20:
        refined, ran_out = _run_out(img, refined, seen, (sx, sy))
    # A page seen running on out of the frame is closed at a known shape on the edges' word: the
    # network's mask (8 % of the frame past its edge) does not reach where its far side lies.
    refined = _close_cut_page(refined, w, h, None if ran_out else seen, (sx, sy), img)
    return refined, score


def _zoom_box(q: np.ndarray, w: int, h: int) -> tuple[int, int, int, int] | None:
    """The crop (x0, y0, width, height) of the frame's aspect round the outline ``q`` with
    ``ZOOM_MARGIN`` to spare, or None when the outline is not wholly inside the frame or the crop
    would not be much smaller than the frame."""
    inset = ZOOM_INSET * max(w, h)
    lo, hi = q.min(0), q.max(0)
    if lo.min() < inset or hi[0] > w - 1 - inset or hi[1] > h - 1 - inset:
        return None
    ext = hi - lo
    cw, ch = ext + 2.0 * ZOOM_MARGIN * float(ext.max())
    cw = max(float(cw), float(ch) * w / h)
    if cw > ZOOM_MAX_CROP * w:
        return None
    ch = cw * h / w
    centre = (lo + hi) / 2.0
    x0 = round(min(max(centre[0] - cw / 2.0, 0.0), w - cw))
    y0 = round(min(max(centre[1] - ch / 2.0, 0.0), h - ch))
    return x0, y0, round(cw), round(ch)


def _zoom(img: np.ndarray, q: np.ndarray, score: float) -> tuple[np.ndarray, float]:
    """The outline of a small, doubtful page found again on a crop round it (scan26), with ``q``
    itself one of the crop's candidates; ``q`` and ``score`` unchanged when there is no such crop
    or the crop's answer runs onto a side of the crop that is not the frame's edge."""
    h, w = img.shape[:2]
    if score >= ZOOM_SCORE or max(h, w) <= WORK_SIZE:  # (a small frame is searched at full size already)
        return q, score
    box = _zoom_box(q, w, h)
    if box is None:
        return q, score
    x0, y0, cw, ch = box
    off = np.array([x0, y0], dtype=np.float64)
    crop = img[y0:y0 + ch, x0:x0 + cw]
    got = _detect(crop, q - off)
    if got is None:
        return q, score
    zq, zscore = got
    if zscore < MIN_SCORE:
        return q, score  # (the crop's mask alone, against the edges)
    tol = ZOOM_EDGE * max(cw, ch) / WORK_SIZE
    cut = ((zq[:, 0] < tol) & (x0 > 0)) | ((zq[:, 0] > cw - 1 - tol) & (x0 + cw < w)) | \
          ((zq[:, 1] < tol) & (y0 > 0)) | ((zq[:, 1] > ch - 1 - tol) & (y0 + ch < h))
    if cut.any():
        return q, score
    return zq + off, zscore


def _card_completions(small: np.ndarray, q: np.ndarray) -> list[np.ndarray]:
    """Outlines of an ID-1 card (``CARD_ASPECTS``) that ``q`` would be with one side moved out,
    along its neighbours, to where the card's shape puts it and snapped there to the working
    image's edge (scan26): a card's pale band or the desk's colour beside it hides that side, and
    the search stops at its photo, its number row or a coloured band."""
    if _signed_area(q) < 0:
        q = q[::-1]
    lens = np.linalg.norm(np.roll(q, -1, axis=0) - q, axis=1)
    out = []
    for k in range(4):
        along = 0.5 * (lens[k] + lens[(k + 2) % 4])
        across = 0.5 * (lens[(k + 1) % 4] + lens[(k + 3) % 4])
        for target in (along * CARD_ASPECTS[1], along * CARD_ASPECTS[0]):
            if not (1.0 + ZOOM_CARD_TOL) * across < target < ZOOM_CARD_REACH * across:
                continue
            prev, a, b, nxt = q[(k - 1) % 4], q[k], q[(k + 1) % 4], q[(k + 2) % 4]
            a2 = prev + (a - prev) * (target / max(lens[(k - 1) % 4], 1e-6))
            b2 = nxt + (b - nxt) * (target / max(lens[(k + 1) % 4], 1e-6))
            ln = _refine_side(small, a2, b2, ZOOM_CARD_RADIUS * target + 2.0, False, max_turn=MASK_TURN)
            if ln is None:
                continue
            pa, pb = _meet(ln, _line_through(prev, a)), _meet(ln, _line_through(nxt, b))
            if abs(pa[2]) < 1e-12 or abs(pb[2]) < 1e-12:
                continue
            c = q.copy()
            c[k], c[(k + 1) % 4] = pa[:2] / pa[2], pb[:2] / pb[2]
            out.append(c)
    return out


def _mixed(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """The outlines that take each side from one of two outlines of one page (corners matched
    round the two), their corners where the chosen sides meet: the whole frame's outline may have
    stopped short on two sides that the crop's mask outline finds, and that outline may be off on
    another (scan26)."""
    a = order_corners(a)
    b = order_corners(b)
    b = min((np.roll(b, -r, axis=0) for r in range(4)), key=lambda r: float(np.abs(r - a).sum()))
    reach = 1.5 * float(np.linalg.norm(a - b, axis=1).max()) + 2.0
    lines = [[_line_through(q[k], q[(k + 1) % 4]) for k in range(4)] for q in (a, b)]
    out = []
    for pick in range(1, 15):  # (neither outline as it is)
        ln = [lines[(pick >> k) & 1][k] for k in range(4)]
        c = np.empty((4, 2))
        for k in range(4):
            p = _meet(ln[(k - 1) % 4], ln[k])
            if abs(p[2]) < 1e-12:
                break
            c[k] = p[:2] / p[2]
        else:
            if (np.minimum(np.linalg.norm(c - a, axis=1), np.linalg.norm(c - b, axis=1)) < reach).all():
                out.append(c)
    return out


def _zoom_candidates(small: np.ndarray, mask: _Mask, hint: np.ndarray) -> list[np.ndarray]:
    """The whole frame's outline ``hint`` (working pixels of the crop ``small``), last, after its
    side-by-side mixtures with the crop's mask outlines and its completions to a card's shape."""
    out = []
    if ZOOM_MIX:
        out += [c for o in _mask_outlines(small, mask) for c in _mixed(hint, o)]
    if ZOOM_CARD:
        out += _card_completions(small, hint)
    return out + [hint]


def _run_out(img: np.ndarray, corners: np.ndarray, mask: _Mask | None,
             scale: tuple[float, float]) -> tuple[np.ndarray, bool]:
    """Move a side on a line printed across the page, with the page beyond it up to the frame's
    edge, out onto that edge: the page runs out of the picture there (scan20).

    A form or a table cut off by the frame shows no edge on that side, and the nearest straight
    step to it is a printed rule a little inside the frame. Such a rule is a thin dark line with the
    same paper on both sides; a page's edge has the desk beyond it. The side is moved when, across
    it (11 samples along it), the line is ``RUNOUT_LINE`` darker than the paper either side, the
    frame's edge lies within ``RUNOUT_REACH`` of the shorter side beyond it, just beyond the line
    is the paper inside it (within ``PRINT_SAME``; ink looked through, :func:`_paper`), the colour
    on the way to the frame's edge changes by no more than ``RUNOUT_STEP`` within
    ``RUNOUT_STEP_PX`` (lighting drifts slowly, the paper's edge onto a desk is a step), and the
    page-mask network agrees with the moved outline at least as well. Without the network nothing
    moves: on the 1,200 photos of the dev seeds, with the mask's agreement loosened by
    ``CUT_IOU_LOSS``, those tests also moved sides that were the page's own edge a few pixels
    inside the frame.

    Since scan25 the page's own print also moves a side (:func:`_page_beyond`: text, figures or
    rules beyond it running on to the frame's edge, on paper as bright as inside): where no line
    is at the side (it lay on a column of text), where the frame's edge comes within
    ``RUNOUT_STEP_PX`` at one end, where the way beyond dips for a row of print (its running
    median changes by at most ``RUNOUT_STEP_SOFT``), or where the network agrees up to
    ``RUNOUT_IOU_LOSS`` less (its mask fades near the frame's edge under glare).
    :func:`_close_cut_page` may then close the page at a known shape. Returns the outline and
    whether a side moved.
    """
    if mask is None:
        return corners, False
    h, w = img.shape[:2]
    q, e, lens = _one_way_round(corners)
    reach = RUNOUT_REACH * float(lens.min())
    frame = [np.array([1.0, 0.0, 0.5]), np.array([1.0, 0.0, -(w - 0.5)]),
             np.array([0.0, 1.0, 0.5]), np.array([0.0, 1.0, -(h - 0.5)])]  # left, right, top, bottom
    out, ran = q, False
    for k in range(4):
        a, b = q[k], q[(k + 1) % 4]
        if lens[k] < 16 or _side_on_border(a, b, w, h, 2.0):
            continue
        seg = _clip_segment(a, b, w, h, pad=4.0)
        if seg is None or float(np.linalg.norm(seg[1] - seg[0])) < 0.3 * float(lens[k]):
            continue
        d = e[k] / lens[k]
        n_out = np.array([d[1], -d[0]])
        pts = seg[0][None, :] + (seg[1] - seg[0])[None, :] * _SHADOW_T[:, None]
        # Where the normal through each sample leaves the frame, and by which edge.
        tx, ty = _frame_exits(pts, n_out, w, h)
        exits = np.minimum(tx, ty)
        by_x = tx <= ty
        # (scan25: a side that meets the frame's edge at one end, the page's print or colour beyond it.)
        if not (by_x.all() or not by_x.any()) or float(exits.max()) > reach or float(exits.min()) < (
                -4.0 if SCAN25 else RUNOUT_STEP_PX):
            continue
        edge = (1 if n_out[0] > 0 else 0) if by_x[0] else (3 if n_out[1] > 0 else 2)
        # Offsets -12 .. +16: the paper inside (-12 .. -5), the line (the darkest of -4 .. +4: the
        # third darkest sample, a dashed rule's dashes are there) and the paper beyond it (3 .. 10 px
        # past the line; a blurred line is wide).
        near = np.broadcast_to(np.arange(-12.0, 16.5, 1.0), (len(pts), 29))
        ink = _ranked(img, pts, n_out, near, 2).mean(-1)
        lum = _paper(img, pts, n_out, near).mean(-1)
        j = 8 + int(np.argmin(ink[8:17]))
        lined = float(ink[j]) <= min(float(lum[:8].max()), float(lum[j + 3:j + 11].max())) - RUNOUT_LINE
        if not (lined or SCAN25):
            continue
        # The paper inside the line, and the way beyond it to the frame's edge (in the same share
        # for every sample, a pixel a step where the frame's edge is furthest), looked at alike.
        # Without a line, the way starts just past the side.
        start = float(j - 12) + 4.0 if lined else 2.0
        t = np.linspace(0.0, 1.0, max(int(exits.max() - 2.0 - start), 2))
        offs = np.concatenate([np.broadcast_to(np.arange(-12.0, -4.5, 1.0), (len(pts), 8)),
                               start + (exits[:, None] - 2.0 - start) * t[None, :]], axis=1)
        col = _paper(img, pts, n_out, offs)
        paper, beyond = col[:8].mean(0), col[8:]
        # Paper all the way: no step within RUNOUT_STEP_PX pixels (lighting drifts slowly, a page's
        # edge is sharp), starting from the paper's colour just beyond the line.
        g = RUNOUT_STEP_PX
        step = _norm3(beyond[g:] - beyond[:-g]) if len(beyond) > g else np.zeros(1)
        smooth = float(step.max()) <= RUNOUT_STEP
        if not smooth and SCAN25 and len(beyond) > g + RUNOUT_MEDIAN:
            # scan25: a row of print the paper's colour is not looked through everywhere dips the
            # way for a few pixels; a paper's edge onto the desk is a step that stays. So the way's
            # running median, within RUNOUT_STEP_SOFT, with the page's print seen beyond (below).
            half = RUNOUT_MEDIAN // 2
            run = np.median(np.lib.stride_tricks.sliding_window_view(
                np.pad(beyond, ((half, half), (0, 0)), mode="edge"), RUNOUT_MEDIAN, axis=0), axis=-1)
            soft = float(_norm3(run[g:] - run[:-g]).max()) <= RUNOUT_STEP_SOFT
        else:
            soft = smooth
        if not (_norm3(beyond[0] - paper) <= PRINT_SAME and soft):
            continue
        moved = out.copy()
        for c, other in ((k, (k - 1) % 4), ((k + 1) % 4, (k + 1) % 4)):
            p = _meet(_line_through(q[other], q[(other + 1) % 4]), frame[edge])
            if abs(p[2]) < 1e-12:
                break
            moved[c] = p[:2] / p[2]
        else:
            s = np.array(scale)
            iou = mask.iou(np.stack([(out + 0.5) * s - 0.5, (moved + 0.5) * s - 0.5]))
            plain = smooth and lined and float(exits.min()) >= RUNOUT_STEP_PX and iou[1] >= iou[0]
            if not plain:
                # scan25: past a side the network doubts, no line at the side, or the frame's
                # edge reached at one end, the page itself must show beyond it: its print, as
                # inside, or a paper colour unlike the desk beyond its seen sides.
                if not SCAN25 or iou[1] < iou[0] - RUNOUT_IOU_LOSS:
                    continue
                if not _page_beyond(img, seg, n_out, start):
                    continue
            out, ran = moved, True
    return (out, True) if ran else (corners, False)


def _frame_exits(pts: np.ndarray, n_out: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """How far along ``n_out`` from each point the frame's left or right edge lies, and its top
    or bottom edge (inf where the normal runs along them)."""
    with np.errstate(divide="ignore"):
        tx = np.where(n_out[0] > 0, (w - 0.5 - pts[:, 0]) / n_out[0],
                      np.where(n_out[0] < 0, (-0.5 - pts[:, 0]) / n_out[0], np.inf))
        ty = np.where(n_out[1] > 0, (h - 0.5 - pts[:, 1]) / n_out[1],
                      np.where(n_out[1] < 0, (-0.5 - pts[:, 1]) / n_out[1], np.inf))
    return tx, ty


def _page_beyond(img: np.ndarray, seg: tuple[np.ndarray, np.ndarray], n_out: np.ndarray, start: float) -> bool:
    """Whether the strip from ``start`` past a side to the frame's edge is the page itself: its
    print runs on there as it does inside (scan25).

    Looked at on 40 ways across the strip (12 samples each) and on as many across a strip as wide
    inside the side. Along ``RUNOUT_PAPER_ROWS`` of the side a way beyond is mostly paper (its
    median within half ``RUNOUT_PRINT_DARK`` of its second brightest sample) and as bright as the
    way inside at the same place (glare and shading change along a side, not across it); and
    ``RUNOUT_PRINT_SHARE`` of the samples beyond, on such ways, are print (``RUNOUT_PRINT_DARK``
    darker than the paper beside them), at least ``RUNOUT_PRINT_INSIDE`` times the share inside.
    Text, figures and rules running on to the frame's edge are the page's; a white desk has none
    (its grain is a few grey levels), and a page's edge blurred into the desk is no print: a way
    across it is mostly darker."""
    h, w = img.shape[:2]
    t = np.linspace(0.02, 0.98, 40)
    pts = seg[0][None, :] + (seg[1] - seg[0])[None, :] * t[:, None]
    width = np.minimum(*_frame_exits(pts, n_out, w, h)) - 1.5 - start
    keep = width >= 2.0
    if keep.sum() < 8:
        return False
    pts, width = pts[keep], width[keep]
    u = np.linspace(0.0, 1.0, 12)
    shares, mids, ons = [], [], []
    half = RUNOUT_PRINT_DARK / 2
    for sign in (1.0, -1.0):
        offs = sign * (start + width[:, None] * u[None, :])
        mx = (pts[:, 0, None] + n_out[0] * offs).astype(np.float32)
        my = (pts[:, 1, None] + n_out[1] * offs).astype(np.float32)
        g = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32).mean(-1)
        srt = np.sort(g, axis=1)
        top, mid = srt[:, -2], srt[:, g.shape[1] // 2]  # the second brightest across, the median
        on_paper = mid >= top - half
        ink = (g < top[:, None] - RUNOUT_PRINT_DARK) & on_paper[:, None]
        # Beyond, the print counted is in the outer half of the way, towards the frame's edge: a
        # page's own edge bowed by the lens bulges past a straight side with its printed border.
        shares.append(float((ink[:, 6:] if sign > 0 else ink).mean()))
        mids.append(mid)
        ons.append(on_paper)
    # The paper beyond as bright as inside at the same place along the side (glare and shading
    # change along it): the desk past a page's edge is not.
    if (ons[0] & (np.abs(mids[0] - mids[1]) <= half)).mean() < RUNOUT_PAPER_ROWS:
        return False
    return shares[0] >= RUNOUT_PRINT_SHARE and shares[0] >= RUNOUT_PRINT_INSIDE * shares[1]


def _ranked(img: np.ndarray, pts: np.ndarray, n_out: np.ndarray, offs: np.ndarray, rank: int) -> np.ndarray:
    """The ``rank``-th darkest colour (per channel; offsets, 3) of the samples across a side at
    ``offs`` (one row per sample point) along its outward normal (:func:`_across` takes the median)."""
    mx = (pts[:, 0, None] + n_out[0] * offs).astype(np.float32).reshape(1, -1)
    my = (pts[:, 1, None] + n_out[1] * offs).astype(np.float32).reshape(1, -1)
    prof = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    nt, m = offs.shape
    return np.partition(prof.reshape(nt, m, 3).astype(np.float32), rank, axis=0)[rank]


def _paper(img: np.ndarray, pts: np.ndarray, n_out: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """The paper's colour (offsets, 3) across a side, at ``offs`` (one row per sample point) along
    its outward normal, where ink printed on it may cover half: the third brightest of the samples
    at each offset (a row of text may cover half of them, the median would be ink), and of those
    the brightest within ``RUNOUT_INK`` offsets (a printed rule, text, a table's lines)."""
    col = _ranked(img, pts, n_out, offs, len(pts) - 3)
    m = len(col)
    win = np.lib.stride_tricks.sliding_window_view(np.pad(col.mean(-1), RUNOUT_INK, mode="edge"),
                                                   2 * RUNOUT_INK + 1)
    return col[np.clip(np.arange(m) - RUNOUT_INK + win.argmax(1), 0, m - 1)]


def _close_cut_page(q: np.ndarray, w: int, h: int, mask: _Mask | None,
                    scale: tuple[float, float], img: np.ndarray | None = None) -> np.ndarray:
    """Close a page with one side cut off by the frame at a known document shape (scan17).

    The outline of such a page ends on the frame's edge, or a little past it where the mask ran
    on; its far side is unseen. The near side and the two sides running out of the frame fix the
    page's plane (a pinhole camera, focal length about the frame's diagonal): the far side is
    put at the shortest length that A-series paper (1 : sqrt 2) or an ID-1 card (85.6 x 54 mm),
    either way round, gives past what the frame shows, when that is at most ``CUT_REACH`` further
    out, differs from the outline's own length by ``CUT_CHANGE`` or more, is the same shape with
    the focal lengths of ``CUT_FOCALS`` (a steep view hinges on the lens, which is not known), and
    the network's mask agrees with it nearly as well. Receipts and other lengths keep the outline.
    Given the photo (scan25), the shape is guessed from the near corners first: rounded as a
    card's, only ID-1; cut square, only paper (:func:`_rounded_corners`). The shortest shape was
    a card's 54 : 85.6 for many an A4 page or a receipt cut off across. Since scan26 a card is closed
    by :func:`_close_cut_card`, and a page at any other shape only where the network agrees with it
    at least ``CUT_MASK_SEEN``.
    """
    k = _cut_side(q, w, h, CUT_TOL / min(scale))
    if k is None:
        return q
    diag = math.hypot(w, h)
    aspects = DOC_ASPECTS
    if SCAN25 and img is not None:
        # Which shape, where both could be: a card's corners are rounded, paper is cut square.
        card = _rounded_corners(img, q, k)
        if card is not None:
            aspects = CARD_ASPECTS if card else PAPER_ASPECTS
        if SCAN26_CUT and card:
            return _close_cut_card(q, k, w, h, mask, scale)
    got = _closed_at_shape(q, k, w, h, diag, aspects)
    if got is None:
        return q
    for f in CUT_FOCALS:
        # (scan26: the same shape at another focal length, however little it moves the side there)
        other = _closed_at_shape(q, k, w, h, f * diag, aspects, 0.0 if SCAN26_CUT else CUT_CHANGE)
        if other is None or other[0] != got[0]:
            return q
    out = q.copy()
    out[k], out[(k + 1) % 4] = got[1]
    if mask is not None:
        s = np.array(scale)
        iou = mask.iou(np.stack([(q + 0.5) * s - 0.5, (out + 0.5) * s - 0.5]))
        if iou[1] < iou[0] - CUT_IOU_LOSS:
            return q
        if SCAN26_CUT and iou[1] < CUT_MASK_SEEN:
            return q  # scan26: a shape taken on the network's word only where it sees the page
    return order_corners(out)


def _rounded_corners(img: np.ndarray, q: np.ndarray, k: int) -> bool | None:
    """Whether the page's two corners opposite its cut side k are rounded as an ID-1 card's
    (True), cut square as paper's (False), or the photo does not tell (None) (scan25).

    A card's corner radius is ``CARD_RADIUS`` (3.7 % of its long side, 5.9 % of its short one);
    along a corner's bisector the rounded edge lies 0.41 of the radius in. A probe
    ``CORNER_PROBE`` of that radius in is off a card (the desk's colour) and on a page cut square
    (the paper's, even with a corner worn round by 1.5 mm): it must be within ``CORNER_SURE`` of
    the way from one colour to the other, the paper ``CORNER_CONTRAST`` from the desk, at every
    corner looked at."""
    h, w = img.shape[:2]
    a, b = q[(k + 3) % 4], q[(k + 2) % 4]
    near = float(np.linalg.norm(b - a))
    rad = CARD_RADIUS / 85.6 * near  # (the near side taken as a card's long side: a short one's radius is larger)
    if CORNER_PROBE * rad * math.sqrt(2.0) < 2.0:  # too small to see
        return None
    votes = []
    for c, o1, o2 in ((a, b, q[k]), (b, a, q[(k + 1) % 4])):
        u1, u2 = (o1 - c) / max(float(np.linalg.norm(o1 - c)), 1e-9), (o2 - c) / max(float(np.linalg.norm(o2 - c)), 1e-9)
        bis = u1 + u2
        nb = float(np.linalg.norm(bis))
        if nb < 0.5:
            continue
        bis /= nb
        # (distance along the bisector to where the rounded edge lies: the radius's 0.41)
        # The probe; the desk out along the bisector, the paper in along it (medians of three
        # and five: print, a shadow's edge may lie on one or two).
        dist = np.array([CORNER_PROBE * math.sqrt(2.0), -0.7, -1.0, -1.3, 1.2, 1.6, 2.0, 2.4, 2.8]) * rad
        pts = (c[None, :] + bis[None, :] * dist[:, None]).astype(np.float32)
        if not np.all(_in_frame(pts.astype(np.float64), w, h, pad=-2.0)):
            continue
        col = cv2.remap(img, pts[:, 0][None, :], pts[:, 1][None, :], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)[0].astype(np.float32)
        probe, desk, paper = col[0], np.median(col[1:4], axis=0), np.median(col[4:], axis=0)
        span = float(_norm3(paper - desk))
        if span < CORNER_CONTRAST:
            continue
        t = float(np.dot(probe - desk, paper - desk)) / (span * span)
        if SCAN26_CUT:
            # scan26: the probe on the desk's side of the way (a corner in shade is darker
            # than the desk beside it) or on the paper's; not within CORNER_SIDE of the middle.
            vote = _corner_vote(t)
            if vote is None:
                return None
            votes.append(vote)
        elif abs(t) <= CORNER_SURE:
            votes.append(True)
        elif abs(t - 1.0) <= CORNER_SURE:
            votes.append(False)
        else:
            return None
    if not votes or len(set(votes)) > 1:
        return None
    return votes[0]


def _corner_vote(t: float) -> bool | None:
    """A corner probe's colour, as a share ``t`` of the way from the desk's to the paper's, read
    as off a card (True), on square-cut paper (False) or neither (None) (scan26)."""
    if -2.0 * CORNER_SIDE <= t <= CORNER_SIDE:
        return True
    if 1.0 - CORNER_SIDE <= t <= 1.0 + 2.0 * CORNER_SIDE:
        return False
    return None


def _close_cut_card(q: np.ndarray, k: int, w: int, h: int, mask: _Mask | None,
                    scale: tuple[float, float]) -> np.ndarray:
    """Close a card (its near corners rounded) cut off at side k at the ID-1 shape nearest to
    what the frame shows of it (scan26).

    scan17's rule closed a page only at a shape past the frame's edge, by at most ``CUT_REACH``
    and ``CUT_CHANGE`` away from the outline, and the same at every focal length of
    ``CUT_FOCALS``. On the dev seeds that left cut-off cards as the frame or the mask had them:
    the outline a few per cent short of the card's shape (no closing: the change too small at one
    focal length), or the mask's run past the frame's edge overshooting the card by 6-8 % (a
    shape short of the frame's edge never fits), or the card's short side seen longer than
    54 : 85.6 of its long one where a lens bulges the frame's edges out. Here the side is put at
    the ID-1 aspect (either way round) nearest to what the frame shows, from ``CUT_CARD_SHORT``
    short of the frame's edge to ``CUT_REACH`` past it. A shape short of the outline replaces
    it only where the outline runs past the frame's edge by at most ``CUT_CARD_BACK`` (the mask's
    guess, not the card's own edge); the side moves by at least ``CUT_CARD_CHANGE`` and, with the
    mask, the network agrees with the result nearly as well (``CUT_IOU_LOSS``)."""
    plane = _cut_plane(q, k, w, h, math.hypot(w, h))
    if plane is None:
        return q
    shown, length, close = plane
    fits = [r for r in CARD_ASPECTS if shown / CUT_CARD_SHORT <= r <= shown * (1.0 + CUT_REACH)]
    if not fits:
        return q
    r = min(fits, key=lambda v: abs(math.log(v / shown)))
    if abs(r / length - 1.0) < CUT_CARD_CHANGE:
        return q
    if r < shown and (r < length <= shown or length > shown * CUT_CARD_BACK):
        return q  # short of the frame's edge: not over the card's own edge, nor far past the frame's
    far = close(r)
    if far is None:
        return q
    out = q.copy()
    out[k], out[(k + 1) % 4] = far
    # (Short of the frame's edge the network, which sees the card up to it, always agrees less.)
    if mask is not None and r >= shown:
        s = np.array(scale)
        iou = mask.iou(np.stack([(q + 0.5) * s - 0.5, (out + 0.5) * s - 0.5]))
        if iou[1] < iou[0] - CUT_IOU_LOSS:
            return q
    return order_corners(out)


def _closed_at_shape(q: np.ndarray, k: int, w: int, h: int, f: float, aspects: tuple[float, ...] = DOC_ASPECTS,
                     change: float = CUT_CHANGE) -> tuple[float, list[tuple[float, float]]] | None:
    """For side k cut off: the document shape (an entry of ``DOC_ASPECTS``) and the two far
    corners that close the page, with focal length ``f``; None when no shape applies."""
    plane = _cut_plane(q, k, w, h, f)
    if plane is None:
        return None
    shown, length, close = plane
    fits = [r for r in aspects if shown <= r <= shown * (1.0 + CUT_REACH)]
    if not fits:
        return None
    r = min(fits)
    if abs(r / length - 1.0) < change:
        return None
    far = close(r)
    return None if far is None else (r, far)


def _cut_plane(q: np.ndarray, k: int, w: int, h: int, f: float) -> tuple[
        float, float, Callable[[float], list[tuple[float, float]] | None]] | None:
    """For side k cut off, seen with focal length ``f``: how far the frame shows the page and how
    long the outline makes it (both in lengths of the near side, on the page's plane), and the
    far corners of the page closed at a given such length (None behind the camera)."""
    a2, b2, b, a = q[k], q[(k + 1) % 4], q[(k + 2) % 4], q[(k + 3) % 4]
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0

    def ray(p: np.ndarray) -> np.ndarray:
        return np.array([(p[0] - cx) / f, (p[1] - cy) / f, 1.0])

    # The running sides meet at their vanishing point; its ray is their direction in space.
    run = _meet(_line_through(a, a2), _line_through(b, b2))
    if abs(run[2]) > 1e-9 * max(abs(run[0]), abs(run[1])):
        d1 = ray(run[:2] / run[2])
    else:
        d1 = np.array([run[0] / f, run[1] / f, 0.0])
    # The near side lies in the plane through the camera and its image line, square to d1.
    d3 = _meet(_meet(ray(a), ray(b)), d1)
    normal = _meet(d1, d3)
    if not (np.all(np.isfinite(normal)) and normal @ normal > 1e-18):
        return None
    if normal @ ray(a) < 0:
        normal = -normal

    def back(p: np.ndarray) -> np.ndarray | None:
        r = ray(p)
        z = float(normal @ r)
        return r / z if z > 1e-12 else None

    xa, xb, xa2 = back(a), back(b), back(a2)
    if xa is None or xb is None or xa2 is None:
        return None
    d1 = d1 / math.sqrt(float(d1 @ d1))
    if (xa2 - xa) @ d1 < 0:
        d1 = -d1
    near = math.sqrt(float((xb - xa) @ (xb - xa)))
    if near < 1e-12:
        return None
    # How far the frame shows the page (the farther of the two sides), and the outline's length.
    shown = 0.0
    for p, p2, x in ((a, a2, xa), (b, b2, xb)):
        e = _frame_exit(p, p2, w, h)
        xe = None if e is None else back(e)
        if xe is None:
            return None
        shown = max(shown, math.sqrt(float((xe - x) @ (xe - x))) / near)
    length = math.sqrt(float((xa2 - xa) @ (xa2 - xa))) / near

    def close(r: float) -> list[tuple[float, float]] | None:
        far = []
        for x in (xa, xb):
            p = x + r * near * d1
            if p[2] <= 1e-12:
                return None
            far.append((f * p[0] / p[2] + cx, f * p[1] / p[2] + cy))
        return far

    return shown, length, close


def _cut_side(q: np.ndarray, w: int, h: int, tol: float) -> int | None:
    """The side q[k]→q[k+1] whose two corners lie on the frame's edge (within ``tol`` pixels) or
    past it while the other two are inside (a page with one side cut off); None if there is no
    such single side. (A side the detector put on the frame's border lies a working pixel in.)"""
    inner = [min(p[0] + 0.5, w - 0.5 - p[0], p[1] + 0.5, h - 0.5 - p[1]) < tol for p in q.tolist()]
    ks = [k for k in range(4) if inner[k] and inner[(k + 1) % 4] and not inner[(k + 2) % 4] and not inner[(k + 3) % 4]]
    return ks[0] if len(ks) == 1 else None


def _frame_exit(p: np.ndarray, p2: np.ndarray, w: int, h: int) -> np.ndarray | None:
    """Where the ray from p (inside the frame) towards p2 leaves the frame."""
    d = p2 - p
    best = math.inf
    for k, size in ((0, w), (1, h)):
        if abs(d[k]) > 1e-12:
            for edge in (-0.5, size - 0.5):
                t = (edge - p[k]) / d[k]
                if 0 < t < best:
                    best = t
    return None if best == math.inf else p + best * d


def _full_search(small: np.ndarray, ycc8: np.ndarray, ycc_f: np.ndarray, gray: np.ndarray, contrast: float,
                 mask: _Mask | None, img: np.ndarray | None = None,
                 extra: list[np.ndarray] | None = None) -> tuple[np.ndarray, float] | None:
    """The classical search (lines, contours, colour regions, the mask's outline), scored and
    chosen; the best outline in working pixels and its score, or None. With the full frame
    ``img`` and the mask, an outline on printed rules is not taken for the page (scan18)."""
    printed = None
    if img is not None and mask is not None:
        fx, fy = img.shape[1] / small.shape[1], img.shape[0] / small.shape[0]
        seen: dict[bytes, tuple[list[int], int]] = {}  # the second choice often picks the first's outline

        def printed(q: np.ndarray) -> tuple[list[int], int]:
            key = q.tobytes()
            if key not in seen:
                seen[key] = _rule_sides(img, (q + 0.5) * np.array([fx, fy]) - 0.5)
            return seen[key]
    quads = _line_candidates(ycc_f, _stretch(gray), contrast)
    quads.extend(_contour_quads(gray))
    regions = None
    if mask is None or USE_REGIONS_WITH_MASK:
        regions = _Regions(ycc8)
        # Region outlines are only as exact as the small copy; their sides are snapped to the
        # working image's edges before they compete with the line-built quads.
        quads.extend(_refine(small, q, 1.0 / regions.scale, fine=False, tight=REGION_TIGHT)
                     for q in _dedupe(_region_quads(regions), 1.5 / regions.scale))
    if mask is not None:
        # The network's outline, snapped the same way; a side it continues past the frame's
        # edge (a page cut off) stays where the network put it.
        quads.extend(mask.snapped(small))
    quads.extend(extra or [])
    scores = _Scores(ycc_f, contrast, mask)
    pick = _choose(ycc_f, quads, contrast, regions, mask, scores, printed)
    if (pick is None or pick[1] < RETRY_SCORE) and not (
            pick is not None and mask is not None and mask.iou(pick[0][None])[0] >= RETRY_IOU_WITH_MASK):
        # A faint border (white page on a light desk, in shadow) may give LSD too little
        # gradient even after the global stretch; a local equaliser lifts it, at the price of
        # lifting desk texture too, so it is only tried when the plain pass found nothing good.
        # Not when the network's mask already agrees closely with the best outline: the page is
        # then found and only its edge score is low (README, scan9).
        quads.extend(_line_candidates(ycc_f, _clahe().apply(gray), contrast))
        pick = _choose(ycc_f, quads, contrast, regions, mask, scores, printed)
    return pick


def _fast_pick(small: np.ndarray, ycc_f: np.ndarray, contrast: float, mask: _Mask,
               extra: list[np.ndarray] | None = None) -> tuple[np.ndarray, float] | None:
    """The network's outline, snapped to the working image's edges, when the edges agree with it.

    Most frames show one page on a desk the network has no doubt about; its outline, snapped to
    the nearest colour step, is then the page, and the line search (LSD, thousands of candidate
    quads, colour regions) is not needed. It is only trusted when the mask is decisive, the
    snapped outline shows a clean step nearly all round and still covers the mask; otherwise
    (None) the full search decides.
    """
    if mask.doubt() > FAST_DOUBT:
        return None
    outlines = _mask_outlines(small, mask)
    if not outlines:
        return None
    outlines += list(extra or [])
    score = _score_quads(ycc_f, outlines, contrast)[0]
    iou = mask.iou(np.asarray(outlines))
    best = int(np.argmax(score + MASK_WEIGHT * iou))
    if score[best] < FAST_SCORE or iou[best] < FAST_IOU:
        return None
    return np.asarray(outlines[best], dtype=np.float64), float(score[best])


def _mask_outlines(small: np.ndarray, mask: _Mask) -> list[np.ndarray]:
    """The mask's outlines snapped to the working image's edges, each also snapped a second time,
    tighter: a side the coarse outline placed far off may only reach its edge from there."""
    outlines = mask.snapped(small)
    return outlines + [_refine(small, q, FAST_RESNAP, fine=False, max_turn=MASK_TURN, tight=RESNAP_TIGHT)
                       for q in outlines]


class _Mask:
    """The page-mask network's answer for one working image (:mod:`devices.scanner.pagenet`)."""

    def __init__(self, small: np.ndarray, prob: np.ndarray) -> None:
        self.prob = prob  # pagenet.page_mask's grid
        self.h, self.w = small.shape[:2]
        self.scale = max(self.w, self.h) / pagenet.INPUT  # working pixels per network pixel
        self.total = float(self.prob.sum())
        self._canvas = np.zeros(self.prob.shape, np.uint8)
        self._snapped: list[np.ndarray] | None = None

    def snapped(self, small: np.ndarray) -> list[np.ndarray]:
        """The mask's outlines with their sides snapped to the working image's edges (worked out
        once; a side the network continues past the frame's edge stays where it put it)."""
        if self._snapped is None:
            self._snapped = [_refine(small, q, self.scale, fine=False, max_turn=MASK_TURN) for q in self.quads()]
        return self._snapped

    def iou(self, quads: np.ndarray) -> np.ndarray:
        """Soft Jaccard index of each quad (working pixels) with the network's mask."""
        out = np.zeros(len(quads))
        canvas = self._canvas
        side = canvas.shape[0]
        if not len(quads):
            return out
        # All quads at once where it is elementwise (the same figures as one by one).
        nets = pagenet.to_net(quads, self.w, self.h)
        fixed = np.round(nets * 16).astype(np.int32)
        for i, (lo, hi) in enumerate(zip(nets.min(1).tolist(), nets.max(1).tolist())):
            x0, y0 = (min(max(math.floor(v), 0), side) for v in lo)
            x1, y1 = (min(max(math.ceil(v) + 1, 0), side) for v in hi)
            if x1 <= x0 or y1 <= y0:
                continue
            canvas[y0:y1, x0:x1] = 0
            cv2.fillPoly(canvas, [fixed[i]], 1, cv2.LINE_8, 4)
            inside = canvas[y0:y1, x0:x1]
            area = float(inside.sum())
            inter = float((self.prob[y0:y1, x0:x1] * inside).sum())
            out[i] = inter / max(area + self.total - inter, 1e-6)
        return out

    def doubt(self) -> float:
        """How undecided the network is: its pixels' distance from a clear yes or no, summed,
        as a share of the page it sees (0: every pixel is sure)."""
        p = self.prob
        return float(np.minimum(p, 1.0 - p).sum()) / max(self.total, 1.0)

    def quads(self) -> list[np.ndarray]:
        """Outlines of the mask's largest solid region, in working pixels (may lie outside)."""
        m8 = (self.prob > 0.5).astype(np.uint8)
        contours, _ = cv2.findContours(m8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            return []
        cnt = max(contours, key=cv2.contourArea)
        a = cv2.contourArea(cnt)
        if a < MIN_AREA_FRACTION * pagenet.INPUT ** 2:
            return []
        hull = cv2.convexHull(cnt)
        if a < 0.75 * cv2.contourArea(hull):
            return []
        return [pagenet.from_net(q, self.w, self.h) for q in _hull_quads(hull.reshape(-1, 2).astype(np.float64))]


class _Scores:
    """Each candidate's edge evidence and mask agreement, worked out once: the second line pass
    of the full search only adds candidates to the list, and each quad's figures are its own."""

    def __init__(self, ycc_f: np.ndarray, contrast: float, mask: _Mask | None) -> None:
        self.ycc_f, self.contrast, self.mask = ycc_f, contrast, mask
        self.n = 0
        self.parts: tuple[np.ndarray, ...] = ()

    def of(self, quads: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        """Score, border sides, colours inside and outside, sides on a cast shadow's edge
        (:func:`_score_quads`) and mask agreement (zeros without a mask) of every quad in ``quads``, a list that only grows."""
        new = quads[self.n:]
        if new:
            got = _score_quads(self.ycc_f, new, self.contrast)
            iou = self.mask.iou(np.asarray(new, dtype=np.float64)) if self.mask is not None else np.zeros(len(new))
            got = (*got, iou)
            self.parts = tuple(np.concatenate([a, b]) for a, b in zip(self.parts, got)) if self.n else got
            self.n = len(quads)
        return self.parts


def _choose(ycc_f: np.ndarray, quads: list[np.ndarray], contrast: float,
            regions: _Regions | None, mask: _Mask | None,
            scores: _Scores | None = None,
            printed: Callable[[np.ndarray], tuple[list[int], int]] | None = None) -> tuple[np.ndarray, float] | None:
    """Return the best-supported candidate and its score, or None when none is good enough.

    ``printed`` tells an outline's sides on printed rules and counts its sides showing a step
    (:func:`_rule_sides`). A pick with a side on a rule (the base plate's A4/A5 outline, which the
    mask may take for a page, or one side of it), or one the mask chose over the outline the edges
    chose that shows no step at all, is set aside with every candidate that has a side on the same
    rule, and the choice made again (scan18)."""
    if not quads:
        return None
    sh, sw = ycc_f.shape[:2]
    score, n_border, inside, outside, shadowed, iou = (scores or _Scores(ycc_f, contrast, mask)).of(quads)
    q = np.asarray(quads, dtype=np.float64)
    signed = _signed_area(q)
    area = np.abs(signed) / (sw * sh)
    # Among near-equal evidence prefer the larger outline: a page over its own printed frame.
    base = score + 0.1 * np.sqrt(area)
    ok = score >= MIN_SCORE
    if mask is not None:
        # The network tells page from desk over the whole outline: a form's printed frame, a
        # card's photo or the base plate's printed A4 outline has the wrong inside.
        ok = ok | ((score >= MASK_ONLY_SCORE) & (iou >= MASK_ONLY_IOU))
    clockwise = np.where(signed[:, None, None] < 0, q[:, ::-1], q)
    usable = ~shadowed  # (nor, on the mask's word, an outline with a side on a cast shadow's edge)
    for _ in range(RULE_TRIES + 1 if printed is not None else 1):
        got = _choice(score, base, ok & usable, usable, iou, area, n_border, inside, outside, clockwise,
                      regions, mask)
        if got is None:
            return None
        best, switched = got
        if printed is None:
            break
        rules, n_step = printed(q[best])
        if not (rules or switched and not n_step):
            break
        usable[best] = False
        for i in rules:
            # Every outline with a side along this rule (both ends within RULE_SAME_LINE of it).
            ln = _line_through(q[best, i], q[best, (i + 1) % 4])
            dist = np.abs(q @ ln[:2] + ln[2]) / math.hypot(float(ln[0]), float(ln[1]))
            near = dist < RULE_SAME_LINE
            usable &= ~(near & np.roll(near, -1, axis=1)).any(1)
    else:
        return None
    return np.asarray(quads[best], dtype=np.float64), float(score[best])


def _choice(score: np.ndarray, base: np.ndarray, ok: np.ndarray, usable: np.ndarray, iou: np.ndarray,
            area: np.ndarray, n_border: np.ndarray, inside: np.ndarray, outside: np.ndarray,
            clockwise: np.ndarray, regions: _Regions | None, mask: _Mask | None) -> tuple[int, bool] | None:
    """:func:`_choose`'s pick among the ``usable`` candidates (``ok``: those with evidence enough),
    and whether the mask chose it over the outline the edges chose."""
    if not ok.any():
        agree = int(np.argmax(np.where(usable, iou, -1.0)))
        if not usable[agree] or iou[agree] < MASK_RESCUE_IOU:
            return None
        return agree, False
    final = base
    if regions is not None:
        # The contenders also get the region cue; the rest cannot catch up with them anyway.
        top = _top(np.where(ok, final, -np.inf), REGION_TOP)
        top = top[ok[top]]
        sep = np.zeros(len(score))
        sep[top] = regions.separation(clockwise[top])
        final = final + REGION_WEIGHT * sep
    final = np.where(ok, final + MASK_WEIGHT * iou, -np.inf)
    best = int(np.argmax(final))
    if mask is None or OUTERMOST_WITH_MASK and regions is not None:
        best = _outermost(clockwise, np.where(usable, score, -np.inf), area, n_border, inside, outside, best,
                          regions, None if mask is None else iou)
    if mask is not None:
        agree = int(np.argmax(np.where(usable, iou, -1.0)))
        gain = MASK_SWITCH_GAIN_CLEAN if score[best] >= FAST_SCORE else MASK_SWITCH_GAIN
        if (iou[agree] >= MASK_SWITCH_IOU and iou[agree] - iou[best] >= gain
                and _switch_backed(score, clockwise, best, agree)):
            return agree, True
        if SCAN26_REST and iou[best] < MASK_OFF_IOU and score[best] < FAST_SCORE and iou[agree] >= MASK_RESCUE_IOU:
            # scan26: the edges' pick lies where the network sees no page at all, and it sees
            # one elsewhere (a strip of desk between the frame's edge and a white page's side).
            return agree, True
        if iou[best] < MASK_REJECT_IOU:
            return None
    return best, False


def _switch_backed(score: np.ndarray, quads: np.ndarray, best: int, agree: int) -> bool:
    """Whether the mask's favourite may replace the edges' pick (scan26). Not when the favourite
    shows (next to) no edge evidence, the pick a clean step on most of its length, and the two
    share a side: the network's blob ran on from the page over the desk (a base plate as pale as
    the paper), and the shared side is the page's own edge. (A printed figure the edges picked on
    a white page shares no side with the page the mask sees.)"""
    if not SCAN26_REST or not (score[agree] < SWITCH_MIN_SCORE and score[best] >= SWITCH_KEEP_SCORE):
        return True
    return not _share_side(quads[best], quads[agree], SWITCH_SAME_LINE)


def _share_side(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Whether a side of quad ``a`` lies along a side of quad ``b`` (both its ends within ``tol``
    of that side's line, and overlapping it by half its length)."""
    for i in range(4):
        p0, p1 = a[i], a[(i + 1) % 4]
        la = float(np.linalg.norm(p1 - p0))
        if la < 1e-6:
            continue
        for j in range(4):
            q0, q1 = b[j], b[(j + 1) % 4]
            ln = _line_through(q0, q1)
            nrm = math.hypot(float(ln[0]), float(ln[1]))
            if nrm < 1e-9 or max(abs(float(p0 @ ln[:2] + ln[2])), abs(float(p1 @ ln[:2] + ln[2]))) > tol * nrm:
                continue
            d = (q1 - q0) / float(np.linalg.norm(q1 - q0))
            s0, s1 = sorted((float((p0 - q0) @ d), float((p1 - q0) @ d)))
            if min(s1, float(np.linalg.norm(q1 - q0))) - max(s0, 0.0) >= 0.5 * la:
                return True
    return False


def _rule_sides(img: np.ndarray, q: np.ndarray) -> tuple[list[int], int]:
    """Which sides of an outline (frame pixels; side i runs from q[i] to q[i + 1]) run along a thin
    printed rule, and how many show a step across them, as a page's edge does (scan18).

    A document camera's base plate has A4 and A5 outlines printed on it; the page-mask network may
    take the plate inside one for a page, and an outline along them then wins on the network's word
    alone, or a page's outline takes one side from them. Across a printed rule the surface is the
    same on both sides and the rule is a thin line darker (or lighter) than it; across a page's edge
    the surface changes. Sides on the frame's border or mostly outside it count as neither, and a
    rule printed on the page itself is not listed: a form's frame, with the paper's edge a little
    further out (:func:`_rule_shift`), where :func:`_settle_sides` will move the side.
    """
    h, w = img.shape[:2]
    k = max(w, h) / 1920.0
    near, (f0, f1) = RULE_NEAR, RULE_FLANK
    offs = np.arange(-(near + f1), near + f1 + 0.5, 1.0)
    z = near + f1  # offs[z] == 0
    rules, n_step = [], 0
    e = q[[1, 2, 3, 0]] - q
    reach = int(min(max(PRINT_REACH * float(np.sqrt((e * e).sum(1)).min()), 12.0), 80.0))
    centre = q.mean(0)
    for i in range(4):  # (every measure but the last is the same either way round a side)
        a, b = q[i], q[(i + 1) % 4]
        length = math.hypot(float(b[0] - a[0]), float(b[1] - a[1]))
        if length < 40 * k or _side_on_border(a, b, w, h, 4.0 * k):
            continue
        seg = _clip_segment(a, b, w, h, pad=(near + f1 + 2) * k)
        if seg is None or math.hypot(*(seg[1] - seg[0]).tolist()) < 0.3 * length:
            continue
        d = (b - a) / length
        pts = seg[0][None, :] + (seg[1] - seg[0])[None, :] * _SHADOW_T[:, None]
        col = _across(img, pts, np.array([d[1], -d[0]]), offs * k)
        step = col[:f1 - f0 + 1].mean(0) - col[-(f1 - f0 + 1):].mean(0)
        if float(np.sqrt(step @ step)) >= RULE_STEP:
            n_step += 1
            continue
        lum = col.mean(-1)
        rule, at, surface = -np.inf, z, col[z]
        for j in range(z - near, z + near + 1):
            lo, hi = col[j - f1:j - f0 + 1].mean(0), col[j + f0:j + f1 + 1].mean(0)
            r = abs(float(lum[j]) - float(lo.sum() + hi.sum()) / 6.0) - float(np.sqrt((lo - hi) @ (lo - hi)))
            if r > rule:
                rule, at, surface = r, j, (lo + hi) / 2
        if rule < RULE_DARK:
            continue
        n = np.array([d[1], -d[0]])
        on_rule = pts + n * (offs[at] * k)
        n_out = -n if float(n @ (centre - (a + b) / 2)) > 0 else n
        if not np.all(_in_frame(on_rule + n_out * reach, w, h, pad=2.0)):
            continue  # (what lies beyond is not seen: it may be the page's)
        # A clear, sharp step beyond the rule to a colour that then stays: the paper's edge (a
        # plate's uneven light passes for a faint, gradual step, a ruler's tick for one at the end).
        shift = _rule_shift(img, on_rule, n_out, reach, surface)
        if shift is not None and _sharp_step(img, on_rule, n_out, reach, surface, shift):
            continue
        rules.append(i)
    return rules, n_step


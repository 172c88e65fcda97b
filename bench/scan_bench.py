"""Page-detection benchmark on two independent sets of labelled photos; prints JSON last.

    python -m bench.scan_bench                 # 300 photos per set at 1920x1080
    python -m bench.scan_bench --quick         # 40 per set
    python -m bench.scan_bench --n 500 --seed 7 --set2-seed 907 --out /tmp/scans

Set "synth" is the first generator (:mod:`devices.scanner.synth`: Pillow pages with a CJK font on
desks and cloth, the look the detector was first built around). Set "set2" is the second,
independent one (:mod:`bench.scan_set2`: OpenCV-drawn forms, receipts, ID cards with rounded
corners, multi-column and blank pages, phone portrait and document-camera views, base plates
with ruler marks, white desks, fingers, clips, glare, motion blur, barrel distortion, JPEG at
low quality, corners and sides outside the frame). Neither is tuned on with the seeds printed
here unless said so in the README.

The score is the Jaccard index (IoU) of the detected and true quadrilaterals, as in the ICDAR
2015 SmartDoc challenge, over the whole quadrilateral (a corner outside the frame counts where it
truly is); "no page found" scores 0. Time is the CPU time of the calling thread
(``time.thread_time``) with OpenCV on one thread: the 30 frames/s target is 33 ms per
1920 x 1080 frame, and CPU time does not count other people's jobs on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable

import cv2
import numpy as np

from bench.scan_baseline import baseline_find_page, otsu_find_page
from bench.scan_set2 import make_photo
from devices.scanner.detect import find_page
from devices.scanner.geometry import jaccard
from devices.scanner.synth import make_scene

FAIL_JI = 0.9  # below this a detection is counted as a failure, as well as a miss
DETECTORS: dict[str, Callable[[np.ndarray], np.ndarray | None]] = {
    "ours": find_page,
    "baseline_canny_contour": baseline_find_page,
    "baseline_otsu_contour": otsu_find_page,
}
# Per-kind figures the issue asks for, by the names each set uses.
SET1_GROUPS = {"A4": "A4", "A5": "A5", "Letter": "Letter", "ID-1": "idcard", "hand": "occluded",
               "clip": "occluded", "edge": "touches_edge", "shadow": "shadow"}
SET2_GROUPS = {"idcard": "idcard", "form": "form", "receipt": "receipt", "multicolumn": "multicolumn",
               "blank": "blank", "occluded": "occluded", "corner_out": "corner_out", "side_out": "side_out",
               "glare": "glare", "motion": "motion", "distortion": "distortion", "low_jpeg": "low_jpeg",
               "white": "white_desk", "baseplate": "baseplate", "doccam": "doccam", "phone": "phone"}


def _run(detector, images: list[np.ndarray], truths: list[np.ndarray]) -> tuple[list[float], float]:
    """Run a detector over the images; return the Jaccard indices and CPU seconds of this thread."""
    scores, cpu = [], 0.0
    for img, truth in zip(images, truths):
        c = time.thread_time()
        q = detector(img)
        cpu += time.thread_time() - c
        scores.append(jaccard(truth, q))
    return scores, cpu


def _summary(scores: list[float], cpu: float, pixels: float) -> dict:
    arr = np.asarray(scores)
    # Normalised to a 1920 x 1080 frame (both sets deliver that many pixels per frame).
    per_frame = 1000 * cpu / len(arr) * (1920 * 1080) / pixels
    return {
        "mean_jaccard": round(float(arr.mean()), 4),
        "median_jaccard": round(float(np.median(arr)), 4),
        "below_0_90": int((arr < FAIL_JI).sum()),
        "share_below_0_90": round(float((arr < FAIL_JI).mean()), 4),
        "misses": int((arr == 0).sum()),
        "cpu_ms_per_1080p_frame": round(per_frame, 2),
        "fps_one_thread_cpu": round(1000.0 / max(per_frame, 1e-9), 1),
    }


def _by_group(labels: list[tuple[str, ...]], scores: list[float], groups: dict[str, str]) -> dict:
    out: dict[str, list[float]] = defaultdict(list)
    for lab, ji in zip(labels, scores):
        for name in sorted({groups[t] for t in lab if t in groups}):
            out[name].append(ji)
    return {k: {"n": len(v), "mean_jaccard": round(float(np.mean(v)), 4),
                "below_0_90": int((np.asarray(v) < FAIL_JI).sum())} for k, v in sorted(out.items())}


def evaluate(name: str, images: list[np.ndarray], truths: list[np.ndarray], labels: list[tuple[str, ...]],
             groups: dict[str, str]) -> dict:
    """Run every detector on one set; return its JSON section."""
    pixels = float(np.mean([im.shape[0] * im.shape[1] for im in images]))
    section: dict = {"images": len(images)}
    scores: dict[str, list[float]] = {}
    for det_name, det in DETECTORS.items():
        s, cpu = _run(det, images, truths)
        scores[det_name] = s
        section[det_name] = _summary(s, cpu, pixels)
    section["by_kind_ours"] = _by_group(labels, scores["ours"], groups)
    section["by_kind_baseline"] = _by_group(labels, scores["baseline_canny_contour"], groups)
    worst = sorted(range(len(images)), key=lambda i: scores["ours"][i])[:8]
    section["worst_ours"] = [{"index": i, "ji": round(scores["ours"][i], 4), "tags": list(labels[i])}
                             for i in worst]
    section["_scores"] = scores
    print(f"{name}: ours mean JI {section['ours']['mean_jaccard']}, "
          f"{section['ours']['below_0_90']} below 0.90", file=sys.stderr)
    return section


def _save(out: str, prefix: str, images, truths, labels, scores) -> None:
    os.makedirs(out, exist_ok=True)
    rows = []
    for i, (img, truth, lab) in enumerate(zip(images, truths, labels)):
        fname = f"{prefix}_{i:04d}.jpg"
        cv2.imwrite(os.path.join(out, fname), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        rows.append({"file": fname, "corners": np.round(truth, 2).tolist(), "tags": list(lab),
                     **{f"{k}_ji": round(v[i], 4) for k, v in scores.items()}})
    with open(os.path.join(out, f"{prefix}_truth.json"), "w") as f:
        json.dump(rows, f, indent=1)


def main(argv: list[str] | None = None) -> int:
    """Generate both labelled sets, run every detector and print the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40 photos per set")
    ap.add_argument("--n", type=int, default=None, help="photos per set (default 300)")
    ap.add_argument("--seed", type=int, default=2015, help="seed of the first set")
    ap.add_argument("--set2-seed", type=int, default=907, help="seed of the second set")
    ap.add_argument("--sets", default="synth,set2", help="comma-separated: synth, set2")
    ap.add_argument("--out", default=None, help="save photos, ground truth and scores here")
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args(argv)
    n = args.n or (40 if args.quick else 300)
    # One core, as on a kiosk PC that also runs the browser and the agent.
    cv2.setNumThreads(1)
    result: dict = {"images_per_set": n, "frame_size": [args.width, args.height], "threads": 1, "sets": {}}
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    if "synth" in wanted:
        rng = np.random.default_rng(args.seed)
        scenes = [make_scene(rng, args.width, args.height) for _ in range(n)]
        images = [sc.image for sc in scenes]
        truths = [sc.corners for sc in scenes]
        labels = [sc.tags + (sc.page_kind or "none",) for sc in scenes]
        sec = evaluate("synth", images, truths, labels, SET1_GROUPS)
        sec["seed"] = args.seed
        if args.out:
            _save(args.out, "synth", images, truths, labels, sec["_scores"])
        result["sets"]["synth"] = sec
    if "set2" in wanted:
        rng = np.random.default_rng(args.set2_seed)
        photos = [make_photo(rng, args.width, args.height) for _ in range(n)]
        images = [p.image for p in photos]
        truths = [p.corners for p in photos]
        labels = [p.tags + (p.kind, p.view) for p in photos]
        sec = evaluate("set2", images, truths, labels, SET2_GROUPS)
        sec["seed"] = args.set2_seed
        if args.out:
            _save(args.out, "set2", images, truths, labels, sec["_scores"])
        result["sets"]["set2"] = sec
    for sec in result["sets"].values():
        sec.pop("_scores")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

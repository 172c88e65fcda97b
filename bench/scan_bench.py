"""Page-detection benchmark on synthetic, labelled document photos; prints JSON last.

    python -m bench.scan_bench            # 300 photos at 1920x1080
    python -m bench.scan_bench --quick    # 40 photos, under a minute
    python -m bench.scan_bench --n 500 --seed 7 --out /tmp/scans

Each photo is a rendered page (Chinese text, tables, seals; A4, A5, Letter, ID card) under a
random perspective, on wood, a light or dark desk, grey or patterned cloth, with a lighting
gradient, shadows, noise, blur, JPEG compression, sometimes a hand or clip over a corner and
sometimes touching the frame edge. The score is the Jaccard index (IoU) of the detected and
true quadrilaterals, as in the ICDAR 2015 SmartDoc challenge; a missed page scores 0. Time per
frame is reported both as wall time and as CPU time of the one OpenCV thread (the 30 frames/s
target is 33 ms of CPU), since wall time on a shared machine also counts other people's jobs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict

import cv2
import numpy as np

from bench.scan_baseline import baseline_find_page
from devices.scanner.detect import find_page
from devices.scanner.geometry import jaccard
from devices.scanner.synth import make_scene

FAIL_JI = 0.9  # below this a detection is counted as a failure, as well as a miss


def _run(detector, scenes) -> tuple[list[float], float, float]:
    """Run a detector over the scenes; return the Jaccard indices, wall and CPU seconds."""
    scores, elapsed, cpu = [], 0.0, 0.0
    for sc in scenes:
        t, c = time.perf_counter(), time.process_time()
        q = detector(sc.image)
        elapsed += time.perf_counter() - t
        cpu += time.process_time() - c
        scores.append(jaccard(sc.corners, q))
    return scores, elapsed, cpu


def _summary(scores: list[float], elapsed: float, cpu: float) -> dict:
    arr = np.asarray(scores)
    return {
        "mean_jaccard": round(float(arr.mean()), 4),
        "median_jaccard": round(float(np.median(arr)), 4),
        "failures": int((arr < FAIL_JI).sum()),
        "misses": int((arr == 0).sum()),
        # Wall time depends on what else the machine runs; CPU time of this one thread is the
        # figure to hold against the 33 ms (30 frames/s) budget.
        "ms_per_frame": round(1000 * elapsed / len(arr), 2),
        "cpu_ms_per_frame": round(1000 * cpu / len(arr), 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Generate the labelled photos, run both detectors and print the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40 photos")
    ap.add_argument("--n", type=int, default=None, help="number of photos (default 300)")
    ap.add_argument("--seed", type=int, default=2015)
    ap.add_argument("--out", default=None, help="save photos, ground truth and detections here")
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args(argv)
    n = args.n or (40 if args.quick else 300)
    # One core, as on a kiosk PC that also runs the browser and the agent.
    cv2.setNumThreads(1)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    scenes = [make_scene(rng, args.width, args.height) for _ in range(n)]
    gen_s = time.perf_counter() - t0
    ours, ours_t, ours_cpu = _run(find_page, scenes)
    base, base_t, base_cpu = _run(baseline_find_page, scenes)

    by_tag: dict[str, list[float]] = defaultdict(list)
    for sc, ji in zip(scenes, ours):
        for tag in sc.tags + (sc.page_kind or "none",):
            by_tag[tag].append(ji)
    worst = sorted(range(n), key=lambda i: ours[i])[:5]
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for i, sc in enumerate(scenes):
            cv2.imwrite(os.path.join(args.out, f"scan_{i:04d}.jpg"), sc.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        with open(os.path.join(args.out, "truth.json"), "w") as f:
            json.dump([{"file": f"scan_{i:04d}.jpg", "corners": np.round(sc.corners, 2).tolist(),
                        "tags": list(sc.tags), "page": sc.page_kind, "ours_ji": round(ours[i], 4),
                        "baseline_ji": round(base[i], 4)} for i, sc in enumerate(scenes)], f, indent=1)

    summary_ours, summary_base = _summary(ours, ours_t, ours_cpu), _summary(base, base_t, base_cpu)
    for tag in sorted(by_tag):
        print(f"{tag:10s} n={len(by_tag[tag]):4d} mean JI {np.mean(by_tag[tag]):.4f}", file=sys.stderr)
    result = {
        "images": n,
        "seed": args.seed,
        "frame_size": [args.width, args.height],
        "threads": 1,
        "ours": summary_ours,
        "baseline": summary_base,
        "mean_ji_vs_baseline": round(summary_ours["mean_jaccard"] / max(summary_base["mean_jaccard"], 1e-9), 3),
        "fps_ours": round(1000.0 / max(summary_ours["ms_per_frame"], 1e-9), 1),
        "fps_ours_cpu": round(1000.0 / max(summary_ours["cpu_ms_per_frame"], 1e-9), 1),
        "by_tag": {k: round(float(np.mean(v)), 4) for k, v in sorted(by_tag.items())},
        "worst": [{"index": i, "ji": round(ours[i], 4), "tags": list(scenes[i].tags)} for i in worst],
        "generation_s": round(gen_s, 1),
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
